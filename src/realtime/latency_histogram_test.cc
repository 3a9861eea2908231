#include "latency_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace reco::realtime {
namespace {

TEST(LatencyHistogramTest, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.Quantile(0.5), 0);
  EXPECT_EQ(h.Quantile(0.99), 0);
  EXPECT_EQ(h.Count(), 0u);
}

TEST(LatencyHistogramTest, BucketsAreEighthsOfAnOctave) {
  EXPECT_EQ(LatencyHistogram::BucketOf(0), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(0.99), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(1.0), 1);  // [2^0, 2^(1/8))
  EXPECT_EQ(LatencyHistogram::BucketOf(2.0), 9);  // [2^1, 2^(9/8))
  EXPECT_EQ(LatencyHistogram::BucketOf(1024.0), 81);
  EXPECT_EQ(LatencyHistogram::BucketOf(-5), 0);
  EXPECT_EQ(LatencyHistogram::BucketOf(1e300), LatencyHistogram::kBuckets - 1);
  EXPECT_DOUBLE_EQ(LatencyHistogram::UpperBound(9), std::exp2(9.0 / 8));
}

TEST(LatencyHistogramTest, QuantilesAreBucketUpperBounds) {
  LatencyHistogram h;
  // 98 values of 100 us, one of 1000 us, one of 5000 us.
  for (int i = 0; i < 98; ++i) h.Record(100);
  h.Record(1000);
  h.Record(5000);
  const double b100 = LatencyHistogram::UpperBound(LatencyHistogram::BucketOf(100));
  const double b1000 = LatencyHistogram::UpperBound(LatencyHistogram::BucketOf(1000));
  const double b5000 = LatencyHistogram::UpperBound(LatencyHistogram::BucketOf(5000));
  EXPECT_GT(b100, 100);
  EXPECT_LT(b100, 100 * 1.091);  // within one eighth of an octave
  EXPECT_EQ(h.Quantile(0.5), b100);
  EXPECT_EQ(h.Quantile(0.98), b100);
  EXPECT_EQ(h.Quantile(0.99), b1000);  // rank 99 of 100
  EXPECT_EQ(h.Quantile(1.0), b5000);
  EXPECT_EQ(h.Max(), 5000);
  EXPECT_EQ(h.Count(), 100u);
  EXPECT_EQ(h.SumMicros(), 98 * 100 + 1000 + 5000);
}

TEST(LatencyHistogramTest, ConcurrentRecordsAllCount) {
  LatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 10000; ++i) h.Record(10 * (t + 1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.Count(), 40000u);
  EXPECT_EQ(h.Max(), 40);
}

}  // namespace
}  // namespace reco::realtime
