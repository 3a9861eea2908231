// reco retrain: flags -> reco::Retrain (src/lifecycle) -> one summary line.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "commands.h"
#include "flags.h"
#include "reco/lifecycle.h"

namespace reco::cli {
namespace {

struct RetrainFlags {
  RetrainOptions options;
  LoadFlags load;
  ModelFlags model;
};

std::string EvalSummary(const RetrainOptions& o, const RetrainReport& r) {
  if (o.holdout <= 0) return "no holdout evaluation (--holdout 0)";
  if (!r.eval) return "holdout skipped: no user has enough records to hold one out";
  const EvalResult& ev = *r.eval;
  std::string summary =
      ev.has_rating_metrics
          ? fmt::format("RMSE {:.4f}, MAE {:.4f}", ev.rating.rmse, ev.rating.mae)
          : fmt::format("precision@{0} {1:.4f}, recall@{0} {2:.4f}, NDCG@{0} {3:.4f}", o.k,
                        ev.ranking.precision_at_k, ev.ranking.recall_at_k, ev.ranking.ndcg_at_k);
  return summary + fmt::format(" on a {:.0f}% stratified holdout ({} test records)",
                               100 * o.holdout, r.holdout_records);
}

Status RunRetrain(const CLI::App& cmd, RetrainFlags& f) {
  RetrainOptions& o = f.options;
  RECO_ASSIGN_OR_RETURN(o.load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(o.model, ToModelConfig(cmd, f.model));
  RECO_ASSIGN_OR_RETURN(RetrainReport r, Retrain(o));
  const EventMergeReport& m = r.events;
  std::string outcome;
  if (!r.activated) {
    outcome = fmt::format(
        "Not activated (--no-activate): `reco models activate {} --registry {} --store {}{}` "
        "makes it serve.",
        r.version, o.registry_dir, o.store_uri,
        o.store_namespace == "reco" ? "" : " --model " + o.store_namespace);
  } else {
    outcome = fmt::format(
        "It is now the active version (was {}); a server started with --registry loads it on "
        "SIGHUP.",
        r.previously_active.empty() ? "none" : r.previously_active);
  }
  fmt::print(
      "Retrained {} on {} base records from {}{} = {} "
      "interactions of {} users x {} items (data hash {}). {}. Registered as version {} in {}; "
      "{} user lists precomputed into {} (namespace {}) in {:.2f}s. {} Total {:.2f}s.\n",
      r.model_description, r.base_records, o.data_path,
      o.events_dir.empty()
          ? ""
          : fmt::format(" plus {} events through seq {} ({} new pairs, {} updated{})", m.events,
                        m.last_seq, m.added, m.updated,
                        m.skipped_no_value > 0
                            ? fmt::format(", {} without a rating skipped", m.skipped_no_value)
                            : ""),
      r.interactions, r.users, r.items, r.data_hash.substr(0, 16), EvalSummary(o, r), r.version,
      o.registry_dir, r.user_lists, o.store_uri, o.store_namespace, r.precompute_seconds, outcome,
      r.seconds);
  return Status::Ok();
}

}  // namespace

void AddRetrainCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<RetrainFlags>();
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
  cmd->add_option("--data", f->options.data_path,
                  "Base interactions file (formats as `reco train`)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--events", f->options.events_dir,
                  "Event log directory (the server's write-ahead log); read without locking, so "
                  "a running server may keep appending")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--registry", f->options.registry_dir,
                  "Model registry directory (created if needed)")
      ->required();
  cmd->add_option("--store", f->options.store_uri,
                  "Store URI for the precomputed lists: lmdb://PATH, redis://HOST:PORT[/DB]")
      ->required();
  cmd->add_option("--model", f->options.store_namespace, "Store namespace of the model's lists")
      ->capture_default_str();
  cmd->add_option("--version", f->options.version, "Version id (default: UTC timestamp)");
  cmd->add_option("--holdout", f->options.holdout,
                  "Fraction of each user's records held out to measure the model: it is fitted "
                  "once, on the rest, and that measured model is registered (0: fit on "
                  "everything, unmeasured)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.9));
  cmd->add_option("--holdout-seed", f->options.holdout_seed, "Seed of the stratified holdout split")
      ->capture_default_str();
  cmd->add_option("-k,--k", f->options.k, "Items per user list, and cut-off of the ranking metrics")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--similar-k", f->options.similar_k, "Items per similar-items list (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--popular-k", f->options.popular_k, "Length of the cold-start popular list")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_flag_callback(
      "--no-activate", [f] { f->options.activate = false; },
      "Register and precompute, but keep the active version");
  AddThreadsFlag(cmd, &f->options.threads);
  AddLoadFlags(cmd, &f->load);
  AddModelFlags(cmd, &f->model);
  cmd->footer(ModelFlagsFooter());
  cmd->callback([cmd, f, exit_code] {
    Status st = RunRetrain(*cmd, *f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
