// KvStore: the byte-oriented key-value interface every recommendation store
// backend implements, in the spirit of leveldb's Env: the layers above
// (RecommendationStore) are written once against this interface and tested
// against every backend with one typed conformance suite.
//
// Backends, chosen by URI in OpenKvStore():
//   memory://                     process-local map (tests)
//   lmdb://PATH[?map_size=BYTES]  embedded LMDB environment in directory PATH
//                                 (relative to the working directory unless it
//                                 starts with '/'; created if missing)
//   redis://HOST[:PORT][/DB][?timeout_ms=N&connect_timeout_ms=N&pool=N]
//                                 a Redis server shared by several readers
//   redis+cluster://HOST:PORT[,HOST:PORT...][?timeout_ms=N&connect_timeout_ms=N&pool=N]
//                                 a Redis Cluster, found from any seed node;
//                                 keys routed by hash slot. Write is atomic
//                                 per hash slot only (docs/store.md)
//
// Threading: any number of threads may call Get/Scan/Ping concurrently with
// one writer thread calling Put/Delete/Write/DeletePrefix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reco/status.h"

namespace reco {

// LMDB's default compile-time key limit; every backend enforces it so that
// data written to one backend can be copied to any other.
inline constexpr size_t kMaxKeySize = 511;
// Values above this are refused (a recommendation list is a few KiB).
inline constexpr size_t kMaxValueSize = size_t{64} << 20;

// Checks a key against the limits above (non-empty, at most kMaxKeySize).
Status ValidateKey(std::string_view key);

// An ordered list of puts and deletes applied all-or-nothing by
// KvStore::Write; later operations on the same key win.
class WriteBatch {
 public:
  enum class OpKind : uint8_t { kPut, kDelete };
  struct Op {
    OpKind kind;
    std::string key;
    std::string value;  // empty for kDelete
  };

  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  void Clear();

  const std::vector<Op>& ops() const { return ops_; }
  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  // Keys plus values, for callers that flush by size.
  size_t ApproximateBytes() const { return bytes_; }

 private:
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  KvStore() = default;
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // Copies the value of `key` into *value (reusing its capacity). NotFound
  // when the key is absent; Unavailable when a networked store is unreachable.
  virtual Status Get(std::string_view key, std::string* value) = 0;

  virtual Status Put(std::string_view key, std::string_view value) = 0;

  // Deleting an absent key is OK.
  virtual Status Delete(std::string_view key) = 0;

  // Applies every operation of `batch` or none of them: readers see either
  // the state before the batch or the state after it. Every key and value is
  // validated before anything is written.
  virtual Status Write(const WriteBatch& batch) = 0;

  // Calls fn(key, value) for each key starting with `prefix` (all keys when
  // empty) until fn returns false. Order is ascending bytewise for memory and
  // LMDB and unspecified for Redis; each key is visited at most once. Keys
  // written or deleted during the scan may or may not be visited.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;
  virtual Status Scan(std::string_view prefix, const ScanFn& fn) = 0;

  // Deletes every key starting with `prefix` (refuses the empty prefix) and
  // reports how many were deleted. Not atomic: meant for garbage-collecting
  // data no reader can reach any more (an old version's keys).
  virtual Result<uint64_t> DeletePrefix(std::string_view prefix) = 0;

  // OK when the store can serve requests now (for readiness probes).
  virtual Status Ping() = 0;

  // The URI the store was opened with, for logs and errors.
  virtual const std::string& uri() const = 0;
};

// Opens the backend named by `uri` (see the top of this file).
// InvalidArgument for a malformed URI or option; IOError when an LMDB
// directory cannot be created or opened; Unavailable when a Redis server
// cannot be reached at open time.
Result<std::unique_ptr<KvStore>> OpenKvStore(const std::string& uri);

}  // namespace reco
