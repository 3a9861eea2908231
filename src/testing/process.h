// Child processes for tests: one way to start a program (or a forked copy of
// the test itself), capture its output and wait for it with a bound. Every
// wait here ends: a child that outlives its bound is killed, and a child still
// running when its handle goes away is killed and reaped, so no test can hang
// on a process or leave one behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "reco/status.h"

namespace reco::testing_util {

// How a child ended.
struct ExitStatus {
  bool exited = false;     // false: ended by a signal
  int exit_code = -1;      // when exited
  int signal = 0;          // when not exited
  bool timed_out = false;  // it outlived the wait's bound and was killed

  bool success() const { return exited && exit_code == 0; }
  // "exit 0", "signal 9 (Killed)", "timed out, then signal 9 (Killed)".
  std::string ToString() const;
};

struct SpawnOptions {
  // Empty: the test's own working directory.
  std::string working_dir;
  // Where stdout goes; empty: /dev/null.
  std::string stdout_file;
  // Where stderr goes; empty: the same place as stdout.
  std::string stderr_file;
  // Append to the output files instead of truncating them (a log that keeps
  // every run of a restarted server).
  bool append = false;
  // NAME=VALUE entries set on top of (replacing) the test's environment.
  std::vector<std::string> env;
};

// A running (or finished, not yet reaped) child. Move-only; destruction kills
// (SIGKILL) and reaps a child that is still running.
class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // -1 once reaped (or never started).
  pid_t pid() const { return pid_; }
  // Reaps the child if it has ended; nullopt while it runs.
  std::optional<ExitStatus> Poll();
  bool running() { return pid_ > 0 && !Poll().has_value(); }
  // Waits up to `limit`; a child still running then is killed (SIGKILL) and
  // reported with timed_out set.
  ExitStatus Wait(std::chrono::milliseconds limit);
  // SIGTERM, up to `grace` to exit, then SIGKILL (timed_out set).
  ExitStatus Terminate(std::chrono::milliseconds grace);
  // SIGKILL and reap.
  ExitStatus Kill();
  // Sends `sig` (SIGSTOP, SIGCONT, ...) without waiting; false if not running.
  bool Signal(int sig);

 private:
  ExitStatus Reap();  // blocking; only after a SIGKILL

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;  // once reaped
};

// Starts argv[0] (a path, or a name looked up in $PATH) with argv and stdin
// from /dev/null. An error when it cannot be started (missing program, output
// file that cannot be opened): the reason is reported back from the child.
Result<ChildProcess> SpawnProcess(const std::vector<std::string>& argv,
                                  const SpawnOptions& options = {});

// Forks the test process; the child runs `body` and exits with its result
// (or dies trying: that is what crash tests fork for). The child must not
// return into gtest: ForkChild _exits it whatever body does.
Result<ChildProcess> ForkChild(const std::function<int()>& body);

// Runs argv to completion, at most `limit` (then it is killed).
Result<ExitStatus> RunProcess(const std::vector<std::string>& argv, const SpawnOptions& options,
                              std::chrono::milliseconds limit);

// RunProcess that must succeed: Ok on exit 0, else an error naming the
// program, how it ended and the end of its stdout file.
Status RunProcessToSuccess(const std::vector<std::string>& argv, const SpawnOptions& options,
                           std::chrono::milliseconds limit);

// One run with its output read back.
struct CapturedRun : ExitStatus {
  std::string out;
  std::string err;
};
// "exit 1\n--- stdout ---\n...--- stderr ---\n...": for a failed expectation.
std::ostream& operator<<(std::ostream& os, const CapturedRun& run);

// Runs argv in `working_dir` with stdout and stderr sent to two files in
// `capture_dir` (keep it outside working_dir: the program may list that) and
// read back. RECO_PROGRESS=0 is set, so progress bars stay out of stderr. A
// failure to start is reported as exit 127 with the reason in err.
CapturedRun RunAndCapture(const std::vector<std::string>& argv, const std::string& working_dir,
                          const std::string& capture_dir, std::chrono::milliseconds limit);

// The file's whole content; "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace reco::testing_util
