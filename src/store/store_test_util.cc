#include "store_test_util.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

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

RefusingLoopbackPort::RefusingLoopbackPort() {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.sin_port);
  }
}

RefusingLoopbackPort::~RefusingLoopbackPort() {
  if (fd_ >= 0) close(fd_);
}

MemoryBackend::MemoryBackend() {
  static std::atomic<int> counter{0};
  uri_ = "memory://test-" + std::to_string(counter.fetch_add(1));
}

RedisServerProcess::~RedisServerProcess() { (void)Stop(); }

Status RedisServerProcess::Start() {
  if (process_.running()) return Status::FailedPrecondition("redis-server already running");
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
  if (cluster_) {
    // A short node timeout: a stopped node is noticed (and a restarted one
    // accepted back) in seconds, not the default 15 s.
    for (const char* a :
         {"--cluster-enabled", "yes", "--cluster-node-timeout", "3000", "--cluster-config-file"}) {
      args.emplace_back(a);
    }
    args.push_back("nodes-" + port_text + ".conf");
  }
  RECO_ASSIGN_OR_RETURN(process_, SpawnProcess(args));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto ended = process_.Poll()) {
      return Status::IOError("redis-server on port " + port_text + " exited (" + ended->ToString() +
                             "): " + LogTail());
    }
    if (AnswersPing(port)) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (void)Stop();
  return Status::Unavailable("redis-server on port " + port_text +
                             " never answered PING: " + LogTail());
}

Status RedisServerProcess::Stop() {
  (void)process_.Terminate(std::chrono::seconds(10));  // Terminate thaws a frozen server first
  return Status::Ok();
}

Status RedisServerProcess::Freeze() {
  if (!process_.Signal(SIGSTOP)) return Status::FailedPrecondition("not running");
  return Status::Ok();
}

Status RedisServerProcess::Thaw() {
  if (!process_.Signal(SIGCONT)) return Status::FailedPrecondition("not running");
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

Result<std::string> RedisServerProcess::Command(const std::vector<std::string>& args) const {
  timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr || c->err != 0) {
    std::string err = c != nullptr ? c->errstr : "out of memory";
    if (c != nullptr) redisFree(c);
    return Status::Unavailable("connect to 127.0.0.1:" + std::to_string(port_) + ": " + err);
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), argvlen.data()));
  if (reply == nullptr) {
    std::string err = c->errstr;
    redisFree(c);
    return Status::Unavailable("127.0.0.1:" + std::to_string(port_) + ": " + err);
  }
  auto text = [](const redisReply* r) -> std::string {
    switch (r->type) {
      case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
      case REDIS_REPLY_NIL:
        return "";
      default:
        return r->str != nullptr ? std::string(r->str, r->len) : "";
    }
  };
  Result<std::string> out = std::string();
  if (reply->type == REDIS_REPLY_ERROR) {
    out = Status::IOError(text(reply));
  } else if (reply->type == REDIS_REPLY_ARRAY) {
    std::string joined;
    for (size_t i = 0; i < reply->elements; ++i) {
      if (i > 0) joined += '\n';
      joined += text(reply->element[i]);
    }
    out = joined;
  } else {
    out = text(reply);
  }
  freeReplyObject(reply);
  redisFree(c);
  return out;
}

RedisClusterProcess::~RedisClusterProcess() { (void)Stop(); }

Status RedisClusterProcess::Start(int masters) {
  if (!nodes_.empty()) return Status::FailedPrecondition("cluster already started");
  if (access(kCli, X_OK) != 0) {
    return Status::NotFound(std::string(kCli) + " is missing: install the redis-tools package");
  }
  std::vector<std::string> args = {kCli, "--cluster", "create"};
  for (int i = 0; i < masters; ++i) {
    nodes_.push_back(std::make_unique<RedisServerProcess>());
    nodes_.back()->EnableCluster();
    RECO_RETURN_IF_ERROR(nodes_.back()->Start());
    args.push_back("127.0.0.1:" + std::to_string(nodes_.back()->port()));
  }
  for (const char* a : {"--cluster-replicas", "0", "--cluster-yes"}) args.emplace_back(a);
  RECO_RETURN_IF_ERROR(RunProcessToSuccess(args, {.stdout_file = dir_.PathOf("cluster-create.log")},
                                           std::chrono::seconds(120)));
  return WaitUntilHealthy();
}

Status RedisClusterProcess::WaitUntilHealthy() const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    bool ok = true;
    for (const auto& node : nodes_) {
      Result<std::string> info = node->Command({"CLUSTER", "INFO"});
      if (!info.ok()) {
        last = info.status().ToString();
        ok = false;
        break;
      }
      if (info->find("cluster_state:ok") == std::string::npos) {
        last = "port " + std::to_string(node->port()) + ": " + *info;
        ok = false;
        break;
      }
    }
    if (ok) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Unavailable("cluster never reported cluster_state:ok: " + last);
}

Status RedisClusterProcess::Stop() {
  for (auto& node : nodes_) (void)node->Stop();
  nodes_.clear();
  return Status::Ok();
}

Status RedisClusterProcess::FlushAll() const {
  for (const auto& node : nodes_) RECO_RETURN_IF_ERROR(node->Command({"FLUSHALL"}).status());
  return Status::Ok();
}

Result<size_t> RedisClusterProcess::NodeForSlot(int slot) const {
  // CLUSTER NODES lines: "<id> <ip:port@cport> <flags> ... <slot ranges>".
  for (size_t i = 0; i < nodes_.size(); ++i) {
    RECO_ASSIGN_OR_RETURN(std::string nodes, nodes_[i]->Command({"CLUSTER", "NODES"}));
    std::istringstream lines(nodes);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("myself") == std::string::npos) continue;
      std::istringstream fields(line);
      std::string field;
      for (int f = 0; f < 8 && fields >> field; ++f) {
      }
      while (fields >> field) {
        if (field.starts_with("[")) continue;  // a migration in progress
        size_t dash = field.find('-');
        int first = std::atoi(field.c_str());
        int last = dash == std::string::npos ? first : std::atoi(field.c_str() + dash + 1);
        if (first <= slot && slot <= last) return i;
      }
    }
  }
  return Status::NotFound("no node claims slot " + std::to_string(slot));
}

std::string RedisClusterProcess::uri() const {
  std::string uri = "redis+cluster://";
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i > 0) uri += ',';
    uri += "127.0.0.1:" + std::to_string(nodes_[i]->port());
  }
  return uri;
}

Result<RedisClusterProcess*> SharedRedisCluster() {
  static std::unique_ptr<RedisClusterProcess> cluster;
  static Status started = [] {
    cluster = std::make_unique<RedisClusterProcess>();
    return cluster->Start();
  }();
  if (!started.ok()) return started;
  return cluster.get();
}

Status RedisClusterBackend::SetUp() {
  RECO_ASSIGN_OR_RETURN(RedisClusterProcess * cluster, SharedRedisCluster());
  RECO_RETURN_IF_ERROR(cluster->FlushAll());
  uri_ = cluster->uri();
  return Status::Ok();
}

}  // namespace reco::testing_util
