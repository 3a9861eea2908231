// reco train: fit an ALS model on a ratings/clicks file and save it.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "flags.h"
#include "reco/distributed.h"
#include "reco/lifecycle.h"
#include "reco/rec_store.h"

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
  ModelFlags model;
  bool distributed = false;
};

struct TrainData {
  Dataset train;
  Dataset test;
  bool has_test = false;
};

Result<TrainData> LoadTrainData(const TrainFlags& f, const LoadOptions& load) {
  RECO_ASSIGN_OR_RETURN(Dataset data, LoadDataset(f.train_path, load));
  TrainData d;
  if (f.split.method != "none") {
    if (!f.test_path.empty()) {
      return Status::InvalidArgument("--split and --test exclude each other");
    }
    RECO_ASSIGN_OR_RETURN(SplitOptions so, ToSplitOptions(f.split));
    SplitReport report;
    RECO_ASSIGN_OR_RETURN(TrainTest tt, SplitDataset(data, so, &report));
    spdlog::info("{} split: {} train, {} test records ({} cold)", f.split.method,
                 report.train_records, report.test_records, report.cold_test_records);
    d.train = SubsetDataset(data, tt.train);
    d.test = SubsetDataset(data, tt.test);
    d.has_test = true;
  } else {
    d.train = std::move(data);
    if (!f.test_path.empty()) {
      RECO_ASSIGN_OR_RETURN(d.test, LoadDataset(f.test_path, load));
      d.has_test = true;
    }
  }
  return d;
}

void PrintEval(const EvalResult& ev, uint32_t k) {
  if (ev.has_rating_metrics) {
    fmt::print("test RMSE {:.4f}  MAE {:.4f}  R2 {:.4f}\n", ev.rating.rmse, ev.rating.mae,
               ev.rating.r2);
  }
  fmt::print("test precision@{0} {1:.4f}  recall@{0} {2:.4f}  NDCG@{0} {3:.4f}  MAP@{0} {4:.4f}\n",
             k, ev.ranking.precision_at_k, ev.ranking.recall_at_k, ev.ranking.ndcg_at_k,
             ev.ranking.map_at_k);
}

// Records where the model came from and saves it.
Status SaveTrained(const TrainFlags& f, TrainingRun& run) {
  auto meta = nlohmann::json::parse(run.model->metadata_json());
  // `reco recommend` reads the seen items from the training file, unless the
  // model was trained on a split of it (then only the training part counts).
  if (f.split.method == "none") {
    meta["train_path"] = std::filesystem::absolute(f.train_path).string();
  }
  run.model->set_metadata_json(meta.dump());
  RECO_RETURN_IF_ERROR(SaveRecommender(*run.model, f.out));
  fmt::print("model: {} ({}; {} users, {} items), trained in {:.2f}s\n", f.out,
             DescribeModel(*run.model), run.model->num_users(), run.model->num_items(),
             run.seconds);
  return Status::Ok();
}

Status RunTrain(const CLI::App& cmd, const TrainFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(ModelConfig config, ToModelConfig(cmd, f.model));
  RECO_ASSIGN_OR_RETURN(TrainData d, LoadTrainData(f, load));
  TrainEvalOptions to;
  to.model = config;
  to.threads = f.threads;
  to.k = f.k;
  to.validation_curve = true;
  to.label = ModelFamilyName(config.family);
  RECO_ASSIGN_OR_RETURN(TrainEvalRun run,
                        TrainAndEvaluate(d.train, d.has_test ? &d.test : nullptr, to));
  if (run.eval) PrintEval(*run.eval, f.k);
  return SaveTrained(f, run.training);
}

// Under mpirun: every rank loads the same file and trains its share of the
// rows; rank 0 evaluates and writes the model. *rank receives this rank.
Status RunTrainDistributed(const CLI::App& cmd, const TrainFlags& f, int* rank) {
  RECO_ASSIGN_OR_RETURN(std::unique_ptr<MpiWorld> world, MpiWorld::Init());
  *rank = world->rank();
  if (world->rank() != 0) spdlog::set_level(spdlog::level::warn);
  Result<TrainData> loaded = [&]() -> Result<TrainData> {
    RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
    return LoadTrainData(f, load);
  }();
  RECO_RETURN_IF_ERROR(world->AllOk(loaded.status()));
  TrainData& d = *loaded;
  Result<ModelConfig> config = ToModelConfig(cmd, f.model);
  RECO_RETURN_IF_ERROR(world->AllOk(config.status()));
  RECO_ASSIGN_OR_RETURN(TrainingRun run, TrainDistributed(*world, d.train, *config, f.threads));

  Status saved;
  if (world->rank() == 0) {
    saved = [&]() -> Status {
      if (d.has_test) {
        RECO_ASSIGN_OR_RETURN(EvalResult ev,
                              EvaluateAndRecord(run.model.get(), d.train, d.test, f.k,
                                                world->ThreadsPerRank(f.threads)));
        PrintEval(ev, f.k);
      }
      return SaveTrained(f, run);
    }();
  }
  return world->AllOk(saved);
}

}  // namespace

void AddTrainCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Fit a model (--family als, ials, ease or knn) and save it. It refuses to save a\n"
      "model with a non-finite weight (exit 1).\n"
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
  AddModelFlags(cmd, &f->model);
  cmd->footer(ModelFlagsFooter());
  cmd->add_flag("--distributed", f->distributed,
                "Train across the processes of an MPI job: run as\n"
                "`mpirun -np P reco train --distributed ...`. Every process reads --train;\n"
                "users and items are split into P contiguous ranges, each process solves\n"
                "its own rows, and the factor blocks are exchanged (MPI_Allgatherv) after\n"
                "every half-sweep. The model equals single-process training (same seed).\n"
                "Process 0 evaluates and writes --out. --threads 0 shares each host's cores\n"
                "among its processes. Per-iteration time and bytes exchanged are logged\n"
                "and recorded in the model's metadata (\"distributed\").");
  cmd->callback([cmd, f, exit_code] {
    if (f->distributed) {
      int rank = 0;
      Status st = RunTrainDistributed(*cmd, *f, &rank);
      // Every rank has the same error (AllOk); one message is enough.
      if (!st.ok()) *exit_code = rank == 0 ? ReportError(st) : 1;
      return;
    }
    Status st = RunTrain(*cmd, *f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
