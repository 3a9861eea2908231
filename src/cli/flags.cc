#include "flags.h"

#include "reco/text.h"

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

void AddModelFlags(CLI::App* cmd, ModelFlags* f, const std::string& prefix) {
  ModelConfig& c = f->given;
  const std::string group = prefix.empty() ? "Model" : "Model (" + prefix + ")";
  const std::string p = "--" + prefix;
  auto add = [&](const std::string& name, auto* value, const std::string& help) {
    f->flag_names.push_back(p + name);
    return cmd->add_option(p + name, *value, help)->group(group);
  };
  if (prefix.empty()) {
    cmd->add_option("--family", f->family,
                    "Model family: als (explicit ratings, ALS-WR), ials (implicit feedback ALS), "
                    "ease (closed-form item-item, Steck 2019), knn (item-kNN co-occurrence, "
                    "SAR-style)")
        ->group(group);
    cmd->add_flag("--implicit", f->implicit, "Same as --family ials")->group(group);
  }
  const ModelConfig d;  // shows the ranges; each family's defaults apply after parsing
  add("factors", &c.als.factors, "ALS: latent factors (rank)")->check(CLI::Range(1, 4096));
  add("iterations", &c.als.iterations, "ALS: sweeps")->check(CLI::Range(1, 10000));
  add("reg", &c.als.regularization,
      "ALS: regularisation lambda (explicit: scaled by each row's rating count, ALS-WR; implicit: "
      "lambda (|I_u| + alpha0 |I|)^nu)")
      ->check(CLI::NonNegativeNumber);
  add("alpha", &c.als.alpha, "ials: confidence c = 1 + alpha * t(value)")
      ->check(CLI::NonNegativeNumber);
  add("nu", &c.als.nu,
      "ials: frequency-scaled regularisation exponent (Rendle et al. 2022; 0: off)")
      ->check(CLI::Range(0.0, 4.0));
  add("alpha0", &c.als.alpha0, "ials: weight of unobserved entries (1: Hu-Koren-Volinsky)")
      ->check(CLI::PositiveNumber);
  add("solver", &f->solver, "ials: row solver, cg or cholesky (exact)");
  add("cg-steps", &c.als.cg_steps, "ials: conjugate-gradient steps per row")
      ->check(CLI::Range(1, 1000));
  add("biases", &c.als.use_biases, "als: learn global, user and item biases");
  add("seed", &c.als.seed, "ALS: seed of the initial factors");
  add("values", &f->values,
      "ials/ease/knn: how a value becomes the training signal t(r): raw, binary (1 for r > 0) "
      "or log (log(1 + r/eps))");
  add("log-eps", &c.values.epsilon, "eps of --values log")->check(CLI::PositiveNumber);
  add("ease-lambda", &c.ease.lambda, "ease: L2 penalty lambda")->check(CLI::PositiveNumber);
  add("max-memory", &f->max_memory_mb,
      "ease: refuse to fit when the estimate exceeds this many MiB (0: half the physical memory)")
      ->check(CLI::NonNegativeNumber);
  add("similarity", &f->similarity, "knn: cosine, jaccard or lift");
  add("neighbors", &c.knn.neighbors, "knn: similar items kept per item")
      ->check(CLI::Range(1, 100000));
  add("shrinkage", &c.knn.shrinkage, "knn: added to the similarity's denominator")
      ->check(CLI::NonNegativeNumber);
  add("half-life-days", &c.knn.half_life_days,
      "knn: weight each interaction by 2^-(age / half-life), age from the latest timestamp "
      "(0: no decay)")
      ->check(CLI::NonNegativeNumber);
  (void)d;
}

std::string ModelFlagsFooter() {
  std::string out = "Each family's defaults (options not given keep them):";
  for (ModelFamily f : {ModelFamily::kExplicitAls, ModelFamily::kImplicitAls, ModelFamily::kEase,
                        ModelFamily::kItemKnn}) {
    out += "\n  " + DefaultModelConfig(f).ToJson();
  }
  return out;
}

Result<ModelConfig> ToModelConfig(const CLI::App& cmd, const ModelFlags& f,
                                  std::string_view fixed_family) {
  std::string family_name = !fixed_family.empty() ? std::string(fixed_family) : f.family;
  if (f.implicit) {
    if (!f.family.empty() && f.family != "ials") {
      return Status::InvalidArgument("--implicit and --family " + f.family + " contradict");
    }
    family_name = "ials";
  }
  if (family_name.empty()) family_name = "als";
  RECO_ASSIGN_OR_RETURN(ModelFamily family, ParseModelFamily(family_name).WithContext("--family"));
  ModelConfig c = DefaultModelConfig(family);
  const ModelConfig& g = f.given;
  // Only what was given on the command line overrides the family's defaults.
  auto given = [&](const std::string& name) {
    for (const std::string& n : f.flag_names) {
      if (n.ends_with("-" + name) || n == "--" + name) {
        if (cmd.count(n) > 0) return true;
      }
    }
    return false;
  };
  if (given("factors")) c.als.factors = g.als.factors;
  if (given("iterations")) c.als.iterations = g.als.iterations;
  if (given("reg")) c.als.regularization = g.als.regularization;
  if (given("alpha")) c.als.alpha = g.als.alpha;
  if (given("nu")) c.als.nu = g.als.nu;
  if (given("alpha0")) c.als.alpha0 = g.als.alpha0;
  if (given("cg-steps")) c.als.cg_steps = g.als.cg_steps;
  if (given("biases")) c.als.use_biases = g.als.use_biases;
  if (given("seed")) c.als.seed = g.als.seed;
  if (given("solver")) {
    if (f.solver == "cg") {
      c.als.implicit_solver = ImplicitSolver::kConjugateGradient;
    } else if (f.solver == "cholesky") {
      c.als.implicit_solver = ImplicitSolver::kCholesky;
    } else {
      return Status::InvalidArgument("--solver must be cg or cholesky, got '" + f.solver + "'");
    }
  }
  if (given("values")) {
    RECO_ASSIGN_OR_RETURN(c.values.transform,
                          ParseValueTransform(f.values).WithContext("--values"));
  }
  if (given("log-eps")) c.values.epsilon = g.values.epsilon;
  if (given("ease-lambda")) c.ease.lambda = g.ease.lambda;
  if (given("max-memory")) {
    // A positive limit below one byte is still a limit (0 means the default).
    c.ease.max_memory_bytes = std::max<uint64_t>(
        f.max_memory_mb > 0 ? 1 : 0, static_cast<uint64_t>(f.max_memory_mb * 1024.0 * 1024.0));
  }
  if (given("similarity")) {
    RECO_ASSIGN_OR_RETURN(c.knn.similarity,
                          ParseKnnSimilarity(f.similarity).WithContext("--similarity"));
  }
  if (given("neighbors")) c.knn.neighbors = g.knn.neighbors;
  if (given("shrinkage")) c.knn.shrinkage = g.knn.shrinkage;
  if (given("half-life-days")) c.knn.half_life_days = g.knn.half_life_days;
  RECO_RETURN_IF_ERROR(c.Validate());
  return c;
}

void AddThreadsFlag(CLI::App* cmd, int* threads) {
  cmd->add_option("--threads", *threads, "Worker threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
}

Result<CsrMatrix> LoadSeenItems(const Recommender& model, const std::string& path,
                                const std::string& flag, const LoadOptions& load,
                                std::string* used_path) {
  std::string seen_path = path;
  if (seen_path.empty()) {
    auto meta = nlohmann::json::parse(model.metadata_json(), nullptr, /*allow_exceptions=*/false);
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

Result<std::vector<ModelFamily>> ParseFamilyList(const std::string& list, const std::string& flag) {
  std::vector<ModelFamily> families;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view name = Trim(std::string_view(list).substr(start, comma - start));
    RECO_ASSIGN_OR_RETURN(ModelFamily family, ParseModelFamily(name).WithContext(flag));
    families.push_back(family);
    start = comma + 1;
  }
  return families;
}

}  // namespace reco::cli
