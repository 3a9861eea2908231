#include "reco/latency_histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace reco {
namespace {

TEST(LatencyHistogramTest, EmptyReportsZeros) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.Mean(), 0.0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  // 1..100: the p-th percentile is the value at rank ceil(p/100 * 100).
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.ValueAtPercentile(0), 1u);
  EXPECT_EQ(h.ValueAtPercentile(1), 1u);
  EXPECT_EQ(h.ValueAtPercentile(50), 50u);
  EXPECT_EQ(h.ValueAtPercentile(90), 90u);
  EXPECT_EQ(h.ValueAtPercentile(99), 99u);
  EXPECT_EQ(h.ValueAtPercentile(99.9), 100u);  // rank ceil(99.9) = 100
  EXPECT_EQ(h.ValueAtPercentile(100), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.Mean(), 50.5);
  // Population stdev of 1..100 = sqrt((100^2 - 1) / 12).
  EXPECT_NEAR(h.StdDev(), std::sqrt(9999.0 / 12.0), 1e-9);
}

TEST(LatencyHistogramTest, RankRoundingAtThousand) {
  // 1000 values 1..1000 ns: p99.9 is rank 999 exactly (not 1000 from
  // floating-point noise in 99.9 * 1000 / 100). 999 lies in the bucket
  // [996, 999] (width 4 between 512 and 1023), whose highest value is 999.
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAtPercentile(99.9), 999u);
  EXPECT_EQ(h.ValueAtPercentile(100), 1000u);
  // Rank 500 is the value 500, in bucket [500, 501] (width 2 below 512).
  EXPECT_EQ(h.ValueAtPercentile(50), 501u);
}

TEST(LatencyHistogramTest, BucketGeometryKnownAnswers) {
  EXPECT_EQ(LatencyHistogram::BucketIndex(0), 0u);
  EXPECT_EQ(LatencyHistogram::BucketIndex(255), 255u);
  // 256 = 2^8: first log bucket, width 2.
  EXPECT_EQ(LatencyHistogram::BucketIndex(256), 256u);
  EXPECT_EQ(LatencyHistogram::BucketIndex(257), 256u);
  EXPECT_EQ(LatencyHistogram::BucketIndex(258), 257u);
  EXPECT_EQ(LatencyHistogram::BucketLowest(257), 258u);
  EXPECT_EQ(LatencyHistogram::BucketHighest(257), 259u);
  // 512 = 2^9 starts the next power: index 256 + 128, width 4.
  EXPECT_EQ(LatencyHistogram::BucketIndex(512), 384u);
  EXPECT_EQ(LatencyHistogram::BucketHighest(384), 515u);
  // 1 ms = 1,000,000 ns: 2^19 <= v < 2^20, width 2^12 = 4096;
  // 1,000,000 / 4096 = 244.14 -> sub-bucket 244 covers [999424, 1003519].
  const size_t ms = LatencyHistogram::BucketIndex(1000000);
  EXPECT_EQ(ms, 256u + (19 - 8) * 128u + (244 - 128));
  EXPECT_EQ(LatencyHistogram::BucketLowest(ms), 999424u);
  EXPECT_EQ(LatencyHistogram::BucketHighest(ms), 1003519u);
  // Top: 2^36 - 1 is the last bucket; larger values clamp into it.
  const size_t last = LatencyHistogram::BucketCount() - 1;
  EXPECT_EQ(last, 256u + 28 * 128u - 1);
  EXPECT_EQ(LatencyHistogram::BucketIndex(LatencyHistogram::kMaxTrackableNanos), last);
  EXPECT_EQ(LatencyHistogram::BucketIndex(uint64_t{1} << 40), last);
  EXPECT_EQ(LatencyHistogram::BucketHighest(last), LatencyHistogram::kMaxTrackableNanos);
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithinOnePercent) {
  for (size_t i = 0; i < LatencyHistogram::BucketCount(); ++i) {
    const uint64_t lo = LatencyHistogram::BucketLowest(i);
    const uint64_t hi = LatencyHistogram::BucketHighest(i);
    ASSERT_EQ(LatencyHistogram::BucketIndex(lo), i);
    ASSERT_EQ(LatencyHistogram::BucketIndex(hi), i);
    if (i + 1 < LatencyHistogram::BucketCount()) {
      ASSERT_EQ(LatencyHistogram::BucketLowest(i + 1), hi + 1);
    }
    if (lo > 0) {
      ASSERT_LE(static_cast<double>(hi - lo) / static_cast<double>(lo), 0.01);
    }
  }
}

TEST(LatencyHistogramTest, TailPercentilesWithinOnePercent) {
  // 990 requests at 1 ms, 9 at 20 ms, 1 at 3 s: p50/p99 = 1 ms, p99.9 = 20 ms,
  // max = 3 s exactly.
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.Record(1000000);
  for (int i = 0; i < 9; ++i) h.Record(20000000);
  h.Record(3000000000);
  auto near = [](uint64_t got, double want) {
    return std::abs(static_cast<double>(got) - want) <= 0.01 * want;
  };
  EXPECT_TRUE(near(h.ValueAtPercentile(50), 1e6)) << h.ValueAtPercentile(50);
  EXPECT_TRUE(near(h.ValueAtPercentile(99), 1e6)) << h.ValueAtPercentile(99);
  EXPECT_TRUE(near(h.ValueAtPercentile(99.1), 2e7)) << h.ValueAtPercentile(99.1);
  EXPECT_TRUE(near(h.ValueAtPercentile(99.9), 2e7)) << h.ValueAtPercentile(99.9);
  EXPECT_EQ(h.ValueAtPercentile(100), 3000000000u);
  EXPECT_EQ(h.max(), 3000000000u);
  EXPECT_EQ(h.min(), 1000000u);
  EXPECT_NEAR(h.Mean(), (990 * 1e6 + 9 * 2e7 + 3e9) / 1000.0, 1e-3);
}

TEST(LatencyHistogramTest, ValuesBeyondRangeClampButMaxIsExact) {
  LatencyHistogram h;
  const uint64_t huge = uint64_t{100} * 1000000000;  // 100 s
  h.Record(huge);
  EXPECT_EQ(h.max(), huge);
  EXPECT_EQ(h.ValueAtPercentile(50), huge);  // capped at max, which is exact
  EXPECT_EQ(h.count(), 1u);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 1; v <= 5000; v += 3) {
    ((v % 2 == 0) ? a : b).Record(v * 977);
    all.Record(v * 977);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.Mean(), all.Mean());
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) {
    EXPECT_EQ(a.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
  a.Clear();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.ValueAtPercentile(99), 0u);
}

TEST(LatencyHistogramTest, CountAtOrBelowIsExactAtBucketEnds) {
  LatencyHistogram h;
  for (uint64_t v : {10u, 100u, 255u, 256u, 257u, 50000u, 60000u}) h.Record(v);
  EXPECT_EQ(h.CountAtOrBelow(9), 0u);
  EXPECT_EQ(h.CountAtOrBelow(10), 1u);
  EXPECT_EQ(h.CountAtOrBelow(255), 3u);
  EXPECT_EQ(h.CountAtOrBelow(256), 3u);  // [256, 257] is one bucket: it ends at 257
  EXPECT_EQ(h.CountAtOrBelow(257), 5u);
  // 50,000 ns lies in [49920, 50175] (width 256 between 2^15 and 2^16): a
  // bound inside that bucket leaves it out rather than count it as faster.
  EXPECT_EQ(h.CountAtOrBelow(50000), 5u);
  EXPECT_EQ(h.CountAtOrBelow(50175), 6u);
  EXPECT_EQ(h.CountAtOrBelow(60000), 7u);  // at or above max: everything
  EXPECT_EQ(h.CountAtOrBelow(UINT64_MAX), 7u);
  EXPECT_EQ(LatencyHistogram().CountAtOrBelow(100), 0u);
}

TEST(ConcurrentLatencyHistogramTest, EmptyReportsZero) {
  ConcurrentLatencyHistogram h;
  const LatencyHistogram s = h.Snapshot();
  EXPECT_EQ(s.ValueAtPercentile(50), 0u);
  EXPECT_EQ(s.ValueAtPercentile(99), 0u);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(s.min(), 0u);
}

TEST(ConcurrentLatencyHistogramTest, PercentilesAreBucketUpperBounds) {
  ConcurrentLatencyHistogram h;
  // 98 values of 100 us, one of 1000 us, one of 5000 us.
  for (int i = 0; i < 98; ++i) h.Record(100000);
  h.Record(1000000);
  h.RecordSingleWriter(5000000);
  const LatencyHistogram s = h.Snapshot();
  const uint64_t b100 = LatencyHistogram::BucketHighest(LatencyHistogram::BucketIndex(100000));
  const uint64_t b1000 = LatencyHistogram::BucketHighest(LatencyHistogram::BucketIndex(1000000));
  EXPECT_GT(b100, 100000u);
  EXPECT_LT(b100, 100000 * (1 + 1.0 / 128));  // within one bucket
  EXPECT_EQ(s.ValueAtPercentile(50), b100);
  EXPECT_EQ(s.ValueAtPercentile(98), b100);
  EXPECT_EQ(s.ValueAtPercentile(99), b1000);  // rank 99 of 100
  EXPECT_EQ(s.ValueAtPercentile(100), 5000000u);
  EXPECT_EQ(h.max(), 5000000u);
  EXPECT_EQ(s.min(), 100000u);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(s.count(), 100u);
  EXPECT_EQ(s.sum(), 98 * 100000.0L + 1000000 + 5000000);
  // The same values recorded into a plain histogram give the same answers.
  LatencyHistogram plain;
  for (int i = 0; i < 98; ++i) plain.Record(100000);
  plain.Record(1000000);
  plain.Record(5000000);
  for (double p : {1.0, 50.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(s.ValueAtPercentile(p), plain.ValueAtPercentile(p)) << p;
  }
  EXPECT_DOUBLE_EQ(s.Mean(), plain.Mean());
  EXPECT_NEAR(s.StdDev(), plain.StdDev(), 1e-6 * plain.StdDev());
}

TEST(ConcurrentLatencyHistogramTest, ConcurrentRecordsAllCount) {
  ConcurrentLatencyHistogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 10000; ++i) h.Record(10000 * (t + 1));
    });
  }
  // A reader may take snapshots while the writers run.
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t n = h.Snapshot().count();
    EXPECT_GE(n, last);
    last = n;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_EQ(h.max(), 40000u);
  const LatencyHistogram s = h.Snapshot();
  EXPECT_EQ(s.min(), 10000u);
  EXPECT_EQ(s.sum(), 10000.0L * 10000 * (1 + 2 + 3 + 4));
}

TEST(ConcurrentLatencyHistogramTest, AddToSumsShards) {
  ConcurrentLatencyHistogram a, b;
  for (uint64_t v = 1; v <= 1000; ++v) (v % 3 == 0 ? a : b).RecordSingleWriter(v * 1000);
  LatencyHistogram merged;
  a.AddTo(&merged);
  b.AddTo(&merged);
  LatencyHistogram all;
  for (uint64_t v = 1; v <= 1000; ++v) all.Record(v * 1000);
  EXPECT_EQ(merged.count(), all.count());
  EXPECT_EQ(merged.min(), all.min());
  EXPECT_EQ(merged.max(), all.max());
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) {
    EXPECT_EQ(merged.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
  EXPECT_EQ(merged.CountAtOrBelow(500000), all.CountAtOrBelow(500000));
}

}  // namespace
}  // namespace reco
