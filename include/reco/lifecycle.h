// The model lifecycle as a library: what `reco retrain` (and, through it,
// scripts/main.sh and the Kubernetes CronJob) does, with the CLI reduced to
// flag parsing and printing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "reco/evaluation.h"
#include "reco/event_folding.h"
#include "reco/interactions.h"
#include "reco/loader.h"
#include "reco/pipeline.h"
#include "reco/precompute.h"
#include "reco/status.h"

namespace reco {

// What folding a write-ahead log into base data did.
struct EventMergeReport {
  uint64_t events = 0;            // replayed
  uint64_t added = 0;             // (user, item) pairs the base data did not have
  uint64_t updated = 0;           // base pairs whose value events changed
  uint64_t skipped_no_value = 0;  // explicit rule: events without a rating
  uint64_t last_seq = 0;          // 0 when the log is empty
};

// Folds every event of the log in `dir` into `data` by `rule`
// (reco/event_folding.h), the rule the real-time engine folds live events
// with: a pair's value becomes FoldedValue(rule, base value, its events) and
// its timestamp that of its latest event (whole seconds). New users and items
// are added to the ID maps. A directory without segments holds no events.
Status MergeLoggedEvents(const std::string& dir, FoldRule rule, Dataset* data,
                         EventMergeReport* report);

// Loads an interactions file, logging what was read; skipped bad lines (with
// LoadOptions::skip_bad_lines) are listed on stderr, so dropped input never
// vanishes into a redirected stdout.
Result<Dataset> LoadDataset(const std::string& path, const LoadOptions& options);

// The split -> train -> evaluate step shared by `reco train`, `reco pipeline`
// and `reco retrain`: fit on `train` with a progress bar, then, when `test`
// is given, score it (rating metrics for explicit models; ranking metrics on
// the top-k of unseen items for all). With `validation_curve`, `test` is also
// scored after every iteration (the report's curves).
struct TrainEvalOptions {
  ModelConfig model;
  int threads = 0;
  uint32_t k = 10;
  bool validation_curve = false;
  std::string label;  // names the progress bar
};
struct TrainEvalRun {
  TrainingRun training;  // model (its metadata_json gains "eval"), curve, seconds
  std::optional<EvalResult> eval;
};
Result<TrainEvalRun> TrainAndEvaluate(const Dataset& train, const Dataset* test,
                                      const TrainEvalOptions& options);

// The evaluation half of TrainAndEvaluate, for models fitted elsewhere (MPI):
// scores `test` against `model`, fitted on `train`, and records the result
// in the model's metadata as "eval".
Result<EvalResult> EvaluateAndRecord(Recommender* model, const Dataset& train, const Dataset& test,
                                     uint32_t k, int threads);

class MpiWorld;

// `reco train --distributed`, under mpirun: the fit of TrainWithProgress for
// the ALS families, across the ranks of `world`. A collective: every rank
// passes the same data and config and receives the whole model, and every
// rank returns the same error when one fails (InvalidArgument for a family
// that trains in one process only). The metadata is a single-process fit's
// plus "distributed": ranks, threads per rank and, per iteration, the solve
// and exchange seconds and the bytes received.
Result<TrainingRun> TrainDistributed(const MpiWorld& world, const Dataset& train,
                                     const ModelConfig& config, int threads);

// `reco retrain`: base data + the live events of a write-ahead log -> one fit
// -> holdout metrics -> a registry version -> its lists in the store ->
// activation.
//
// The model is fitted once. With holdout > 0 a stratified per-user split
// (seeded) holds that fraction of each user's records out, the model is fitted
// on the rest and measured on them, and that same model is registered: the
// metrics in meta.json describe exactly the model that serves. The held-out
// records still belong to the version's training interactions, so they are
// excluded from the user's lists and are part of their row in real-time
// refreshes. With holdout = 0 the model is fitted on everything, unmeasured.
struct RetrainOptions {
  std::string data_path;  // base interactions file
  LoadOptions load;
  std::string events_dir;  // empty: no events
  std::string registry_dir;
  std::string store_uri;
  std::string store_namespace = "reco";
  std::string version;  // empty: NewVersionId()
  double holdout = 0.1;
  uint64_t holdout_seed = 42;
  uint32_t k = 10;  // list length and cut-off of the ranking metrics
  uint32_t similar_k = 10;
  uint32_t popular_k = 100;
  bool activate = true;
  ModelConfig model;
  int threads = 0;
};

struct RetrainReport {
  std::string version;
  uint64_t base_records = 0;
  EventMergeReport events;
  uint64_t interactions = 0;  // after merging
  uint32_t users = 0, items = 0;
  std::string data_hash;
  std::string model_description;   // e.g. "implicit ALS (64 factors, 15 iterations)"
  uint64_t fit_records = 0;        // records the model was fitted on
  std::optional<EvalResult> eval;  // absent with holdout 0 or when no user can spare a record
  uint64_t holdout_records = 0;
  uint64_t user_lists = 0;
  double precompute_seconds = 0;
  bool activated = false;
  std::string previously_active;  // empty: none
  double seconds = 0;
};

// One line naming the family and its main options, for logs and summaries.
std::string DescribeModel(const Recommender& model);

// Fails before any training on an id clash (registry or store) or an
// unreachable store; nothing is registered when training fails, and nothing
// activated when precompute fails.
Result<RetrainReport> Retrain(const RetrainOptions& options);

}  // namespace reco
