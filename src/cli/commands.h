// The `reco` binary's subcommands. Each Add*Command registers one subcommand
// (its flags and --help text) on the app; the subcommand's callback parses
// nothing itself, calls the library, and writes its exit code to *exit_code.
// Exit codes: 0 ok; 2 the command line was rejected while parsing (unknown
// flag or command, missing or out-of-range value); 1 any failure after that,
// including bad input data and flag values the library refuses.
#pragma once

#include <CLI/CLI.hpp>

#include "reco/status.h"

namespace reco::cli {

inline constexpr int kUsageError = 2;

// Prints "reco: error: <message>" to stderr and returns 1, for callbacks:
//   if (!st.ok()) { *exit_code = ReportError(st); return; }
int ReportError(const Status& status);

void AddDataCommand(CLI::App& app, int* exit_code);        // data fetch | data split | data stats
void AddTrainCommand(CLI::App& app, int* exit_code);       // train
void AddEvalCommand(CLI::App& app, int* exit_code);        // eval
void AddRecommendCommand(CLI::App& app, int* exit_code);   // recommend
void AddPipelineCommand(CLI::App& app, int* exit_code);    // pipeline
void AddPrecomputeCommand(CLI::App& app, int* exit_code);  // precompute
void AddStoreCommand(CLI::App& app, int* exit_code);       // store versions|activate|...
void AddServeCommand(CLI::App& app, int* exit_code);       // serve
void AddLoadtestCommand(CLI::App& app, int* exit_code);    // loadtest
void AddEventsCommand(CLI::App& app, int* exit_code);      // events export|replay
void AddModelsCommand(CLI::App& app, int* exit_code);      // models list|show|activate|rollback
void AddRetrainCommand(CLI::App& app, int* exit_code);     // retrain
void AddTuneCommand(CLI::App& app, int* exit_code);        // tune

}  // namespace reco::cli
