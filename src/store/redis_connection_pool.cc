#include "redis_connection_pool.h"

#include <signal.h>
#include <sys/time.h>

#include <utility>

namespace reco::store_internal {
namespace {

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

}  // namespace

void AppendCommandVector(redisContext* c, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv(args.size());
  std::vector<size_t> argvlen(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    argvlen[i] = args[i].size();
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), argvlen.data());
}

std::string ScanMatchPattern(std::string_view prefix) {
  std::string pattern;
  pattern.reserve(prefix.size() + 2);
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern.push_back('\\');
    pattern.push_back(c);
  }
  pattern.push_back('*');
  return pattern;
}

void IgnoreSigpipeUnlessHandled() {
  struct sigaction current;
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
}

Status RedisReplyError(const std::string& where, const char* what, const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ERROR) {
    return Status::Internal(where + ": " + what + ": unexpected reply type " +
                            std::to_string(reply->type));
  }
  std::string msg(reply->str, reply->len);
  std::string text = where + ": " + what + ": " + msg;
  for (const char* transient : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"}) {
    if (msg.starts_with(transient)) return Status::Unavailable(text);
  }
  return Status::IOError(text);
}

Status GetReplyValue(const std::string& where, const redisReply* reply, std::string* value) {
  switch (reply->type) {
    case REDIS_REPLY_NIL:
      return Status::NotFound("key not found");
    case REDIS_REPLY_STRING:
      value->assign(reply->str, reply->len);
      return Status::Ok();
    default:
      return RedisReplyError(where, "GET", reply);
  }
}

Status ExpectRedisStatus(const std::string& where, const char* what, const redisReply* reply) {
  if (reply->type == REDIS_REPLY_STATUS) return Status::Ok();
  return RedisReplyError(where, what, reply);
}

RedisConnectionPool::RedisConnectionPool(std::string host, int port, RedisConnectionOptions options)
    : host_(std::move(host)),
      port_(port),
      options_(options),
      where_("redis " + host_ + ":" + std::to_string(port_)) {}

RedisConnectionPool::~RedisConnectionPool() {
  for (redisContext* c : idle_) redisFree(c);
}

Status RedisConnectionPool::Acquire(bool allow_pooled, ContextPtr* conn, bool* reused) {
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

Status RedisConnectionPool::Connect(ContextPtr* out) {
  ContextPtr c(redisConnectWithTimeout(host_.c_str(), port_, ToTimeval(options_.connect_timeout)));
  if (!c) return Status::Unavailable("cannot allocate a connection");
  if (c->err) return Status::Unavailable(std::string("connect: ") + c->errstr);
  if (redisSetTimeout(c.get(), ToTimeval(options_.timeout)) != REDIS_OK) {
    return Status::Unavailable(std::string("setting the timeout: ") + c->errstr);
  }
  redisEnableKeepAlive(c.get());
  if (options_.db != 0) {
    std::string db = std::to_string(options_.db);
    AppendCommand(c.get(), {std::string_view("SELECT"), std::string_view(db)});
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

void RedisConnectionPool::Release(ContextPtr conn) {
  if (conn->err) return;
  std::lock_guard lock(mu_);
  if (idle_.size() < static_cast<size_t>(options_.pool_size)) idle_.push_back(conn.release());
}

void RedisConnectionPool::DropIdle() {
  std::vector<redisContext*> dead;
  {
    std::lock_guard lock(mu_);
    dead.swap(idle_);
  }
  for (redisContext* c : dead) redisFree(c);
}

}  // namespace reco::store_internal
