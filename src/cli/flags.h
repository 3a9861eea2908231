// Flag groups shared by several subcommands (input parsing, splitting, ALS
// hyper-parameters), so each option is spelled and documented once.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "reco/als.h"
#include "reco/lifecycle.h"
#include "reco/loader.h"
#include "reco/model.h"
#include "reco/recommender.h"
#include "reco/split.h"

namespace reco::cli {

struct LoadFlags {
  std::string format = "auto";
  std::string delimiter;
  bool header = false;
  std::string user_col, item_col, value_col, timestamp_col;
  std::string duplicates = "keep_last";
  bool skip_bad_lines = false;
};
void AddLoadFlags(CLI::App* cmd, LoadFlags* flags);
Result<LoadOptions> ToLoadOptions(const LoadFlags& flags);

struct SplitFlags {
  std::string method = "stratified";
  double train_ratio = 0.75;
  uint64_t seed = 42;
  uint32_t min_user = 1;
  uint32_t min_item = 1;
};
// `with_method_none` adds "none" (train on everything) as the default method.
void AddSplitFlags(CLI::App* cmd, SplitFlags* flags, bool with_method_none);
Result<SplitOptions> ToSplitOptions(const SplitFlags& flags);

// The model to fit: --family and every family's options. Options not given
// on the command line take the family's defaults (DefaultModelConfig), so
// `--family ease` alone is a sensible model.
struct ModelFlags {
  std::string family;  // empty: als (or ials with --implicit)
  bool implicit = false;
  ModelConfig given;  // parsed values; only the flags given are used
  std::string solver = "cg";
  std::string values = "raw";
  std::string similarity = "cosine";
  double max_memory_mb = 0;
  std::vector<std::string> flag_names;
};
// Flags named --<prefix>factors etc.; --family / --implicit only without a
// prefix (a prefixed group belongs to one family, given to ToModelConfig).
void AddModelFlags(CLI::App* cmd, ModelFlags* flags, const std::string& prefix = "");
// A --help footer listing every family's defaults.
std::string ModelFlagsFooter();
// InvalidArgument naming the flag for a bad value or combination.
Result<ModelConfig> ToModelConfig(const CLI::App& cmd, const ModelFlags& flags,
                                  std::string_view fixed_family = {});

// "ials,ease" -> the families; InvalidArgument naming `flag` and the accepted
// names for anything else.
Result<std::vector<ModelFamily>> ParseFamilyList(const std::string& list, const std::string& flag);

// --threads for the compute commands: 0 (default) means all cores.
void AddThreadsFlag(CLI::App* cmd, int* threads);

// The items each user of `model` already interacted with (never recommended,
// excluded from rankings), as a users x items matrix in the model's index
// space. Read from `path`, or, when it is empty, from the training file the
// model's metadata records; `flag` names the option that overrides it in the
// error message. *used_path (if given) receives the file read.
Result<CsrMatrix> LoadSeenItems(const Recommender& model, const std::string& path,
                                const std::string& flag, const LoadOptions& load,
                                std::string* used_path = nullptr);

}  // namespace reco::cli
