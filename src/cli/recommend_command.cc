// reco recommend: each user's top-k unseen items as CSV.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "commands.h"
#include "flags.h"
#include "reco/pipeline.h"

namespace reco::cli {
namespace {

struct RecommendFlags {
  std::string model_path;
  std::string seen_path;
  std::string users = "all";
  std::string out = "recommendations.csv";
  uint32_t k = 10;
  int threads = 0;
  LoadFlags load;
};

// One external user id per line (a CSV's first column; a header line whose
// first field is not a known user is skipped). A repeated id is listed once,
// so the output never holds the same user's list twice.
Result<std::vector<uint32_t>> ReadUsers(const std::string& path, const Recommender& model) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(path + ": is a directory, not a file of user ids");
  }
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open");
  std::vector<uint32_t> users;
  std::vector<bool> listed(model.num_users(), false);
  std::string line;
  uint64_t line_no = 0, unknown = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string id = line.substr(0, line.find_first_of(",\t"));
    if (id.empty()) continue;
    auto u = model.users().Find(id);
    if (!u) {
      if (line_no > 1) ++unknown;
      continue;
    }
    if (!listed[*u]) users.push_back(*u);
    listed[*u] = true;
  }
  if (unknown > 0) spdlog::warn("{}: {} user ids unknown to the model, skipped", path, unknown);
  if (users.empty()) return Status::InvalidArgument(path + ": no user known to the model");
  return users;
}

Status RunRecommend(const RecommendFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(std::unique_ptr<Recommender> loaded, LoadRecommender(f.model_path));
  const Recommender& model = *loaded;
  RECO_ASSIGN_OR_RETURN(CsrMatrix seen_matrix, LoadSeenItems(model, f.seen_path, "--seen", load));
  std::vector<uint32_t> users;
  if (f.users != "all") {
    RECO_ASSIGN_OR_RETURN(users, ReadUsers(f.users, model));
  }
  RECO_ASSIGN_OR_RETURN(RankedLists lists,
                        RecommendUnseen(model, seen_matrix, users, f.k, f.threads));
  RECO_RETURN_IF_ERROR(WriteRecommendationsCsv(f.out, model, users, lists));
  fmt::print("wrote top-{} for {} users to {}\n", f.k, lists.rows(), f.out);
  return Status::Ok();
}

}  // namespace

void AddRecommendCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<RecommendFlags>();
  CLI::App* cmd =
      app.add_subcommand("recommend",
                         "Write each user's top-k items they have not interacted with, as CSV\n"
                         "user_id,item_id,score,rank (external IDs, rank 1 = best).");
  cmd->add_option("-m,--model", f->model_path, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--users", f->users, "'all', or a file with one user id per line")
      ->capture_default_str();
  cmd->add_option("--seen", f->seen_path,
                  "Interactions whose items are excluded; default: the model's training file")
      ->check(CLI::ExistingFile);
  cmd->add_option("-k,--k", f->k, "Items per user")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("-o,--out", f->out, "CSV file to write")->capture_default_str();
  AddThreadsFlag(cmd, &f->threads);
  AddLoadFlags(cmd, &f->load);
  cmd->callback([f, exit_code] {
    Status st = RunRecommend(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
