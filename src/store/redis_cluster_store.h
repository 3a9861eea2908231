// RedisClusterStore internals shared with kv_store.cc (URI dispatch) and the
// tests (hash slots).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reco/kv_store.h"
#include "redis_connection_pool.h"
#include "store_internal.h"

namespace reco::store_internal {

inline constexpr int kRedisClusterSlots = 16384;

// The Redis Cluster hash slot of `key`: CRC16 (XMODEM: polynomial 0x1021,
// initial value 0) modulo 16384 of the key, or of its hash tag: the bytes
// between the first '{' and the first '}' after it, when there are any.
uint16_t RedisClusterKeySlot(std::string_view key);

struct RedisClusterOptions {
  std::vector<std::pair<std::string, int>> seeds;  // host, port
  RedisConnectionOptions connection;
  // Tries per operation: each redirect (MOVED, ASK) or node failure costs
  // one; after the last the operation fails (Unavailable).
  int max_attempts = 5;
};

// redis+cluster://HOST:PORT[,HOST:PORT...][?timeout_ms=N&connect_timeout_ms=N&pool=N]
Result<RedisClusterOptions> ParseRedisClusterUri(const std::string& uri, const ParsedUri& parsed);

// Discovers the slot map from the first seed that answers and pings every
// master. Unavailable when no seed answers.
Result<std::unique_ptr<KvStore>> OpenRedisClusterStore(std::string uri,
                                                       RedisClusterOptions options);

}  // namespace reco::store_internal
