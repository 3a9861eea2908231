#include "reco/tune.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "reco/evaluation.h"
#include "reco/file_util.h"
#include "reco/pipeline.h"
#include "reco/random.h"
#include "reco/split.h"

namespace reco {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Uniform in [lo, hi] on a log scale: regularisers and confidences matter by
// their order of magnitude.
float LogUniform(SplitMix64& rng, double lo, double hi) {
  const double u = static_cast<double>(rng.NextFloat());
  return static_cast<float>(std::exp(std::log(lo) + u * (std::log(hi) - std::log(lo))));
}

template <typename T, size_t N>
T Pick(SplitMix64& rng, const T (&choices)[N]) {
  return choices[rng.Below(N)];
}

// How interaction values become the signal (reco/recommender.h
// ValueTransform): on explicit ratings, presence and the rating itself can
// differ by several points of precision, so it is searched like any option.
ValueOptions DrawValues(SplitMix64& rng, bool allow_log) {
  ValueOptions v;
  const uint64_t pick = rng.Below(allow_log ? 3 : 2);
  v.transform = pick == 0 ? ValueTransform::kBinary
                          : (pick == 1 ? ValueTransform::kRaw : ValueTransform::kLog);
  if (v.transform == ValueTransform::kLog) v.epsilon = LogUniform(rng, 0.1, 10);
  return v;
}

// One random configuration of `family`. The ranges are wide on purpose
// (orders of magnitude around each family's published defaults), not
// fitted to one data set.
ModelConfig DrawConfig(ModelFamily family, SplitMix64& rng) {
  ModelConfig c = DefaultModelConfig(family);
  switch (family) {
    case ModelFamily::kExplicitAls: {
      static constexpr uint32_t kFactors[] = {10, 20, 50, 100};
      c.als.factors = Pick(rng, kFactors);
      c.als.regularization = LogUniform(rng, 0.01, 1.0);
      c.als.use_biases = rng.Below(2) == 1;
      break;
    }
    case ModelFamily::kImplicitAls: {
      static constexpr uint32_t kFactors[] = {32, 64, 128, 200};
      c.als.factors = Pick(rng, kFactors);
      c.als.alpha = LogUniform(rng, 0.3, 30);
      // Rendle et al. 2022: frequency-scaled regularisation (nu) with a small
      // weight on unobserved cells (alpha0). lambda's useful range moves by
      // orders of magnitude with nu, so each nu gets its own range.
      if (rng.Below(2) == 0) {
        c.als.nu = 0;
        c.als.alpha0 = 1;
        c.als.regularization = LogUniform(rng, 1, 500);
      } else {
        c.als.nu = 1;
        c.als.alpha0 = LogUniform(rng, 0.01, 1);
        c.als.regularization = LogUniform(rng, 1e-4, 0.1);
      }
      c.values = DrawValues(rng, /*allow_log=*/true);
      break;
    }
    case ModelFamily::kEase:
      c.ease.lambda = LogUniform(rng, 20, 5000);
      c.values = DrawValues(rng, /*allow_log=*/false);
      break;
    case ModelFamily::kItemKnn: {
      static constexpr KnnSimilarity kSimilarities[] = {
          KnnSimilarity::kCosine, KnnSimilarity::kJaccard, KnnSimilarity::kLift};
      static constexpr uint32_t kNeighbors[] = {20, 50, 100, 200, 400};
      c.knn.similarity = Pick(rng, kSimilarities);
      c.knn.neighbors = Pick(rng, kNeighbors);
      c.knn.shrinkage = rng.Below(2) == 0 ? 0.0f : LogUniform(rng, 0.1, 100);
      c.values = DrawValues(rng, /*allow_log=*/false);
      break;
    }
  }
  return c;
}

double Objective(const RankingMetrics& m, TuneMetric metric) {
  switch (metric) {
    case TuneMetric::kPrecision:
      return m.precision_at_k;
    case TuneMetric::kRecall:
      return m.recall_at_k;
    case TuneMetric::kNdcg:
      return m.ndcg_at_k;
    case TuneMetric::kMap:
      return m.map;
  }
  return m.ndcg_at_k;
}

Status CheckOptions(const TuneOptions& o) {
  if (o.families.empty()) return Status::InvalidArgument("tune: no model family to search");
  if (o.trials == 0) return Status::InvalidArgument("tune: --trials must be at least 1");
  if (!(o.time_budget_seconds >= 0)) {
    return Status::InvalidArgument("tune: --time-budget must be >= 0 seconds");
  }
  if (o.k == 0) return Status::InvalidArgument("tune: k must be at least 1");
  if (!(o.validation_ratio > 0 && o.validation_ratio < 1)) {
    return Status::InvalidArgument("tune: the validation ratio must lie strictly between 0 and 1");
  }
  return Status::Ok();
}

// The fitting part and the validation part of the training data.
struct ValidationSplit {
  Dataset fit;
  Dataset validation;
  CsrMatrix fit_matrix;
  std::vector<int64_t> fit_timestamps;
};

Result<ValidationSplit> CarveValidation(const Dataset& train, const TuneOptions& o) {
  RECO_ASSIGN_OR_RETURN(TrainTest tt,
                        StratifiedSplit(train.interactions, 1.0 - o.validation_ratio, o.seed));
  if (tt.test.empty()) {
    return Status::InvalidArgument(
        "tune: the training data is too small to hold out a validation split");
  }
  ValidationSplit s;
  s.fit = SubsetDataset(train, tt.train);
  s.validation = SubsetDataset(train, tt.test);
  s.fit_matrix =
      CsrMatrix::FromInteractions(s.fit.interactions, s.fit.users.size(), s.fit.items.size());
  s.fit_timestamps = TimestampsInCsrOrder(s.fit);
  return s;
}

TuneTrial RunTrial(uint32_t index, const ModelConfig& config, const ValidationSplit& split,
                   const TuneOptions& o) {
  TuneTrial t;
  t.index = index;
  t.config = config;
  const auto start = Clock::now();
  t.status = [&]() -> Status {
    RECO_RETURN_IF_ERROR(config.Validate());
    FitContext context;
    context.threads = o.threads;
    FitData data{&split.fit_matrix, &split.fit.users, &split.fit.items, split.fit_timestamps};
    RECO_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> model,
                          FitRecommender(config, data, context));
    RECO_RETURN_IF_ERROR(model->CheckFinite());
    EvalOptions eo;
    eo.k = o.k;
    eo.threads = o.threads;
    eo.rating_metrics = false;
    RECO_ASSIGN_OR_RETURN(EvalResult ev,
                          EvaluateModel(*model, split.fit_matrix, split.validation, eo));
    t.metrics = ev.ranking;
    t.objective = Objective(ev.ranking, o.metric);
    if (!std::isfinite(t.objective)) return Status::Internal("the validation metric is not finite");
    return Status::Ok();
  }();
  t.seconds = SecondsSince(start);
  return t;
}

}  // namespace

Result<TuneMetric> ParseTuneMetric(std::string_view text, uint32_t* k) {
  const size_t at = text.find('@');
  const std::string_view name = text.substr(0, at);
  uint32_t cut = 10;
  if (at != std::string_view::npos) {
    const std::string_view digits = text.substr(at + 1);
    uint64_t v = 0;
    bool ok = !digits.empty() && digits.size() <= 5;
    for (char ch : digits) {
      ok = ok && ch >= '0' && ch <= '9';
      v = v * 10 + static_cast<uint64_t>(ch - '0');
    }
    if (!ok || v == 0) {
      return Status::InvalidArgument(
          fmt::format("metric '{}': the cut-off after @ must be a positive integer", text));
    }
    cut = static_cast<uint32_t>(v);
  }
  TuneMetric metric;
  if (name == "precision" || name == "p") {
    metric = TuneMetric::kPrecision;
  } else if (name == "recall" || name == "r") {
    metric = TuneMetric::kRecall;
  } else if (name == "ndcg") {
    metric = TuneMetric::kNdcg;
  } else if (name == "map") {
    metric = TuneMetric::kMap;
  } else {
    return Status::InvalidArgument(
        fmt::format("unknown metric '{}': use precision@K, recall@K, ndcg@K or map@K", text));
  }
  if (k != nullptr) *k = cut;
  return metric;
}

const char* TuneMetricName(TuneMetric metric) {
  switch (metric) {
    case TuneMetric::kPrecision:
      return "precision";
    case TuneMetric::kRecall:
      return "recall";
    case TuneMetric::kNdcg:
      return "ndcg";
    case TuneMetric::kMap:
      return "map";
  }
  return "?";
}

Result<TuneResult> Tune(const Dataset& train, const TuneOptions& options) {
  RECO_RETURN_IF_ERROR(CheckOptions(options));
  const auto start = Clock::now();
  RECO_ASSIGN_OR_RETURN(ValidationSplit split, CarveValidation(train, options));
  TuneResult result;
  result.fit_records = split.fit.interactions.size();
  result.validation_records = split.validation.interactions.size();

  // Trial configurations depend only on the seed, never on earlier results
  // or timings, so a budget cut only shortens the same sequence.
  SplitMix64 rng(options.seed ^ 0x74756e65ULL);  // "tune"
  for (uint32_t i = 0; i < options.trials; ++i) {
    if (i > 0 && options.time_budget_seconds > 0 &&
        SecondsSince(start) >= options.time_budget_seconds) {
      break;
    }
    const size_t nf = options.families.size();
    const ModelFamily family = options.families[i % nf];
    ModelConfig config = i < nf ? DefaultModelConfig(family) : DrawConfig(family, rng);
    config.ease.max_memory_bytes = options.ease_max_memory_bytes;
    if (options.max_iterations > 0 && config.als.iterations > options.max_iterations) {
      config.als.iterations = options.max_iterations;
    }
    result.trials.push_back(RunTrial(i, config, split, options));
    const TuneTrial& t = result.trials.back();
    if (t.status.ok() && (!result.has_best || t.objective > result.trials[result.best].objective)) {
      result.best = result.trials.size() - 1;
      result.has_best = true;
    }
    if (options.on_trial) options.on_trial(t, result.trials[result.has_best ? result.best : 0]);
  }
  if (!result.has_best) {
    std::string reasons;
    for (const TuneTrial& t : result.trials) {
      reasons += fmt::format("\n  trial {} ({}): {}", t.index, ModelFamilyName(t.config.family),
                             t.status.ToString());
    }
    if (!options.report_dir.empty()) {
      const Status written = WriteTuneTrials(result, options, options.report_dir);
      if (!written.ok()) reasons += "\n(the trials were not recorded: " + written.message() + ")";
    }
    return Status::FailedPrecondition("tune: every trial failed:" + reasons);
  }

  // Recorded before the refit, so a refit that fails still leaves the search.
  if (!options.report_dir.empty()) {
    RECO_RETURN_IF_ERROR(WriteTuneTrials(result, options, options.report_dir));
  }
  if (!options.refit) return result;
  RECO_ASSIGN_OR_RETURN(TrainingRun refit,
                        TrainWithProgress(train, result.trials[result.best].config, options.threads,
                                          nullptr, options.k, "refit best"));
  RECO_RETURN_IF_ERROR(refit.model->CheckFinite());
  nlohmann::json meta = nlohmann::json::parse(refit.model->metadata_json());
  const TuneTrial& best = result.trials[result.best];
  meta["tune"] = {{"trials", result.trials.size()},
                  {"best_trial", best.index},
                  {"metric", fmt::format("{}@{}", TuneMetricName(options.metric), options.k)},
                  {"validation_value", best.objective},
                  {"validation_ratio", options.validation_ratio},
                  {"seed", options.seed}};
  refit.model->set_metadata_json(meta.dump());
  result.refit_seconds = refit.seconds;
  result.model = std::move(refit.model);
  if (!options.report_dir.empty()) {  // again, with the refit's time
    RECO_RETURN_IF_ERROR(WriteTuneTrials(result, options, options.report_dir));
  }
  return result;
}

Status WriteTuneTrials(const TuneResult& result, const TuneOptions& options,
                       const std::string& dir) {
  const std::string metric = fmt::format("{}@{}", TuneMetricName(options.metric), options.k);
  std::string tsv = fmt::format(
      "trial\tfamily\tstatus\t{0}\tprecision@{1}\trecall@{1}\tndcg@{1}\tmap\tseconds\tconfig\n",
      metric, options.k);
  nlohmann::ordered_json trials = nlohmann::ordered_json::array();
  for (const TuneTrial& t : result.trials) {
    const std::string status = t.status.ok() ? "ok" : t.status.ToString();
    // A reason is one field: no tabs or newlines inside it.
    std::string field = status;
    for (char& ch : field) {
      if (ch == '\t' || ch == '\n' || ch == '\r') ch = ' ';
    }
    tsv += fmt::format("{}\t{}\t{}\t{:.6f}\t{:.6f}\t{:.6f}\t{:.6f}\t{:.6f}\t{:.3f}\t{}\n", t.index,
                       ModelFamilyName(t.config.family), field, t.objective,
                       t.metrics.precision_at_k, t.metrics.recall_at_k, t.metrics.ndcg_at_k,
                       t.metrics.map, t.seconds, t.config.ToJson());
    nlohmann::ordered_json j = {{"trial", t.index},
                                {"family", ModelFamilyName(t.config.family)},
                                {"status", status},
                                {"config", nlohmann::ordered_json::parse(t.config.ToJson())},
                                {"seconds", t.seconds}};
    if (t.status.ok()) {
      j["objective"] = t.objective;
      j["precision_at_k"] = t.metrics.precision_at_k;
      j["recall_at_k"] = t.metrics.recall_at_k;
      j["ndcg_at_k"] = t.metrics.ndcg_at_k;
      j["map"] = t.metrics.map;
    }
    trials.push_back(std::move(j));
  }
  nlohmann::ordered_json doc = {
      {"metric", metric},
      {"k", options.k},
      {"validation_ratio", options.validation_ratio},
      {"seed", options.seed},
      {"fit_records", result.fit_records},
      {"validation_records", result.validation_records},
      {"best_trial", result.has_best ? nlohmann::ordered_json(result.trials[result.best].index)
                                     : nlohmann::ordered_json(nullptr)},
      {"refit_seconds", result.refit_seconds},
      {"trials", std::move(trials)}};
  RECO_RETURN_IF_ERROR(WriteFileAtomically(dir + "/trials.tsv", tsv));
  return WriteFileAtomically(dir + "/trials.json", doc.dump(2) + "\n");
}

}  // namespace reco
