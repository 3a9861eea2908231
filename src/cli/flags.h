// Flag groups shared by several subcommands (input parsing, splitting, ALS
// hyper-parameters), so each option is spelled and documented once.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "reco/als.h"
#include "reco/lifecycle.h"
#include "reco/loader.h"
#include "reco/model.h"
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

struct AlsFlags {
  AlsOptions options;
  std::string solver = "cg";
};
// Flags named --<prefix>factors etc.; `defaults` fills the shown defaults.
void AddAlsFlags(CLI::App* cmd, AlsFlags* flags, const std::string& prefix, bool with_kind);
Result<AlsOptions> ToAlsOptions(const AlsFlags& flags);
// After parsing: with --implicit, options not given on the command line take
// DefaultImplicitOptions() values instead of the explicit defaults shown.
void ApplyImplicitDefaults(const CLI::App& cmd, AlsFlags* flags);

// --threads for the compute commands: 0 (default) means all cores.
void AddThreadsFlag(CLI::App* cmd, int* threads);

// The items each user of `model` already interacted with (never recommended,
// excluded from rankings), as a users x items matrix in the model's index
// space. Read from `path`, or, when it is empty, from the training file the
// model's metadata records; `flag` names the option that overrides it in the
// error message. *used_path (if given) receives the file read.
Result<CsrMatrix> LoadSeenItems(const FactorModel& model, const std::string& path,
                                const std::string& flag, const LoadOptions& load,
                                std::string* used_path = nullptr);

}  // namespace reco::cli
