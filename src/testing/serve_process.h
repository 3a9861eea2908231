// A `reco serve` (or any server that honours --port-file) run by a test:
// started with --port 0 so the kernel picks a free port, found through the
// port file the server renames into place once it listens, and stopped the
// way an operator would (SIGTERM, then SIGKILL after a bounded wait).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "process.h"
#include "reco/status.h"

namespace reco::testing_util {

struct ServeOptions {
  // The server's stdout and stderr, appended (a restarted server adds to it).
  std::string log_file;
  // Where --port-file points; removed before the start.
  std::string port_file;
  // How long the server may take to write its port file.
  std::chrono::milliseconds start_limit = std::chrono::seconds(60);
  SpawnOptions spawn;  // working_dir and env; the output files are the log's
};

class ServeProcess {
 public:
  // Runs `command` + {"--port", "0", "--port-file", options.port_file} (so
  // command is e.g. {RECO_BINARY, "serve", "--store", uri}) and returns once
  // the port file names a port. An error quoting the log when the server
  // exits first or does not write the file within start_limit (then it is
  // killed).
  static Result<ServeProcess> Start(std::vector<std::string> command, ServeOptions options);

  ServeProcess(ServeProcess&&) = default;
  ServeProcess& operator=(ServeProcess&&) = default;
  ~ServeProcess() { (void)Stop(); }

  uint16_t port() const { return port_; }
  pid_t pid() const { return child_.pid(); }
  bool running() { return child_.running(); }
  // SIGTERM (a graceful drain) and up to `grace` to exit, then SIGKILL.
  ExitStatus Stop(std::chrono::milliseconds grace = std::chrono::seconds(30));
  // SIGKILL: a crash, for durability tests.
  ExitStatus Kill() { return child_.Kill(); }
  // Everything the server has written to its log so far.
  std::string log() const { return ReadFileOrEmpty(log_file_); }

 private:
  ServeProcess(ChildProcess child, uint16_t port, std::string log_file)
      : child_(std::move(child)), port_(port), log_file_(std::move(log_file)) {}

  ChildProcess child_;
  uint16_t port_ = 0;
  std::string log_file_;
};

}  // namespace reco::testing_util
