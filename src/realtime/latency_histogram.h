// A lock-free log-scale histogram of latencies in microseconds: refresher
// threads record, /metrics and stats() read percentiles at any time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace reco::realtime {

class LatencyHistogram {
 public:
  // Eight buckets per power of two (about 9% wide), from 1 us to 2^40 us.
  static constexpr int kBucketsPerOctave = 8;
  static constexpr int kOctaves = 40;
  static constexpr int kBuckets = kBucketsPerOctave * kOctaves + 1;

  void Record(double micros);

  // The upper bound of the bucket holding the q-quantile (0 < q <= 1), so a
  // reported p99 is never below the true one by more than a bucket; 0 when
  // nothing was recorded. Exact-enough under concurrent Record calls.
  double Quantile(double q) const;
  double Max() const { return static_cast<double>(max_us_.load(std::memory_order_relaxed)); }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double SumMicros() const { return static_cast<double>(sum_us_.load(std::memory_order_relaxed)); }

  // Bucket b >= 1 holds [2^((b-1)/8), 2^(b/8)) us; bucket 0 holds [0, 1).
  static int BucketOf(double micros);
  static double UpperBound(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> max_us_{0};
};

}  // namespace reco::realtime
