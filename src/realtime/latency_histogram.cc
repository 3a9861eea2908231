#include "latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace reco::realtime {

int LatencyHistogram::BucketOf(double micros) {
  if (!(micros >= 1.0)) return 0;  // also NaN
  double b = std::floor(std::log2(micros) * kBucketsPerOctave) + 1;
  return static_cast<int>(std::min<double>(b, kBuckets - 1));
}

double LatencyHistogram::UpperBound(int bucket) {
  return std::exp2(static_cast<double>(bucket) / kBucketsPerOctave);
}

void LatencyHistogram::Record(double micros) {
  if (!(micros >= 0)) micros = 0;
  counts_[static_cast<size_t>(BucketOf(micros))].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  const auto whole = static_cast<uint64_t>(std::min(micros, 1e18));
  sum_us_.fetch_add(whole, std::memory_order_relaxed);
  uint64_t seen = max_us_.load(std::memory_order_relaxed);
  while (whole > seen && !max_us_.compare_exchange_weak(seen, whole, std::memory_order_relaxed)) {
  }
}

double LatencyHistogram::Quantile(double q) const {
  uint64_t total = 0;
  std::array<uint64_t, kBuckets> snapshot;
  for (int b = 0; b < kBuckets; ++b) {
    snapshot[b] = counts_[b].load(std::memory_order_relaxed);
    total += snapshot[b];
  }
  if (total == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the q-quantile, 1-based: the smallest value with at least
  // q * total values at or below it.
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * total)));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += snapshot[b];
    if (seen >= rank) return UpperBound(b);
  }
  return UpperBound(kBuckets - 1);
}

}  // namespace reco::realtime
