// RedisStore: a KvStore on a Redis server, shared by several server replicas.
//
// Blocking hiredis connections are pooled: a call takes an idle connection
// (or opens one), sends its command(s) pipelined, reads the replies and puts
// the connection back, so a Get is exactly one round trip. A connection that
// fails is dropped; because a pooled connection may have died while idle
// (server restart), a call that fails on a reused connection empties the pool
// and retries once on a fresh one. A server that is down yields Unavailable,
// and connect attempts back off briefly so callers fail fast instead of each
// waiting out connect_timeout.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "store_internal.h"

namespace reco::store_internal {
namespace {

constexpr const char* kScanCount = "1000";

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Escapes glob metacharacters so a key prefix can be used in SCAN MATCH.
std::string MatchPattern(std::string_view prefix) {
  std::string pattern;
  pattern.reserve(prefix.size() + 2);
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('*');
  return pattern;
}

// Appends one command given as byte strings (binary safe, no format parsing).
template <size_t N>
void Append(redisContext* c, const std::string_view (&args)[N]) {
  const char* argv[N];
  size_t argvlen[N];
  for (size_t i = 0; i < N; ++i) {
    argv[i] = args[i].data();
    argvlen[i] = args[i].size();
  }
  redisAppendCommandArgv(c, static_cast<int>(N), argv, argvlen);
}

void AppendVector(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv(args.size());
  std::vector<size_t> argvlen(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    argvlen[i] = args[i].size();
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), argvlen.data());
}

class RedisStore final : public KvStore {
 public:
  RedisStore(std::string uri, RedisOptions options)
      : uri_(std::move(uri)),
        options_(std::move(options)),
        where_("redis " + options_.host + ":" + std::to_string(options_.port)) {}

  ~RedisStore() override {
    for (redisContext* c : idle_) redisFree(c);
  }

  Status Get(std::string_view key, std::string* value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(RoundTrip(
        "GET", 1,
        [&](redisContext* c) {
          Append(c, {std::string_view("GET"), key});
        },
        &reply));
    switch (reply->type) {
      case REDIS_REPLY_NIL:
        return Status::NotFound("key not found");
      case REDIS_REPLY_STRING:
        value->assign(reply->str, reply->len);
        return Status::Ok();
      default:
        return ReplyError("GET", reply.get());
    }
  }

  Status Put(std::string_view key, std::string_view value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    RECO_RETURN_IF_ERROR(ValidateValue(value));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(RoundTrip(
        "SET", 1,
        [&](redisContext* c) {
          Append(c, {std::string_view("SET"), key, value});
        },
        &reply));
    return ExpectStatus("SET", reply.get());
  }

  Status Delete(std::string_view key) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(RoundTrip(
        "DEL", 1,
        [&](redisContext* c) {
          Append(c, {std::string_view("DEL"), key});
        },
        &reply));
    return reply->type == REDIS_REPLY_INTEGER ? Status::Ok() : ReplyError("DEL", reply.get());
  }

  // MULTI, the operations and EXEC in one pipelined round trip. Redis queues
  // the commands and runs them with no other client in between; a command
  // rejected while queueing (e.g. OOM) makes EXEC discard the whole batch.
  Status Write(const WriteBatch& batch) override {
    RECO_RETURN_IF_ERROR(ValidateBatch(batch));
    if (batch.empty()) return Status::Ok();
    const size_t n = batch.size() + 2;
    std::vector<ReplyPtr> replies(n);
    RECO_RETURN_IF_ERROR(RoundTrip(
        "MULTI/EXEC", n,
        [&](redisContext* c) {
          Append(c, {std::string_view("MULTI")});
          for (const WriteBatch::Op& op : batch.ops()) {
            if (op.kind == WriteBatch::OpKind::kPut) {
              Append(c, {std::string_view("SET"), std::string_view(op.key),
                         std::string_view(op.value)});
            } else {
              Append(c, {std::string_view("DEL"), std::string_view(op.key)});
            }
          }
          Append(c, {std::string_view("EXEC")});
        },
        replies.data()));
    RECO_RETURN_IF_ERROR(ExpectStatus("MULTI", replies[0].get()));
    const redisReply* exec = replies[n - 1].get();
    if (exec->type != REDIS_REPLY_ARRAY) return ReplyError("EXEC", exec);
    for (size_t i = 0; i < exec->elements; ++i) {
      if (exec->element[i]->type == REDIS_REPLY_ERROR) return ReplyError("EXEC", exec->element[i]);
    }
    return Status::Ok();
  }

  Status Scan(std::string_view prefix, const ScanFn& fn) override {
    // SCAN may return a key more than once; remember what was visited.
    std::unordered_set<std::string> seen;
    std::vector<std::string> keys;
    bool stop = false;
    RECO_RETURN_IF_ERROR(ScanKeys(
        prefix,
        [&](const redisReply* batch) -> Status {
          keys.clear();
          for (size_t i = 0; i < batch->elements; ++i) {
            std::string key(batch->element[i]->str, batch->element[i]->len);
            if (key.starts_with(prefix) && seen.insert(key).second) keys.push_back(std::move(key));
          }
          if (keys.empty()) return Status::Ok();
          std::vector<std::string_view> args{"MGET"};
          for (const std::string& k : keys) args.emplace_back(k);
          ReplyPtr values;
          RECO_RETURN_IF_ERROR(RoundTrip(
              "MGET", 1, [&](redisContext* c) { AppendVector(c, args); }, &values));
          if (values->type != REDIS_REPLY_ARRAY || values->elements != keys.size()) {
            return ReplyError("MGET", values.get());
          }
          for (size_t i = 0; i < keys.size(); ++i) {
            const redisReply* v = values->element[i];
            if (v->type != REDIS_REPLY_STRING) continue;  // deleted since SCAN saw it
            if (!fn(keys[i], std::string_view(v->str, v->len))) {
              stop = true;
              break;
            }
          }
          return Status::Ok();
        },
        &stop));
    return Status::Ok();
  }

  Result<uint64_t> DeletePrefix(std::string_view prefix) override {
    if (prefix.empty()) return Status::InvalidArgument("DeletePrefix refuses the empty prefix");
    uint64_t deleted = 0;
    bool stop = false;
    RECO_RETURN_IF_ERROR(ScanKeys(
        prefix,
        [&](const redisReply* batch) -> Status {
          std::vector<std::string_view> args{"UNLINK"};
          for (size_t i = 0; i < batch->elements; ++i) {
            std::string_view key(batch->element[i]->str, batch->element[i]->len);
            if (key.starts_with(prefix)) args.push_back(key);
          }
          if (args.size() == 1) return Status::Ok();
          ReplyPtr reply;
          RECO_RETURN_IF_ERROR(RoundTrip(
              "UNLINK", 1, [&](redisContext* c) { AppendVector(c, args); }, &reply));
          if (reply->type != REDIS_REPLY_INTEGER) return ReplyError("UNLINK", reply.get());
          deleted += static_cast<uint64_t>(reply->integer);
          return Status::Ok();
        },
        &stop));
    return deleted;
  }

  Status Ping() override {
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(RoundTrip(
        "PING", 1, [&](redisContext* c) { Append(c, {std::string_view("PING")}); }, &reply));
    return ExpectStatus("PING", reply.get());
  }

  const std::string& uri() const override { return uri_; }

 private:
  // Runs SCAN to completion, handing each reply's key array to on_batch,
  // until on_batch fails or sets *stop.
  template <typename OnBatch>
  Status ScanKeys(std::string_view prefix, OnBatch&& on_batch, bool* stop) {
    std::string pattern = MatchPattern(prefix);
    std::string cursor = "0";
    do {
      ReplyPtr reply;
      RECO_RETURN_IF_ERROR(RoundTrip(
          "SCAN", 1,
          [&](redisContext* c) {
            Append(c, {std::string_view("SCAN"), std::string_view(cursor),
                       std::string_view("MATCH"), std::string_view(pattern),
                       std::string_view("COUNT"), std::string_view(kScanCount)});
          },
          &reply));
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
          reply->element[0]->type != REDIS_REPLY_STRING ||
          reply->element[1]->type != REDIS_REPLY_ARRAY) {
        return ReplyError("SCAN", reply.get());
      }
      cursor.assign(reply->element[0]->str, reply->element[0]->len);
      RECO_RETURN_IF_ERROR(on_batch(reply->element[1]));
    } while (cursor != "0" && !*stop);
    return Status::Ok();
  }

  // Sends what append() queued and reads n replies into replies[0..n).
  // Retries once on a fresh connection when a pooled one turns out dead.
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

  Status Acquire(bool allow_pooled, ContextPtr* conn, bool* reused) {
    if (allow_pooled) {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        conn->reset(idle_.back());
        idle_.pop_back();
        *reused = true;
        return Status::Ok();
      }
    }
    *reused = false;
    if (NowNs() < connect_blocked_until_ns_.load(std::memory_order_relaxed)) {
      std::lock_guard lock(mu_);
      return Status::Unavailable(where_ + ": " + last_connect_error_);
    }
    Status st = Connect(conn);
    if (!st.ok()) {
      connect_blocked_until_ns_.store(
          NowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.reconnect_backoff)
                        .count(),
          std::memory_order_relaxed);
      std::lock_guard lock(mu_);
      last_connect_error_ = st.message();
      return Status::Unavailable(where_ + ": " + st.message());
    }
    return Status::Ok();
  }

  Status Connect(ContextPtr* out) {
    ContextPtr c(redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                         ToTimeval(options_.connect_timeout)));
    if (!c) return Status::Unavailable("cannot allocate a connection");
    if (c->err) return Status::Unavailable(std::string("connect: ") + c->errstr);
    if (redisSetTimeout(c.get(), ToTimeval(options_.timeout)) != REDIS_OK) {
      return Status::Unavailable(std::string("setting the timeout: ") + c->errstr);
    }
    redisEnableKeepAlive(c.get());
    if (options_.db != 0) {
      std::string db = std::to_string(options_.db);
      Append(c.get(), {std::string_view("SELECT"), std::string_view(db)});
      void* r = nullptr;
      if (redisGetReply(c.get(), &r) != REDIS_OK || r == nullptr) {
        return Status::Unavailable(std::string("SELECT: ") + c->errstr);
      }
      ReplyPtr reply(static_cast<redisReply*>(r));
      if (reply->type == REDIS_REPLY_ERROR) {
        return Status::InvalidArgument("SELECT " + db + ": " + std::string(reply->str, reply->len));
      }
    }
    *out = std::move(c);
    return Status::Ok();
  }

  void Release(ContextPtr conn) {
    if (conn->err) return;
    std::lock_guard lock(mu_);
    if (idle_.size() < static_cast<size_t>(options_.pool_size)) idle_.push_back(conn.release());
  }

  void DropIdle() {
    std::vector<redisContext*> dead;
    {
      std::lock_guard lock(mu_);
      dead.swap(idle_);
    }
    for (redisContext* c : dead) redisFree(c);
  }

  Status ExpectStatus(const char* what, const redisReply* reply) const {
    if (reply->type == REDIS_REPLY_STATUS) return Status::Ok();
    return ReplyError(what, reply);
  }

  // A reply of an unexpected type. Errors a server gives while it cannot
  // serve yet (loading its data set, busy script) count as Unavailable.
  Status ReplyError(const char* what, const redisReply* reply) const {
    if (reply->type != REDIS_REPLY_ERROR) {
      return Status::Internal(where_ + ": " + what + ": unexpected reply type " +
                              std::to_string(reply->type));
    }
    std::string msg(reply->str, reply->len);
    std::string text = where_ + ": " + what + ": " + msg;
    for (const char* transient : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"}) {
      if (msg.starts_with(transient)) return Status::Unavailable(text);
    }
    return Status::IOError(text);
  }

  std::string uri_;
  RedisOptions options_;
  std::string where_;  // "redis host:port", for messages
  std::mutex mu_;
  std::vector<redisContext*> idle_;  // guarded by mu_
  std::string last_connect_error_;   // guarded by mu_
  std::atomic<int64_t> connect_blocked_until_ns_{0};
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenRedisStore(std::string uri, RedisOptions options) {
  // hiredis writes with write(2): a server closing a connection would raise
  // SIGPIPE and kill the process. Ignore it unless the program chose a
  // handler; the failed write then surfaces as EPIPE, i.e. Unavailable.
  struct sigaction current;
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
  auto store = std::make_unique<RedisStore>(std::move(uri), std::move(options));
  // Fail at startup with a clear message rather than on the first request.
  RECO_RETURN_IF_ERROR(store->Ping());
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace reco::store_internal
