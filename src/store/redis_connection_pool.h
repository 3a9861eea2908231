// RedisConnectionPool: pooled blocking hiredis connections to one Redis
// server, shared by RedisStore (one server) and RedisClusterStore (one pool
// per cluster node).
//
// A call takes an idle connection (or opens one), sends its command(s)
// pipelined, reads the replies and puts the connection back, so a GET is
// exactly one round trip. A connection that fails is dropped; because a
// pooled connection may have died while idle (server restart), a call that
// fails on a reused connection empties the pool and retries once on a fresh
// one. A server that is down yields Unavailable, and connect attempts back
// off briefly so callers fail fast instead of each waiting out
// connect_timeout.
#pragma once

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "reco/status.h"

namespace reco::store_internal {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct RedisConnectionOptions {
  int db = 0;  // SELECTed on connect when not 0
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds timeout{1000};
  // Idle connections kept for reuse; more are opened under load.
  int pool_size = 16;
  // After a failed connect, further connects fail fast for this long so a
  // down server does not stall every request for connect_timeout.
  std::chrono::milliseconds reconnect_backoff{100};
};

// Appends one command given as byte strings (binary safe, no format parsing).
template <size_t N>
void AppendCommand(redisContext* c, const std::string_view (&args)[N]) {
  const char* argv[N];
  size_t argvlen[N];
  for (size_t i = 0; i < N; ++i) {
    argv[i] = args[i].data();
    argvlen[i] = args[i].size();
  }
  redisAppendCommandArgv(c, static_cast<int>(N), argv, argvlen);
}
void AppendCommandVector(redisContext* c, const std::vector<std::string_view>& args);

// Escapes glob metacharacters so a key prefix can be used in SCAN MATCH.
std::string ScanMatchPattern(std::string_view prefix);

// hiredis writes with write(2): a server closing a connection would raise
// SIGPIPE and kill the process. Ignores it unless the program chose a
// handler; the failed write then surfaces as EPIPE, i.e. Unavailable.
void IgnoreSigpipeUnlessHandled();

// A reply of an unexpected type or an error reply, as a Status naming
// `where` and `what`. Errors a server gives while it cannot serve yet
// (loading its data set, busy script, cluster down) count as Unavailable.
Status RedisReplyError(const std::string& where, const char* what, const redisReply* reply);
// A GET reply: copies a string into *value; NotFound for nil.
Status GetReplyValue(const std::string& where, const redisReply* reply, std::string* value);
// OK for a status reply ("+OK"), else RedisReplyError.
Status ExpectRedisStatus(const std::string& where, const char* what, const redisReply* reply);

class RedisConnectionPool {
 public:
  RedisConnectionPool(std::string host, int port, RedisConnectionOptions options);
  ~RedisConnectionPool();
  RedisConnectionPool(const RedisConnectionPool&) = delete;
  RedisConnectionPool& operator=(const RedisConnectionPool&) = delete;

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  // "redis host:port", for messages.
  const std::string& where() const { return where_; }

  // Sends what append(context) queued and reads n replies into
  // replies[0..n). Unavailable when the server cannot be reached or a reply
  // does not arrive; retries once on a fresh connection when a pooled one
  // turns out dead. Error replies are returned as replies, not as errors.
  template <typename AppendFn>
  Status RoundTrip(const char* what, size_t n, AppendFn&& append, ReplyPtr* replies) {
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      ContextPtr conn;
      RECO_RETURN_IF_ERROR(Acquire(/*allow_pooled=*/attempt == 0, &conn, &reused));
      append(conn.get());
      bool ok = true;
      for (size_t i = 0; i < n && ok; ++i) {
        void* r = nullptr;
        ok = redisGetReply(conn.get(), &r) == REDIS_OK && r != nullptr;
        replies[i].reset(static_cast<redisReply*>(r));
      }
      if (ok) {
        Release(std::move(conn));
        return Status::Ok();
      }
      Status err = Status::Unavailable(where_ + ": " + what + ": " +
                                       (conn->err ? conn->errstr : "no reply"));
      if (!reused || attempt > 0) return err;
      DropIdle();  // its siblings are likely dead too
    }
  }

  // Closes every idle connection (after a failure: they are likely dead).
  void DropIdle();

 private:
  Status Acquire(bool allow_pooled, ContextPtr* conn, bool* reused);
  Status Connect(ContextPtr* out);
  void Release(ContextPtr conn);

  const std::string host_;
  const int port_;
  const RedisConnectionOptions options_;
  const std::string where_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;  // guarded by mu_
  std::string last_connect_error_;   // guarded by mu_
  std::atomic<int64_t> connect_blocked_until_ns_{0};
};

}  // namespace reco::store_internal
