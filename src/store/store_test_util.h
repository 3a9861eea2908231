// Test helpers shared by the store tests: a private redis-server process (and
// cluster), and one "backend" fixture per KvStore implementation so typed
// tests can run the same body against memory, LMDB and Redis. Directories and
// processes come from src/testing.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../testing/process.h"
#include "../testing/temp_dir.h"
#include "reco/status.h"

namespace reco::testing_util {

// A loopback port that is bound but not listening: connecting to it is
// refused, and nobody else can take it while this object lives.
class RefusingLoopbackPort {
 public:
  RefusingLoopbackPort();
  ~RefusingLoopbackPort();
  RefusingLoopbackPort(const RefusingLoopbackPort&) = delete;
  RefusingLoopbackPort& operator=(const RefusingLoopbackPort&) = delete;
  int port() const { return port_; }  // 0 if binding failed

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A redis-server on 127.0.0.1 and a free port, without persistence. Start()
// returns once the server answers PING; Stop() terminates it; a later Start()
// reuses the same port, so clients can reconnect to the "same" server.
class RedisServerProcess {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";
  RedisServerProcess() = default;
  ~RedisServerProcess();
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;

  Status Start();
  Status Stop();
  // SIGSTOP / SIGCONT: a server that accepts nothing and answers nothing.
  Status Freeze();
  Status Thaw();
  int port() const { return port_; }
  std::string uri() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // Before the first Start(): run as a Redis Cluster node (cluster-enabled,
  // its nodes-PORT.conf in the server's directory, so a restart rejoins).
  void EnableCluster() { cluster_ = true; }
  // Runs one command on a fresh connection: a status, string or integer
  // reply as text, an array as its elements' text joined by '\n'; an error
  // reply is IOError with the server's message.
  Result<std::string> Command(const std::vector<std::string>& args) const;

 private:
  Status StartOnPort(int port);
  std::string LogTail() const;

  TempDir dir_;
  int port_ = 0;
  ChildProcess process_;
  bool cluster_ = false;
};

// A Redis Cluster of `masters` masters (no replicas) on loopback ports:
// Start() starts the servers, joins them with redis-cli --cluster create and
// returns once every node reports cluster_state:ok; Stop() (or destruction)
// terminates them.
class RedisClusterProcess {
 public:
  static constexpr const char* kCli = "/usr/bin/redis-cli";
  RedisClusterProcess() = default;
  ~RedisClusterProcess();
  RedisClusterProcess(const RedisClusterProcess&) = delete;
  RedisClusterProcess& operator=(const RedisClusterProcess&) = delete;

  Status Start(int masters = 3);
  Status Stop();
  // Polls every running node until it reports cluster_state:ok.
  Status WaitUntilHealthy() const;
  // FLUSHALL on every node.
  Status FlushAll() const;
  size_t size() const { return nodes_.size(); }
  RedisServerProcess& node(size_t i) { return *nodes_[i]; }
  // The node whose slot range holds `slot` (by CLUSTER SLOTS of node 0).
  Result<size_t> NodeForSlot(int slot) const;
  // redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...
  std::string uri() const;

 private:
  TempDir dir_;
  std::vector<std::unique_ptr<RedisServerProcess>> nodes_;
};

// One cluster shared by every test of the process that asks for it (started
// on first use, stopped at exit): starting one takes seconds.
Result<RedisClusterProcess*> SharedRedisCluster();

// One struct per backend: SetUp() prepares what the URI needs.
// A uniquely named memory store, so a second OpenKvStore(uri()) sees the
// same data (as a second process would with LMDB or Redis).
struct MemoryBackend {
  static constexpr const char* kName = "memory";
  MemoryBackend();
  Status SetUp() { return Status::Ok(); }
  std::string uri() const { return uri_; }
  std::string uri_;
};

struct LmdbBackend {
  static constexpr const char* kName = "lmdb";
  Status SetUp() { return Status::Ok(); }
  std::string uri() const { return "lmdb://" + dir.path() + "/db"; }
  TempDir dir;
};

struct RedisBackend {
  static constexpr const char* kName = "redis";
  Status SetUp() { return server.Start(); }
  std::string uri() const { return server.uri(); }
  RedisServerProcess server;
};

// The shared cluster, emptied before each test.
struct RedisClusterBackend {
  static constexpr const char* kName = "redis_cluster";
  Status SetUp();
  std::string uri() const { return uri_; }
  std::string uri_;
};

}  // namespace reco::testing_util
