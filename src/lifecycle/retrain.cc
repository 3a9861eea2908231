#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "reco/lifecycle.h"
#include "reco/model_registry.h"
#include "reco/split.h"

namespace reco {
namespace {

using nlohmann::json;

// Refuses an id the registry or the store already holds, before any work.
Status CheckVersionIsNew(const ModelRegistry& registry, RecommendationStore& store,
                         const std::string& version, const std::string& registry_dir) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version).WithContext("--version"));
  RECO_ASSIGN_OR_RETURN(std::vector<ModelVersionInfo> registered, registry.List());
  for (const ModelVersionInfo& v : registered) {
    if (v.version == version) {
      return Status::FailedPrecondition("model version " + version + " already exists in " +
                                        registry_dir);
    }
  }
  RECO_ASSIGN_OR_RETURN(std::vector<VersionMeta> stored, store.ListVersions());
  for (const VersionMeta& m : stored) {
    if (m.version == version) {
      return Status::FailedPrecondition("the store already holds a version " + version);
    }
  }
  return Status::Ok();
}

// The records a model is fitted on and the ones it is measured on, both in
// `data`'s ID maps (so the model covers every user and item of the version).
struct HoldoutSplit {
  Dataset fit;
  Dataset holdout;  // empty: nothing held out
};

Result<HoldoutSplit> SplitHoldout(const Dataset& data, const RetrainOptions& o) {
  HoldoutSplit s;
  s.fit.users = data.users;
  s.fit.items = data.items;
  s.fit.has_values = data.has_values;
  s.fit.has_timestamps = data.has_timestamps;
  s.holdout.users = data.users;
  s.holdout.items = data.items;
  if (o.holdout <= 0) {
    s.fit.interactions = data.interactions;
    return s;
  }
  SplitOptions so;
  so.method = SplitMethod::kStratified;
  so.train_ratio = 1.0 - o.holdout;
  so.seed = o.holdout_seed;
  SplitReport report;
  RECO_ASSIGN_OR_RETURN(TrainTest tt, SplitDataset(data, so, &report));
  s.fit.interactions = std::move(tt.train);
  s.holdout.interactions = std::move(tt.test);
  return s;
}

}  // namespace

std::string DescribeModel(const Recommender& model) {
  const ModelConfig& c = model.config();
  switch (c.family) {
    case ModelFamily::kExplicitAls:
    case ModelFamily::kImplicitAls:
      return fmt::format("{} ALS ({} factors, {} iterations)",
                         c.family == ModelFamily::kExplicitAls ? "explicit" : "implicit",
                         c.als.factors, c.als.iterations);
    case ModelFamily::kEase:
      return fmt::format("EASE (lambda {})", c.ease.lambda);
    case ModelFamily::kItemKnn:
      return fmt::format("item-kNN ({}, {} neighbours)", KnnSimilarityName(c.knn.similarity),
                         c.knn.neighbors);
  }
  return ModelFamilyName(c.family);
}

Result<RetrainReport> Retrain(const RetrainOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  RetrainReport report;
  report.version = o.version.empty() ? NewVersionId() : o.version;

  RECO_ASSIGN_OR_RETURN(auto registry, ModelRegistry::Open(o.registry_dir));
  RecStoreOptions store_options;
  store_options.ns = o.store_namespace;
  RECO_ASSIGN_OR_RETURN(auto store, RecommendationStore::Open(o.store_uri, store_options));
  RECO_RETURN_IF_ERROR(CheckVersionIsNew(*registry, *store, report.version, o.registry_dir));

  RECO_ASSIGN_OR_RETURN(Dataset data, LoadDataset(o.data_path, o.load));
  report.base_records = data.interactions.size();
  std::string description = o.data_path;
  if (!o.events_dir.empty()) {
    RECO_RETURN_IF_ERROR(MergeLoggedEvents(o.events_dir,
                                           FoldRuleFor(o.model.family == ModelFamily::kExplicitAls),
                                           &data, &report.events)
                             .WithContext("replaying events from " + o.events_dir));
    const EventMergeReport& m = report.events;
    spdlog::info(
        "{}: {} events through seq {}: {} new pairs, {} updated, {} without a value skipped",
        o.events_dir, m.events, m.last_seq, m.added, m.updated, m.skipped_no_value);
    description += fmt::format(" + events through seq {}", m.last_seq);
  }
  const CsrMatrix matrix =
      CsrMatrix::FromInteractions(data.interactions, data.users.size(), data.items.size());
  report.interactions = matrix.nnz();
  report.users = matrix.rows;
  report.items = matrix.cols;
  report.data_hash = TrainingDataHash(matrix, data.users, data.items);

  RECO_ASSIGN_OR_RETURN(HoldoutSplit split, SplitHoldout(data, o));
  report.fit_records = split.fit.interactions.size();
  report.holdout_records = split.holdout.interactions.size();
  TrainEvalOptions to;
  to.model = o.model;
  to.threads = o.threads;
  to.k = o.k;
  to.label = ModelFamilyName(o.model.family);
  const bool measured = !split.holdout.interactions.empty();
  RECO_ASSIGN_OR_RETURN(TrainEvalRun run,
                        TrainAndEvaluate(split.fit, measured ? &split.holdout : nullptr, to));
  Recommender& model = *run.training.model;
  report.model_description = DescribeModel(model);

  json metrics = json::object();
  if (run.eval) {
    report.eval = run.eval;
    metrics = json::parse(EvalJson(*run.eval, o.k));
    metrics["holdout"] = {{"method", "stratified"},
                          {"fraction", o.holdout},
                          {"seed", o.holdout_seed},
                          {"train_records", report.fit_records},
                          {"test_records", report.holdout_records}};
  }
  json model_meta = json::parse(model.metadata_json());
  model_meta["registry_version"] = report.version;
  model_meta["data_description"] = description;
  model_meta["events_through_seq"] = report.events.last_seq;
  model_meta["eval"] = metrics;
  model.set_metadata_json(model_meta.dump());

  RegisterOptions ro;
  ro.version = report.version;
  ro.data_description = description;
  ro.data_hash = report.data_hash;
  ro.events_through_seq = report.events.last_seq;
  ro.metrics_json = metrics.dump();
  RECO_ASSIGN_OR_RETURN(std::string registered, registry->Register(model, matrix, ro));

  PrecomputeOptions po;
  po.k = o.k;
  po.similar_k = o.similar_k;
  po.popular_k = o.popular_k;
  po.threads = o.threads;
  po.version = registered;
  po.description = fmt::format("registry {} version {}: {}", o.registry_dir, registered,
                               report.model_description);
  po.activate = false;
  RECO_ASSIGN_OR_RETURN(PrecomputeResult pre, PrecomputeToStore(model, matrix, store.get(), po));
  report.user_lists = pre.meta.user_lists;
  report.precompute_seconds = pre.seconds;

  if (o.activate) {
    Result<std::string> previous = registry->ActiveVersion();
    if (previous.ok()) report.previously_active = *previous;
    RECO_RETURN_IF_ERROR(ActivateModelVersion(registry.get(), store.get(), registered));
    report.activated = true;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace reco
