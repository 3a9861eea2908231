#include "flags.h"

#include "reco/pipeline.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace reco::cli {
namespace {

// "3" -> column 3, "rating" -> the header column named rating, "none" -> absent.
Result<ColumnRef> ParseColumn(const std::string& flag, const std::string& text) {
  if (text.empty()) return ColumnRef::Default();
  if (text == "none") return ColumnRef::None();
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    size_t index = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Status::InvalidArgument(flag + " " + text + ": column index out of range");
    }
    return ColumnRef::Index(index);
  }
  return ColumnRef::Named(text);
}

std::string Unescape(const std::string& s) {
  if (s == "\\t" || s == "tab") return "\t";
  return s;
}

}  // namespace

void AddLoadFlags(CLI::App* cmd, LoadFlags* f) {
  cmd->add_option("--format", f->format,
                  "Input format: auto (detected from the content), udata (u.data TSV), dat "
                  "(ratings.dat '::'), csv (ratings.csv with header), delimited (generic)")
      ->capture_default_str()
      ->group("Input");
  cmd->add_option("--delimiter", f->delimiter,
                  "Field separator for --format delimited (e.g. ',', '\\t' or tab, '::')")
      ->group("Input");
  cmd->add_flag("--header", f->header, "The delimited file starts with a header line")
      ->group("Input");
  cmd->add_option("--user-col", f->user_col, "User column: 0-based index or header name")
      ->group("Input");
  cmd->add_option("--item-col", f->item_col, "Item column: index or header name")->group("Input");
  cmd->add_option("--value-col", f->value_col,
                  "Rating/strength column: index, header name, or 'none' for implicit clicks "
                  "(every interaction counts 1)")
      ->group("Input");
  cmd->add_option("--timestamp-col", f->timestamp_col,
                  "Timestamp column (unix seconds): index, header name, or 'none'")
      ->group("Input");
  cmd->add_option("--duplicates", f->duplicates,
                  "Repeated (user,item) pairs: keep_last, keep_first, sum, max, error")
      ->capture_default_str()
      ->group("Input");
  cmd->add_flag("--skip-bad-lines", f->skip_bad_lines,
                "Count and skip malformed lines instead of stopping at the first one")
      ->group("Input");
}

Result<LoadOptions> ToLoadOptions(const LoadFlags& f) {
  LoadOptions o;
  RECO_ASSIGN_OR_RETURN(o.format, ParseInputFormat(f.format));
  if (!f.delimiter.empty()) o.delimiter = Unescape(f.delimiter);
  o.has_header = f.header;
  RECO_ASSIGN_OR_RETURN(o.user_column, ParseColumn("--user-col", f.user_col));
  RECO_ASSIGN_OR_RETURN(o.item_column, ParseColumn("--item-col", f.item_col));
  RECO_ASSIGN_OR_RETURN(o.value_column, ParseColumn("--value-col", f.value_col));
  RECO_ASSIGN_OR_RETURN(o.timestamp_column, ParseColumn("--timestamp-col", f.timestamp_col));
  RECO_ASSIGN_OR_RETURN(o.duplicates, ParseDuplicatePolicy(f.duplicates));
  o.skip_bad_lines = f.skip_bad_lines;
  return o;
}

void AddSplitFlags(CLI::App* cmd, SplitFlags* f, bool with_method_none) {
  if (with_method_none) f->method = "none";
  cmd->add_option("--split", f->method,
                  with_method_none
                      ? "Hold out a test set: none (train on everything), random, chrono "
                        "(per user, by time), stratified (per user, random)"
                      : "Split method: random, chrono (per user, by time), stratified (per user, "
                        "random; Microsoft Recommenders' python_stratified_split)")
      ->capture_default_str()
      ->group("Split");
  cmd->add_option("--train-ratio", f->train_ratio, "Fraction of records (per user) in train")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            // Parsed here without exceptions: "abc" must be a usage error, not a crash.
            char* end = nullptr;
            const double x = std::strtod(v.c_str(), &end);
            if (v.empty() || *end != '\0') return "'" + v + "' is not a number";
            return x > 0 && x < 1 ? "" : "must lie strictly between 0 and 1, got " + v;
          },
          "(0,1)"))
      ->group("Split");
  cmd->add_option("--split-seed", f->seed, "Seed of the random and stratified splits")
      ->capture_default_str()
      ->group("Split");
  cmd->add_option("--min-user-ratings", f->min_user, "Drop users with fewer records first")
      ->capture_default_str()
      ->group("Split");
  cmd->add_option("--min-item-ratings", f->min_item, "Drop items with fewer records first")
      ->capture_default_str()
      ->group("Split");
}

Result<SplitOptions> ToSplitOptions(const SplitFlags& f) {
  SplitOptions o;
  RECO_ASSIGN_OR_RETURN(o.method, ParseSplitMethod(f.method));
  o.train_ratio = f.train_ratio;
  o.seed = f.seed;
  o.min_user = f.min_user;
  o.min_item = f.min_item;
  return o;
}

void AddAlsFlags(CLI::App* cmd, AlsFlags* f, const std::string& prefix, bool with_kind) {
  AlsOptions& o = f->options;
  const std::string group = prefix.empty() ? "Model" : "Model (" + prefix + ")";
  std::string p = "--" + prefix;
  if (with_kind) {
    cmd->add_flag("--implicit", o.implicit,
                  "Implicit-feedback ALS (Hu-Koren-Volinsky): values are interaction strengths")
        ->group(group);
  }
  cmd->add_option(p + "factors", o.factors, "Latent factors (rank)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096))
      ->group(group);
  cmd->add_option(p + "iterations", o.iterations, "ALS sweeps")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000))
      ->group(group);
  cmd->add_option(p + "reg", o.regularization,
                  "Regularisation lambda (explicit: scaled by each row's rating count, ALS-WR)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->group(group);
  if (with_kind || prefix == "implicit-") {
    cmd->add_option(p + "alpha", o.alpha, "Implicit confidence: c = 1 + alpha * value")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber)
        ->group(group);
    cmd->add_option(p + "solver", f->solver, "Implicit row solver: cg or cholesky (exact)")
        ->capture_default_str()
        ->group(group);
    cmd->add_option(p + "cg-steps", o.cg_steps, "Conjugate-gradient steps per row")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000))
        ->group(group);
  }
  if (with_kind || prefix == "explicit-") {
    cmd->add_option(p + "biases", o.use_biases, "Explicit: learn global, user and item biases")
        ->capture_default_str()
        ->group(group);
  }
  cmd->add_option(p + "seed", o.seed, "Seed of the initial factors")
      ->capture_default_str()
      ->group(group);
}

Result<AlsOptions> ToAlsOptions(const AlsFlags& f) {
  AlsOptions o = f.options;
  if (f.solver == "cg") {
    o.implicit_solver = ImplicitSolver::kConjugateGradient;
  } else if (f.solver == "cholesky") {
    o.implicit_solver = ImplicitSolver::kCholesky;
  } else {
    return Status::InvalidArgument("--solver must be cg or cholesky, got '" + f.solver + "'");
  }
  return o;
}

void ApplyImplicitDefaults(const CLI::App& cmd, AlsFlags* f) {
  if (!f->options.implicit) return;
  const AlsOptions d = DefaultImplicitOptions();
  AlsOptions& o = f->options;
  if (cmd.count("--factors") == 0) o.factors = d.factors;
  if (cmd.count("--iterations") == 0) o.iterations = d.iterations;
  if (cmd.count("--reg") == 0) o.regularization = d.regularization;
  if (cmd.count("--alpha") == 0) o.alpha = d.alpha;
  if (cmd.count("--cg-steps") == 0) o.cg_steps = d.cg_steps;
  o.use_biases = false;
}

void AddThreadsFlag(CLI::App* cmd, int* threads) {
  cmd->add_option("--threads", *threads, "Worker threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
}

Result<CsrMatrix> LoadSeenItems(const FactorModel& model, const std::string& path,
                                const std::string& flag, const LoadOptions& load,
                                std::string* used_path) {
  std::string seen_path = path;
  if (seen_path.empty()) {
    auto meta = nlohmann::json::parse(model.metadata_json, nullptr, /*allow_exceptions=*/false);
    if (!meta.is_object() || !meta.contains("train_path") || !meta["train_path"].is_string()) {
      return Status::InvalidArgument("the model does not record its training file; pass " + flag +
                                     " FILE (the items each user already interacted with are "
                                     "never recommended)");
    }
    seen_path = meta["train_path"].get<std::string>();
  }
  RECO_ASSIGN_OR_RETURN(Dataset data, LoadDataset(seen_path, load));
  MappedRecords seen = MapToModel(model, data);
  if (seen.unknown_user_records + seen.unknown_item_records > 0) {
    std::fprintf(
        stderr,
        "reco: warning: %llu records of %s name users/items the model does not know "
        "(was it trained on that file?)\n",
        static_cast<unsigned long long>(seen.unknown_user_records + seen.unknown_item_records),
        seen_path.c_str());
  }
  if (used_path != nullptr) *used_path = seen_path;
  return CsrMatrix::FromInteractions(seen.records, model.num_users(), model.num_items());
}

}  // namespace reco::cli
