// Server metrics in Prometheus text exposition format.
//
// Each worker thread writes only its own cache-line-aligned shard with plain
// relaxed load+store (no locked read-modify-write on the hot path); /metrics
// sums the shards. A reader may see a count a few requests stale, never torn.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace reco::serve {

enum class Route : uint8_t {
  kUserRecommendations,
  kSimilarItems,
  kHealthz,
  kReadyz,
  kMetrics,
  kOther,  // unknown paths and requests that never parsed
};
inline constexpr int kRouteCount = 6;

// The route label of each Route, as documented in docs/api.md.
std::string_view RouteLabel(Route route);

// Every status code the server emits, so counters are a fixed array.
inline constexpr std::array<int, 9> kStatusCodes = {200, 400, 404, 405, 413, 414, 431, 500, 503};

// Histogram bucket upper bounds in seconds.
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};

class ServerMetrics {
 public:
  explicit ServerMetrics(int shards);

  void RecordRequest(int shard, Route route, int status, uint64_t nanos);
  void RecordStoreError(int shard) { Bump(shards_[shard].store_errors); }
  void RecordPopularFallback(int shard) { Bump(shards_[shard].popular_fallbacks); }
  void RecordConnectionOpened(int shard) { Bump(shards_[shard].connections_opened); }
  void RecordConnectionClosed(int shard) { Bump(shards_[shard].connections_closed); }

  // Appends the exposition text; active_version "" means no active model.
  void Render(std::string_view active_version, std::string* out) const;

 private:
  static constexpr int kCodeCount = static_cast<int>(kStatusCodes.size());
  static constexpr int kBucketCount = static_cast<int>(kLatencyBuckets.size()) + 1;  // + +Inf

  struct alignas(64) Shard {
    std::atomic<uint64_t> requests[kRouteCount][kCodeCount] = {};
    std::atomic<uint64_t> buckets[kRouteCount][kBucketCount] = {};  // not cumulative
    std::atomic<uint64_t> latency_ns_sum[kRouteCount] = {};
    std::atomic<uint64_t> store_errors{0};
    std::atomic<uint64_t> popular_fallbacks{0};
    std::atomic<uint64_t> connections_opened{0};
    std::atomic<uint64_t> connections_closed{0};
  };

  // Single writer per shard: a plain load+store is enough and much cheaper
  // than fetch_add.
  static void Bump(std::atomic<uint64_t>& c, uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }
  static int CodeIndex(int status);

  int shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace reco::serve
