#include "reco/pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "reco/file_util.h"
#include "reco/lifecycle.h"
#include "reco/progress.h"
#include "reco/time_format.h"
#include "reco/training_data_hash.h"
#include "training_metadata.h"

namespace reco {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// JSON numbers cannot be NaN; unmeasured values become null.
nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string Fixed(double v, int digits = 4) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "-";
}

}  // namespace

std::vector<int64_t> TimestampsInCsrOrder(const Dataset& data) {
  std::vector<int64_t> timestamps;
  if (!data.has_timestamps) return timestamps;
  // CsrMatrix::FromInteractions orders values by (user, item).
  std::vector<const Interaction*> sorted;
  sorted.reserve(data.interactions.size());
  for (const Interaction& r : data.interactions) sorted.push_back(&r);
  std::sort(sorted.begin(), sorted.end(), [](const Interaction* a, const Interaction* b) {
    return a->user != b->user ? a->user < b->user : a->item < b->item;
  });
  timestamps.reserve(sorted.size());
  for (const Interaction* r : sorted) timestamps.push_back(r->timestamp);
  return timestamps;
}

Result<TrainingRun> TrainWithProgress(const Dataset& train, const ModelConfig& config, int threads,
                                      const Dataset* validation, uint32_t k,
                                      const std::string& label) {
  const CsrMatrix matrix =
      CsrMatrix::FromInteractions(train.interactions, train.users.size(), train.items.size());
  const std::vector<int64_t> timestamps = TimestampsInCsrOrder(train);
  TrainingRun run;
  const bool iterative = IsFactorFamily(config.family);
  ProgressBar bar(label, iterative ? config.als.iterations : 1);
  double train_seconds = 0;
  FitContext context;
  context.threads = threads;
  context.progress = [&](const FitProgress& p) {
    // Closed-form families report steps (build, invert), not iterations: no curve.
    if (iterative) {
      train_seconds += p.seconds;
      run.curve.push_back({p.step, p.loss, p.train_rmse, train_seconds, kNaN, kNaN, kNaN});
    }
    bar.Update(p.step, p.status);
  };
  if (validation != nullptr && iterative) {
    context.on_iteration = [&](uint32_t, const Recommender& current) -> Status {
      EvalOptions eo;
      eo.k = k;
      eo.threads = threads;
      RECO_ASSIGN_OR_RETURN(EvalResult ev, EvaluateModel(current, matrix, *validation, eo));
      CurvePoint& p = run.curve.back();
      if (ev.has_rating_metrics) p.test_rmse = ev.rating.rmse;
      p.test_precision = ev.ranking.precision_at_k;
      p.test_ndcg = ev.ranking.ndcg_at_k;
      std::string status = fmt::format("loss {:.4f}", p.loss);
      if (std::isfinite(p.train_rmse)) status += fmt::format("  train rmse {:.4f}", p.train_rmse);
      if (std::isfinite(p.test_rmse)) status += fmt::format("  test rmse {:.4f}", p.test_rmse);
      status +=
          fmt::format("  test p@{} {:.4f} ndcg@{} {:.4f}", k, p.test_precision, k, p.test_ndcg);
      bar.Update(p.iteration, status);
      return Status::Ok();
    };
  }
  const auto start = Clock::now();
  FitData data{&matrix, &train.users, &train.items, timestamps};
  RECO_ASSIGN_OR_RETURN(run.model, FitRecommender(config, data, context));
  if (!iterative) {
    train_seconds = SecondsSince(start);
    bar.Update(1);
  }
  bar.Finish();
  run.seconds = train_seconds;
  run.model->set_metadata_json(
      lifecycle_internal::TrainingMetadata(train, config, train_seconds).dump());
  return run;
}

namespace lifecycle_internal {

nlohmann::json TrainingMetadata(const Dataset& train, const ModelConfig& config,
                                double train_seconds) {
  return {{"created_utc", FormatUtcMillis(UnixMillisNow())},
          {"train_data_hash", TrainingDataHash(train)},
          {"train_records", train.interactions.size()},
          {"params", nlohmann::json::parse(config.ToJson())},
          {"train_seconds", train_seconds}};
}

}  // namespace lifecycle_internal

ModelConfig DefaultModelConfig(ModelFamily family) {
  ModelConfig c;
  c.family = family;
  AlsOptions& o = c.als;
  switch (family) {
    case ModelFamily::kExplicitAls:
      o.implicit = false;
      o.factors = 50;
      o.iterations = 15;
      o.regularization = 0.1f;
      o.use_biases = true;
      break;
    case ModelFamily::kImplicitAls:
      o.implicit = true;
      o.factors = 64;
      o.iterations = 15;
      // Strong regularisation wins on ml-100k (precision@10 0.27 at lambda 1,
      // 0.41 at 50): with ~80 ratings per user, large lambda keeps rare items
      // from dominating the ranking.
      o.regularization = 50.0f;
      o.alpha = 3.0f;
      o.implicit_solver = ImplicitSolver::kConjugateGradient;
      o.cg_steps = 3;
      break;
    case ModelFamily::kEase:
      c.values.transform = ValueTransform::kBinary;
      c.ease.lambda = 500.0f;  // Steck 2019's value for ML-20M
      break;
    case ModelFamily::kItemKnn:
      c.values.transform = ValueTransform::kBinary;
      c.knn.similarity = KnnSimilarity::kCosine;
      c.knn.neighbors = 100;
      break;
  }
  return c;
}

std::string EvalJson(const EvalResult& e, uint32_t k) {
  nlohmann::json j = {{"k", k},
                      {"test_records", e.test_records},
                      {"cold_test_records", e.cold_test_records},
                      {"test_users", e.test_users}};
  if (e.has_rating_metrics) {
    j["rating"] = {{"rmse", e.rating.rmse},
                   {"mae", e.rating.mae},
                   {"r2", Num(e.rating.r2)},
                   {"explained_variance", Num(e.rating.explained_variance)}};
  }
  j["ranking"] = {{"precision_at_k", e.ranking.precision_at_k},
                  {"recall_at_k", e.ranking.recall_at_k},
                  {"ndcg_at_k", e.ranking.ndcg_at_k},
                  {"map_at_k", e.ranking.map_at_k},
                  {"map", e.ranking.map},
                  {"users_evaluated", e.ranking.users_evaluated}};
  j["coverage"] = {{"catalog", e.coverage.catalog}, {"distributional", e.coverage.distributional}};
  return j.dump();
}

Result<PipelineResult> RunPipeline(const PipelineOptions& options) {
  auto start = Clock::now();
  PipelineResult result;
  result.data_path = options.data_path;
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return Status::IOError(options.out_dir + ": cannot create: " + ec.message());

  RECO_ASSIGN_OR_RETURN(Dataset data,
                        LoadInteractions(options.data_path, options.load, &result.load));
  result.users = data.users.size();
  result.items = data.items.size();
  spdlog::info("loaded {} records ({} users, {} items) from {}", data.interactions.size(),
               result.users, result.items, options.data_path);
  if (result.load.bad_lines_skipped > 0) {
    spdlog::warn("skipped {} bad lines", result.load.bad_lines_skipped);
    for (const auto& m : result.load.bad_line_messages) spdlog::warn("  {}", m);
  }

  RECO_ASSIGN_OR_RETURN(TrainTest split, SplitDataset(data, options.split, &result.split));
  spdlog::info("{} split {:.2f}/{:.2f} seed {}: {} train, {} test ({} cold test records)",
               SplitMethodName(options.split.method), options.split.train_ratio,
               1 - options.split.train_ratio, options.split.seed, split.train.size(),
               split.test.size(), result.split.cold_test_records);
  Dataset train = SubsetDataset(data, split.train);
  Dataset test = SubsetDataset(data, split.test);
  if (options.write_split_files) {
    RECO_RETURN_IF_ERROR(
        WriteInteractions(options.out_dir + "/train.csv", train, train.interactions));
    RECO_RETURN_IF_ERROR(WriteInteractions(options.out_dir + "/test.csv", test, test.interactions));
  }

  std::vector<PipelineModel> models = options.models;
  if (options.tune) {
    TuneOptions to = *options.tune;
    to.refit = false;  // fitted below like every other model, on the same data
    to.report_dir = options.out_dir;
    to.on_trial = [&](const TuneTrial& t, const TuneTrial& best) {
      spdlog::info("tune trial {} {}: {} (best so far {:.4f}, trial {})", t.index,
                   ModelFamilyName(t.config.family),
                   t.status.ok() ? fmt::format("{:.4f}", t.objective) : t.status.ToString(),
                   best.objective, best.index);
    };
    RECO_ASSIGN_OR_RETURN(TuneResult tuned, Tune(train, to));
    const ModelConfig& best = tuned.trials[tuned.best].config;
    models.push_back({std::string("tuned-") + ModelFamilyName(best.family), best});
    result.tune = std::move(tuned);
  }

  for (const PipelineModel& job : models) {
    ModelRun run;
    run.name = job.name;
    run.config = job.config;
    TrainEvalOptions to;
    to.model = job.config;
    to.threads = options.threads;
    to.k = options.k;
    to.validation_curve = true;
    to.label = job.name;
    RECO_ASSIGN_OR_RETURN(TrainEvalRun trained, TrainAndEvaluate(train, &test, to));
    run.training = std::move(trained.training);
    run.eval = *trained.eval;
    auto meta = nlohmann::json::parse(run.training.model->metadata_json());
    meta["train_path"] = std::filesystem::absolute(options.out_dir + "/train.csv").string();
    run.training.model->set_metadata_json(meta.dump());
    run.model_path = options.out_dir + "/" + job.name + ".model";
    RECO_RETURN_IF_ERROR(SaveRecommender(*run.training.model, run.model_path));
    result.runs.push_back(std::move(run));
  }
  result.total_seconds = SecondsSince(start);

  RECO_RETURN_IF_ERROR(
      WriteFileAtomically(options.out_dir + "/report.json", PipelineJson(result, options)));
  RECO_RETURN_IF_ERROR(WriteFileAtomically(options.out_dir + "/report.html",
                                           RenderHtmlReport(PipelineHtml(result, options))));
  return result;
}

std::string PipelineJson(const PipelineResult& r, const PipelineOptions& o) {
  nlohmann::json j;
  j["data"] = {{"path", r.data_path},
               {"format", InputFormatName(r.load.format)},
               {"records", r.load.records_loaded},
               {"users", r.users},
               {"items", r.items},
               {"bad_lines_skipped", r.load.bad_lines_skipped},
               {"duplicates_resolved", r.load.duplicates_resolved}};
  j["split"] = {{"method", SplitMethodName(o.split.method)},
                {"train_ratio", o.split.train_ratio},
                {"seed", o.split.seed},
                {"min_user", o.split.min_user},
                {"min_item", o.split.min_item},
                {"filtered_records", r.split.filtered_records},
                {"train_records", r.split.train_records},
                {"test_records", r.split.test_records},
                {"cold_test_records", r.split.cold_test_records}};
  j["k"] = o.k;
  j["models"] = nlohmann::json::array();
  for (const ModelRun& run : r.runs) {
    nlohmann::json curve = nlohmann::json::array();
    for (const CurvePoint& p : run.training.curve) {
      curve.push_back({{"iteration", p.iteration},
                       {"loss", Num(p.loss)},
                       {"train_rmse", Num(p.train_rmse)},
                       {"seconds", p.seconds},
                       {"test_rmse", Num(p.test_rmse)},
                       {"test_precision_at_k", Num(p.test_precision)},
                       {"test_ndcg_at_k", Num(p.test_ndcg)}});
    }
    j["models"].push_back({{"name", run.name},
                           {"params", nlohmann::json::parse(run.config.ToJson())},
                           {"threads", o.threads},
                           {"train_seconds", run.training.seconds},
                           {"model_path", run.model_path},
                           {"eval", nlohmann::json::parse(EvalJson(run.eval, o.k))},
                           {"curve", curve}});
  }
  if (r.tune && o.tune) {
    const TuneTrial& best = r.tune->trials[r.tune->best];
    nlohmann::json values = nlohmann::json::array();
    for (const TuneTrial& t : r.tune->trials) {
      values.push_back(t.status.ok() ? nlohmann::json(t.objective) : nlohmann::json(nullptr));
    }
    j["tune"] = {{"metric", fmt::format("{}@{}", TuneMetricName(o.tune->metric), o.tune->k)},
                 {"validation_ratio", o.tune->validation_ratio},
                 {"seed", o.tune->seed},
                 {"fit_records", r.tune->fit_records},
                 {"validation_records", r.tune->validation_records},
                 {"trials", r.tune->trials.size()},
                 {"best_trial", best.index},
                 {"best_validation_value", best.objective},
                 {"best_config", nlohmann::json::parse(best.config.ToJson())},
                 {"trial_values", values}};
  }
  j["total_seconds"] = r.total_seconds;
  return j.dump(2) + "\n";
}

HtmlReport PipelineHtml(const PipelineResult& r, const PipelineOptions& o) {
  HtmlReport h;
  h.title = "reco pipeline report";
  h.subtitle = fmt::format(
      "{} — {} records, {} users, {} items — {} split {:.0f}/{:.0f}, seed {} "
      "— k = {} — generated {}",
      r.data_path, r.load.records_loaded, r.users, r.items, SplitMethodName(o.split.method),
      o.split.train_ratio * 100, (1 - o.split.train_ratio) * 100, o.split.seed, o.k,
      FormatUtcMillis(UnixMillisNow()));
  ReportTable metrics{"Metrics", {"model"}, {}};
  for (const char* m : {"RMSE", "MAE", "R²", "explained var.", "precision@k", "recall@k", "NDCG@k",
                        "MAP@k", "catalog cov.", "distributional cov.", "train s"}) {
    metrics.header.push_back(m);
  }
  for (const ModelRun& run : r.runs) {
    const EvalResult& e = run.eval;
    bool rm = e.has_rating_metrics;
    metrics.rows.push_back(
        {run.name, rm ? Fixed(e.rating.rmse) : "-", rm ? Fixed(e.rating.mae) : "-",
         rm ? Fixed(e.rating.r2) : "-", rm ? Fixed(e.rating.explained_variance) : "-",
         Fixed(e.ranking.precision_at_k), Fixed(e.ranking.recall_at_k), Fixed(e.ranking.ndcg_at_k),
         Fixed(e.ranking.map_at_k), Fixed(e.coverage.catalog), Fixed(e.coverage.distributional),
         Fixed(run.training.seconds, 2)});
  }
  h.tables.push_back(metrics);
  // Recommenders' table defines MAP as the sum of precisions at hits over
  // the user's relevant test items (our `map`), so that column is compared.
  ReportTable published{
      "Beside Microsoft Recommenders' published ml-100k rows (same protocol only when the "
      "data is ml-100k, split stratified 75/25 seed 42, k = 10)",
      {"model", "precision@k", "recall@k", "NDCG@k", "MAP (Recommenders)", "source"},
      {}};
  for (const ModelRun& run : r.runs) {
    const RankingMetrics& m = run.eval.ranking;
    published.rows.push_back({run.name, Fixed(m.precision_at_k), Fixed(m.recall_at_k),
                              Fixed(m.ndcg_at_k), Fixed(m.map), "this run"});
  }
  published.rows.push_back({"BiVAE", "0.4118", "0.2191", "0.4751", "0.1461", "published"});
  published.rows.push_back({"SAR", "0.3300", "0.1760", "0.3820", "0.1100", "published"});
  h.tables.push_back(published);
  if (r.tune && o.tune) {
    const std::string metric = fmt::format("{}@{}", TuneMetricName(o.tune->metric), o.tune->k);
    LineChart trials{"Tuning on the validation split (carved from train): " + metric + " per trial",
                     "trial",
                     metric,
                     {}};
    ChartSeries value{"trial", {}, {}}, best{"best so far", {}, {}};
    double best_so_far = 0;
    for (const TuneTrial& t : r.tune->trials) {
      if (!t.status.ok()) continue;  // failed trials have no value; trials.tsv has the reason
      best_so_far = std::max(best_so_far, t.objective);
      value.x.push_back(t.index), value.y.push_back(t.objective);
      best.x.push_back(t.index), best.y.push_back(best_so_far);
    }
    trials.series = {value, best};
    h.charts.push_back(trials);
  }
  ReportTable params{"Hyper-parameters", {"model", "parameters"}, {}};
  for (const ModelRun& run : r.runs) params.rows.push_back({run.name, run.config.ToJson()});
  h.tables.push_back(params);
  ReportTable data{"Data", {"quantity", "value"}, {}};
  data.rows = {{"records loaded", std::to_string(r.load.records_loaded)},
               {"bad lines skipped", std::to_string(r.load.bad_lines_skipped)},
               {"duplicates resolved", std::to_string(r.load.duplicates_resolved)},
               {"filtered by min count", std::to_string(r.split.filtered_records)},
               {"train records", std::to_string(r.split.train_records)},
               {"test records", std::to_string(r.split.test_records)},
               {"cold test records", std::to_string(r.split.cold_test_records)}};
  h.tables.push_back(data);

  for (const ModelRun& run : r.runs) {
    LineChart quality{run.name + ": test metrics per iteration (shown, never used to choose)",
                      "iteration",
                      "metric",
                      {}};
    LineChart loss{run.name + ": training loss per iteration", "iteration", "loss", {}};
    ChartSeries lossS{"loss", {}, {}}, trainRmse{"train RMSE", {}, {}},
        testRmse{"test RMSE", {}, {}}, prec{fmt::format("precision@{}", o.k), {}, {}},
        ndcg{fmt::format("NDCG@{}", o.k), {}, {}};
    for (const CurvePoint& p : run.training.curve) {
      double x = p.iteration;
      lossS.x.push_back(x), lossS.y.push_back(p.loss);
      trainRmse.x.push_back(x), trainRmse.y.push_back(p.train_rmse);
      testRmse.x.push_back(x), testRmse.y.push_back(p.test_rmse);
      prec.x.push_back(x), prec.y.push_back(p.test_precision);
      ndcg.x.push_back(x), ndcg.y.push_back(p.test_ndcg);
    }
    loss.series.push_back(lossS);
    if (run.config.family != ModelFamily::kExplicitAls) {
      quality.series = {prec, ndcg};
    } else {
      quality.series = {trainRmse, testRmse};
      quality.y_label = "RMSE";
    }
    h.charts.push_back(quality);
    h.charts.push_back(loss);
  }
  return h;
}

std::string PipelineSummaryTable(const PipelineResult& r, uint32_t k) {
  std::string out =
      fmt::format("{:<14} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}\n", "model", "RMSE",
                  "MAE", "R2", "P@" + std::to_string(k), "R@" + std::to_string(k),
                  "NDCG@" + std::to_string(k), "MAP@" + std::to_string(k), "catcov", "train_s");
  for (const ModelRun& run : r.runs) {
    const EvalResult& e = run.eval;
    bool rm = e.has_rating_metrics;
    out += fmt::format("{:<14} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8}\n", run.name,
                       rm ? Fixed(e.rating.rmse) : "-", rm ? Fixed(e.rating.mae) : "-",
                       rm ? Fixed(e.rating.r2) : "-", Fixed(e.ranking.precision_at_k),
                       Fixed(e.ranking.recall_at_k), Fixed(e.ranking.ndcg_at_k),
                       Fixed(e.ranking.map_at_k), Fixed(e.coverage.catalog),
                       Fixed(run.training.seconds, 2));
  }
  return out;
}

}  // namespace reco
