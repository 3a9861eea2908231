// reco pipeline: fetch/load -> split -> train -> evaluate -> report, in one go.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "commands.h"
#include "flags.h"
#include "reco/fetch.h"
#include "reco/pipeline.h"
#include "reco/tune.h"

namespace reco::cli {
namespace {

struct PipelineFlags {
  std::string data_path;
  std::string dataset = "ml-100k";
  std::string data_dir = "data";
  std::string from_dir;
  std::string out_dir;
  std::string models = "explicit,implicit";
  std::vector<std::string> extra_models;  // NAME=JSON
  uint32_t k = 10;
  int threads = 0;
  LoadFlags load;
  SplitFlags split;
  ModelFlags explicit_als;
  ModelFlags implicit_als;
  bool tune = false;
  std::string tune_families = "ials,ease";
  uint32_t tune_trials = 20;
  double tune_budget = 0;
  std::string tune_metric = "ndcg@10";
};

// --model NAME=JSON: the family's defaults with the JSON object's keys
// replacing them, e.g. ials-nu={"family":"ials","nu":1,"alpha0":0.1}.
Result<PipelineModel> ParseModelSpec(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("--model " + spec + ": expected NAME={json object}");
  }
  const std::string name = spec.substr(0, eq);
  auto given = nlohmann::json::parse(spec.substr(eq + 1), nullptr, /*allow_exceptions=*/false);
  if (!given.is_object() || !given.contains("family") || !given["family"].is_string()) {
    return Status::InvalidArgument("--model " + name +
                                   ": the value must be a JSON object with a \"family\"");
  }
  RECO_ASSIGN_OR_RETURN(
      ModelFamily family,
      ParseModelFamily(given["family"].get<std::string>()).WithContext("--model " + name));
  nlohmann::json merged = nlohmann::json::parse(DefaultModelConfig(family).ToJson());
  merged.update(given);
  RECO_ASSIGN_OR_RETURN(ModelConfig config,
                        ModelConfigFromJson(merged.dump()).WithContext("--model " + name));
  RECO_RETURN_IF_ERROR(config.Validate().WithContext("--model " + name));
  return PipelineModel{name, config};
}

// The ratings file inside each catalogue data set.
Result<std::string> RatingsFileOf(const std::string& dataset) {
  if (dataset == "ml-100k") return std::string("u.data");
  if (dataset == "ml-1m") return std::string("ratings.dat");
  if (dataset == "ml-latest-small") return std::string("ratings.csv");
  return Status::InvalidArgument("unknown --dataset '" + dataset +
                                 "' (ml-100k, ml-1m, ml-latest-small; or pass --data FILE)");
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Status RunPipelineCommand(const CLI::App& cmd, const PipelineFlags& f) {
  PipelineOptions o;
  RECO_ASSIGN_OR_RETURN(o.load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(o.split, ToSplitOptions(f.split));
  o.threads = f.threads;
  o.k = f.k;
  o.models.clear();
  for (const std::string& name : SplitList(f.models)) {
    if (name == "explicit" || name == "als") {
      RECO_ASSIGN_OR_RETURN(ModelConfig c, ToModelConfig(cmd, f.explicit_als, "als"));
      o.models.push_back({"explicit-als", c});
    } else if (name == "implicit" || name == "ials") {
      RECO_ASSIGN_OR_RETURN(ModelConfig c, ToModelConfig(cmd, f.implicit_als, "ials"));
      o.models.push_back({"implicit-als", c});
    } else if (name == "ease") {  // other options through --model
      o.models.push_back({"ease", DefaultModelConfig(ModelFamily::kEase)});
    } else if (name == "knn") {
      o.models.push_back({"item-knn", DefaultModelConfig(ModelFamily::kItemKnn)});
    } else {
      return Status::InvalidArgument("--models: unknown model '" + name +
                                     "' (explicit, implicit, ease, knn)");
    }
  }
  for (const std::string& spec : f.extra_models) {
    RECO_ASSIGN_OR_RETURN(PipelineModel m, ParseModelSpec(spec));
    o.models.push_back(std::move(m));
  }
  if (f.tune) {
    TuneOptions to;
    RECO_ASSIGN_OR_RETURN(to.families, ParseFamilyList(f.tune_families, "--tune-families"));
    RECO_ASSIGN_OR_RETURN(to.metric,
                          ParseTuneMetric(f.tune_metric, &to.k).WithContext("--tune-metric"));
    to.trials = f.tune_trials;
    to.time_budget_seconds = f.tune_budget;
    to.seed = f.split.seed;
    to.threads = f.threads;
    o.tune = std::move(to);
  }
  if (o.models.empty() && !o.tune) return Status::InvalidArgument("--models names no model");
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
  CLI::App* cmd = app.add_subcommand(
      "pipeline",
      "The offline pipeline in one command: fetch (or load) a data set, split it,\n"
      "fit each model (default: explicit and implicit ALS), evaluate them on the test\n"
      "part, save the models and write report.json and a self-contained report.html\n"
      "with training curves.");
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
  cmd->add_option("--models", f->models,
                  "Comma-separated models with their flags' options: explicit (als), implicit "
                  "(ials), ease, knn")
      ->capture_default_str();
  cmd->add_option("--model", f->extra_models,
                  "Another model, NAME={json}: the family's defaults with the object's keys "
                  "replacing them, e.g. 'ials-nu={\"family\":\"ials\",\"nu\":1}'");
  cmd->add_option("-k,--k", f->k, "Ranking cut-off")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  AddThreadsFlag(cmd, &f->threads);
  AddLoadFlags(cmd, &f->load);
  AddSplitFlags(cmd, &f->split, /*with_method_none=*/false);
  cmd->add_flag("--tune", f->tune,
                "Also tune (as `reco tune`) on a validation split carved from the training\n"
                "part only, then fit and evaluate the best configuration as tuned-<family>;\n"
                "trials.tsv and trials.json go to --out")
      ->group("Tuning");
  cmd->add_option("--tune-families", f->tune_families, "Families searched: als, ials, ease, knn")
      ->capture_default_str()
      ->group("Tuning");
  cmd->add_option("--tune-trials", f->tune_trials, "Trials over all families")
      ->capture_default_str()
      ->check(CLI::Range(1u, 100000u))
      ->group("Tuning");
  cmd->add_option("--tune-budget", f->tune_budget, "Seconds; no trial starts after it (0: none)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->group("Tuning");
  cmd->add_option("--tune-metric", f->tune_metric, "precision@K, recall@K, ndcg@K or map@K")
      ->capture_default_str()
      ->group("Tuning");
  AddModelFlags(cmd, &f->explicit_als, "explicit-");
  AddModelFlags(cmd, &f->implicit_als, "implicit-");
  cmd->footer(ModelFlagsFooter());
  cmd->callback([cmd, f, exit_code] {
    Status st = RunPipelineCommand(*cmd, *f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
