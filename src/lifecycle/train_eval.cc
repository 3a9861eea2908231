#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "reco/lifecycle.h"

namespace reco {

Result<Dataset> LoadDataset(const std::string& path, const LoadOptions& options) {
  LoadReport report;
  RECO_ASSIGN_OR_RETURN(Dataset ds, LoadInteractions(path, options, &report));
  spdlog::info("{}: {} records, {} users, {} items ({} format){}", path, report.records_loaded,
               ds.users.size(), ds.items.size(), InputFormatName(report.format),
               report.duplicates_resolved > 0
                   ? ", " + std::to_string(report.duplicates_resolved) + " duplicates resolved"
                   : "");
  if (report.bad_lines_skipped > 0) {
    fmt::print(stderr, "reco: warning: {}: skipped {} malformed lines\n", path,
               report.bad_lines_skipped);
    for (const auto& m : report.bad_line_messages) fmt::print(stderr, "  {}\n", m);
  }
  return ds;
}

Result<EvalResult> EvaluateAndRecord(Recommender* model, const Dataset& train, const Dataset& test,
                                     uint32_t k, int threads) {
  const CsrMatrix seen =
      CsrMatrix::FromInteractions(train.interactions, train.users.size(), train.items.size());
  EvalOptions eo;
  eo.k = k;
  eo.threads = threads;
  RECO_ASSIGN_OR_RETURN(EvalResult eval, EvaluateModel(*model, seen, test, eo));
  nlohmann::json meta = nlohmann::json::parse(model->metadata_json());
  meta["eval"] = nlohmann::json::parse(EvalJson(eval, k));
  model->set_metadata_json(meta.dump());
  return eval;
}

Result<TrainEvalRun> TrainAndEvaluate(const Dataset& train, const Dataset* test,
                                      const TrainEvalOptions& options) {
  TrainEvalRun run;
  const Dataset* curve_data = options.validation_curve ? test : nullptr;
  RECO_ASSIGN_OR_RETURN(run.training, TrainWithProgress(train, options.model, options.threads,
                                                        curve_data, options.k, options.label));
  if (test != nullptr) {
    RECO_ASSIGN_OR_RETURN(run.eval, EvaluateAndRecord(run.training.model.get(), train, *test,
                                                      options.k, options.threads));
  }
  return run;
}

}  // namespace reco
