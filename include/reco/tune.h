// Hyper-parameter search that never sees the test split (`reco tune`,
// `reco pipeline --tune`).
//
// Tune() carves a validation split out of the *training* data (stratified
// per user, seeded), fits one configuration per trial on the rest, scores it
// on the validation part (Microsoft Recommenders' ranking metrics, items seen
// in the fitting part excluded), and finally refits the best configuration
// on the whole training data. The test split, if the caller has one, is
// never an argument here: what Tune() reports is a validation number.
//
// Search: the first trial of each family is its default configuration
// (DefaultModelConfig), so tuning can only match or beat the defaults on
// validation; the remaining trials are drawn at random (SplitMix64, so a seed
// names the same sequence of trials everywhere) from each family's space:
// log-uniform for regularisation, confidence and λ; a short list for the
// rank; the value transform (raw, binary, log(1 + r/ε)). Families take turns.
// A trial that fails (EASE over its memory limit, a non-finite model) is
// recorded with its reason and the search goes on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reco/eval_metrics.h"
#include "reco/interactions.h"
#include "reco/recommender.h"
#include "reco/status.h"

namespace reco {

// What a trial is judged by: one of the ranking metrics at k.
enum class TuneMetric : uint8_t { kPrecision, kRecall, kNdcg, kMap };
// "precision@10", "recall@10", "ndcg@10", "map@10" (any k >= 1); the k is
// returned in *k. InvalidArgument naming the accepted forms otherwise.
Result<TuneMetric> ParseTuneMetric(std::string_view text, uint32_t* k);
const char* TuneMetricName(TuneMetric metric);  // "precision", "recall", "ndcg", "map"

struct TuneTrial;

struct TuneOptions {
  // The families searched; each gets its default as its first trial.
  std::vector<ModelFamily> families = {ModelFamily::kImplicitAls};
  uint32_t trials = 20;            // >= 1, over all families
  double time_budget_seconds = 0;  // 0: no limit; else no trial starts after it
  TuneMetric metric = TuneMetric::kNdcg;
  uint32_t k = 10;
  double validation_ratio = 0.2;  // of each user's training records, in (0, 1)
  uint64_t seed = 42;             // validation split and trial draws
  int threads = 0;
  // EASE's memory limit in every EASE trial (EaseOptions::max_memory_bytes;
  // 0: its default), so a catalogue too big for it fails those trials only.
  uint64_t ease_max_memory_bytes = 0;
  // Fit ALS families with at most this many iterations (0: as drawn). For
  // tests and quick studies.
  uint32_t max_iterations = 0;
  // Refit the best configuration on all of `train` (TuneResult::model).
  // Off for callers that fit it themselves (reco pipeline --tune).
  bool refit = true;
  // When set, trials.tsv and trials.json (WriteTuneTrials) are written into
  // this existing directory once the search ends (also when every trial
  // failed or the refit fails, so the record is kept next to the error) and
  // again after the refit.
  std::string report_dir;
  // Called after every trial with it and the best so far (may be the same).
  std::function<void(const TuneTrial& trial, const TuneTrial& best)> on_trial;
};

struct TuneTrial {
  uint32_t index = 0;  // 0-based, in the order run
  ModelConfig config;
  Status status;  // not OK: failed, with the reason; metrics unset
  RankingMetrics metrics;
  double objective = 0;  // the chosen metric on validation
  double seconds = 0;    // fit + validation scoring
};

struct TuneResult {
  std::vector<TuneTrial> trials;
  size_t best = 0;        // index into trials of the best successful one
  bool has_best = false;  // false only in the record of a search that failed
  uint64_t fit_records = 0, validation_records = 0;
  // The best configuration refitted on all of the training data (null
  // without TuneOptions::refit).
  std::unique_ptr<Recommender> model;
  double refit_seconds = 0;
};

// FailedPrecondition when no trial succeeded (every reason is in the
// message); InvalidArgument for bad options or data too small to split.
Result<TuneResult> Tune(const Dataset& train, const TuneOptions& options);

// trials.tsv (one row per trial: index, family, status, metric columns,
// seconds, the configuration as JSON) and trials.json (the same plus the
// best index, null when no trial succeeded) in `dir`, written atomically.
// The directory must exist. Tune calls it for TuneOptions::report_dir.
Status WriteTuneTrials(const TuneResult& result, const TuneOptions& options,
                       const std::string& dir);

}  // namespace reco
