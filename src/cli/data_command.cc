// `reco data fetch|split|synth`: thin flag parsing over reco::FetchDataset, the
// splits and reco::GenerateSynthetic.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "flags.h"
#include "reco/fetch.h"
#include "reco/synth.h"

namespace reco::cli {
namespace {

std::string CatalogueHelp() {
  std::string text;
  for (const KnownDataset& d : KnownDatasets()) {
    std::string name(d.name);
    name.resize(std::max<size_t>(name.size(), 17), ' ');
    text += "\n  " + name + std::string(d.url) + " (" + std::to_string(d.size_bytes) + " bytes)";
  }
  return text;
}

void AddFetchCommand(CLI::App& data, int* exit_code) {
  auto options = std::make_shared<FetchOptions>();
  CLI::App* fetch = data.add_subcommand(
      "fetch",
      "Download a MovieLens archive, verify its sha256, unpack it into DEST/<name>/.\n"
      "Nothing partial is ever left at DEST/<name>; a copy already there that\n"
      "verifies against its SHA256SUMS is kept as is (use --force to refetch).\n"
      "Known data sets:" +
          CatalogueHelp());
  fetch
      ->add_option("dataset", options->dataset,
                   "Data set name: ml-100k, ml-1m, ml-latest-small (other names need --url "
                   "and --sha256, or --from)")
      ->required();
  fetch->add_option("--dest", options->dest_dir, "Directory that receives <dataset>/")
      ->capture_default_str();
  fetch->add_option("--from", options->from_dir,
                    "Use a local copy instead of the network: DIR/<dataset>.zip (verified, then "
                    "unpacked) or DIR/<dataset>/ (its SHA256SUMS verified, then copied)");
  fetch->add_option("--url", options->url, "Download from this URL instead (a mirror)");
  fetch->add_option("--sha256", options->sha256,
                    "Expected sha256 of the archive (hex), overriding the catalogue");
  fetch->add_flag("--force", options->force, "Replace DEST/<dataset> even if it verifies");
  fetch
      ->add_option("--connect-timeout", options->connect_timeout_seconds,
                   "Seconds to wait for the connection")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  fetch
      ->add_option("--stall-timeout", options->stall_timeout_seconds,
                   "Give up when no bytes arrive for this many seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  fetch->callback([options, exit_code] {
    Result<std::string> dir = FetchDataset(*options);
    if (!dir.ok()) {
      *exit_code = ReportError(dir.status());
      return;
    }
    std::printf("%s is in %s\n", options->dataset.c_str(), dir->c_str());
  });
}

struct SplitCommandFlags {
  std::string input;
  std::string train_out = "train.csv";
  std::string test_out = "test.csv";
  LoadFlags load;
  SplitFlags split;
};

// `reco data split`: the exact split `reco pipeline` uses, as two CSV files an
// outside tool (or `reco train --train X --test Y`) can consume.
Status RunSplit(const SplitCommandFlags& f) {
  RECO_ASSIGN_OR_RETURN(LoadOptions load, ToLoadOptions(f.load));
  RECO_ASSIGN_OR_RETURN(SplitOptions so, ToSplitOptions(f.split));
  RECO_ASSIGN_OR_RETURN(Dataset data, LoadDataset(f.input, load));
  SplitReport report;
  RECO_ASSIGN_OR_RETURN(TrainTest tt, SplitDataset(data, so, &report));
  RECO_RETURN_IF_ERROR(WriteInteractions(f.train_out, data, tt.train));
  RECO_RETURN_IF_ERROR(WriteInteractions(f.test_out, data, tt.test));
  std::printf(
      "%s split of %zu records (%zu removed by min counts): %zu train -> %s, %zu test -> %s"
      " (%zu test records with a user or item absent from train)\n",
      f.split.method.c_str(), report.input_records, report.filtered_records, report.train_records,
      f.train_out.c_str(), report.test_records, f.test_out.c_str(), report.cold_test_records);
  return Status::Ok();
}

void AddSplitCommand(CLI::App& data, int* exit_code) {
  auto f = std::make_shared<SplitCommandFlags>();
  CLI::App* cmd = data.add_subcommand(
      "split",
      "Split an interactions file into train and test CSV files (user_id,item_id,rating,\n"
      "timestamp), reproducibly from a seed, exactly as `reco pipeline` does.");
  cmd->add_option("input", f->input, "Interactions file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--train-out", f->train_out, "Train CSV to write")->capture_default_str();
  cmd->add_option("--test-out", f->test_out, "Test CSV to write")->capture_default_str();
  AddLoadFlags(cmd, &f->load);
  AddSplitFlags(cmd, &f->split, /*with_method_none=*/false);
  cmd->callback([f, exit_code] {
    Status st = RunSplit(*f);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

struct SynthCommandFlags {
  SynthOptions options;
  std::string out;
  std::string factors_out;
};

void AddSynthCommand(CLI::App& data, int* exit_code) {
  auto f = std::make_shared<SynthCommandFlags>();
  SynthOptions& o = f->options;
  CLI::App* cmd = data.add_subcommand(
      "synth",
      "Generate interactions from a planted low-rank model: each user picks distinct items\n"
      "with probability proportional to popularity (Zipf) x exp(affinity x planted taste);\n"
      "user activity is a power law. Written as CSV (user_id,item_id,rating,timestamp) in\n"
      "a stream, memory independent of --interactions; the same flags give the same bytes.\n"
      "--factors-out writes the planted model (docs/input-formats.md, \"Synthetic data\").");
  cmd->add_option("--users", o.users, "Number of users (IDs 0..N-1)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--items", o.items, "Number of items (IDs 0..M-1)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--interactions", o.interactions,
                  "Records to write (distinct user-item pairs), at least users x min-per-user")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rank", o.rank, "Rank of the planted model")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--seed", o.seed, "Random seed")->capture_default_str();
  cmd->add_flag("--implicit", o.implicit,
                "Values are interaction counts (1, 2, ...) instead of 1-5 star ratings");
  cmd->add_option("--zipf-exponent", o.zipf_exponent,
                  "Item popularity ~ rank^-s (0: all items equally popular)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  cmd->add_option("--activity-exponent", o.activity_exponent,
                  "User activity ~ rank^-a over users (0: everyone equally active)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  cmd->add_option("--min-per-user", o.min_per_user, "Fewest records per user")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-per-user", o.max_per_user, "Most records per user (0: all items)")
      ->capture_default_str();
  cmd->add_option("--affinity", o.affinity,
                  "Weight of planted taste against popularity (0: popularity only)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--candidates-per-pick", o.candidates_per_pick,
                  "Popularity-drawn candidates scored per record (more: closer to exact "
                  "sampling, slower)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--start-time", o.start_time, "Earliest timestamp (Unix seconds)")
      ->capture_default_str();
  cmd->add_option("--end-time", o.end_time, "Timestamps are before this (Unix seconds)")
      ->capture_default_str();
  AddThreadsFlag(cmd, &o.threads);
  cmd->add_option("-o,--out", f->out, "Interactions CSV to write")->required();
  cmd->add_option("--factors-out", f->factors_out, "Planted model to write (text)");
  cmd->callback([f, exit_code] {
    SynthReport report;
    Status st = GenerateSynthetic(f->options, f->out, f->factors_out, &report);
    if (!st.ok()) {
      *exit_code = ReportError(st);
      return;
    }
    std::printf(
        "%llu interactions (%u users, %u items; busiest user %u) -> %s (%llu bytes) in %.2fs\n",
        static_cast<unsigned long long>(report.interactions), f->options.users, f->options.items,
        report.max_user_interactions, f->out.c_str(), static_cast<unsigned long long>(report.bytes),
        report.seconds);
    if (!f->factors_out.empty()) std::printf("planted model -> %s\n", f->factors_out.c_str());
  });
}

}  // namespace

void AddDataCommand(CLI::App& app, int* exit_code) {
  CLI::App* data = app.add_subcommand("data", "Get data sets onto this machine and prepare them");
  data->require_subcommand(0, 1);  // none: main prints the group's help
  AddFetchCommand(*data, exit_code);
  AddSplitCommand(*data, exit_code);
  AddSynthCommand(*data, exit_code);
}

}  // namespace reco::cli
