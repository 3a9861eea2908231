// RedisStore: a KvStore on a Redis server, shared by several server replicas.
// Connections are pooled by RedisConnectionPool (redis_connection_pool.h):
// a Get is one round trip, a server that is down yields Unavailable.
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "redis_connection_pool.h"
#include "store_internal.h"

namespace reco::store_internal {
namespace {

constexpr const char* kScanCount = "1000";

class RedisStore final : public KvStore {
 public:
  RedisStore(std::string uri, const RedisOptions& options)
      : uri_(std::move(uri)), pool_(options.host, options.port, ConnectionOptions(options)) {}

  Status Get(std::string_view key, std::string* value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(pool_.RoundTrip(
        "GET", 1,
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("GET"), key});
        },
        &reply));
    return GetReplyValue(pool_.where(), reply.get(), value);
  }

  Status Put(std::string_view key, std::string_view value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    RECO_RETURN_IF_ERROR(ValidateValue(value));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(pool_.RoundTrip(
        "SET", 1,
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("SET"), key, value});
        },
        &reply));
    return ExpectRedisStatus(pool_.where(), "SET", reply.get());
  }

  Status Delete(std::string_view key) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(pool_.RoundTrip(
        "DEL", 1,
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("DEL"), key});
        },
        &reply));
    return reply->type == REDIS_REPLY_INTEGER ? Status::Ok()
                                              : RedisReplyError(pool_.where(), "DEL", reply.get());
  }

  // MULTI, the operations and EXEC in one pipelined round trip. Redis queues
  // the commands and runs them with no other client in between; a command
  // rejected while queueing (e.g. OOM) makes EXEC discard the whole batch.
  Status Write(const WriteBatch& batch) override {
    RECO_RETURN_IF_ERROR(ValidateBatch(batch));
    if (batch.empty()) return Status::Ok();
    const size_t n = batch.size() + 2;
    std::vector<ReplyPtr> replies(n);
    RECO_RETURN_IF_ERROR(pool_.RoundTrip(
        "MULTI/EXEC", n,
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("MULTI")});
          for (const WriteBatch::Op& op : batch.ops()) {
            if (op.kind == WriteBatch::OpKind::kPut) {
              AppendCommand(c, {std::string_view("SET"), std::string_view(op.key),
                                std::string_view(op.value)});
            } else {
              AppendCommand(c, {std::string_view("DEL"), std::string_view(op.key)});
            }
          }
          AppendCommand(c, {std::string_view("EXEC")});
        },
        replies.data()));
    RECO_RETURN_IF_ERROR(ExpectRedisStatus(pool_.where(), "MULTI", replies[0].get()));
    const redisReply* exec = replies[n - 1].get();
    if (exec->type != REDIS_REPLY_ARRAY) return RedisReplyError(pool_.where(), "EXEC", exec);
    for (size_t i = 0; i < exec->elements; ++i) {
      if (exec->element[i]->type == REDIS_REPLY_ERROR)
        return RedisReplyError(pool_.where(), "EXEC", exec->element[i]);
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
          RECO_RETURN_IF_ERROR(pool_.RoundTrip(
              "MGET", 1, [&](redisContext* c) { AppendCommandVector(c, args); }, &values));
          if (values->type != REDIS_REPLY_ARRAY || values->elements != keys.size()) {
            return RedisReplyError(pool_.where(), "MGET", values.get());
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
          RECO_RETURN_IF_ERROR(pool_.RoundTrip(
              "UNLINK", 1, [&](redisContext* c) { AppendCommandVector(c, args); }, &reply));
          if (reply->type != REDIS_REPLY_INTEGER)
            return RedisReplyError(pool_.where(), "UNLINK", reply.get());
          deleted += static_cast<uint64_t>(reply->integer);
          return Status::Ok();
        },
        &stop));
    return deleted;
  }

  Status Ping() override {
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(pool_.RoundTrip(
        "PING", 1, [&](redisContext* c) { AppendCommand(c, {std::string_view("PING")}); }, &reply));
    return ExpectRedisStatus(pool_.where(), "PING", reply.get());
  }

  const std::string& uri() const override { return uri_; }

 private:
  // Runs SCAN to completion, handing each reply's key array to on_batch,
  // until on_batch fails or sets *stop.
  template <typename OnBatch>
  Status ScanKeys(std::string_view prefix, OnBatch&& on_batch, bool* stop) {
    std::string pattern = ScanMatchPattern(prefix);
    std::string cursor = "0";
    do {
      ReplyPtr reply;
      RECO_RETURN_IF_ERROR(pool_.RoundTrip(
          "SCAN", 1,
          [&](redisContext* c) {
            AppendCommand(c, {std::string_view("SCAN"), std::string_view(cursor),
                              std::string_view("MATCH"), std::string_view(pattern),
                              std::string_view("COUNT"), std::string_view(kScanCount)});
          },
          &reply));
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
          reply->element[0]->type != REDIS_REPLY_STRING ||
          reply->element[1]->type != REDIS_REPLY_ARRAY) {
        return RedisReplyError(pool_.where(), "SCAN", reply.get());
      }
      cursor.assign(reply->element[0]->str, reply->element[0]->len);
      RECO_RETURN_IF_ERROR(on_batch(reply->element[1]));
    } while (cursor != "0" && !*stop);
    return Status::Ok();
  }

  static RedisConnectionOptions ConnectionOptions(const RedisOptions& o) {
    RedisConnectionOptions c;
    c.db = o.db;
    c.connect_timeout = o.connect_timeout;
    c.timeout = o.timeout;
    c.pool_size = o.pool_size;
    c.reconnect_backoff = o.reconnect_backoff;
    return c;
  }

  std::string uri_;
  RedisConnectionPool pool_;
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenRedisStore(std::string uri, RedisOptions options) {
  IgnoreSigpipeUnlessHandled();
  auto store = std::make_unique<RedisStore>(std::move(uri), options);
  // Fail at startup with a clear message rather than on the first request.
  RECO_RETURN_IF_ERROR(store->Ping());
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace reco::store_internal
