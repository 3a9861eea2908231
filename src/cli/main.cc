// reco: a real-time recommendation engine. This file only assembles the
// subcommands; each lives in its own *_command.cc and calls the library.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"

namespace reco::cli {

int ReportError(const Status& status) {
  std::fprintf(stderr, "reco: error: %s\n", status.message().c_str());
  return 1;
}

}  // namespace reco::cli

int main(int argc, char** argv) {
  CLI::App app{
      "reco: train collaborative-filtering models on behaviour data, evaluate them,\n"
      "precompute each user's top-k into a store and serve it over HTTP.\n"
      "Run `reco <command> --help` for a command's options."};
  app.set_version_flag("--version", "reco 0.1.0");
  app.require_subcommand(1);
  int exit_code = 0;
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();
  app.parse_complete_callback([&] { spdlog::set_level(spdlog::level::from_str(log_level)); });
  spdlog::set_pattern("%^[%H:%M:%S.%e] [%l]%$ %v");

  reco::cli::AddDataCommand(app, &exit_code);
  reco::cli::AddTrainCommand(app, &exit_code);
  reco::cli::AddEvalCommand(app, &exit_code);
  reco::cli::AddRecommendCommand(app, &exit_code);
  reco::cli::AddPipelineCommand(app, &exit_code);
  reco::cli::AddPrecomputeCommand(app, &exit_code);
  reco::cli::AddStoreCommand(app, &exit_code);
  reco::cli::AddServeCommand(app, &exit_code);
  reco::cli::AddLoadtestCommand(app, &exit_code);
  reco::cli::AddEventsCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
