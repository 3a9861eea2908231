// reco tune: search model families and hyper-parameters on a validation
// split carved from the training file, refit the best on all of it, save it.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flags.h"
#include "reco/lifecycle.h"
#include "reco/progress.h"
#include "reco/tune.h"

namespace reco::cli {
namespace {

struct TuneFlags {
  std::string train_path;
  std::string out = "model.reco";
  std::string families = "ials,ease";
  uint32_t trials = 20;
  double time_budget = 0;
  std::string metric = "ndcg@10";
  double validation = 0.2;
  uint64_t seed = 42;
  double max_memory_mb = 0;
  uint32_t max_iterations = 0;
  std::string report_dir;
  int threads = 0;
  LoadFlags load;
};

std::string TrialLine(const TuneTrial& t, const std::string& metric) {
  if (!t.status.ok()) {
    return fmt::format("trial {} {}: failed: {}", t.index, ModelFamilyName(t.config.family),
                       t.status.message());
  }
  return fmt::format("trial {} {}: {} {:.4f} ({:.1f}s) {}", t.index,
                     ModelFamilyName(t.config.family), metric, t.objective, t.seconds,
                     t.config.ToJson());
}

Status RunTune(const TuneFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  TuneOptions o;
  RECO_ASSIGN_OR_RETURN(o.families, ParseFamilyList(f.families, "--families"));
  RECO_ASSIGN_OR_RETURN(o.metric, ParseTuneMetric(f.metric, &o.k).WithContext("--metric"));
  o.trials = f.trials;
  o.time_budget_seconds = f.time_budget;
  o.validation_ratio = f.validation;
  o.seed = f.seed;
  o.threads = f.threads;
  o.max_iterations = f.max_iterations;
  o.ease_max_memory_bytes = static_cast<uint64_t>(f.max_memory_mb * 1024 * 1024);
  o.report_dir = f.report_dir;
  if (!f.report_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(f.report_dir, ec);
    if (ec) return Status::IOError(fmt::format("--report {}: {}", f.report_dir, ec.message()));
  }
  RECO_ASSIGN_OR_RETURN(Dataset train, LoadDataset(f.train_path, load));

  const std::string metric = fmt::format("{}@{}", TuneMetricName(o.metric), o.k);
  ProgressBar bar("tune", o.trials);
  o.on_trial = [&](const TuneTrial& t, const TuneTrial& best) {
    // Every trial on its own line (the record), the bar shows the best so far.
    fmt::print("{}\n", TrialLine(t, metric));
    std::fflush(stdout);
    bar.Update(t.index + 1, best.status.ok() ? fmt::format("best {} {:.4f} (trial {}, {})", metric,
                                                           best.objective, best.index,
                                                           ModelFamilyName(best.config.family))
                                             : std::string("no trial succeeded yet"));
  };
  RECO_ASSIGN_OR_RETURN(TuneResult result, Tune(train, o));
  bar.Finish();
  const TuneTrial& best = result.trials[result.best];
  fmt::print("validation: {} records held out of {} ({:.0f}% per user, seed {})\n",
             result.validation_records, result.fit_records + result.validation_records,
             100 * o.validation_ratio, o.seed);
  fmt::print("best: trial {} of {}, {} {:.4f} on validation: {}\n", best.index,
             result.trials.size(), metric, best.objective, best.config.ToJson());
  if (!f.report_dir.empty()) {
    fmt::print("trials: {}/trials.tsv, {}/trials.json\n", f.report_dir, f.report_dir);
  }
  nlohmann::json meta = nlohmann::json::parse(result.model->metadata_json());
  meta["train_path"] = std::filesystem::absolute(f.train_path).string();
  result.model->set_metadata_json(meta.dump());
  RECO_RETURN_IF_ERROR(SaveRecommender(*result.model, f.out));
  fmt::print("model: {} ({}; {} users, {} items), refitted in {:.2f}s\n", f.out,
             DescribeModel(*result.model), result.model->num_users(), result.model->num_items(),
             result.refit_seconds);
  return Status::Ok();
}

}  // namespace

void AddTuneCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<TuneFlags>();
  CLI::App* cmd = app.add_subcommand(
      "tune",
      "Choose a model family and its hyper-parameters on a validation split carved\n"
      "from --train alone (stratified per user, seeded), refit the best configuration\n"
      "on all of --train and save it to --out: a normal model file for recommend, eval\n"
      "and precompute. The first trial of each family is its default; the others are\n"
      "drawn at random (log scales for regularisation, confidence and lambda; the rank;\n"
      "the value transform). A failing trial (EASE over --max-memory, a non-finite\n"
      "model) is recorded with its reason and the search goes on. Never give it test\n"
      "data: what it reports is a validation number.");
  cmd->add_option("--train", f->train_path, "Training interactions file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", f->out, "Model file to write")->capture_default_str();
  cmd->add_option("--families", f->families, "Families to search: als, ials, ease, knn")
      ->capture_default_str();
  cmd->add_option("--trials", f->trials, "Trials over all families")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u));
  cmd->add_option("--time-budget", f->time_budget,
                  "Seconds; no trial starts after it (0: no limit; at least one trial runs)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--metric", f->metric, "precision@K, recall@K, ndcg@K or map@K")
      ->capture_default_str();
  cmd->add_option("--validation", f->validation,
                  "Fraction of each user's training records held out for validation")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.9));
  cmd->add_option("--seed", f->seed, "Seed of the validation split and of the trials")
      ->capture_default_str();
  cmd->add_option("--max-memory", f->max_memory_mb,
                  "EASE's memory limit in MiB for every EASE trial (0: half of physical "
                  "memory)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-iterations", f->max_iterations,
                  "Cap on ALS iterations in every trial (0: the drawn value)")
      ->capture_default_str();
  cmd->add_option("--report", f->report_dir,
                  "Directory for trials.tsv and trials.json (written also when every trial fails)");
  AddThreadsFlag(cmd, &f->threads);
  AddLoadFlags(cmd, &f->load);
  cmd->callback([f, exit_code] {
    Status st = RunTune(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
