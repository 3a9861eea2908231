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
  kEvents,         // POST /v1/events
  kAdminActivate,  // POST /v1/admin/models/{version}/activate
  kOther,          // unknown paths and requests that never parsed
};
inline constexpr int kRouteCount = 8;

// Why a POST /v1/events was refused, as the "reason" label.
enum class EventRejection : uint8_t {
  kInvalid,       // 400: bad JSON, unknown field, a limit
  kTooLarge,      // 413: body or batch over its limit
  kUnauthorized,  // 401
  kQueueFull,     // 503: the sink's refresh queue is full
  kUnavailable,   // 503: the event log cannot be written
  kError,         // 500
};
inline constexpr int kEventRejectionCount = 6;
std::string_view EventRejectionLabel(EventRejection reason);

// The route label of each Route, as documented in docs/api.md.
std::string_view RouteLabel(Route route);

// Every status code the server emits, so counters are a fixed array.
inline constexpr std::array<int, 12> kStatusCodes = {200, 202, 400, 401, 404, 405,
                                                     409, 413, 414, 431, 500, 503};

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
  // Events made durable by one POST /v1/events and how long Accept took.
  void RecordEventsAccepted(int shard, uint64_t events, uint64_t accept_nanos);
  // A refused POST /v1/events; accept_nanos is 0 when Accept was not called.
  void RecordEventsRejected(int shard, EventRejection reason, uint64_t accept_nanos);

  // Appends the exposition text; active_version "" means no active model.
  void Render(std::string_view active_version, std::string* out) const;
  // Appends reco_event_log_writable (1 or 0): whether the event log accepts
  // appends. Rendered only when the server writes to an event log.
  static void RenderEventLogHealth(bool writable, std::string* out);

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
    std::atomic<uint64_t> events_accepted{0};
    std::atomic<uint64_t> events_rejected[kEventRejectionCount] = {};
    std::atomic<uint64_t> accept_buckets[kBucketCount] = {};  // not cumulative
    std::atomic<uint64_t> accept_ns_sum{0};
  };
  void RecordAcceptLatency(Shard& s, uint64_t nanos);
  static int BucketIndex(uint64_t nanos);

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
