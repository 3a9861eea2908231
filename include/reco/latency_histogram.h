// Latency histograms: one bucket layout for every latency reco measures (the
// load generator's percentiles, the real-time engine's refresh latency, the
// server's Prometheus request-duration histograms).
//
// The layout is HdrHistogram's log-linear one, in nanoseconds: values below
// 256 ns are exact, and every power-of-two range [2^e, 2^(e+1)) above that is
// split into 128 equal buckets, so a bucket is at most 1/128 (< 0.8%) of its
// values wide, from 0 to 2^36 ns (~68.7 s). Larger values are clamped into the
// top bucket; the exact maximum is kept beside the buckets.
//
// Two ways to record into it:
//  - LatencyHistogram: plain counters, for one thread (a load thread records
//    into its own and Merge() adds them up at the end), and for snapshots.
//  - ConcurrentLatencyHistogram: atomic counters that threads record into
//    without a lock while another thread reads a Snapshot() at any time.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace reco {

class ConcurrentLatencyHistogram;

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;  // 128 sub-buckets per power of 2
  static constexpr uint64_t kMaxTrackableNanos = (uint64_t{1} << 36) - 1;

  LatencyHistogram();

  void Record(uint64_t nanos);
  void Merge(const LatencyHistogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  // Sum of the recorded values (exact up to 2^64 ns).
  long double sum() const { return sum_; }
  double Mean() const;
  double StdDev() const;
  // The smallest recorded value v (to within its bucket: the bucket's highest
  // value, capped at max()) such that at least `percentile`% of the recorded
  // values are <= v. Never below the true percentile, and above it by at most
  // one bucket. 0 when empty; percentile is clamped to [0, 100].
  uint64_t ValueAtPercentile(double percentile) const;
  // How many recorded values lie in buckets whose highest value is <= nanos
  // (a Prometheus "le" bucket). Exact when nanos ends a bucket; otherwise the
  // values of the bucket that straddles nanos (< 0.8% of it) are not counted,
  // so a value is never reported faster than it was.
  uint64_t CountAtOrBelow(uint64_t nanos) const;

  // Bucket geometry, exposed for tests: index of a value, and the lowest and
  // highest values sharing that index.
  static size_t BucketIndex(uint64_t nanos);
  static uint64_t BucketLowest(size_t index);
  static uint64_t BucketHighest(size_t index);
  static size_t BucketCount();

 private:
  friend class ConcurrentLatencyHistogram;

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  // Sums in long double: a 30 s open-loop run against a stalled server can
  // record ~10^6 values of ~10^10 ns, whose squares overflow uint64.
  long double sum_ = 0;
  long double sum_squares_ = 0;
};

// The same buckets with atomic counters. Record() is lock-free from any
// number of threads; RecordSingleWriter() is cheaper (a relaxed load and
// store, no locked read-modify-write) but only correct when one thread alone
// records into this histogram, as each server worker does into its own shard.
// Snapshot() and AddTo() may run concurrently with either: each counter is
// read whole, and a snapshot is at most a few records behind.
class ConcurrentLatencyHistogram {
 public:
  ConcurrentLatencyHistogram();

  void Record(uint64_t nanos);
  void RecordSingleWriter(uint64_t nanos);

  // Adds everything recorded so far to *out.
  void AddTo(LatencyHistogram* out) const;
  LatencyHistogram Snapshot() const;

  uint64_t count() const;
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<double> sum_squares_{0};
};

}  // namespace reco
