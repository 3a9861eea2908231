// RedisClusterStore: a KvStore on a Redis Cluster (redis+cluster:// URIs).
//
// Routing: a key lives in hash slot CRC16(key) mod 16384 (or of its {hash
// tag}); the slot map (slot -> master) comes from CLUSTER SLOTS, asked of any
// node that answers. Each node has its own RedisConnectionPool, so a Get is
// one round trip to the slot's master. Redirects follow the cluster spec:
// MOVED means the slot map changed (refresh it, retry at the named node); ASK
// means the slot is being migrated and this one key already moved (send
// ASKING plus the command to the named node, without updating the map). A
// node that cannot be reached triggers a slot map refresh and a retry; every
// operation gives up after max_attempts tries with Unavailable.
//
// Write: Redis Cluster cannot run one transaction across slots, so a batch is
// split by slot and each slot's operations (in batch order) run as one
// MULTI/EXEC; the transactions for one node are pipelined in one round trip.
// Each slot's part is atomic; the batch as a whole is not (a reader can see
// one slot's part before another's, and a failure can leave some slots
// applied). RecommendationStore stays correct because it never relies on
// cross-key atomicity: a version's keys are unreachable until the single
// pointer key <ns>/active names the version, and that pointer is one key.
// Retrying a slot's transaction is safe: it only sets and deletes keys to
// final values, so applying it twice gives the same state.
#include "redis_cluster_store.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace reco::store_internal {
namespace {

constexpr const char* kScanCount = "1000";
// A refresh asked for sooner than this after the previous one is skipped:
// under a node failure every request would otherwise re-read the slot map.
constexpr auto kMinRefreshInterval = std::chrono::milliseconds(100);

constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    table[static_cast<size_t>(i)] = crc;
  }
  return table;
}
constexpr std::array<uint16_t, 256> kCrc16Table = MakeCrc16Table();

uint16_t Crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (char c : bytes) {
    crc = static_cast<uint16_t>((crc << 8) ^
                                kCrc16Table[((crc >> 8) ^ static_cast<uint8_t>(c)) & 0xff]);
  }
  return crc;
}

// A MOVED or ASK error reply: "MOVED 3999 127.0.0.1:6381".
struct Redirect {
  bool ask = false;
  std::string host;
  int port = 0;
};

bool ParseRedirect(const redisReply* reply, Redirect* out) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return false;
  std::string_view msg(reply->str, reply->len);
  if (msg.starts_with("MOVED ")) {
    out->ask = false;
  } else if (msg.starts_with("ASK ")) {
    out->ask = true;
  } else {
    return false;
  }
  size_t space = msg.rfind(' ');
  std::string_view endpoint = msg.substr(space + 1);
  size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return false;
  int port = 0;
  for (char c : endpoint.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return false;
    port = port * 10 + (c - '0');
  }
  if (port <= 0 || port > 65535) return false;
  out->host.assign(endpoint.substr(0, colon));
  out->port = port;
  return true;
}

bool IsError(const redisReply* reply, std::string_view prefix) {
  return reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
         std::string_view(reply->str, reply->len).starts_with(prefix);
}

// Which master serves each slot. Immutable once published; replaced whole.
struct SlotMap {
  std::array<RedisConnectionPool*, kRedisClusterSlots> owner{};  // nullptr: unserved
  std::vector<RedisConnectionPool*> masters;                     // distinct owners
  uint64_t generation = 0;
};

class RedisClusterStore final : public KvStore {
 public:
  RedisClusterStore(std::string uri, RedisClusterOptions options)
      : uri_(std::move(uri)), options_(std::move(options)), where_("redis cluster " + uri_) {
    for (const auto& [host, port] : options_.seeds) seeds_.push_back(Node(host, port));
    map_ = std::make_shared<const SlotMap>();
  }

  Status Get(std::string_view key, std::string* value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(Command(
        "GET", RedisClusterKeySlot(key),
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("GET"), key});
        },
        &reply));
    return GetReplyValue(where_, reply.get(), value);
  }

  Status Put(std::string_view key, std::string_view value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    RECO_RETURN_IF_ERROR(ValidateValue(value));
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(Command(
        "SET", RedisClusterKeySlot(key),
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("SET"), key, value});
        },
        &reply));
    return ExpectRedisStatus(where_, "SET", reply.get());
  }

  Status Delete(std::string_view key) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    uint64_t deleted = 0;
    return Unlink(key, &deleted);
  }

  Status Write(const WriteBatch& batch) override;

  Status Scan(std::string_view prefix, const ScanFn& fn) override {
    // A key is on one master, but SCAN may return it more than once.
    std::unordered_set<std::string> seen;
    std::vector<std::string> keys;
    bool stop = false;
    return ScanMasters(
        prefix,
        [&](RedisConnectionPool* node, const redisReply* batch) -> Status {
          keys.clear();
          for (size_t i = 0; i < batch->elements; ++i) {
            std::string key(batch->element[i]->str, batch->element[i]->len);
            if (key.starts_with(prefix) && seen.insert(key).second) keys.push_back(std::move(key));
          }
          if (keys.empty()) return Status::Ok();
          // MGET needs one slot; pipelined GETs cost the same round trip.
          std::vector<ReplyPtr> values(keys.size());
          RECO_RETURN_IF_ERROR(node->RoundTrip(
              "GET", keys.size(),
              [&](redisContext* c) {
                for (const std::string& k : keys) {
                  AppendCommand(c, {std::string_view("GET"), std::string_view(k)});
                }
              },
              values.data()));
          std::string moved_value;
          for (size_t i = 0; i < keys.size() && !stop; ++i) {
            const redisReply* v = values[i].get();
            std::string_view value;
            if (v->type == REDIS_REPLY_STRING) {
              value = std::string_view(v->str, v->len);
            } else if (v->type == REDIS_REPLY_NIL) {
              continue;  // deleted since SCAN saw it
            } else {
              // Migrated since SCAN saw it: ask its new owner.
              Status st = Get(keys[i], &moved_value);
              if (st.code() == Status::Code::kNotFound) continue;
              RECO_RETURN_IF_ERROR(st);
              value = moved_value;
            }
            if (!fn(keys[i], value)) stop = true;
          }
          return Status::Ok();
        },
        &stop);
  }

  Result<uint64_t> DeletePrefix(std::string_view prefix) override {
    if (prefix.empty()) return Status::InvalidArgument("DeletePrefix refuses the empty prefix");
    uint64_t deleted = 0;
    bool stop = false;
    RECO_RETURN_IF_ERROR(ScanMasters(
        prefix,
        [&](RedisConnectionPool* node, const redisReply* batch) -> Status {
          std::vector<std::string_view> keys;
          for (size_t i = 0; i < batch->elements; ++i) {
            std::string_view key(batch->element[i]->str, batch->element[i]->len);
            if (key.starts_with(prefix)) keys.push_back(key);
          }
          if (keys.empty()) return Status::Ok();
          // A multi-key UNLINK needs one slot; pipeline one per key instead.
          std::vector<ReplyPtr> replies(keys.size());
          RECO_RETURN_IF_ERROR(node->RoundTrip(
              "UNLINK", keys.size(),
              [&](redisContext* c) {
                for (std::string_view k : keys) AppendCommand(c, {std::string_view("UNLINK"), k});
              },
              replies.data()));
          for (size_t i = 0; i < keys.size(); ++i) {
            const redisReply* r = replies[i].get();
            if (r->type == REDIS_REPLY_INTEGER) {
              deleted += static_cast<uint64_t>(r->integer);
            } else {
              RECO_RETURN_IF_ERROR(Unlink(keys[i], &deleted));  // migrated meanwhile
            }
          }
          return Status::Ok();
        },
        &stop));
    return deleted;
  }

  // Every master answers PING and every slot is served.
  Status Ping() override {
    Status st = PingMasters();
    if (st.ok()) return st;
    // A failover or resharding may have happened: look again once.
    RECO_RETURN_IF_ERROR(Refresh(CurrentMap()->generation, /*force=*/true));
    return PingMasters();
  }

  const std::string& uri() const override { return uri_; }

  // Reads the slot map from the seeds; for Open.
  Status Discover() { return Refresh(CurrentMap()->generation, /*force=*/true); }

 private:
  std::shared_ptr<const SlotMap> CurrentMap() {
    std::lock_guard lock(map_mu_);
    return map_;
  }

  // The pool for host:port, created on first use and kept for the store's
  // lifetime (a cluster has few nodes), so SlotMaps can hold raw pointers.
  RedisConnectionPool* Node(const std::string& host, int port) {
    std::string name = host + ":" + std::to_string(port);
    std::lock_guard lock(nodes_mu_);
    auto& pool = nodes_[name];
    if (!pool) pool = std::make_unique<RedisConnectionPool>(host, port, options_.connection);
    return pool.get();
  }

  // Runs one command for `slot` at its master, following redirects and
  // retrying after node failures; *reply is the final, non-redirect reply.
  template <typename AppendFn>
  Status Command(const char* what, uint16_t slot, AppendFn&& append, ReplyPtr* reply) {
    std::shared_ptr<const SlotMap> map = CurrentMap();
    RedisConnectionPool* node = map->owner[slot];
    bool asking = false;
    Status last;
    for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
      if (node == nullptr) {
        last = Status::Unavailable(where_ + ": " + what + ": hash slot " + std::to_string(slot) +
                                   " is not served by any node");
        (void)Refresh(map->generation, /*force=*/false);
        map = CurrentMap();
        node = map->owner[slot];
        continue;
      }
      ReplyPtr replies[2];
      Status st = node->RoundTrip(
          what, asking ? 2 : 1,
          [&](redisContext* c) {
            if (asking) AppendCommand(c, {std::string_view("ASKING")});
            append(c);
          },
          replies);
      if (!st.ok()) {
        last = st;
        (void)Refresh(map->generation, /*force=*/false, node);
        map = CurrentMap();
        node = map->owner[slot];
        asking = false;
        continue;
      }
      *reply = std::move(replies[asking ? 1 : 0]);
      Redirect redirect;
      if (!ParseRedirect(reply->get(), &redirect)) {
        if (!IsError(reply->get(), "TRYAGAIN")) return Status::Ok();
        // A multi-key operation during a slot migration: wait a moment.
        last = RedisReplyError(node->where(), what, reply->get());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      last = Status::Unavailable(
          where_ + ": " + what + ": gave up after " + std::to_string(options_.max_attempts) +
          " tries; last reply: " + std::string((*reply)->str, (*reply)->len));
      if (!redirect.ask) (void)Refresh(map->generation, /*force=*/false);
      node = Node(redirect.host, redirect.port);
      asking = redirect.ask;
    }
    return last.ok() ? Status::Unavailable(where_ + ": " + what + ": no tries allowed") : last;
  }

  Status Unlink(std::string_view key, uint64_t* deleted) {
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(Command(
        "UNLINK", RedisClusterKeySlot(key),
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("UNLINK"), key});
        },
        &reply));
    if (reply->type != REDIS_REPLY_INTEGER) return RedisReplyError(where_, "UNLINK", reply.get());
    *deleted += static_cast<uint64_t>(reply->integer);
    return Status::Ok();
  }

  // Runs SCAN MATCH <prefix>* to completion on every master, handing each
  // page's key array to on_batch(node, keys), until on_batch fails or sets
  // *stop.
  template <typename OnBatch>
  Status ScanMasters(std::string_view prefix, OnBatch&& on_batch, bool* stop) {
    std::shared_ptr<const SlotMap> map = CurrentMap();
    std::string pattern = ScanMatchPattern(prefix);
    for (RedisConnectionPool* node : map->masters) {
      std::string cursor = "0";
      do {
        ReplyPtr reply;
        Status st = node->RoundTrip(
            "SCAN", 1,
            [&](redisContext* c) {
              AppendCommand(c, {std::string_view("SCAN"), std::string_view(cursor),
                                std::string_view("MATCH"), std::string_view(pattern),
                                std::string_view("COUNT"), std::string_view(kScanCount)});
            },
            &reply);
        if (!st.ok()) {
          // The next call may find the slots elsewhere (failover).
          (void)Refresh(map->generation, /*force=*/false, node);
          return st;
        }
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
            reply->element[0]->type != REDIS_REPLY_STRING ||
            reply->element[1]->type != REDIS_REPLY_ARRAY) {
          return RedisReplyError(node->where(), "SCAN", reply.get());
        }
        cursor.assign(reply->element[0]->str, reply->element[0]->len);
        RECO_RETURN_IF_ERROR(on_batch(node, reply->element[1]));
      } while (cursor != "0" && !*stop);
      if (*stop) break;
    }
    return Status::Ok();
  }

  Status PingMasters() {
    std::shared_ptr<const SlotMap> map = CurrentMap();
    for (RedisConnectionPool* node : map->owner) {
      if (node == nullptr) {
        return Status::Unavailable(where_ + ": not every hash slot is served by a master");
      }
    }
    for (RedisConnectionPool* node : map->masters) {
      ReplyPtr reply;
      RECO_RETURN_IF_ERROR(node->RoundTrip(
          "PING", 1, [&](redisContext* c) { AppendCommand(c, {std::string_view("PING")}); },
          &reply));
      RECO_RETURN_IF_ERROR(ExpectRedisStatus(node->where(), "PING", reply.get()));
    }
    return Status::Ok();
  }

  // Re-reads the slot map unless another thread did since the caller read
  // map generation `seen`, or (unless forced) the last refresh was too
  // recent. Asks the current masters first, `failed` last, then the seeds.
  Status Refresh(uint64_t seen, bool force, RedisConnectionPool* failed = nullptr) {
    std::lock_guard lock(refresh_mu_);
    std::shared_ptr<const SlotMap> current = CurrentMap();
    if (current->generation != seen) return Status::Ok();
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_refresh_ < kMinRefreshInterval) return Status::Ok();
    last_refresh_ = now;

    std::vector<RedisConnectionPool*> candidates;
    auto add = [&](RedisConnectionPool* node) {
      if (node != failed &&
          std::find(candidates.begin(), candidates.end(), node) == candidates.end()) {
        candidates.push_back(node);
      }
    };
    for (RedisConnectionPool* node : current->masters) add(node);
    for (RedisConnectionPool* node : seeds_) add(node);
    if (failed != nullptr) candidates.push_back(failed);

    Status last = Status::Unavailable(where_ + ": no node to ask for the slot map");
    for (RedisConnectionPool* node : candidates) {
      auto map = std::make_shared<SlotMap>();
      Status st = ReadSlots(node, map.get());
      if (!st.ok()) {
        last = st;
        continue;
      }
      map->generation = current->generation + 1;
      std::lock_guard map_lock(map_mu_);
      map_ = std::move(map);
      return Status::Ok();
    }
    return last;
  }

  // CLUSTER SLOTS: [[start, end, [host, port, id, ...], replicas...], ...].
  Status ReadSlots(RedisConnectionPool* node, SlotMap* map) {
    ReplyPtr reply;
    RECO_RETURN_IF_ERROR(node->RoundTrip(
        "CLUSTER SLOTS", 1,
        [&](redisContext* c) {
          AppendCommand(c, {std::string_view("CLUSTER"), std::string_view("SLOTS")});
        },
        &reply));
    const redisReply* r = reply.get();
    if (r->type != REDIS_REPLY_ARRAY) return RedisReplyError(node->where(), "CLUSTER SLOTS", r);
    auto malformed = [&](const std::string& why) {
      return Status::IOError(node->where() + ": CLUSTER SLOTS: malformed reply: " + why);
    };
    for (size_t i = 0; i < r->elements; ++i) {
      const redisReply* range = r->element[i];
      if (range->type != REDIS_REPLY_ARRAY || range->elements < 3 ||
          range->element[0]->type != REDIS_REPLY_INTEGER ||
          range->element[1]->type != REDIS_REPLY_INTEGER ||
          range->element[2]->type != REDIS_REPLY_ARRAY || range->element[2]->elements < 2) {
        return malformed("range " + std::to_string(i));
      }
      long long first = range->element[0]->integer, last = range->element[1]->integer;
      if (first < 0 || last < first || last >= kRedisClusterSlots) {
        return malformed("slot range " + std::to_string(first) + "-" + std::to_string(last));
      }
      const redisReply* master = range->element[2];
      const redisReply* host = master->element[0];
      const redisReply* port = master->element[1];
      if (port->type != REDIS_REPLY_INTEGER || port->integer <= 0 || port->integer > 65535) {
        return malformed("port of range " + std::to_string(i));
      }
      // An unknown endpoint (NULL, "" or "?") means "the address you asked".
      std::string host_name = node->host();
      if (host->type == REDIS_REPLY_STRING && host->len > 0 &&
          std::string_view(host->str, host->len) != "?") {
        host_name.assign(host->str, host->len);
      }
      RedisConnectionPool* owner = Node(host_name, static_cast<int>(port->integer));
      for (long long s = first; s <= last; ++s) map->owner[static_cast<size_t>(s)] = owner;
      if (std::find(map->masters.begin(), map->masters.end(), owner) == map->masters.end()) {
        map->masters.push_back(owner);
      }
    }
    if (map->masters.empty()) return malformed("no slot is assigned");
    return Status::Ok();
  }

  const std::string uri_;
  const RedisClusterOptions options_;
  const std::string where_;  // "redis cluster <uri>", for messages
  std::vector<RedisConnectionPool*> seeds_;

  std::mutex nodes_mu_;
  std::map<std::string, std::unique_ptr<RedisConnectionPool>> nodes_;  // guarded by nodes_mu_

  std::mutex map_mu_;
  std::shared_ptr<const SlotMap> map_;  // guarded by map_mu_

  std::mutex refresh_mu_;                                 // one refresh at a time
  std::chrono::steady_clock::time_point last_refresh_{};  // guarded by refresh_mu_
};

// One slot's share of a batch, applied as MULTI, its operations, EXEC.
struct SlotGroup {
  uint16_t slot = 0;
  std::vector<const WriteBatch::Op*> ops;   // in batch order
  RedisConnectionPool* ask_node = nullptr;  // set after an ASK redirect
  bool done = false;
};

Status RedisClusterStore::Write(const WriteBatch& batch) {
  RECO_RETURN_IF_ERROR(ValidateBatch(batch));
  if (batch.empty()) return Status::Ok();
  std::vector<SlotGroup> groups;
  {
    std::map<uint16_t, size_t> index;  // slot -> position in groups
    for (const WriteBatch::Op& op : batch.ops()) {
      uint16_t slot = RedisClusterKeySlot(op.key);
      auto [it, fresh] = index.emplace(slot, groups.size());
      if (fresh) groups.push_back(SlotGroup{slot, {}, nullptr, false});
      groups[it->second].ops.push_back(&op);
    }
  }
  size_t remaining = groups.size();
  Status last;
  for (int attempt = 0; attempt < options_.max_attempts && remaining > 0; ++attempt) {
    std::shared_ptr<const SlotMap> map = CurrentMap();
    std::map<RedisConnectionPool*, std::vector<SlotGroup*>> by_node;
    bool refresh = false;
    for (SlotGroup& g : groups) {
      if (g.done) continue;
      RedisConnectionPool* node = g.ask_node != nullptr ? g.ask_node : map->owner[g.slot];
      if (node == nullptr) {
        last = Status::Unavailable(where_ + ": hash slot " + std::to_string(g.slot) +
                                   " is not served by any node");
        refresh = true;
        continue;
      }
      by_node[node].push_back(&g);
    }
    RedisConnectionPool* failed = nullptr;
    for (auto& entry : by_node) {
      // Named, not a structured binding: lambdas capture it (clang 14 cannot
      // capture bindings, and the fuzz/sanitizer builds use clang).
      RedisConnectionPool* node = entry.first;
      const auto& node_groups = entry.second;
      size_t n = 0;
      for (const SlotGroup* g : node_groups) n += g->ops.size() + 2 + (g->ask_node ? 1 : 0);
      std::vector<ReplyPtr> replies(n);
      Status st = node->RoundTrip(
          "MULTI/EXEC", n,
          [&](redisContext* c) {
            for (const SlotGroup* g : node_groups) {
              // ASKING lasts for the whole transaction that follows.
              if (g->ask_node != nullptr) AppendCommand(c, {std::string_view("ASKING")});
              AppendCommand(c, {std::string_view("MULTI")});
              for (const WriteBatch::Op* op : g->ops) {
                if (op->kind == WriteBatch::OpKind::kPut) {
                  AppendCommand(c, {std::string_view("SET"), std::string_view(op->key),
                                    std::string_view(op->value)});
                } else {
                  AppendCommand(c, {std::string_view("DEL"), std::string_view(op->key)});
                }
              }
              AppendCommand(c, {std::string_view("EXEC")});
            }
          },
          replies.data());
      if (!st.ok()) {
        last = st;
        refresh = true;
        failed = node;
        continue;
      }
      size_t at = 0;
      for (SlotGroup* g : node_groups) {
        if (g->ask_node != nullptr) ++at;  // ASKING's +OK
        const redisReply* multi = replies[at++].get();
        Redirect redirect;
        bool redirected = false, retry = false;
        for (size_t i = 0; i < g->ops.size(); ++i, ++at) {
          const redisReply* queued = replies[at].get();
          if (!redirected && ParseRedirect(queued, &redirect)) redirected = true;
          retry = retry || IsError(queued, "TRYAGAIN");
        }
        const redisReply* exec = replies[at++].get();
        g->ask_node = nullptr;
        if (exec->type == REDIS_REPLY_ARRAY) {
          for (size_t i = 0; i < exec->elements; ++i) {
            if (exec->element[i]->type == REDIS_REPLY_ERROR) {
              return RedisReplyError(node->where(), "EXEC", exec->element[i]);
            }
          }
          g->done = true;
          --remaining;
          continue;
        }
        // EXECABORT: a queued command was refused, so nothing of this slot
        // was applied. Redirects and TRYAGAIN are retried; others are final.
        if (redirected) {
          last = Status::Unavailable(where_ + ": MULTI/EXEC: slot " + std::to_string(g->slot) +
                                     " still redirected after " +
                                     std::to_string(options_.max_attempts) + " tries");
          if (redirect.ask) {
            g->ask_node = Node(redirect.host, redirect.port);
          } else {
            refresh = true;
          }
          continue;
        }
        Status err = multi->type == REDIS_REPLY_STATUS
                         ? RedisReplyError(node->where(), "EXEC", exec)
                         : RedisReplyError(node->where(), "MULTI", multi);
        if (retry || err.code() == Status::Code::kUnavailable) {
          last = err;
          continue;
        }
        return err.WithContext(std::to_string(groups.size() - remaining) + " of " +
                               std::to_string(groups.size()) +
                               " hash slots of the batch were applied");
      }
    }
    if (refresh && remaining > 0) (void)Refresh(map->generation, /*force=*/false, failed);
  }
  if (remaining == 0) return Status::Ok();
  return last.WithContext(std::to_string(groups.size() - remaining) + " of " +
                          std::to_string(groups.size()) + " hash slots of the batch were applied");
}

}  // namespace

uint16_t RedisClusterKeySlot(std::string_view key) {
  size_t open = key.find('{');
  if (open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return static_cast<uint16_t>(Crc16(key) & (kRedisClusterSlots - 1));
}

Result<RedisClusterOptions> ParseRedisClusterUri(const std::string& uri, const ParsedUri& parsed) {
  RedisClusterOptions options;
  for (const auto& [name, value] : parsed.query) {
    if (name == "timeout_ms") {
      RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, name, value, 1, 600000));
      options.connection.timeout = std::chrono::milliseconds(n);
    } else if (name == "connect_timeout_ms") {
      RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, name, value, 1, 600000));
      options.connection.connect_timeout = std::chrono::milliseconds(n);
    } else if (name == "pool") {
      RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, name, value, 1, 4096));
      options.connection.pool_size = static_cast<int>(n);
    } else {
      return Status::InvalidArgument("store URI '" + uri + "': unknown option '" + name +
                                     "' (known: timeout_ms, connect_timeout_ms, pool)");
    }
  }
  std::string_view rest = parsed.rest;
  if (rest.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("store URI '" + uri +
                                   "': Redis Cluster has only database 0; drop the /DB part");
  }
  while (true) {
    size_t comma = rest.find(',');
    std::string_view endpoint = rest.substr(0, comma);
    size_t colon = endpoint.rfind(':');
    if (endpoint.empty() || colon == 0 || colon == std::string_view::npos) {
      return Status::InvalidArgument("store URI '" + uri + "': seed '" + std::string(endpoint) +
                                     "' is not HOST:PORT (redis+cluster://HOST:PORT,...)");
    }
    RECO_ASSIGN_OR_RETURN(
        uint64_t port,
        ParseUintOption(uri, "port", std::string(endpoint.substr(colon + 1)), 1, 65535));
    options.seeds.emplace_back(std::string(endpoint.substr(0, colon)), static_cast<int>(port));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return options;
}

Result<std::unique_ptr<KvStore>> OpenRedisClusterStore(std::string uri,
                                                       RedisClusterOptions options) {
  if (options.seeds.empty()) {
    return Status::InvalidArgument("store URI '" + uri + "' names no seed node");
  }
  IgnoreSigpipeUnlessHandled();
  auto store = std::make_unique<RedisClusterStore>(std::move(uri), std::move(options));
  RECO_RETURN_IF_ERROR(store->Discover());
  // Fail at startup with a clear message rather than on the first request.
  RECO_RETURN_IF_ERROR(store->Ping());
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace reco::store_internal
