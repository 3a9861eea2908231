// reco precompute: write every user's top-k (and similar items, popular list)
// for a model into a store as a new version, then activate it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "flags.h"
#include "reco/distributed.h"
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
  bool distributed = false;
};

Status RunPrecompute(PrecomputeFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> loaded, LoadRecommender(f.model_path));
  const Recommender& model = *loaded;
  RECO_ASSIGN_OR_RETURN(CsrMatrix seen_matrix, LoadSeenItems(model, f.seen_path, "--seen", load));
  RECO_ASSIGN_OR_RETURN(auto store, RecommendationStore::Open(f.store_uri));
  f.options.activate = !f.no_activate;
  if (f.options.description.empty()) {
    f.options.description = fmt::format("model={} {}", f.model_path, DescribeModel(model));
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

// Under mpirun: every rank loads the model and seen items and opens the same
// store; each writes its users' lists, rank 0 the rest, then commits.
Status RunPrecomputeDistributed(PrecomputeFlags& f, int* rank) {
  RECO_ASSIGN_OR_RETURN(std::unique_ptr<MpiWorld> world, MpiWorld::Init());
  *rank = world->rank();
  if (world->rank() != 0) spdlog::set_level(spdlog::level::warn);
  f.options.activate = !f.no_activate;
  f.options.show_progress = f.options.show_progress && world->rank() == 0;
  std::unique_ptr<Recommender> model;
  CsrMatrix seen_matrix;
  std::unique_ptr<RecommendationStore> store;
  Status opened = [&]() -> Status {
    if (f.store_uri.rfind("memory:", 0) == 0) {
      return Status::InvalidArgument(
          "--distributed needs a store all processes share (lmdb:// or redis://), not " +
          f.store_uri);
    }
    RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
    RECO_ASSIGN_OR_RETURN(model, LoadRecommender(f.model_path));
    RECO_ASSIGN_OR_RETURN(seen_matrix, LoadSeenItems(*model, f.seen_path, "--seen", load));
    RECO_ASSIGN_OR_RETURN(store, RecommendationStore::Open(f.store_uri));
    return Status::Ok();
  }();
  RECO_RETURN_IF_ERROR(world->AllOk(opened));
  if (f.options.description.empty()) {
    f.options.description = fmt::format("model={} {}", f.model_path, DescribeModel(*model));
  }
  RECO_ASSIGN_OR_RETURN(
      PrecomputeResult r,
      PrecomputeToStoreDistributed(*world, *model, seen_matrix, store.get(), f.options));
  if (world->rank() == 0) {
    fmt::print(
        "version {} written to {} by {} processes: {} user lists, {} similar-item lists, {} "
        "popular items in {:.2f}s ({:.0f} users/s){}\n",
        r.meta.version, f.store_uri, world->size(), r.meta.user_lists, r.meta.item_lists,
        r.meta.popular_items, r.seconds, r.users_per_second,
        f.options.activate ? ", active" : " (not activated)");
  }
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
  cmd->add_flag("--distributed", f->distributed,
                "Precompute across the processes of an MPI job: run as\n"
                "`mpirun -np P reco precompute --distributed --store lmdb://...|redis://...`.\n"
                "Each process scores a contiguous range of users and writes their lists\n"
                "into the same new version; process 0 writes similar items and the popular\n"
                "list and commits (and activates) the version once all have finished.");
  cmd->callback([f, exit_code] {
    if (f->distributed) {
      int rank = 0;
      Status st = RunPrecomputeDistributed(*f, &rank);
      if (!st.ok()) *exit_code = rank == 0 ? ReportError(st) : 1;
      return;
    }
    Status st = RunPrecompute(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
