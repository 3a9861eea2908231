#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>
#include <utility>

#include "reco/errno_text.h"
#include "reco/file_util.h"

extern char** environ;

namespace reco::testing_util {
namespace {

using Clock = std::chrono::steady_clock;

ExitStatus FromWaitStatus(int wstatus) {
  ExitStatus s;
  s.exited = WIFEXITED(wstatus);
  s.exit_code = s.exited ? WEXITSTATUS(wstatus) : -1;
  s.signal = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
  return s;
}

// argv[0] as execve needs it: a name without '/' is looked up in $PATH here,
// in the parent, because the child of a multi-threaded test may only make
// async-signal-safe calls.
std::string ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (true) {
    const size_t colon = dirs.find(':');
    std::string candidate(dirs.substr(0, colon));
    candidate += (candidate.empty() ? "./" : "/") + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return program;  // execve reports ENOENT
    dirs.remove_prefix(colon + 1);
  }
}

// The child's environment: the test's, with `overrides` replacing entries of
// the same name.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env = overrides;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const std::string& o : overrides) {
      replaced |= std::string_view(o).substr(0, o.find('=')) == name;
    }
    if (!replaced) env.emplace_back(entry);
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child: report `step` failing with errno on the pipe, then _exit(127).
[[noreturn]] void ChildFail(int report_fd, int step) {
  const int report[2] = {step, errno};
  ssize_t ignored = write(report_fd, report, sizeof(report));
  (void)ignored;
  _exit(127);
}

// In the child, before running anything of its own: die with the test
// process, so a test killed by its timeout leaves no server behind. (Linux
// ties this to the forking thread: spawn from the test's main thread, or from
// a thread that outlives the child.)
void DieWithParent(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
}

}  // namespace

std::string ExitStatus::ToString() const {
  std::string text = timed_out ? "timed out, then " : "";
  if (exited) return text + "exit " + std::to_string(exit_code);
  return text + "signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) (void)Kill();
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::move(other.status_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) (void)Kill();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::move(other.status_);
  }
  return *this;
}

std::optional<ExitStatus> ChildProcess::Poll() {
  if (pid_ <= 0) return status_;
  int wstatus = 0;
  pid_t r;
  while ((r = waitpid(pid_, &wstatus, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r == 0) return std::nullopt;
  status_ = r == pid_ ? FromWaitStatus(wstatus) : ExitStatus{};  // ECHILD: reaped elsewhere
  pid_ = -1;
  return status_;
}

ExitStatus ChildProcess::Reap() {
  int wstatus = 0;
  pid_t r;
  while ((r = waitpid(pid_, &wstatus, 0)) < 0 && errno == EINTR) {
  }
  status_ = r == pid_ ? FromWaitStatus(wstatus) : ExitStatus{};
  pid_ = -1;
  return *status_;
}

ExitStatus ChildProcess::Wait(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  auto pause = std::chrono::milliseconds(1);
  while (true) {
    if (auto s = Poll()) return *s;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  ExitStatus s = Kill();
  s.timed_out = true;
  status_ = s;
  return s;
}

ExitStatus ChildProcess::Terminate(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_.value_or(ExitStatus{});
  kill(pid_, SIGCONT);  // a stopped child cannot act on SIGTERM
  kill(pid_, SIGTERM);
  return Wait(grace);
}

ExitStatus ChildProcess::Kill() {
  if (pid_ <= 0) return status_.value_or(ExitStatus{});
  kill(pid_, SIGKILL);  // SIGKILL ends even a stopped process: the wait is short
  return Reap();
}

bool ChildProcess::Signal(int sig) { return pid_ > 0 && kill(pid_, sig) == 0; }

Result<ChildProcess> SpawnProcess(const std::vector<std::string>& argv,
                                  const SpawnOptions& options) {
  if (argv.empty()) return Status::InvalidArgument("SpawnProcess: empty argv");
  // Everything the child needs is built here: after fork it may only make
  // async-signal-safe calls (the test may have threads).
  const std::string program = ResolveProgram(argv[0]);
  std::vector<std::string> args = argv;
  std::vector<char*> c_args = CStrings(args);
  std::vector<std::string> env = ChildEnvironment(options.env);
  std::vector<char*> c_env = CStrings(env);
  const std::string out_path = options.stdout_file.empty() ? "/dev/null" : options.stdout_file;
  const int out_flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.append ? O_APPEND : O_TRUNC);
  const pid_t parent = getpid();

  // The child writes {step, errno} here when it cannot exec; a successful
  // exec closes the pipe (O_CLOEXEC) and the parent reads nothing.
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(report[0]);
    close(report[1]);
    return ErrnoStatus("fork", err);
  }
  if (pid == 0) {
    close(report[0]);
    DieWithParent(parent);
    const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, STDIN_FILENO) < 0) ChildFail(report[1], 0);
    const int out = open(out_path.c_str(), out_flags, 0644);
    if (out < 0 || dup2(out, STDOUT_FILENO) < 0) ChildFail(report[1], 1);
    if (options.stderr_file.empty()) {
      if (dup2(STDOUT_FILENO, STDERR_FILENO) < 0) ChildFail(report[1], 2);
    } else {
      const int err = open(options.stderr_file.c_str(), out_flags, 0644);
      if (err < 0 || dup2(err, STDERR_FILENO) < 0) ChildFail(report[1], 2);
    }
    if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) {
      ChildFail(report[1], 3);
    }
    execve(program.c_str(), c_args.data(), c_env.data());
    ChildFail(report[1], 4);
  }
  close(report[1]);
  int failure[2];
  ssize_t n;
  while ((n = read(report[0], failure, sizeof(failure))) < 0 && errno == EINTR) {
  }
  close(report[0]);
  ChildProcess child(pid);
  if (n == static_cast<ssize_t>(sizeof(failure))) {
    (void)child.Wait(std::chrono::seconds(10));  // it is _exiting: reap it
    std::string what;
    switch (failure[0]) {
      case 0:
        what = "open /dev/null";
        break;
      case 1:
        what = "open " + out_path;
        break;
      case 2:
        what = "open " + options.stderr_file;
        break;
      case 3:
        what = "chdir " + options.working_dir;
        break;
      default:
        what = "execve " + program;
        break;
    }
    return ErrnoStatus(what, failure[1]);
  }
  return child;
}

Result<ChildProcess> ForkChild(const std::function<int()>& body) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork", errno);
  if (pid == 0) {
    DieWithParent(parent);
    _exit(body());
  }
  return ChildProcess(pid);
}

Result<ExitStatus> RunProcess(const std::vector<std::string>& argv, const SpawnOptions& options,
                              std::chrono::milliseconds limit) {
  RECO_ASSIGN_OR_RETURN(ChildProcess child, SpawnProcess(argv, options));
  return child.Wait(limit);
}

Status RunProcessToSuccess(const std::vector<std::string>& argv, const SpawnOptions& options,
                           std::chrono::milliseconds limit) {
  RECO_ASSIGN_OR_RETURN(ExitStatus status, RunProcess(argv, options, limit));
  if (status.success()) return Status::Ok();
  std::string output = options.stdout_file.empty() ? "" : ReadFileOrEmpty(options.stdout_file);
  constexpr size_t kShown = 4000;  // the end of the log says why
  if (output.size() > kShown) output = "..." + output.substr(output.size() - kShown);
  return Status::IOError(argv[0] + ": " + status.ToString() + ": " + output);
}

std::ostream& operator<<(std::ostream& os, const CapturedRun& run) {
  return os << run.ToString() << "\n--- stdout ---\n" << run.out << "--- stderr ---\n" << run.err;
}

CapturedRun RunAndCapture(const std::vector<std::string>& argv, const std::string& working_dir,
                          const std::string& capture_dir, std::chrono::milliseconds limit) {
  SpawnOptions options;
  options.working_dir = working_dir;
  options.stdout_file = capture_dir + "/stdout";
  options.stderr_file = capture_dir + "/stderr";
  options.env = {"RECO_PROGRESS=0"};
  CapturedRun run;
  Result<ExitStatus> status = RunProcess(argv, options, limit);
  if (!status.ok()) {
    run.exited = true;
    run.exit_code = 127;
    run.err = status.status().ToString();
    return run;
  }
  static_cast<ExitStatus&>(run) = *status;
  run.out = ReadFileOrEmpty(options.stdout_file);
  run.err = ReadFileOrEmpty(options.stderr_file);
  return run;
}

std::string ReadFileOrEmpty(const std::string& path) {
  Result<std::string> content = ReadFileToString(path);
  return content.ok() ? std::move(*content) : std::string();
}

}  // namespace reco::testing_util
