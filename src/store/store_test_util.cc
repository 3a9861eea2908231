#include "store_test_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace reco::testing_util {
namespace {

// Asks the kernel for a free ephemeral port on the loopback interface.
int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool AnswersPing(int port) {
  timeval tv{0, 200000};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  bool ok = false;
  if (c != nullptr && c->err == 0) {
    redisSetTimeout(c, tv);
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (c != nullptr) redisFree(c);
  return ok;
}

}  // namespace

MemoryBackend::MemoryBackend() {
  static std::atomic<int> counter{0};
  uri_ = "memory://test-" + std::to_string(counter.fetch_add(1));
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/reco-store-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) != nullptr) path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

RedisServerProcess::~RedisServerProcess() { (void)Stop(); }

Status RedisServerProcess::Start() {
  if (pid_ > 0) return Status::FailedPrecondition("redis-server already running");
  if (access(kBinary, X_OK) != 0) {
    return Status::NotFound(std::string(kBinary) +
                            " is missing: install the redis-server package "
                            "(scripts/setup-deps.sh)");
  }
  if (port_ != 0) return StartOnPort(port_);
  // Another process may grab the port between probing and binding; retry.
  Status st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = FreeLoopbackPort();
    if (port == 0) return Status::IOError("no free loopback port");
    st = StartOnPort(port);
    if (st.ok()) {
      port_ = port;
      return st;
    }
  }
  return st;
}

Status RedisServerProcess::StartOnPort(int port) {
  if (dir_.path().empty()) return Status::IOError("cannot create a temporary directory");
  std::string port_text = std::to_string(port);
  std::string log = dir_.path() + "/redis.log";
  std::vector<std::string> args = {
      kBinary, "--port",       port_text, "--bind",     "127.0.0.1", "--save",
      "",      "--appendonly", "no",      "--dir",      dir_.path(), "--daemonize",
      "no",    "--logfile",    log,       "--loglevel", "warning"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, kBinary, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::IOError(std::string("posix_spawn redis-server: ") + strerror(rc));
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::IOError("redis-server on port " + port_text + " exited: " + LogTail());
    }
    if (AnswersPing(port)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (void)Stop();
  return Status::Unavailable("redis-server on port " + port_text +
                             " never answered PING: " + LogTail());
}

Status RedisServerProcess::Stop() {
  if (pid_ <= 0) return Status::Ok();
  kill(pid_, SIGCONT);  // in case it is frozen
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  return Status::Ok();
}

Status RedisServerProcess::Freeze() {
  if (pid_ <= 0 || kill(pid_, SIGSTOP) != 0) return Status::FailedPrecondition("not running");
  return Status::Ok();
}

Status RedisServerProcess::Thaw() {
  if (pid_ <= 0 || kill(pid_, SIGCONT) != 0) return Status::FailedPrecondition("not running");
  return Status::Ok();
}

std::string RedisServerProcess::LogTail() const {
  std::ifstream in(dir_.path() + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > 500) text = text.substr(text.size() - 500);
  return text.empty() ? "(empty log)" : text;
}

}  // namespace reco::testing_util
