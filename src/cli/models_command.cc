// `reco models list|show|activate|rollback`: the versioned models of a
// registry (reco/model_registry.h) and which one serves. Activation goes
// through ActivateModelVersion, so a corrupt model or a version whose lists
// were never precomputed is refused and the active one stays.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "commands.h"
#include "reco/model_registry.h"
#include "reco/rec_store.h"
#include "reco/time_format.h"

namespace reco::cli {
namespace {

using nlohmann::json;

struct ModelsFlags {
  std::string registry_dir;
  std::string store_uri;
  std::string ns = "reco";
  std::string version;
  bool json_output = false;
};

void AddRegistryFlag(CLI::App* cmd, ModelsFlags* f) {
  cmd->add_option("--registry", f->registry_dir, "Model registry directory")->required();
}

void AddStoreFlags(CLI::App* cmd, ModelsFlags* f, bool required) {
  auto* opt = cmd->add_option("--store", f->store_uri,
                              "Store URI holding the precomputed lists: lmdb://PATH, "
                              "redis://HOST:PORT[/DB] (see docs/store.md)");
  if (required) opt->required();
  cmd->add_option("--model", f->ns, "Store namespace of the model's lists")->capture_default_str();
}

Result<std::unique_ptr<RecommendationStore>> OpenStore(const ModelsFlags& f) {
  RecStoreOptions options;
  options.ns = f.ns;
  return RecommendationStore::Open(f.store_uri, options);
}

// The metric that summarises a model: RMSE for explicit ones, NDCG@k for
// implicit ones (as retrain records them), "-" when none was measured.
std::string KeyMetric(const json& meta) {
  const json metrics = meta.value("metrics", json::object());
  if (!metrics.is_object()) return "-";
  const json rating = metrics.value("rating", json::object());
  if (rating.is_object() && rating.contains("rmse") && rating["rmse"].is_number()) {
    return fmt::format("rmse {:.4f}", rating["rmse"].get<double>());
  }
  const json ranking = metrics.value("ranking", json::object());
  if (ranking.is_object() && ranking.contains("ndcg_at_k") && ranking["ndcg_at_k"].is_number()) {
    return fmt::format("ndcg@{} {:.4f}", metrics.value("k", 0), ranking["ndcg_at_k"].get<double>());
  }
  return "-";
}

std::string Shorten(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 3) + "...";
}

Status RunList(const ModelsFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto registry, ModelRegistry::Open(f.registry_dir));
  RECO_ASSIGN_OR_RETURN(std::vector<ModelVersionInfo> versions, registry->List());
  // With a store: which versions have their lists, and what the store serves.
  bool with_store = !f.store_uri.empty();
  std::set<std::string> in_store;
  std::string store_active;
  if (with_store) {
    RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
    RECO_ASSIGN_OR_RETURN(std::vector<VersionMeta> metas, store->ListVersions());
    for (const VersionMeta& m : metas) in_store.insert(m.version);
    Result<std::string> active = store->RefreshActiveVersion();
    if (active.ok()) {
      store_active = *active;
    } else if (active.status().code() != Status::Code::kFailedPrecondition) {
      return active.status();
    }
  }
  std::string registry_active;
  for (const auto& v : versions) {
    if (v.active) registry_active = v.version;
  }

  if (f.json_output) {
    json out = json::array();
    for (const auto& v : versions) {
      json j = {
          {"version", v.version}, {"created_unix_ms", v.created_unix_ms}, {"active", v.active}};
      if (!v.problem.empty()) j["problem"] = v.problem;
      if (!v.meta_json.empty()) j["meta"] = json::parse(v.meta_json);
      if (with_store) j["lists_in_store"] = in_store.count(v.version) > 0;
      out.push_back(std::move(j));
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%-1s %-26s %-24s %-8s %7s %-28s %-16s%s\n", "", "VERSION", "CREATED (UTC)", "KIND",
                "FACTORS", "DATA", "METRIC", with_store ? " LISTS" : "");
    for (const auto& v : versions) {
      const char* marker = v.active ? "*" : "";
      const std::string lists = !with_store ? "" : in_store.count(v.version) ? " yes" : " no";
      if (!v.problem.empty()) {
        std::printf("%-1s %-26s DAMAGED: %s%s\n", marker, v.version.c_str(), v.problem.c_str(),
                    lists.c_str());
        continue;
      }
      const json meta = json::parse(v.meta_json);
      const json data = meta.value("data", json::object());
      std::string data_text = data.value("description", "");
      const std::string hash = data.value("hash", "");
      if (!hash.empty()) data_text += " #" + hash.substr(0, 8);
      std::printf("%-1s %-26s %-24s %-8s %7u %-28s %-16s%s\n", marker, v.version.c_str(),
                  FormatUtcMillis(v.created_unix_ms).c_str(), meta.value("kind", "?").c_str(),
                  meta.value("shape", json::object()).value("factors", 0u),
                  Shorten(data_text, 28).c_str(), KeyMetric(meta).c_str(), lists.c_str());
    }
    if (versions.empty()) std::printf("(no model versions in %s)\n", f.registry_dir.c_str());
  }
  if (with_store && store_active != registry_active) {
    std::fprintf(stderr,
                 "reco: warning: the store serves version '%s' but the registry's last "
                 "activation is '%s' (changed with `reco store activate`?)\n",
                 store_active.c_str(), registry_active.c_str());
  }
  return Status::Ok();
}

Status RunShow(const ModelsFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto registry, ModelRegistry::Open(f.registry_dir));
  std::string version = f.version;
  if (version.empty()) {
    RECO_ASSIGN_OR_RETURN(version, registry->ActiveVersion());
  }
  // Load verifies every file; its verdict is part of what `show` reports.
  Result<RegisteredModel> loaded = registry->Load(version);
  if (!loaded.ok()) return loaded.status();
  json meta = json::parse(loaded->meta_json);
  std::printf("%s\n", meta.dump(2).c_str());
  std::fprintf(stderr, "version %s verified: checksums, file hashes and shapes agree\n",
               version.c_str());
  return Status::Ok();
}

Status Activate(const ModelsFlags& f, const std::string& version, const char* verb) {
  RECO_ASSIGN_OR_RETURN(auto registry, ModelRegistry::Open(f.registry_dir));
  RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
  Result<std::string> previous = registry->ActiveVersion();
  RECO_RETURN_IF_ERROR(ActivateModelVersion(registry.get(), store.get(), version));
  std::printf("%s: active model version %s (was %s)\n", verb, version.c_str(),
              previous.ok() ? previous->c_str() : "none");
  return Status::Ok();
}

Status RunRollback(const ModelsFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto registry, ModelRegistry::Open(f.registry_dir));
  RECO_ASSIGN_OR_RETURN(std::string target, registry->RollbackTarget());
  registry.reset();
  return Activate(f, target, "rolled back");
}

}  // namespace

void AddModelsCommand(CLI::App& app, int* exit_code) {
  CLI::App* models = app.add_subcommand(
      "models",
      "Versioned models in a registry directory: list them, inspect one, activate one\n"
      "(its precomputed lists must be in the store) or roll back to the previous one.");
  models->require_subcommand(0, 1);  // none: main prints the group's help
  models->footer(
      "Activation flips the store's active pointer (lists switch within the readers' refresh\n"
      "interval) and is recorded in <registry>/activations.log. A server started with\n"
      "--registry reloads its live model on SIGHUP, or activates one itself with\n"
      "POST /v1/admin/models/{version}/activate.");
  auto f = std::make_shared<ModelsFlags>();
  auto run = [exit_code](Status st) {
    if (!st.ok()) *exit_code = ReportError(st);
  };

  CLI::App* list = models->add_subcommand(
      "list",
      "Table of versions, oldest first: id, creation time, kind, factors, training data\n"
      "(description and hash prefix), key holdout metric; * marks the active one.");
  AddRegistryFlag(list, f.get());
  AddStoreFlags(list, f.get(), /*required=*/false);
  list->add_flag("--json", f->json_output, "Print a JSON array with each version's meta.json");
  list->callback([f, run] { run(RunList(*f)); });

  CLI::App* show = models->add_subcommand(
      "show", "Verify a version (checksums, file hashes, shapes) and print its meta.json");
  AddRegistryFlag(show, f.get());
  show->add_option("version", f->version, "Version id (default: the active one)");
  show->callback([f, run] { run(RunShow(*f)); });

  CLI::App* activate = models->add_subcommand(
      "activate",
      "Verify a version and make it the serving one; refused (exit 1, naming the damaged\n"
      "file) when the model is corrupt or its lists are not complete in the store.");
  AddRegistryFlag(activate, f.get());
  AddStoreFlags(activate, f.get(), /*required=*/true);
  activate->add_option("version", f->version, "Version id")->required();
  activate->callback([f, run] { run(Activate(*f, f->version, "activated")); });

  CLI::App* rollback = models->add_subcommand(
      "rollback",
      "Activate the version that was active before the current one (two rollbacks in a\n"
      "row toggle between two versions), with the same checks as activate.");
  AddRegistryFlag(rollback, f.get());
  AddStoreFlags(rollback, f.get(), /*required=*/true);
  rollback->callback([f, run] { run(RunRollback(*f)); });
}

}  // namespace reco::cli
