// Backend constructors and helpers shared by the KvStore implementations;
// callers outside src/store use OpenKvStore().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "reco/kv_store.h"

namespace reco::store_internal {

// "scheme://rest?k=v&k2=v2" split into its parts; keys must be unique.
struct ParsedUri {
  std::string scheme;
  std::string rest;  // between "://" and "?"
  std::map<std::string, std::string> query;
};
Result<ParsedUri> ParseUri(const std::string& uri);

// Parses a decimal integer option; InvalidArgument names the option and URI.
Result<uint64_t> ParseUintOption(const std::string& uri, const std::string& name,
                                 const std::string& text, uint64_t min, uint64_t max);
// "1048576", "64k", "512m", "4g" (binary units).
Result<uint64_t> ParseByteSize(const std::string& uri, const std::string& name,
                               const std::string& text);

// Validates every key and value of a batch before a backend applies it.
Status ValidateBatch(const WriteBatch& batch);
Status ValidateValue(std::string_view value);

// `name` non-empty: shared by every open of memory://NAME in this process.
std::unique_ptr<KvStore> NewMemoryStore(std::string uri, const std::string& name);

struct LmdbOptions {
  std::string path;
  uint64_t map_size = uint64_t{4} << 30;
  unsigned max_readers = 512;
};
Result<std::unique_ptr<KvStore>> OpenLmdbStore(std::string uri, LmdbOptions options);

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds timeout{1000};
  // Idle connections kept for reuse; more are opened under load.
  int pool_size = 16;
  // After a failed connect, further connects fail fast for this long so a
  // down server does not stall every request for connect_timeout.
  std::chrono::milliseconds reconnect_backoff{100};
};
Result<std::unique_ptr<KvStore>> OpenRedisStore(std::string uri, RedisOptions options);

}  // namespace reco::store_internal
