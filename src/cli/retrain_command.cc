// reco retrain: base data + the live events of the write-ahead log ->
// holdout metrics -> a model trained on everything -> a registry version ->
// its lists precomputed into the store -> activation (the model lifecycle of
// issue 4).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "flags.h"
#include "reco/lifecycle.h"
#include "reco/model_registry.h"
#include "reco/pipeline.h"
#include "reco/precompute.h"

namespace reco::cli {
namespace {

using nlohmann::json;

struct RetrainFlags {
  std::string data_path;
  std::string events_dir;
  std::string registry_dir;
  std::string store_uri;
  std::string ns = "reco";
  std::string version;
  double holdout = 0.1;
  uint64_t holdout_seed = 42;
  uint32_t k = 10;
  uint32_t similar_k = 10;
  uint32_t popular_k = 100;
  bool no_activate = false;
  int threads = 0;
  LoadFlags load;
  AlsFlags als;
};

// Holdout evaluation: a model trained on a stratified per-user split, scored
// on the held-out part. The metrics JSON is EvalJson's plus the split.
Result<json> EvaluateOnHoldout(const Dataset& data, const AlsOptions& als, const RetrainFlags& f,
                               std::string* summary) {
  SplitOptions so;
  so.method = SplitMethod::kStratified;
  so.train_ratio = 1.0 - f.holdout;
  so.seed = f.holdout_seed;
  SplitReport report;
  RECO_ASSIGN_OR_RETURN(TrainTest tt, SplitDataset(data, so, &report));
  if (tt.test.empty()) {
    *summary = "holdout skipped: no user has enough records to hold one out";
    return json::object();
  }
  Dataset train = SubsetDataset(data, tt.train);
  Dataset test = SubsetDataset(data, tt.test);
  RECO_ASSIGN_OR_RETURN(TrainingRun run, TrainWithProgress(train, als, nullptr, f.k, "holdout"));
  CsrMatrix seen =
      CsrMatrix::FromInteractions(train.interactions, train.users.size(), train.items.size());
  EvalOptions eo;
  eo.k = f.k;
  eo.threads = f.threads;
  eo.rating_metrics = !als.implicit;
  RECO_ASSIGN_OR_RETURN(EvalResult ev, EvaluateModel(run.model, seen, test, eo));
  json metrics = json::parse(EvalJson(ev, f.k));
  metrics["holdout"] = {{"method", "stratified"},
                        {"fraction", f.holdout},
                        {"seed", f.holdout_seed},
                        {"train_records", report.train_records},
                        {"test_records", report.test_records}};
  if (ev.has_rating_metrics) {
    *summary = fmt::format("RMSE {:.4f}, MAE {:.4f}", ev.rating.rmse, ev.rating.mae);
  } else {
    *summary = fmt::format("precision@{0} {1:.4f}, recall@{0} {2:.4f}, NDCG@{0} {3:.4f}", f.k,
                           ev.ranking.precision_at_k, ev.ranking.recall_at_k, ev.ranking.ndcg_at_k);
  }
  *summary += fmt::format(" on a {:.0f}% stratified holdout ({} test records)", 100 * f.holdout,
                          report.test_records);
  return metrics;
}

Status RunRetrain(const RetrainFlags& f) {
  const auto start = std::chrono::steady_clock::now();
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(AlsOptions als, ToAlsOptions(f.als));
  als.threads = f.threads;
  const std::string version = f.version.empty() ? NewVersionId() : f.version;

  // Fail on an id clash or an unreachable store before any training.
  RECO_ASSIGN_OR_RETURN(auto registry, ModelRegistry::Open(f.registry_dir));
  RECO_RETURN_IF_ERROR(ValidateVersionId(version).WithContext("--version"));
  RECO_ASSIGN_OR_RETURN(std::vector<ModelVersionInfo> registered_versions, registry->List());
  for (const ModelVersionInfo& v : registered_versions) {
    if (v.version == version) {
      return Status::FailedPrecondition("model version " + version + " already exists in " +
                                        f.registry_dir);
    }
  }
  RecStoreOptions store_options;
  store_options.ns = f.ns;
  RECO_ASSIGN_OR_RETURN(auto store, RecommendationStore::Open(f.store_uri, store_options));
  RECO_ASSIGN_OR_RETURN(std::vector<VersionMeta> store_versions, store->ListVersions());
  for (const VersionMeta& m : store_versions) {
    if (m.version == version) {
      return Status::FailedPrecondition("the store already holds a version " + version);
    }
  }

  RECO_ASSIGN_OR_RETURN(Dataset data, LoadWithReport(f.data_path, load));
  const size_t base_records = data.interactions.size();
  EventMergeReport merge;
  std::string description = f.data_path;
  if (!f.events_dir.empty()) {
    RECO_RETURN_IF_ERROR(MergeLoggedEvents(f.events_dir, FoldRuleFor(!als.implicit), &data, &merge)
                             .WithContext("replaying events from " + f.events_dir));
    spdlog::info(
        "{}: {} events through seq {}: {} new pairs, {} updated, {} without a value "
        "skipped",
        f.events_dir, merge.events, merge.last_seq, merge.added, merge.updated,
        merge.skipped_no_value);
    description += fmt::format(" + events through seq {}", merge.last_seq);
  }
  const CsrMatrix matrix =
      CsrMatrix::FromInteractions(data.interactions, data.users.size(), data.items.size());
  const std::string data_hash = TrainingDataHash(matrix, data.users, data.items);

  json metrics = json::object();
  std::string eval_summary = "no holdout evaluation (--holdout 0)";
  if (f.holdout > 0) {
    RECO_ASSIGN_OR_RETURN(metrics, EvaluateOnHoldout(data, als, f, &eval_summary));
  }

  const std::string label = als.implicit ? "implicit-als" : "explicit-als";
  RECO_ASSIGN_OR_RETURN(TrainingRun run, TrainWithProgress(data, als, nullptr, f.k, label));
  json model_meta = json::parse(run.model.metadata_json);
  model_meta["registry_version"] = version;
  model_meta["data_description"] = description;
  model_meta["events_through_seq"] = merge.last_seq;
  model_meta["eval"] = metrics;
  run.model.metadata_json = model_meta.dump();

  RegisterOptions ro;
  ro.version = version;
  ro.data_description = description;
  ro.data_hash = data_hash;
  ro.events_through_seq = merge.last_seq;
  ro.metrics_json = metrics.dump();
  RECO_ASSIGN_OR_RETURN(std::string registered, registry->Register(run.model, matrix, ro));

  PrecomputeOptions po;
  po.k = f.k;
  po.similar_k = f.similar_k;
  po.popular_k = f.popular_k;
  po.threads = f.threads;
  po.version = registered;
  po.description = fmt::format("registry {} version {}: {} ALS, {} factors", f.registry_dir,
                               registered, ModelKindName(run.model.kind), run.model.factors());
  po.activate = false;
  RECO_ASSIGN_OR_RETURN(PrecomputeResult pre,
                        PrecomputeToStore(run.model, matrix, store.get(), po));

  std::string outcome;
  if (f.no_activate) {
    outcome = fmt::format(
        "Not activated (--no-activate): `reco models activate {} --registry {} --store {}{}` "
        "makes it serve.",
        registered, f.registry_dir, f.store_uri, f.ns == "reco" ? "" : " --model " + f.ns);
  } else {
    Result<std::string> previous = registry->ActiveVersion();
    RECO_RETURN_IF_ERROR(ActivateModelVersion(registry.get(), store.get(), registered));
    outcome = fmt::format(
        "It is now the active version (was {}); a server started with --registry loads it on "
        "SIGHUP.",
        previous.ok() ? *previous : "none");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "Retrained {} ALS ({} factors, {} iterations) on {} base records from {}{} = {} "
      "interactions of {} users x {} items (data hash {}). {}. Registered as version {} in {}; "
      "{} user lists precomputed into {} (namespace {}) in {:.2f}s. {} Total {:.2f}s.\n",
      ModelKindName(run.model.kind), run.model.factors(), als.iterations, base_records, f.data_path,
      f.events_dir.empty()
          ? ""
          : fmt::format(" plus {} events through seq {} ({} new pairs, {} updated{})", merge.events,
                        merge.last_seq, merge.added, merge.updated,
                        merge.skipped_no_value > 0
                            ? fmt::format(", {} without a rating skipped", merge.skipped_no_value)
                            : ""),
      matrix.nnz(), matrix.rows, matrix.cols, data_hash.substr(0, 16), eval_summary, registered,
      f.registry_dir, pre.meta.user_lists, f.store_uri, f.ns, pre.seconds, outcome, seconds);
  return Status::Ok();
}

}  // namespace

void AddRetrainCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<RetrainFlags>();
  f->als.options = DefaultExplicitOptions();
  CLI::App* cmd = app.add_subcommand(
      "retrain",
      "Train a new model version on base data plus the live events of the write-ahead\n"
      "log, measure it on a stratified holdout, register it, precompute its lists into\n"
      "the store and activate it. Events fold in as the live engine folds them:\n"
      "explicit models take the latest rating per (user, item) over earlier events and\n"
      "the base file (events without a value are skipped); implicit models add every\n"
      "event's strength (1 without a value) to the base file's.\n"
      "A running server picks the new version up on SIGHUP (or activate one with\n"
      "POST /v1/admin/models/{version}/activate).");
  cmd->add_option("--data", f->data_path, "Base interactions file (formats as `reco train`)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--events", f->events_dir,
                  "Event log directory (the server's write-ahead log); read without locking, so "
                  "a running server may keep appending")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--registry", f->registry_dir, "Model registry directory (created if needed)")
      ->required();
  cmd->add_option("--store", f->store_uri,
                  "Store URI for the precomputed lists: lmdb://PATH, redis://HOST:PORT[/DB]")
      ->required();
  cmd->add_option("--model", f->ns, "Store namespace of the model's lists")->capture_default_str();
  cmd->add_option("--version", f->version, "Version id (default: UTC timestamp)");
  cmd->add_option("--holdout", f->holdout,
                  "Fraction of each user's records held out to measure the model (0: skip); the "
                  "final model is trained on everything")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--holdout-seed", f->holdout_seed, "Seed of the stratified holdout split")
      ->capture_default_str();
  cmd->add_option("-k,--k", f->k, "Items per user list, and cut-off of the ranking metrics")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--similar-k", f->similar_k, "Items per similar-items list (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--popular-k", f->popular_k, "Length of the cold-start popular list")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_flag("--no-activate", f->no_activate,
                "Register and precompute, but keep the active version");
  AddThreadsFlag(cmd, &f->threads);
  AddLoadFlags(cmd, &f->load);
  AddAlsFlags(cmd, &f->als, "", /*with_kind=*/true);
  const AlsOptions imp = DefaultImplicitOptions();
  cmd->footer(
      fmt::format("With --implicit the defaults are factors {}, reg {}, alpha {}, cg-steps {}.",
                  imp.factors, imp.regularization, imp.alpha, imp.cg_steps));
  cmd->callback([cmd, f, exit_code] {
    ApplyImplicitDefaults(*cmd, &f->als);
    Status st = RunRetrain(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
