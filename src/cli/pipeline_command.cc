// reco pipeline: fetch/load -> split -> train -> evaluate -> report, in one go.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

#include "commands.h"
#include "flags.h"
#include "reco/fetch.h"
#include "reco/pipeline.h"

namespace reco::cli {
namespace {

struct PipelineFlags {
  std::string data_path;
  std::string dataset = "ml-100k";
  std::string data_dir = "data";
  std::string from_dir;
  std::string out_dir;
  std::string models = "explicit,implicit";
  uint32_t k = 10;
  int threads = 0;
  LoadFlags load;
  SplitFlags split;
  AlsFlags explicit_als;
  AlsFlags implicit_als;
};

// The ratings file inside each catalogue data set.
Result<std::string> RatingsFileOf(const std::string& dataset) {
  if (dataset == "ml-100k") return std::string("u.data");
  if (dataset == "ml-1m") return std::string("ratings.dat");
  if (dataset == "ml-latest-small") return std::string("ratings.csv");
  return Status::InvalidArgument("unknown --dataset '" + dataset +
                                 "' (ml-100k, ml-1m, ml-latest-small; or pass --data FILE)");
}

Status RunPipelineCommand(const PipelineFlags& f) {
  PipelineOptions o;
  RECO_ASSIGN_OR_RETURN(o.load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(o.split, ToSplitOptions(f.split));
  RECO_ASSIGN_OR_RETURN(o.explicit_als, ToAlsOptions(f.explicit_als));
  RECO_ASSIGN_OR_RETURN(o.implicit_als, ToAlsOptions(f.implicit_als));
  o.explicit_als.implicit = false;
  o.implicit_als.implicit = true;
  o.explicit_als.threads = o.implicit_als.threads = f.threads;
  o.k = f.k;
  o.run_explicit = f.models.find("explicit") != std::string::npos;
  o.run_implicit = f.models.find("implicit") != std::string::npos;
  if (!o.run_explicit && !o.run_implicit) {
    return Status::InvalidArgument("--models must name explicit, implicit or both");
  }
  if (!f.data_path.empty()) {
    o.data_path = f.data_path;
  } else {
    RECO_ASSIGN_OR_RETURN(std::string file, RatingsFileOf(f.dataset));
    FetchOptions fo;
    fo.dataset = f.dataset;
    fo.dest_dir = f.data_dir;
    fo.from_dir = f.from_dir;
    RECO_ASSIGN_OR_RETURN(std::string dir, FetchDataset(fo));
    o.data_path = dir + "/" + file;
  }
  o.out_dir = f.out_dir.empty()
                  ? "out/" + std::filesystem::path(o.data_path).parent_path().filename().string()
                  : f.out_dir;
  RECO_ASSIGN_OR_RETURN(PipelineResult r, RunPipeline(o));
  fmt::print("\n{}", PipelineSummaryTable(r, o.k));
  fmt::print("\nreports: {0}/report.json {0}/report.html\nmodels:", o.out_dir);
  for (const auto& run : r.runs) fmt::print(" {}", run.model_path);
  fmt::print("\nsplit:   {0}/train.csv {0}/test.csv\ntotal {1:.2f}s\n", o.out_dir, r.total_seconds);
  return Status::Ok();
}

}  // namespace

void AddPipelineCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<PipelineFlags>();
  f->explicit_als.options = DefaultExplicitOptions();
  f->implicit_als.options = DefaultImplicitOptions();
  CLI::App* cmd = app.add_subcommand(
      "pipeline",
      "The offline pipeline in one command: fetch (or load) a data set, split it,\n"
      "train explicit and implicit ALS, evaluate both, save the models and write\n"
      "report.json and a self-contained report.html with training curves.");
  cmd->add_option("--data", f->data_path, "Interactions file (skips fetching --dataset)")
      ->check(CLI::ExistingFile)
      ->group("Data");
  cmd->add_option("--dataset", f->dataset, "Data set to fetch: ml-100k, ml-1m, ml-latest-small")
      ->capture_default_str()
      ->group("Data");
  cmd->add_option("--data-dir", f->data_dir, "Where fetched data sets live")
      ->capture_default_str()
      ->group("Data");
  cmd->add_option("--from", f->from_dir,
                  "Take the data set from this local copy instead of downloading it")
      ->group("Data");
  cmd->add_option("--out", f->out_dir, "Output directory (default out/<data set>)");
  cmd->add_option("--models", f->models, "Which models: explicit, implicit, or both")
      ->capture_default_str();
  cmd->add_option("-k,--k", f->k, "Ranking cut-off")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  AddThreadsFlag(cmd, &f->threads);
  AddLoadFlags(cmd, &f->load);
  AddSplitFlags(cmd, &f->split, /*with_method_none=*/false);
  AddAlsFlags(cmd, &f->explicit_als, "explicit-", /*with_kind=*/false);
  AddAlsFlags(cmd, &f->implicit_als, "implicit-", /*with_kind=*/false);
  cmd->callback([f, exit_code] {
    Status st = RunPipelineCommand(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
