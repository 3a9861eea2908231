#include "reco/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>

namespace reco {
namespace {

// A hand-made rank-1 model: users u1 (factor 1), u2 (factor -1); items
// a, b, c with factors 3, 2, 1. Scores: u1 -> a 3, b 2, c 1; u2 -> c -1,
// b -2, a -3.
FactorModel TinyModel() {
  FactorModel m;
  m.kind = ModelKind::kExplicit;
  m.params.factors = 1;
  m.users.GetOrAdd("u1");
  m.users.GetOrAdd("u2");
  for (const char* id : {"a", "b", "c"}) m.items.GetOrAdd(id);
  m.user_factors.resize(2, 1);
  m.user_factors << 1, -1;
  m.item_factors.resize(3, 1);
  m.item_factors << 3, 2, 1;
  return m;
}

Dataset MakeData(const std::vector<std::tuple<std::string, std::string, float>>& rows) {
  Dataset d;
  for (const auto& [u, i, v] : rows) {
    d.interactions.push_back({d.users.GetOrAdd(u), d.items.GetOrAdd(i), v, 0});
  }
  return d;
}

TEST(EvaluationTest, SubsetAndMapUseExternalIds) {
  Dataset d = MakeData({{"x", "p", 1}, {"y", "q", 2}, {"x", "q", 3}});
  Dataset s = SubsetDataset(d, {d.interactions[1], d.interactions[2]});
  ASSERT_EQ(s.users.size(), 2u);
  EXPECT_EQ(s.users.External(0), "y");
  EXPECT_EQ(s.items.size(), 1u);
  EXPECT_EQ(s.interactions[1].user, 1u);  // "x" is second in the subset

  FactorModel m = TinyModel();
  Dataset other = MakeData({{"u2", "c", 4}, {"ghost", "a", 1}, {"u1", "zzz", 2}});
  MappedRecords mapped = MapToModel(*MakeAlsRecommender(m), other);
  ASSERT_EQ(mapped.records.size(), 1u);
  EXPECT_EQ(mapped.records[0].user, 1u);
  EXPECT_EQ(mapped.records[0].item, 2u);
  EXPECT_EQ(mapped.unknown_user_records, 1u);
  EXPECT_EQ(mapped.unknown_item_records, 1u);
}

// u1 saw a in train, so its ranking is b (2), c (1); u2 saw nothing: c, b, a.
// Test: u1 rated b 2.5 and the unknown item "new" 4; u2 rated a 1.
//  rating pairs (known user and item): (2.5 vs 2), (1 vs -3): RMSE =
//  sqrt((0.25 + 16) / 2), MAE = (0.5 + 4) / 2; "new" is cold.
//  k = 2: u1's top-2 {b, c} hits b; actual 2 (b and new) -> P 1/2, R 1/2.
//         u2's top-2 {c, b} has no hit -> P 0, R 0.
//  precision@2 = 0.25, recall@2 = 0.25.
//  NDCG u1: DCG = 1/ln 2, IDCG = 1/ln 2 + 1/ln 3; u2: 0.
TEST(EvaluationTest, HandComputedMetrics) {
  FactorModel m = TinyModel();
  CsrMatrix seen = CsrMatrix::FromInteractions({{0, 0, 5, 0}}, 2, 3);
  Dataset test = MakeData({{"u1", "b", 2.5f}, {"u1", "new", 4}, {"u2", "a", 1}});
  EvalOptions opts;
  opts.k = 2;
  opts.threads = 1;
  auto r = EvaluateModel(*MakeAlsRecommender(m), seen, test, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->test_records, 3u);
  EXPECT_EQ(r->cold_test_records, 1u);
  EXPECT_EQ(r->test_users, 2u);
  ASSERT_TRUE(r->has_rating_metrics);
  EXPECT_NEAR(r->rating.rmse, std::sqrt((0.25 + 16.0) / 2), 1e-6);
  EXPECT_NEAR(r->rating.mae, 2.25, 1e-6);
  EXPECT_NEAR(r->ranking.precision_at_k, 0.25, 1e-9);
  EXPECT_NEAR(r->ranking.recall_at_k, 0.25, 1e-9);
  double ndcg_u1 = (1 / std::log(2.0)) / (1 / std::log(2.0) + 1 / std::log(3.0));
  EXPECT_NEAR(r->ranking.ndcg_at_k, ndcg_u1 / 2, 1e-9);
  // Catalog coverage (Recommenders' definition): distinct recommended items
  // {b, c} over distinct items in train {a}.
  EXPECT_NEAR(r->coverage.catalog, 2.0 / 1.0, 1e-9);
}

TEST(EvaluationTest, RecommendUnseenAddsBiasesToScores) {
  FactorModel m = TinyModel();
  m.global_bias = 3;
  m.user_bias.resize(2);
  m.user_bias << 0.5f, 0;
  m.item_bias.resize(3);
  m.item_bias << 0, 0, 10;  // c jumps to the top for u1: 1 + 10 > 3
  CsrMatrix seen = CsrMatrix::FromInteractions({}, 2, 3);
  auto lists = RecommendUnseen(*MakeAlsRecommender(m), seen, {0}, 2, 1);
  ASSERT_TRUE(lists.ok());
  ASSERT_EQ(lists->RowLength(0), 2u);
  EXPECT_EQ(lists->Items(0)[0], 2u);
  EXPECT_FLOAT_EQ(lists->Scores(0)[0], 3 + 0.5f + 10 + 1);
  EXPECT_EQ(lists->Items(0)[1], 0u);
  EXPECT_FLOAT_EQ(lists->Scores(0)[1], 3 + 0.5f + 0 + 3);
  EXPECT_FLOAT_EQ(m.Predict(0, 2), lists->Scores(0)[0]);
}

TEST(EvaluationTest, RejectsMismatchedSeenMatrix) {
  FactorModel m = TinyModel();
  CsrMatrix wrong = CsrMatrix::FromInteractions({}, 5, 3);
  auto lists = RecommendUnseen(*MakeAlsRecommender(m), wrong, {}, 2, 1);
  ASSERT_FALSE(lists.ok());
  EXPECT_NE(lists.status().message().find("5x3"), std::string::npos);
}

}  // namespace
}  // namespace reco
