// reco precompute: write every user's top-k (and similar items, popular list)
// for a model into a store as a new version, then activate it.
#include <fmt/format.h>

#include "commands.h"
#include "flags.h"
#include "reco/evaluation.h"
#include "reco/precompute.h"

namespace reco::cli {
namespace {

struct PrecomputeFlags {
  std::string model_path;
  std::string store_uri = "lmdb://out/store";
  std::string seen_path;
  PrecomputeOptions options;
  bool no_activate = false;
  LoadFlags load;
};

Status RunPrecompute(PrecomputeFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(FactorModel model, LoadModel(f.model_path));
  RECO_ASSIGN_OR_RETURN(CsrMatrix seen_matrix, LoadSeenItems(model, f.seen_path, "--seen", load));
  RECO_ASSIGN_OR_RETURN(auto store, RecommendationStore::Open(f.store_uri));
  f.options.activate = !f.no_activate;
  if (f.options.description.empty()) {
    f.options.description = fmt::format("model={} kind={} factors={}", f.model_path,
                                        ModelKindName(model.kind), model.factors());
  }
  RECO_ASSIGN_OR_RETURN(PrecomputeResult r,
                        PrecomputeToStore(model, seen_matrix, store.get(), f.options));
  fmt::print(
      "version {} written to {}: {} user lists, {} similar-item lists, {} popular items "
      "in {:.2f}s ({:.0f} users/s){}\n",
      r.meta.version, f.store_uri, r.meta.user_lists, r.meta.item_lists, r.meta.popular_items,
      r.seconds, r.users_per_second, f.options.activate ? ", active" : " (not activated)");
  return Status::Ok();
}

}  // namespace

void AddPrecomputeCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<PrecomputeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "precompute",
      "Score every user against every item (blocked GEMM + top-k), excluding items they\n"
      "already saw, and write the lists, each item's most similar items and a popular\n"
      "list (cold start) into a store as a new version; then activate it atomically.");
  cmd->add_option("-m,--model", f->model_path, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--store", f->store_uri,
                  "Store URI: lmdb://PATH, redis://HOST:PORT[/DB] or memory://")
      ->capture_default_str();
  cmd->add_option("--seen", f->seen_path,
                  "Interactions whose items are excluded; default: the model's training file")
      ->check(CLI::ExistingFile);
  cmd->add_option("-k,--k", f->options.k, "Items per user")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--similar-k", f->options.similar_k, "Items per similar-items list (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--popular-k", f->options.popular_k, "Length of the cold-start popular list")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--version", f->options.version, "Version id (default: UTC timestamp)");
  cmd->add_flag("--no-activate", f->no_activate, "Write the version but keep the active one");
  AddThreadsFlag(cmd, &f->options.threads);
  AddLoadFlags(cmd, &f->load);
  cmd->callback([f, exit_code] {
    Status st = RunPrecompute(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
