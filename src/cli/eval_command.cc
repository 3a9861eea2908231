// reco eval: score a saved model on a held-out file (rating + ranking metrics).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "flags.h"
#include "reco/file_util.h"
#include "reco/pipeline.h"

namespace reco::cli {
namespace {

struct EvalFlags {
  std::string model_path;
  std::string train_path;
  std::string test_path;
  std::string json_out;
  uint32_t k = 10;
  int threads = 0;
  LoadFlags load;
};

Status RunEval(const EvalFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> loaded, LoadRecommender(f.model_path));
  const Recommender& model = *loaded;
  std::string train_path;
  RECO_ASSIGN_OR_RETURN(CsrMatrix seen_matrix,
                        LoadSeenItems(model, f.train_path, "--train", load, &train_path));
  RECO_ASSIGN_OR_RETURN(Dataset test, LoadDataset(f.test_path, load));
  EvalOptions eo;
  eo.k = f.k;
  eo.threads = f.threads;
  RECO_ASSIGN_OR_RETURN(EvalResult ev, EvaluateModel(model, seen_matrix, test, eo));

  fmt::print("test records {} ({} cold: user or item unseen in train), users {}\n", ev.test_records,
             ev.cold_test_records, ev.test_users);
  if (ev.has_rating_metrics) {
    fmt::print("rmse       {:.6f}\nmae        {:.6f}\nr2         {:.6f}\nexp_var    {:.6f}\n",
               ev.rating.rmse, ev.rating.mae, ev.rating.r2, ev.rating.explained_variance);
  }
  fmt::print(
      "precision@{0:<3} {1:.6f}\nrecall@{0:<6} {2:.6f}\nndcg@{0:<8} {3:.6f}\nmap@{0:<9} {4:.6f}\n"
      "map          {5:.6f}\ncatalog_cov  {6:.6f}\ndistr_cov    {7:.6f}\n",
      f.k, ev.ranking.precision_at_k, ev.ranking.recall_at_k, ev.ranking.ndcg_at_k,
      ev.ranking.map_at_k, ev.ranking.map, ev.coverage.catalog, ev.coverage.distributional);
  if (!f.json_out.empty()) {
    auto j = nlohmann::json::parse(EvalJson(ev, f.k));
    j["model"] = f.model_path;
    j["train"] = train_path;
    j["test"] = f.test_path;
    return WriteFileAtomically(f.json_out, j.dump(2) + "\n");
  }
  return Status::Ok();
}

}  // namespace

void AddEvalCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Evaluate a saved model on held-out data: RMSE, MAE, R2, explained variance (explicit\n"
      "models) and precision/recall/NDCG/MAP@k plus coverage, as Microsoft Recommenders'\n"
      "python_evaluation defines them. Rankings exclude items seen in --train.");
  cmd->add_option("-m,--model", f->model_path, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--test", f->test_path, "Held-out interactions")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--train", f->train_path,
                  "Training interactions (seen items); default: the file recorded in the model")
      ->check(CLI::ExistingFile);
  cmd->add_option("-k,--k", f->k, "Ranking cut-off")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--json", f->json_out, "Also write the metrics as JSON to this file");
  AddThreadsFlag(cmd, &f->threads);
  AddLoadFlags(cmd, &f->load);
  cmd->callback([f, exit_code] {
    Status st = RunEval(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
