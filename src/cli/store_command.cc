// `reco store`: inspect and manage the model versions in a recommendation
// store (list, activate / roll back, delete, prune, show a list, verify). Thin flag
// parsing over reco::RecommendationStore.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "reco/rec_store.h"
#include "reco/time_format.h"

namespace reco::cli {
namespace {

struct StoreFlags {
  std::string uri;
  std::string ns = "reco";
  std::string version;
  std::string user;
  std::string item;
  bool popular = false;
  int keep = 2;
};

void AddStoreFlags(CLI::App* cmd, StoreFlags* f) {
  cmd->add_option("--store", f->uri,
                  "Store URI: lmdb://PATH, redis://HOST:PORT[/DB] or redis+cluster://HOST:PORT,... "
                  "(see docs/store.md)")
      ->required();
  cmd->add_option("--namespace", f->ns, "Key namespace of the model")->capture_default_str();
}

Result<std::unique_ptr<RecommendationStore>> OpenStore(const StoreFlags& f) {
  RecStoreOptions options;
  options.ns = f.ns;
  return RecommendationStore::Open(f.uri, options);
}

// The id of the active version, or "" when none is.
Result<std::string> ActiveOrEmpty(RecommendationStore& store) {
  Result<std::string> active = store.RefreshActiveVersion();
  if (!active.ok() && active.status().code() == Status::Code::kFailedPrecondition) {
    return std::string();
  }
  return active;
}

Status ListVersions(const StoreFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
  RECO_ASSIGN_OR_RETURN(std::string active, ActiveOrEmpty(*store));
  RECO_ASSIGN_OR_RETURN(std::vector<VersionMeta> versions, store->ListVersions());
  std::printf("%-1s %-24s %-24s %10s %10s %8s  %s\n", "", "VERSION", "CREATED (UTC)", "USERS",
              "ITEMS", "POPULAR", "DESCRIPTION");
  for (const VersionMeta& v : versions) {
    std::printf("%-1s %-24s %-24s %10llu %10llu %8llu  %s\n", v.version == active ? "*" : "",
                v.version.c_str(), FormatUtcMillis(v.created_unix_ms).c_str(),
                static_cast<unsigned long long>(v.user_lists),
                static_cast<unsigned long long>(v.item_lists),
                static_cast<unsigned long long>(v.popular_items), v.description.c_str());
  }
  if (versions.empty()) std::printf("(no versions in %s)\n", f.uri.c_str());
  return Status::Ok();
}

Status ActivateVersion(const StoreFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
  RECO_RETURN_IF_ERROR(store->Activate(f.version));
  std::printf("active version: %s\n", f.version.c_str());
  return Status::Ok();
}

Status DeleteVersion(const StoreFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
  RECO_RETURN_IF_ERROR(store->DeleteVersion(f.version));
  std::printf("deleted version %s\n", f.version.c_str());
  return Status::Ok();
}

// Deletes all but the active version and the `keep` newest others.
Status PruneVersions(const StoreFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
  RECO_ASSIGN_OR_RETURN(std::string active, ActiveOrEmpty(*store));
  RECO_ASSIGN_OR_RETURN(std::vector<VersionMeta> versions, store->ListVersions());
  int kept = 0;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {  // newest first
    if (it->version == active) continue;
    if (kept < f.keep) {
      ++kept;
      continue;
    }
    RECO_RETURN_IF_ERROR(store->DeleteVersion(it->version));
    std::printf("deleted version %s\n", it->version.c_str());
  }
  return Status::Ok();
}

Status ShowList(const StoreFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
  std::string version = f.version;
  if (version.empty()) {
    RECO_ASSIGN_OR_RETURN(version, store->RefreshActiveVersion());
  }
  RecList list;
  if (!f.user.empty()) {
    RECO_RETURN_IF_ERROR(store->GetUserRecsAt(version, f.user, &list));
  } else if (!f.item.empty()) {
    RECO_RETURN_IF_ERROR(store->GetSimilarItemsAt(version, f.item, &list));
  } else {
    RECO_RETURN_IF_ERROR(store->GetPopularAt(version, &list));
  }
  std::printf("# version %s, %zu items\n", list.version().c_str(), list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    std::printf("%zu\t%.*s\t%.6g\n", i + 1, static_cast<int>(list[i].item_id.size()),
                list[i].item_id.data(), static_cast<double>(list[i].score));
  }
  return Status::Ok();
}

// Prints what Verify found; damage (or a walk that could not finish) is an
// error, so scripts and monitoring can rely on the exit status.
Status VerifyStore(const StoreFlags& f) {
  RECO_ASSIGN_OR_RETURN(auto store, OpenStore(f));
  const StoreVerifyReport report = store->Verify();
  std::printf(
      "%llu keys: %llu lists, %llu spilled live states, %llu versions, %llu keys of uncommitted "
      "versions\n",
      static_cast<unsigned long long>(report.keys), static_cast<unsigned long long>(report.lists),
      static_cast<unsigned long long>(report.live_states),
      static_cast<unsigned long long>(report.versions),
      static_cast<unsigned long long>(report.orphan_keys));
  if (report.ok()) {
    std::printf("no damage found\n");
    return Status::Ok();
  }
  for (const std::string& example : report.examples) std::printf("damaged: %s\n", example.c_str());
  if (report.damaged > report.examples.size()) {
    std::printf("... and %llu more damaged keys\n",
                static_cast<unsigned long long>(report.damaged - report.examples.size()));
  }
  if (!report.walk.ok()) {
    return report.walk.WithContext("the walk stopped after " + std::to_string(report.keys) +
                                   " keys (" + std::to_string(report.damaged) +
                                   " damaged before it)");
  }
  return Status::Corruption(std::to_string(report.damaged) + " damaged keys in " + f.uri);
}

template <typename Fn>
void SetCallback(CLI::App* cmd, std::shared_ptr<StoreFlags> f, int* exit_code, Fn fn) {
  cmd->callback([f, exit_code, fn] {
    Status st = fn(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace

void AddStoreCommand(CLI::App& app, int* exit_code) {
  CLI::App* store = app.add_subcommand(
      "store",
      "Inspect and manage model versions in a recommendation store: list them,\n"
      "activate one (also to roll back), delete or prune old ones, show a list,\n"
      "verify every stored value.");
  store->require_subcommand(0, 1);  // none: main prints the group's help
  auto f = std::make_shared<StoreFlags>();

  CLI::App* versions = store->add_subcommand(
      "versions", "List the complete versions, oldest first; * marks the active one");
  AddStoreFlags(versions, f.get());
  SetCallback(versions, f, exit_code, ListVersions);

  CLI::App* activate = store->add_subcommand(
      "activate",
      "Make a complete version the active one. Servers switch within their refresh\n"
      "interval (1 s by default); every list they serve is from one version.");
  AddStoreFlags(activate, f.get());
  activate->add_option("version", f->version, "Version id")->required();
  SetCallback(activate, f, exit_code, ActivateVersion);

  CLI::App* del = store->add_subcommand(
      "delete", "Delete a version's lists and metadata (the active version is refused)");
  AddStoreFlags(del, f.get());
  del->add_option("version", f->version, "Version id")->required();
  SetCallback(del, f, exit_code, DeleteVersion);

  CLI::App* prune = store->add_subcommand(
      "prune", "Delete every version except the active one and the --keep newest others");
  AddStoreFlags(prune, f.get());
  prune->add_option("--keep", f->keep, "Inactive versions to keep (for rollback)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  SetCallback(prune, f, exit_code, PruneVersions);

  CLI::App* show = store->add_subcommand(
      "show",
      "Print one stored list: a user's recommendations, an item's similar items,\n"
      "or the popular list (the default)");
  AddStoreFlags(show, f.get());
  auto* user = show->add_option("--user", f->user, "External user id");
  auto* item = show->add_option("--item", f->item, "External item id");
  user->excludes(item);
  show->add_option("--version", f->version, "Version id (default: the active one)");
  SetCallback(show, f, exit_code, ShowList);

  CLI::App* verify = store->add_subcommand(
      "verify",
      "Read every key of the namespace and check it: list values decode and match\n"
      "their checksum, metadata parses, the active pointer names a complete version.\n"
      "Prints the damaged keys (the first 10) and exits 1 if there are any.");
  AddStoreFlags(verify, f.get());
  SetCallback(verify, f, exit_code, VerifyStore);
}

}  // namespace reco::cli
