// reco train: fit an ALS model on a ratings/clicks file and save it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flags.h"
#include "reco/pipeline.h"

namespace reco::cli {
namespace {

struct TrainFlags {
  std::string train_path;
  std::string test_path;
  std::string out = "model.reco";
  uint32_t k = 10;
  int threads = 0;
  LoadFlags load;
  SplitFlags split;
  AlsFlags als;
};

Status RunTrain(const TrainFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(AlsOptions als, ToAlsOptions(f.als));
  als.threads = f.threads;
  RECO_ASSIGN_OR_RETURN(Dataset data, LoadWithReport(f.train_path, load));

  Dataset train, test;
  bool has_test = false;
  if (f.split.method != "none") {
    if (!f.test_path.empty()) {
      return Status::InvalidArgument("--split and --test exclude each other");
    }
    RECO_ASSIGN_OR_RETURN(SplitOptions so, ToSplitOptions(f.split));
    SplitReport report;
    RECO_ASSIGN_OR_RETURN(TrainTest tt, SplitDataset(data, so, &report));
    spdlog::info("{} split: {} train, {} test records ({} cold)", f.split.method,
                 report.train_records, report.test_records, report.cold_test_records);
    train = SubsetDataset(data, tt.train);
    test = SubsetDataset(data, tt.test);
    has_test = true;
  } else {
    train = std::move(data);
    if (!f.test_path.empty()) {
      RECO_ASSIGN_OR_RETURN(test, LoadWithReport(f.test_path, load));
      has_test = true;
    }
  }

  RECO_ASSIGN_OR_RETURN(TrainingRun run,
                        TrainWithProgress(train, als, has_test ? &test : nullptr, f.k,
                                          als.implicit ? "implicit-als" : "explicit-als"));
  auto meta = nlohmann::json::parse(run.model.metadata_json);
  meta["train_path"] = std::filesystem::absolute(f.train_path).string();
  if (has_test) {
    CsrMatrix seen =
        CsrMatrix::FromInteractions(train.interactions, train.users.size(), train.items.size());
    EvalOptions eo;
    eo.k = f.k;
    eo.threads = f.threads;
    eo.rating_metrics = !als.implicit;
    RECO_ASSIGN_OR_RETURN(EvalResult ev, EvaluateModel(run.model, seen, test, eo));
    meta["eval"] = nlohmann::json::parse(EvalJson(ev, f.k));
    if (ev.has_rating_metrics) {
      fmt::print("test RMSE {:.4f}  MAE {:.4f}  R2 {:.4f}\n", ev.rating.rmse, ev.rating.mae,
                 ev.rating.r2);
    }
    fmt::print(
        "test precision@{0} {1:.4f}  recall@{0} {2:.4f}  NDCG@{0} {3:.4f}  MAP@{0} {4:.4f}\n", f.k,
        ev.ranking.precision_at_k, ev.ranking.recall_at_k, ev.ranking.ndcg_at_k,
        ev.ranking.map_at_k);
  }
  if (f.split.method != "none") {
    // The seen-items file `reco recommend` reads must be the training part only.
    meta.erase("train_path");
  }
  run.model.metadata_json = meta.dump();
  RECO_RETURN_IF_ERROR(SaveModel(run.model, f.out));
  fmt::print("model: {} ({} users, {} items, {} factors), trained in {:.2f}s\n", f.out,
             run.model.num_users(), run.model.num_items(), run.model.factors(), run.seconds);
  return Status::Ok();
}

}  // namespace

void AddTrainCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<TrainFlags>();
  f->als.options = DefaultExplicitOptions();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train an ALS model (explicit ratings, or --implicit feedback) and save it.\n"
      "Validation: --test FILE, or --split to hold out part of --train; metrics are\n"
      "printed per iteration and at the end.");
  cmd->add_option("--train", f->train_path, "Training interactions file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--test", f->test_path, "Held-out interactions file for validation")
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", f->out, "Model file to write")->capture_default_str();
  cmd->add_option("-k,--k", f->k, "Cut-off of the ranking metrics")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  AddThreadsFlag(cmd, &f->threads);
  AddLoadFlags(cmd, &f->load);
  AddSplitFlags(cmd, &f->split, /*with_method_none=*/true);
  AddAlsFlags(cmd, &f->als, "", /*with_kind=*/true);
  const AlsOptions imp = DefaultImplicitOptions();
  cmd->footer(
      fmt::format("With --implicit the defaults are factors {}, reg {}, alpha {}, cg-steps {}.",
                  imp.factors, imp.regularization, imp.alpha, imp.cg_steps));
  cmd->callback([cmd, f, exit_code] {
    ApplyImplicitDefaults(*cmd, &f->als);
    Status st = RunTrain(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
