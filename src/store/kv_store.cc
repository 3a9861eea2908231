// WriteBatch, URI parsing and the OpenKvStore factory.
#include "reco/kv_store.h"

#include <charconv>
#include <string>
#include <utility>

#include "redis_cluster_store.h"
#include "store_internal.h"

namespace reco {

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("empty key");
  if (key.size() > kMaxKeySize) {
    return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                   " bytes exceeds the limit of " + std::to_string(kMaxKeySize));
  }
  return Status::Ok();
}

void WriteBatch::Put(std::string_view key, std::string_view value) {
  ops_.push_back(Op{OpKind::kPut, std::string(key), std::string(value)});
  bytes_ += key.size() + value.size();
}

void WriteBatch::Delete(std::string_view key) {
  ops_.push_back(Op{OpKind::kDelete, std::string(key), std::string()});
  bytes_ += key.size();
}

void WriteBatch::Clear() {
  ops_.clear();
  bytes_ = 0;
}

namespace store_internal {

Status ValidateValue(std::string_view value) {
  if (value.size() > kMaxValueSize) {
    return Status::InvalidArgument("value of " + std::to_string(value.size()) +
                                   " bytes exceeds the limit of " + std::to_string(kMaxValueSize));
  }
  return Status::Ok();
}

Status ValidateBatch(const WriteBatch& batch) {
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    const WriteBatch::Op& op = batch.ops()[i];
    Status st = ValidateKey(op.key);
    if (st.ok()) st = ValidateValue(op.value);
    if (!st.ok()) return st.WithContext("write batch operation " + std::to_string(i));
  }
  return Status::Ok();
}

Result<ParsedUri> ParseUri(const std::string& uri) {
  ParsedUri parsed;
  size_t sep = uri.find("://");
  if (sep == std::string::npos || sep == 0) {
    return Status::InvalidArgument("store URI '" + uri +
                                   "' has no scheme; expected memory://, lmdb://PATH or "
                                   "redis://HOST:PORT");
  }
  parsed.scheme = uri.substr(0, sep);
  std::string tail = uri.substr(sep + 3);
  size_t q = tail.find('?');
  parsed.rest = tail.substr(0, q);
  if (q == std::string::npos) return parsed;
  std::string_view query = std::string_view(tail).substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument("store URI '" + uri + "': option '" + std::string(pair) +
                                     "' is not name=value");
    }
    std::string name(pair.substr(0, eq));
    if (!parsed.query.emplace(name, std::string(pair.substr(eq + 1))).second) {
      return Status::InvalidArgument("store URI '" + uri + "': option '" + name + "' given twice");
    }
  }
  return parsed;
}

Result<uint64_t> ParseUintOption(const std::string& uri, const std::string& name,
                                 const std::string& text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    return Status::InvalidArgument("store URI '" + uri + "': " + name + "='" + text +
                                   "' is not a non-negative integer");
  }
  if (v < min || v > max) {
    return Status::InvalidArgument("store URI '" + uri + "': " + name + "=" + text +
                                   " is outside [" + std::to_string(min) + ", " +
                                   std::to_string(max) + "]");
  }
  return v;
}

Result<uint64_t> ParseByteSize(const std::string& uri, const std::string& name,
                               const std::string& text) {
  std::string digits = text;
  uint64_t unit = 1;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'k':
      case 'K':
        unit = uint64_t{1} << 10;
        break;
      case 'm':
      case 'M':
        unit = uint64_t{1} << 20;
        break;
      case 'g':
      case 'G':
        unit = uint64_t{1} << 30;
        break;
      case 't':
      case 'T':
        unit = uint64_t{1} << 40;
        break;
      default:
        break;
    }
    if (unit != 1) digits.pop_back();
  }
  constexpr uint64_t kMax = uint64_t{1} << 46;  // 64 TiB: beyond any sane map
  RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, name, digits, 1, kMax));
  if (n > kMax / unit) {
    return Status::InvalidArgument("store URI '" + uri + "': " + name + "=" + text +
                                   " is larger than 64 TiB");
  }
  return n * unit;
}

namespace {

Status RejectUnknownOptions(const std::string& uri, const ParsedUri& parsed,
                            std::initializer_list<const char*> known) {
  for (const auto& [name, value] : parsed.query) {
    bool ok = false;
    for (const char* k : known) ok = ok || name == k;
    if (!ok) {
      std::string list;
      for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
      return Status::InvalidArgument("store URI '" + uri + "': unknown option '" + name +
                                     "' (known: " + (list.empty() ? "none" : list) + ")");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<KvStore>> OpenLmdbUri(const std::string& uri, const ParsedUri& parsed) {
  RECO_RETURN_IF_ERROR(RejectUnknownOptions(uri, parsed, {"map_size", "max_readers"}));
  LmdbOptions options;
  options.path = parsed.rest;
  if (options.path.empty()) {
    return Status::InvalidArgument("store URI '" + uri + "' names no directory (lmdb://PATH)");
  }
  if (auto it = parsed.query.find("map_size"); it != parsed.query.end()) {
    RECO_ASSIGN_OR_RETURN(options.map_size, ParseByteSize(uri, "map_size", it->second));
  }
  if (auto it = parsed.query.find("max_readers"); it != parsed.query.end()) {
    RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, "max_readers", it->second, 1, 65536));
    options.max_readers = static_cast<unsigned>(n);
  }
  return OpenLmdbStore(uri, std::move(options));
}

Result<std::unique_ptr<KvStore>> OpenRedisUri(const std::string& uri, const ParsedUri& parsed) {
  RECO_RETURN_IF_ERROR(
      RejectUnknownOptions(uri, parsed, {"timeout_ms", "connect_timeout_ms", "pool"}));
  RedisOptions options;
  std::string_view rest = parsed.rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string db(rest.substr(slash + 1));
    if (!db.empty()) {
      RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, "database number", db, 0, 65535));
      options.db = static_cast<int>(n);
    }
    rest = rest.substr(0, slash);
  }
  if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    std::string port(rest.substr(colon + 1));
    RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, "port", port, 1, 65535));
    options.port = static_cast<int>(n);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) {
    return Status::InvalidArgument("store URI '" + uri + "' names no host (redis://HOST:PORT)");
  }
  options.host = std::string(rest);
  if (auto it = parsed.query.find("timeout_ms"); it != parsed.query.end()) {
    RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, "timeout_ms", it->second, 1, 600000));
    options.timeout = std::chrono::milliseconds(n);
  }
  if (auto it = parsed.query.find("connect_timeout_ms"); it != parsed.query.end()) {
    RECO_ASSIGN_OR_RETURN(uint64_t n,
                          ParseUintOption(uri, "connect_timeout_ms", it->second, 1, 600000));
    options.connect_timeout = std::chrono::milliseconds(n);
  }
  if (auto it = parsed.query.find("pool"); it != parsed.query.end()) {
    RECO_ASSIGN_OR_RETURN(uint64_t n, ParseUintOption(uri, "pool", it->second, 1, 4096));
    options.pool_size = static_cast<int>(n);
  }
  return OpenRedisStore(uri, std::move(options));
}

}  // namespace
}  // namespace store_internal

Result<std::unique_ptr<KvStore>> OpenKvStore(const std::string& uri) {
  using namespace store_internal;
  RECO_ASSIGN_OR_RETURN(ParsedUri parsed, ParseUri(uri));
  if (parsed.scheme == "memory") {
    RECO_RETURN_IF_ERROR(RejectUnknownOptions(uri, parsed, {}));
    return NewMemoryStore(uri, parsed.rest);
  }
  if (parsed.scheme == "lmdb") return OpenLmdbUri(uri, parsed);
  if (parsed.scheme == "redis") return OpenRedisUri(uri, parsed);
  if (parsed.scheme == "redis+cluster") {
    RECO_ASSIGN_OR_RETURN(RedisClusterOptions options, ParseRedisClusterUri(uri, parsed));
    return OpenRedisClusterStore(uri, std::move(options));
  }
  return Status::InvalidArgument("store URI '" + uri + "': unknown scheme '" + parsed.scheme +
                                 "' (expected memory, lmdb, redis or redis+cluster)");
}

}  // namespace reco
