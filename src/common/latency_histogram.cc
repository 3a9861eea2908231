// Log-linear bucketing as in HdrHistogram: exact below 2^(kSubBucketBits+1),
// then every power-of-two range [2^e, 2^(e+1)) split into 2^kSubBucketBits
// equal sub-buckets. A bucket's width is 2^(e-kSubBucketBits) and its lowest
// value is at least 2^e, so width/value <= 2^-kSubBucketBits = 1/128.
#include "reco/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace reco {
namespace {

constexpr uint64_t kSubBuckets = uint64_t{1} << LatencyHistogram::kSubBucketBits;  // 128
constexpr uint64_t kLinearLimit = 2 * kSubBuckets;  // values below are their own bucket
constexpr int kLinearBits = LatencyHistogram::kSubBucketBits + 1;  // log2(kLinearLimit)
constexpr int kTopExponent = std::bit_width(LatencyHistogram::kMaxTrackableNanos) - 1;

// Single writer: a plain load+store is enough and much cheaper than fetch_add.
void Bump(std::atomic<uint64_t>& c, uint64_t by) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

size_t LatencyHistogram::BucketCount() {
  return kLinearLimit + static_cast<size_t>(kTopExponent - kLinearBits + 1) * kSubBuckets;
}

size_t LatencyHistogram::BucketIndex(uint64_t nanos) {
  nanos = std::min(nanos, kMaxTrackableNanos);
  if (nanos < kLinearLimit) return static_cast<size_t>(nanos);
  const int exponent = std::bit_width(nanos) - 1;  // >= kLinearBits
  const int shift = exponent - kSubBucketBits;
  const uint64_t sub = (nanos >> shift) - kSubBuckets;  // [0, 128)
  return static_cast<size_t>(kLinearLimit + (exponent - kLinearBits) * kSubBuckets + sub);
}

uint64_t LatencyHistogram::BucketLowest(size_t index) {
  if (index < kLinearLimit) return index;
  const uint64_t j = index - kLinearLimit;
  const int exponent = kLinearBits + static_cast<int>(j / kSubBuckets);
  const int shift = exponent - kSubBucketBits;
  return (kSubBuckets + j % kSubBuckets) << shift;
}

uint64_t LatencyHistogram::BucketHighest(size_t index) {
  if (index < kLinearLimit) return index;
  const uint64_t j = index - kLinearLimit;
  const int shift = kLinearBits + static_cast<int>(j / kSubBuckets) - kSubBucketBits;
  return BucketLowest(index) + (uint64_t{1} << shift) - 1;
}

LatencyHistogram::LatencyHistogram() : counts_(BucketCount(), 0) {}

void LatencyHistogram::Record(uint64_t nanos) {
  ++counts_[BucketIndex(nanos)];
  ++count_;
  min_ = std::min(min_, nanos);
  max_ = std::max(max_, nanos);
  const long double v = static_cast<long double>(nanos);
  sum_ += v;
  sum_squares_ += v * v;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  sum_squares_ += other.sum_squares_;
}

void LatencyHistogram::Clear() { *this = LatencyHistogram(); }

double LatencyHistogram::Mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

double LatencyHistogram::StdDev() const {
  if (count_ == 0) return 0.0;
  const long double n = static_cast<long double>(count_);
  const long double mean = sum_ / n;
  const long double variance = sum_squares_ / n - mean * mean;
  return variance <= 0 ? 0.0 : static_cast<double>(std::sqrt(variance));
}

uint64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The epsilon keeps 99.9% of 1000 at rank 999 despite 99.9 being inexact.
  long double rank = std::ceil(
      static_cast<long double>(percentile) * static_cast<long double>(count_) / 100.0L - 1e-9L);
  const uint64_t target = std::max<uint64_t>(1, static_cast<uint64_t>(rank));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= target) {
      // The top bucket also holds every clamped value beyond the range.
      return i + 1 == counts_.size() ? max_ : std::min(BucketHighest(i), max_);
    }
  }
  return max_;
}

uint64_t LatencyHistogram::CountAtOrBelow(uint64_t nanos) const {
  if (nanos >= max_) return count_;  // also every clamped value
  uint64_t n = 0;
  for (size_t i = 0; i < counts_.size() && BucketHighest(i) <= nanos; ++i) n += counts_[i];
  return n;
}

ConcurrentLatencyHistogram::ConcurrentLatencyHistogram()
    : counts_(new std::atomic<uint64_t>[LatencyHistogram::BucketCount()]()) {}

void ConcurrentLatencyHistogram::Record(uint64_t nanos) {
  counts_[LatencyHistogram::BucketIndex(nanos)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(nanos, std::memory_order_relaxed);
  const double v = static_cast<double>(nanos);
  sum_squares_.fetch_add(v * v, std::memory_order_relaxed);
  uint64_t seen = max_.load(std::memory_order_relaxed);
  while (nanos > seen && !max_.compare_exchange_weak(seen, nanos, std::memory_order_relaxed)) {
  }
  seen = min_.load(std::memory_order_relaxed);
  while (nanos < seen && !min_.compare_exchange_weak(seen, nanos, std::memory_order_relaxed)) {
  }
}

void ConcurrentLatencyHistogram::RecordSingleWriter(uint64_t nanos) {
  Bump(counts_[LatencyHistogram::BucketIndex(nanos)], 1);
  Bump(sum_, nanos);
  const double v = static_cast<double>(nanos);
  sum_squares_.store(sum_squares_.load(std::memory_order_relaxed) + v * v,
                     std::memory_order_relaxed);
  if (nanos > max_.load(std::memory_order_relaxed)) max_.store(nanos, std::memory_order_relaxed);
  if (nanos < min_.load(std::memory_order_relaxed)) min_.store(nanos, std::memory_order_relaxed);
}

void ConcurrentLatencyHistogram::AddTo(LatencyHistogram* out) const {
  // The count is the sum of the buckets read, so percentiles of the snapshot
  // agree with its count even while writers run.
  for (size_t i = 0; i < out->counts_.size(); ++i) {
    const uint64_t c = counts_[i].load(std::memory_order_relaxed);
    out->counts_[i] += c;
    out->count_ += c;
  }
  out->min_ = std::min(out->min_, min_.load(std::memory_order_relaxed));
  out->max_ = std::max(out->max_, max_.load(std::memory_order_relaxed));
  out->sum_ += static_cast<long double>(sum_.load(std::memory_order_relaxed));
  out->sum_squares_ += static_cast<long double>(sum_squares_.load(std::memory_order_relaxed));
}

LatencyHistogram ConcurrentLatencyHistogram::Snapshot() const {
  LatencyHistogram h;
  AddTo(&h);
  return h;
}

uint64_t ConcurrentLatencyHistogram::count() const {
  uint64_t n = 0;
  for (size_t i = 0; i < LatencyHistogram::BucketCount(); ++i) {
    n += counts_[i].load(std::memory_order_relaxed);
  }
  return n;
}

}  // namespace reco
