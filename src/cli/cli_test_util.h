// Running the built `reco` binary from a test (cli_test, models_cli_test):
// one fork/exec with RECO_PROGRESS=0, a working directory, a time limit, and
// stdout/stderr captured through files.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

namespace reco::cli_testing {

// How one run of the binary ended.
struct Outcome {
  bool exited = false;  // false: ended by a signal
  int exit_code = -1;
  int signal = 0;
  std::string out;
  std::string err;
};

inline std::ostream& operator<<(std::ostream& os, const Outcome& r) {
  if (r.exited) {
    os << "exit " << r.exit_code;
  } else {
    os << "signal " << r.signal << " (" << strsignal(r.signal) << ")";
  }
  return os << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `binary args...` in `cwd`; stdout and stderr go to `out_path` and
// `err_path` (keep them outside cwd) and are read back into the Outcome.
inline Outcome RunBinary(const std::string& binary, const std::vector<std::string>& args,
                         const std::filesystem::path& cwd, const std::filesystem::path& out_path,
                         const std::filesystem::path& err_path) {
  std::string program = binary;
  std::vector<std::string> copy = args;
  std::vector<char*> argv = {program.data()};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The environment is built before fork: the child may only make
  // async-signal-safe calls.
  std::vector<std::string> env_strings = {"RECO_PROGRESS=0"};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "RECO_PROGRESS=", 14) != 0) env_strings.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  Outcome r;
  const pid_t pid = fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << std::strerror(errno);
    return r;
  }
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || chdir(cwd.c_str()) != 0) {
      _exit(126);
    }
    // A hang becomes a SIGALRM death, which the test reports, not a stuck suite.
    alarm(120);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exited = WIFEXITED(status);
  r.exit_code = r.exited ? WEXITSTATUS(status) : -1;
  r.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

}  // namespace reco::cli_testing
