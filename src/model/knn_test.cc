// Item-kNN known answers on a 4-user x 4-item matrix, by hand:
//   u0 {0, 1}, u1 {0, 1, 2}, u2 {1, 2}, u3 {3}   (binary values)
// c00 = 2, c11 = 3, c22 = 2, c33 = 1; c01 = 2, c02 = 1, c12 = 2; item 3
// co-occurs with nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "../testing/temp_dir.h"
#include "family.h"
#include "model_test_data.h"
#include "reco/recommender.h"

namespace reco {
namespace {

using model_test::Data;
using model_test::FromCells;

Data Example() {
  return FromCells(
      4, 4,
      {{0, 0, 0}, {0, 1, 0}, {1, 0, 0}, {1, 1, 0}, {1, 2, 0}, {2, 1, 0}, {2, 2, 0}, {3, 3, 0}});
}

ModelConfig Knn(KnnSimilarity s, uint32_t neighbors = 100, float shrinkage = 0) {
  ModelConfig c;
  c.family = ModelFamily::kItemKnn;
  c.values.transform = ValueTransform::kBinary;
  c.knn.similarity = s;
  c.knn.neighbors = neighbors;
  c.knn.shrinkage = shrinkage;
  return c;
}

// Neighbour rows as maps item -> similarity.
std::vector<std::map<uint32_t, float>> Neighbours(const Recommender& model) {
  auto lists = model.SimilarItems({}, model.num_items(), 1);
  EXPECT_TRUE(lists.ok()) << lists.status().ToString();
  std::vector<std::map<uint32_t, float>> out(model.num_items());
  for (uint32_t q = 0; q < lists->rows(); ++q) {
    for (uint32_t p = 0; p < lists->RowLength(q); ++p) {
      out[q][lists->Items(q)[p]] = lists->Scores(q)[p];
      if (p > 0) {
        EXPECT_GE(lists->Scores(q)[p - 1], lists->Scores(q)[p]);
      }
    }
  }
  return out;
}

void ExpectSimilarities(const ModelConfig& c, double s01, double s02, double s12) {
  Data d = Example();
  auto model = FitRecommender(c, d.fit());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const auto n = Neighbours(**model);
  ASSERT_EQ(n[0].size(), 2u);
  ASSERT_EQ(n[1].size(), 2u);
  ASSERT_EQ(n[2].size(), 2u);
  EXPECT_TRUE(n[3].empty());
  EXPECT_NEAR(n[0].at(1), s01, 1e-6);
  EXPECT_NEAR(n[1].at(0), s01, 1e-6);
  EXPECT_NEAR(n[0].at(2), s02, 1e-6);
  EXPECT_NEAR(n[2].at(0), s02, 1e-6);
  EXPECT_NEAR(n[1].at(2), s12, 1e-6);
  EXPECT_NEAR(n[2].at(1), s12, 1e-6);
}

TEST(KnnTest, Cosine) {
  // c_ij / sqrt(c_ii c_jj)
  ExpectSimilarities(Knn(KnnSimilarity::kCosine), 2 / std::sqrt(6.0), 0.5, 2 / std::sqrt(6.0));
}
TEST(KnnTest, CosineWithShrinkage) {
  ExpectSimilarities(Knn(KnnSimilarity::kCosine, 100, 1.0f), 2 / (std::sqrt(6.0) + 1), 1 / 3.0,
                     2 / (std::sqrt(6.0) + 1));
}
TEST(KnnTest, Jaccard) {
  // c_ij / (c_ii + c_jj - c_ij): 2/3, 1/3, 2/3
  ExpectSimilarities(Knn(KnnSimilarity::kJaccard), 2 / 3.0, 1 / 3.0, 2 / 3.0);
}
TEST(KnnTest, Lift) {
  // c_ij / (c_ii c_jj): 2/6, 1/4, 2/6
  ExpectSimilarities(Knn(KnnSimilarity::kLift), 1 / 3.0, 0.25, 1 / 3.0);
}

TEST(KnnTest, ScoresAreHistoryTimesNeighbours) {
  Data d = Example();
  auto model = FitRecommender(Knn(KnnSimilarity::kCosine), d.fit());
  ASSERT_TRUE(model.ok());
  EXPECT_FALSE((*model)->predicts_ratings());
  // 6 neighbour entries: 8 bytes per row offset (5) and 8 per entry.
  EXPECT_EQ((*model)->memory_bytes(), 5u * 8u + 6u * 8u);
  auto lists = (*model)->RecommendUsers({}, d.m, &d.m, 5, 1);
  ASSERT_TRUE(lists.ok()) << lists.status().ToString();
  // u0 saw {0, 1}: item 2 scores s02 + s12, item 3 nothing.
  ASSERT_EQ(lists->RowLength(0), 2u);
  EXPECT_EQ(lists->Items(0)[0], 2u);
  EXPECT_NEAR(lists->Scores(0)[0], 0.5 + 2 / std::sqrt(6.0), 1e-6);
  EXPECT_EQ(lists->Items(0)[1], 3u);
  EXPECT_EQ(lists->Scores(0)[1], 0.0f);
  // u3 saw {3}: everything else scores 0, ties by lower index.
  EXPECT_EQ(std::vector<uint32_t>(lists->Items(3).begin(), lists->Items(3).end()),
            (std::vector<uint32_t>{0, 1, 2}));

  // An anonymous history {2} (value 4, binary: 1), excluding item 0.
  CsrMatrix h;
  h.rows = 1;
  h.cols = 4;
  h.indptr = {0, 1};
  h.indices = {2};
  h.values = {4.0f};
  CsrMatrix extra = h;
  extra.indices = {0};
  uint32_t failed = 9;
  auto live = (*model)->RecommendHistories(h, &extra, 2, 2, &failed);
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(failed, 0u);
  ASSERT_EQ(live->RowLength(0), 2u);
  EXPECT_EQ(live->Items(0)[0], 1u);
  EXPECT_NEAR(live->Scores(0)[0], 2 / std::sqrt(6.0), 1e-6);
  EXPECT_EQ(live->Items(0)[1], 3u);
}

TEST(KnnTest, KeepsTheTopNeighboursTiesByLowerIndex) {
  Data d = Example();
  auto model = FitRecommender(Knn(KnnSimilarity::kCosine, 1), d.fit());
  ASSERT_TRUE(model.ok());
  const auto n = Neighbours(**model);
  // Item 0: 1 (0.816) beats 2 (0.5); item 1: 0 and 2 tie at 0.816, 0 wins;
  // item 2: 1 (0.816) beats 0.
  ASSERT_EQ(n[0].size(), 1u);
  EXPECT_EQ(n[0].begin()->first, 1u);
  ASSERT_EQ(n[1].size(), 1u);
  EXPECT_EQ(n[1].begin()->first, 0u);
  ASSERT_EQ(n[2].size(), 1u);
  EXPECT_EQ(n[2].begin()->first, 1u);
  // SimilarItems(k) is the row, cut at k.
  auto one = (*model)->SimilarItems(std::vector<uint32_t>{1}, 5, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->RowLength(0), 1u);
  EXPECT_EQ((*model)->SimilarItems(std::vector<uint32_t>{4}, 5, 1).status().code(),
            Status::Code::kInvalidArgument);
}

// u0 {0, 1} at T; u1 {0, 2} one half-life (2 days) before T, so both of its
// weights are 1/2: c00 = 1 + 1/4, c11 = 1, c22 = 1/4, c01 = 1, c02 = 1/4.
// Jaccard: s01 = 1 / (1.25 + 1 - 1) = 0.8, s02 = 0.25 / (1.25 + 0.25 - 0.25)
// = 0.2 (without decay, c_ii = 2, 1, 1 and both are 1 / (2 + 1 - 1) = 0.5).
TEST(KnnTest, TimeDecayHalvesWeightAtOneHalfLife) {
  const int64_t t = 1700000000, day = 86400;
  Data d = FromCells(2, 3, {{0, 0, t}, {0, 1, t}, {1, 0, t - 2 * day}, {1, 2, t - 2 * day}});
  ModelConfig c = Knn(KnnSimilarity::kJaccard);
  auto plain = FitRecommender(c, d.fit());
  ASSERT_TRUE(plain.ok());
  auto n = Neighbours(**plain);
  EXPECT_NEAR(n[0].at(1), 0.5, 1e-6);
  EXPECT_NEAR(n[0].at(2), 0.5, 1e-6);
  c.knn.half_life_days = 2;
  auto decayed = FitRecommender(c, d.fit());
  ASSERT_TRUE(decayed.ok()) << decayed.status().ToString();
  n = Neighbours(**decayed);
  EXPECT_NEAR(n[0].at(1), 0.8, 1e-6);
  EXPECT_NEAR(n[0].at(2), 0.2, 1e-6);
  EXPECT_NEAR(n[2].at(0), 0.2, 1e-6);
  // Two half-lives: weights 1/4, c00 = 1 + 1/16, c02 = 1/16 = c22:
  // s02 = (1/16) / (17/16 + 1/16 - 1/16) = 1/17.
  c.knn.half_life_days = 1;
  auto older = FitRecommender(c, d.fit());
  ASSERT_TRUE(older.ok());
  EXPECT_NEAR(Neighbours(**older)[0].at(2), 1 / 17.0, 1e-6);

  // Decay needs timestamps.
  Data untimed = d;
  untimed.times.clear();
  auto refused = FitRecommender(c, untimed.fit());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("half_life_days needs timestamps"), std::string::npos);
}

TEST(KnnTest, SameResultForAnyThreadCount) {
  // 40 users x 30 items, a reproducible pattern.
  std::vector<std::vector<int64_t>> cells;
  for (int u = 0; u < 40; ++u) {
    for (int i = 0; i < 30; ++i) {
      if ((u * 7 + i * 13) % 5 == 0 || (u + i) % 11 == 0) cells.push_back({u, i, 0});
    }
  }
  Data d = FromCells(40, 30, cells);
  ModelConfig c = Knn(KnnSimilarity::kCosine, 5);
  FitContext one, two;
  one.threads = 1;
  two.threads = 2;
  auto a = FitRecommender(c, d.fit(), one);
  auto b = FitRecommender(c, d.fit(), two);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Neighbours(**a), Neighbours(**b));
  for (const auto& row : Neighbours(**a)) EXPECT_LE(row.size(), 5u);
  auto la = (*a)->RecommendUsers({}, d.m, &d.m, 10, 1);
  auto lb = (*b)->RecommendUsers({}, d.m, &d.m, 10, 2);
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_EQ(la->items, lb->items);
  EXPECT_EQ(la->scores, lb->scores);
}

TEST(KnnTest, SavesAndLoads) {
  Data d = Example();
  ModelConfig c = Knn(KnnSimilarity::kLift, 2, 0.5f);
  auto model = FitRecommender(c, d.fit());
  ASSERT_TRUE(model.ok());
  const testing_util::TempDir scratch("reco-knn-test");
  const std::string path = scratch.PathOf("knn_round_trip.rcfm");
  ASSERT_TRUE(SaveRecommender(**model, path).ok());
  auto loaded = LoadRecommender(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->family(), ModelFamily::kItemKnn);
  EXPECT_EQ((*loaded)->config().ToJson(), (*model)->config().ToJson());
  EXPECT_EQ(Neighbours(**loaded), Neighbours(**model));
  EXPECT_EQ((*loaded)->memory_bytes(), (*model)->memory_bytes());
}

}  // namespace
}  // namespace reco
