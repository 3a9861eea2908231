// Test helpers shared by the store tests: temporary directories, a private
// redis-server process, and one "backend" fixture per KvStore implementation
// so typed tests can run the same body against memory, LMDB and Redis.
#pragma once

#include <sys/types.h>

#include <string>

#include "reco/status.h"

namespace reco::testing_util {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
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

 private:
  Status StartOnPort(int port);
  std::string LogTail() const;

  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

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

}  // namespace reco::testing_util
