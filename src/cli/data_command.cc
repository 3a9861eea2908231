// `reco data fetch`: thin flag parsing over reco::FetchDataset.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "reco/fetch.h"

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

}  // namespace

void AddDataCommand(CLI::App& app, int* exit_code) {
  CLI::App* data = app.add_subcommand("data", "Get data sets onto this machine");
  data->require_subcommand(1);
  AddFetchCommand(*data, exit_code);
}

}  // namespace reco::cli
