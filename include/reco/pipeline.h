// The offline pipeline as a library: load -> filter/split -> train (with a
// progress bar and a per-iteration validation curve) -> evaluate -> reports.
// `reco train`, `reco eval` and `reco pipeline` are thin shells over this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reco/als.h"
#include "reco/evaluation.h"
#include "reco/loader.h"
#include "reco/recommender.h"
#include "reco/report.h"
#include "reco/split.h"
#include "reco/status.h"
#include "reco/tune.h"

namespace reco {

// One point of a training curve. Validation fields are NaN when not measured.
struct CurvePoint {
  uint32_t iteration = 0;
  double loss = 0;
  double train_rmse = 0;      // explicit models
  double seconds = 0;         // cumulative training time (validation excluded)
  double test_rmse = 0;       // explicit models with validation data
  double test_precision = 0;  // at the pipeline's k
  double test_ndcg = 0;
};

struct TrainingRun {
  std::unique_ptr<Recommender> model;
  std::vector<CurvePoint> curve;  // iterative families; one point per iteration
  double seconds = 0;             // training only, without per-iteration validation
};

// The timestamps of `data` parallel to the values of
// CsrMatrix::FromInteractions(data.interactions, ...) (FitData::timestamps);
// empty when the data has none.
std::vector<int64_t> TimestampsInCsrOrder(const Dataset& data);

// Fits `config` on `train` (its ID maps become the model's) with a progress
// bar named `label`. With `validation`, iterative families are evaluated
// after every iteration (RMSE for explicit ALS; precision and NDCG at k for
// all), which costs a top-k pass per iteration. Writes the training data
// hash, parameters and creation time into the model's metadata.
Result<TrainingRun> TrainWithProgress(const Dataset& train, const ModelConfig& config, int threads,
                                      const Dataset* validation, uint32_t k,
                                      const std::string& label);

// What `--family F` alone fits: each family's default options. The ALS
// defaults were chosen on ml-100k (README "Results" says how).
ModelConfig DefaultModelConfig(ModelFamily family);

struct PipelineModel {
  std::string name;  // names the run in reports and its model file
  ModelConfig config;
};

struct PipelineOptions {
  std::string data_path;  // one interactions file, split by `split`
  LoadOptions load;
  SplitOptions split;
  uint32_t k = 10;
  int threads = 0;
  // Fitted and evaluated in this order; default: explicit and implicit ALS.
  std::vector<PipelineModel> models = {
      {"explicit-als", DefaultModelConfig(ModelFamily::kExplicitAls)},
      {"implicit-als", DefaultModelConfig(ModelFamily::kImplicitAls)}};
  // With a value: Tune() on the training part (its validation split is carved
  // from it; the test part is never seen), and the best configuration is
  // fitted and evaluated after `models` as "tuned-<family>"; trials.tsv and
  // trials.json go to out_dir.
  std::optional<TuneOptions> tune;
  std::string out_dir = "out";  // models, split files, report.json, report.html
  bool write_split_files = true;
};

struct ModelRun {
  std::string name;
  ModelConfig config;
  TrainingRun training;  // model + curve
  EvalResult eval;
  std::string model_path;
};

struct PipelineResult {
  std::string data_path;
  LoadReport load;
  uint32_t users = 0, items = 0;
  SplitReport split;
  std::vector<ModelRun> runs;
  std::optional<TuneResult> tune;  // with PipelineOptions::tune
  double total_seconds = 0;
};

Result<PipelineResult> RunPipeline(const PipelineOptions& options);

// Machine-readable summary (report.json) and human one (report.html, and the
// table printed at the end of `reco pipeline`).
std::string PipelineJson(const PipelineResult& result, const PipelineOptions& options);
HtmlReport PipelineHtml(const PipelineResult& result, const PipelineOptions& options);
std::string PipelineSummaryTable(const PipelineResult& result, uint32_t k);

// JSON object of an evaluation (shared by `reco eval` and the pipeline).
std::string EvalJson(const EvalResult& eval, uint32_t k);

}  // namespace reco
