// The offline pipeline as a library: load -> filter/split -> train (with a
// progress bar and a per-iteration validation curve) -> evaluate -> reports.
// `reco train`, `reco eval` and `reco pipeline` are thin shells over this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reco/als.h"
#include "reco/evaluation.h"
#include "reco/loader.h"
#include "reco/model.h"
#include "reco/report.h"
#include "reco/split.h"
#include "reco/status.h"

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
  FactorModel model;
  std::vector<CurvePoint> curve;
  double seconds = 0;  // training only, without per-iteration validation
};

// Trains on `train` (its ID maps become the model's). With `validation`,
// evaluates after every iteration (RMSE for explicit models; precision and
// NDCG at k for all), which costs a top-k pass per iteration. `label` names
// the progress bar. Writes the training data hash, parameters and creation
// time into the model's metadata.
Result<TrainingRun> TrainWithProgress(const Dataset& train, const AlsOptions& options,
                                      const Dataset* validation, uint32_t k,
                                      const std::string& label);

struct PipelineOptions {
  std::string data_path;  // one interactions file, split by `split`
  LoadOptions load;
  SplitOptions split;
  uint32_t k = 10;
  bool run_explicit = true;
  AlsOptions explicit_als;
  bool run_implicit = true;
  AlsOptions implicit_als;
  std::string out_dir = "out";  // models, split files, report.json, report.html
  bool write_split_files = true;
};

// The hyper-parameters `reco pipeline` uses unless told otherwise; chosen on
// ml-100k (README "Results" says how).
AlsOptions DefaultExplicitOptions();
AlsOptions DefaultImplicitOptions();

struct ModelRun {
  std::string name;  // "explicit-als", "implicit-als"
  AlsOptions params;
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
std::string AlsOptionsJson(const AlsOptions& options);

}  // namespace reco
