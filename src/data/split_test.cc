#include "reco/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "reco/data_dir.h"
#include "reco/loader.h"

namespace reco {
namespace {

using Pair = std::pair<uint32_t, uint32_t>;  // (user, item)

std::vector<Pair> Pairs(const std::vector<Interaction>& records) {
  std::vector<Pair> out;
  for (const Interaction& r : records) out.emplace_back(r.user, r.item);
  return out;
}

std::map<uint32_t, size_t> PerUser(const std::vector<Interaction>& records) {
  std::map<uint32_t, size_t> out;
  for (const Interaction& r : records) ++out[r.user];
  return out;
}

// User u has sizes[u] records, items 0..n-1 with timestamp = 1000 - item (so
// input order is newest first and chronological order reverses it).
std::vector<Interaction> UsersWithSizes(const std::vector<size_t>& sizes) {
  std::vector<Interaction> out;
  for (uint32_t u = 0; u < sizes.size(); ++u) {
    for (uint32_t i = 0; i < sizes[u]; ++i) {
      out.push_back({u, i, static_cast<float>(i % 5 + 1), static_cast<int64_t>(1000 - i)});
    }
  }
  return out;
}

// Train and test partition the input, each keeping input order.
void ExpectPartition(const std::vector<Interaction>& input, const TrainTest& tt) {
  ASSERT_EQ(tt.train.size() + tt.test.size(), input.size());
  size_t a = 0, b = 0;
  for (const Interaction& r : input) {
    auto same = [&](const Interaction& x) {
      return x.user == r.user && x.item == r.item && x.value == r.value &&
             x.timestamp == r.timestamp;
    };
    if (a < tt.train.size() && same(tt.train[a])) {
      ++a;
    } else {
      ASSERT_LT(b, tt.test.size());
      ASSERT_TRUE(same(tt.test[b]));
      ++b;
    }
  }
}

TEST(SplitMix64Test, MatchesReferenceStream) {
  // Values from Vigna's reference splitmix64.c.
  SplitMix64 rng(1234567);
  EXPECT_EQ(rng.Next(), 6457827717110365317ULL);
  EXPECT_EQ(rng.Next(), 3203168211198807973ULL);
  EXPECT_EQ(rng.Next(), 9817491932198370423ULL);
  EXPECT_EQ(rng.Next(), 4593380528125082431ULL);
  EXPECT_EQ(rng.Next(), 16408922859458223821ULL);
  SplitMix64 zero(0);
  EXPECT_EQ(zero.Next(), 0xe220a8397b1dcdafULL);
}

TEST(SplitMix64Test, BelowStaysInRangeAndCoversIt) {
  SplitMix64 rng(9);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) {
    uint64_t v = rng.Below(7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  for (int c : seen) EXPECT_GT(c, 800);  // expected 1000 each
  EXPECT_EQ(rng.Below(1), 0u);
}

// Recommenders' per-user train count, round(0.75 * n) half to even:
// n = 1 -> 1 (0.75), 2 -> 2 (1.5), 3 -> 2 (2.25), 4 -> 3, 5 -> 4 (3.75),
// 6 -> 4 (4.5), 10 -> 8 (7.5).
const std::vector<size_t> kSizes = {1, 2, 3, 4, 5, 6, 10};
const std::vector<size_t> kTrainCounts = {1, 2, 2, 3, 4, 4, 8};

TEST(StratifiedSplitTest, PerUserCountsMatchRecommenders) {
  std::vector<Interaction> input = UsersWithSizes(kSizes);
  Result<TrainTest> tt = StratifiedSplit(input, 0.75, 42);
  ASSERT_TRUE(tt.ok()) << tt.status().ToString();
  ExpectPartition(input, *tt);
  std::map<uint32_t, size_t> train = PerUser(tt->train), test = PerUser(tt->test);
  for (uint32_t u = 0; u < kSizes.size(); ++u) {
    EXPECT_EQ(train[u], kTrainCounts[u]) << "user " << u;
    EXPECT_EQ(test[u], kSizes[u] - kTrainCounts[u]) << "user " << u;
  }
}

TEST(StratifiedSplitTest, GoldenRowsForSeed) {
  // Users of 10, 4 and 6 records; the test rows below were computed by an
  // independent Python transcription of SplitMix64 + Fisher-Yates. A change
  // here changes every published split: treat it as a format break.
  std::vector<Interaction> input = UsersWithSizes({10, 4, 6});
  Result<TrainTest> tt = StratifiedSplit(input, 0.75, 42);
  ASSERT_TRUE(tt.ok());
  EXPECT_EQ(Pairs(tt->test), (std::vector<Pair>{{0, 1}, {0, 3}, {1, 2}, {2, 0}, {2, 2}}));
}

TEST(StratifiedSplitTest, SeedDeterminesTheSplit) {
  std::vector<Interaction> input = UsersWithSizes({10, 4, 6, 8, 12});
  Result<TrainTest> a = StratifiedSplit(input, 0.75, 7);
  Result<TrainTest> b = StratifiedSplit(input, 0.75, 7);
  Result<TrainTest> c = StratifiedSplit(input, 0.75, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Pairs(a->train), Pairs(b->train));
  EXPECT_EQ(Pairs(a->test), Pairs(b->test));
  EXPECT_NE(Pairs(a->test), Pairs(c->test));
  EXPECT_EQ(PerUser(a->test), PerUser(c->test));  // the counts never depend on the seed
}

TEST(ChronologicalSplitTest, EarliestGoToTrainTiesInInputOrder) {
  // User 0, (item, timestamp) in input order: (0,50) (1,10) (2,40) (3,20)
  // (4,30) (5,20). n = 6 -> 4 train. By time: 1, 3, 5 (tie with 3, later in
  // input), 4 | 2, 0.
  // User 1: four equal timestamps, n = 4 -> 3 train: input order decides.
  std::vector<Interaction> input = {
      {0, 0, 1, 50}, {0, 1, 1, 10}, {1, 10, 1, 5}, {0, 2, 1, 40}, {0, 3, 1, 20},
      {1, 11, 1, 5}, {1, 12, 1, 5}, {0, 4, 1, 30}, {0, 5, 1, 20}, {1, 13, 1, 5},
  };
  Result<TrainTest> tt = ChronologicalSplit(input, 0.75);
  ASSERT_TRUE(tt.ok()) << tt.status().ToString();
  ExpectPartition(input, *tt);
  EXPECT_EQ(Pairs(tt->train),
            (std::vector<Pair>{{0, 1}, {1, 10}, {0, 3}, {1, 11}, {1, 12}, {0, 4}, {0, 5}}));
  EXPECT_EQ(Pairs(tt->test), (std::vector<Pair>{{0, 0}, {0, 2}, {1, 13}}));
}

TEST(ChronologicalSplitTest, PerUserCountsAndNoTestRecordPrecedesTrain) {
  std::vector<Interaction> input = UsersWithSizes(kSizes);
  Result<TrainTest> tt = ChronologicalSplit(input, 0.75);
  ASSERT_TRUE(tt.ok());
  ExpectPartition(input, *tt);
  std::map<uint32_t, size_t> train = PerUser(tt->train);
  std::map<uint32_t, int64_t> latest_train;
  for (const Interaction& r : tt->train) {
    latest_train[r.user] = std::max(latest_train[r.user], r.timestamp);
  }
  for (uint32_t u = 0; u < kSizes.size(); ++u) EXPECT_EQ(train[u], kTrainCounts[u]);
  for (const Interaction& r : tt->test) EXPECT_GT(r.timestamp, latest_train[r.user]);
}

TEST(RandomSplitTest, FloorOfRatioAndGoldenRows) {
  std::vector<Interaction> input = UsersWithSizes({20});
  Result<TrainTest> tt = RandomSplit(input, 0.75, 7);
  ASSERT_TRUE(tt.ok()) << tt.status().ToString();
  ExpectPartition(input, *tt);
  EXPECT_EQ(tt->train.size(), 15u);
  // Independent Python transcription, as for the stratified golden rows.
  EXPECT_EQ(Pairs(tt->test), (std::vector<Pair>{{0, 0}, {0, 7}, {0, 10}, {0, 11}, {0, 14}}));
  Result<TrainTest> other = RandomSplit(input, 0.75, 8);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Pairs(other->test), (std::vector<Pair>{{0, 2}, {0, 4}, {0, 10}, {0, 13}, {0, 14}}));

  // sklearn's floor: 0.75 * 10 = 7.5 -> 7 train.
  Result<TrainTest> ten = RandomSplit(UsersWithSizes({10}), 0.75, 1);
  ASSERT_TRUE(ten.ok());
  EXPECT_EQ(ten->train.size(), 7u);
  EXPECT_EQ(ten->test.size(), 3u);
}

TEST(SplitTest, RejectsBadRatiosAndDegenerateRandomSplits) {
  std::vector<Interaction> input = UsersWithSizes({4});
  for (double ratio : {0.0, 1.0, -0.5, 1.5, std::nan("")}) {
    EXPECT_EQ(RandomSplit(input, ratio, 1).status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(ChronologicalSplit(input, ratio).status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(StratifiedSplit(input, ratio, 1).status().code(), Status::Code::kInvalidArgument);
  }
  EXPECT_EQ(StratifiedSplit(input, 1.5, 1).status().message(),
            "train ratio must be strictly between 0 and 1, got 1.5");
  // floor(0.75 * 1) = 0: sklearn refuses an empty train set, so do we.
  EXPECT_EQ(RandomSplit(UsersWithSizes({1}), 0.75, 1).status().message(),
            "a random split of 1 records with train ratio 0.75 leaves the train or test set empty");
}

// r0 (0,0) r1 (0,1) r2 (0,2) r3 (1,0) r4 (2,2) r5 (2,3) r6 (3,0) r7 (3,2)
// Users: u0 3, u1 1, u2 2, u3 2. Items: i0 3, i1 1, i2 3, i3 1.
std::vector<Interaction> FilterInput() {
  return {{0, 0, 1, 0}, {0, 1, 1, 0}, {0, 2, 1, 0}, {1, 0, 1, 0},
          {2, 2, 1, 0}, {2, 3, 1, 0}, {3, 0, 1, 0}, {3, 2, 1, 0}};
}

TEST(FilterByMinCountTest, OnePassCountsOnTheInput) {
  // Drops r1 (i1), r3 (u1), r5 (i3). u2 is left with one record: one pass
  // does not look again.
  EXPECT_EQ(Pairs(FilterByMinCount(FilterInput(), 2, 2)),
            (std::vector<Pair>{{0, 0}, {0, 2}, {2, 2}, {3, 0}, {3, 2}}));
}

TEST(FilterByMinCountTest, IteratedReachesTheCore) {
  // Pass 2 drops r4 (u2 now has 1); pass 3 changes nothing.
  EXPECT_EQ(Pairs(FilterByMinCount(FilterInput(), 2, 2, /*iterate=*/true)),
            (std::vector<Pair>{{0, 0}, {0, 2}, {3, 0}, {3, 2}}));
}

TEST(FilterByMinCountTest, UserOnlyMatchesRecommendersAndZeroMeansOff) {
  EXPECT_EQ(Pairs(FilterByMinCount(FilterInput(), 2, 1)),
            (std::vector<Pair>{{0, 0}, {0, 1}, {0, 2}, {2, 2}, {2, 3}, {3, 0}, {3, 2}}));
  EXPECT_EQ(FilterByMinCount(FilterInput(), 0, 0).size(), 8u);
  EXPECT_EQ(FilterByMinCount(FilterInput(), 1, 1).size(), 8u);
  EXPECT_TRUE(FilterByMinCount(FilterInput(), 4, 1).empty());
}

TEST(ColdTestRecordsTest, CountAndRemove) {
  std::vector<Interaction> train = {{0, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 1, 0}};
  // warm, cold item, cold user, both cold, warm
  std::vector<Interaction> test = {
      {0, 1, 1, 0}, {1, 2, 1, 0}, {2, 0, 1, 0}, {2, 2, 1, 0}, {1, 1, 1, 0}};
  EXPECT_EQ(CountColdTestRecords(train, test), 3u);
  EXPECT_EQ(RemoveColdTestRecords(train, &test), 3u);
  EXPECT_EQ(Pairs(test), (std::vector<Pair>{{0, 1}, {1, 1}}));
  EXPECT_EQ(CountColdTestRecords(train, test), 0u);
}

TEST(SplitDatasetTest, FiltersSplitsAndReports) {
  Dataset ds;
  ds.interactions = UsersWithSizes({1, 4, 10});
  SplitOptions opts;
  opts.method = SplitMethod::kChronological;
  opts.min_user = 2;
  SplitReport report;
  Result<TrainTest> tt = SplitDataset(ds, opts, &report);
  ASSERT_TRUE(tt.ok()) << tt.status().ToString();
  EXPECT_EQ(report.input_records, 15u);
  EXPECT_EQ(report.filtered_records, 1u);  // user 0's only record
  EXPECT_EQ(report.train_records, 3u + 8u);
  EXPECT_EQ(report.test_records, 1u + 2u);
  // Item 0 is every user's newest record, so it is in test only: (1,0), (2,0).
  EXPECT_EQ(report.cold_test_records, 2u);
  EXPECT_FALSE(report.cold_test_dropped);

  opts.drop_cold_test = true;
  tt = SplitDataset(ds, opts, &report);
  ASSERT_TRUE(tt.ok());
  EXPECT_EQ(report.cold_test_records, 2u);
  EXPECT_EQ(tt->test.size(), 1u);
  EXPECT_EQ(report.test_records, 1u);

  ds.has_timestamps = false;
  Result<TrainTest> refused = SplitDataset(ds, opts, &report);
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);

  opts.method = SplitMethod::kStratified;
  opts.min_user = 11;
  EXPECT_EQ(SplitDataset(ds, opts).status().message(),
            "no records left after the min-count filter (min_user=11, min_item=1, 15 records in)");
}

TEST(SplitDatasetTest, MethodNames) {
  for (SplitMethod m :
       {SplitMethod::kRandom, SplitMethod::kChronological, SplitMethod::kStratified}) {
    Result<SplitMethod> parsed = ParseSplitMethod(SplitMethodName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_FALSE(ParseSplitMethod("temporal").ok());
}

TEST(SplitMovieLensTest, Ml100kPerUserCounts) {
  const std::string path = MovieLensDataDir() + "/ml-100k/u.data";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not present";
  Result<Dataset> ds = LoadInteractions(path, {});
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  // sum over users of round_half_even(0.75 * n_u), computed with Python's round.
  constexpr size_t kTrain = 74992;
  Result<TrainTest> strat = StratifiedSplit(ds->interactions, 0.75, 42);
  Result<TrainTest> chrono = ChronologicalSplit(ds->interactions, 0.75);
  ASSERT_TRUE(strat.ok() && chrono.ok());
  EXPECT_EQ(strat->train.size(), kTrain);
  EXPECT_EQ(chrono->train.size(), kTrain);
  EXPECT_EQ(PerUser(strat->train), PerUser(chrono->train));
  EXPECT_EQ(strat->test.size(), 100000u - kTrain);
  // Every ml-100k user has >= 20 ratings, so both sides see every user.
  EXPECT_EQ(PerUser(strat->test).size(), 943u);
}

}  // namespace
}  // namespace reco
