// reco: a real-time recommendation engine. This file only assembles the
// subcommands; each lives in its own *_command.cc and calls the library.
#include <spdlog/sinks/stdout_color_sinks.h>
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
  // At most one subcommand; "none" is reported below with the help text, so
  // that a misspelt one ("reco trian") is named as unexpected instead.
  app.require_subcommand(0, 1);
  int exit_code = 0;
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log verbosity")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.parse_complete_callback([&] { spdlog::set_level(spdlog::level::from_str(log_level)); });
  // Logs and progress go to stderr; stdout carries results (tables, CSV, JSON).
  spdlog::set_default_logger(spdlog::stderr_color_mt("reco"));
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
  reco::cli::AddModelsCommand(app, &exit_code);
  reco::cli::AddRetrainCommand(app, &exit_code);
  reco::cli::AddTuneCommand(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; real usage errors exit 2.
    int code = app.exit(e);
    return code == 0 ? 0 : reco::cli::kUsageError;
  }
  // A command group (reco, reco data, reco store, ...) given without one of
  // its commands: show what it offers.
  const CLI::App* leaf = &app;
  while (!leaf->get_subcommands().empty()) leaf = leaf->get_subcommands().front();
  if (!leaf->get_subcommands([](const CLI::App*) { return true; }).empty()) {
    std::fprintf(stderr, "%s\nreco: error: %s needs a subcommand (listed above)\n",
                 leaf->help().c_str(), leaf == &app ? "reco" : leaf->get_name().c_str());
    return reco::cli::kUsageError;
  }
  return exit_code;
}
