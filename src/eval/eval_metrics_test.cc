#include "reco/eval_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace reco {
namespace {

constexpr double kTol = 1e-6;

CsrMatrix Matrix(uint32_t rows, uint32_t cols, std::vector<Interaction> records) {
  return CsrMatrix::FromInteractions(records, rows, cols);
}

// ---- Rating metrics ----------------------------------------------------------

TEST(RatingMetricsTest, SklearnDocExample) {
  // y = [3, -0.5, 2, 7], p = [2.5, 0, 2, 8]: residuals 0.5, -0.5, 0, -1.
  // SS_res = 1.5, mean(y) = 2.875, SS_tot = 29.1875.
  // Residual mean -0.25, centred residual squares sum to 1.25.
  const std::vector<float> truth = {3, -0.5f, 2, 7};
  const std::vector<float> pred = {2.5f, 0, 2, 8};
  auto m = ComputeRatingMetrics(truth, pred);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_NEAR(m->rmse, std::sqrt(1.5 / 4), kTol);
  EXPECT_NEAR(m->mae, 2.0 / 4, kTol);
  EXPECT_NEAR(m->r2, 1 - 1.5 / 29.1875, kTol);                   // 0.948608
  EXPECT_NEAR(m->explained_variance, 1 - 1.25 / 29.1875, kTol);  // 0.957173
}

TEST(RatingMetricsTest, ConstantOffsetIsFullyExplainedButNotR2) {
  // p = y + 1: every residual is -1, so Var(residual) = 0 -> explained variance 1;
  // R^2 = 1 - 3 / SS_tot with y = 1, 2, 3 (SS_tot = 2) = -0.5.
  const std::vector<float> truth = {1, 2, 3};
  const std::vector<float> pred = {2, 3, 4};
  auto m = ComputeRatingMetrics(truth, pred);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(m->rmse, 1.0, kTol);
  EXPECT_NEAR(m->mae, 1.0, kTol);
  EXPECT_NEAR(m->r2, -0.5, kTol);
  EXPECT_NEAR(m->explained_variance, 1.0, kTol);
}

TEST(RatingMetricsTest, ForceFiniteRulesAndSingleSample) {
  // Constant truth (SS_tot = 0): perfect predictions -> 1, imperfect -> 0.
  const std::vector<float> same = {4, 4};
  auto perfect = ComputeRatingMetrics(same, same);
  ASSERT_TRUE(perfect.ok());
  EXPECT_EQ(perfect->r2, 1.0);
  EXPECT_EQ(perfect->explained_variance, 1.0);
  EXPECT_EQ(perfect->rmse, 0.0);
  const std::vector<float> off = {3, 5};
  auto imperfect = ComputeRatingMetrics(same, off);
  ASSERT_TRUE(imperfect.ok());
  EXPECT_EQ(imperfect->r2, 0.0);
  EXPECT_EQ(imperfect->explained_variance, 0.0);
  // One sample: sklearn's r2_score returns NaN; explained variance has a zero
  // numerator and so is 1.
  const std::vector<float> one = {3};
  const std::vector<float> one_pred = {4.5f};
  auto single = ComputeRatingMetrics(one, one_pred);
  ASSERT_TRUE(single.ok());
  EXPECT_TRUE(std::isnan(single->r2));
  EXPECT_EQ(single->explained_variance, 1.0);
  EXPECT_NEAR(single->rmse, 1.5, kTol);
}

TEST(RatingMetricsTest, RejectsBadInput) {
  const std::vector<float> two = {1, 2};
  const std::vector<float> three = {1, 2, 3};
  EXPECT_EQ(ComputeRatingMetrics(two, three).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ComputeRatingMetrics({}, {}).status().code(), Status::Code::kInvalidArgument);
  const std::vector<float> with_nan = {1, NAN};
  auto status = ComputeRatingMetrics(two, with_nan).status();
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("pair 1"), std::string::npos) << status.message();
}

// ---- Ranking metrics -----------------------------------------------------------
//
// 5 users, 6 items, k = 3.
//   user 0: truth {0:5, 1:3, 2:4, 5:1} (actual 4 > k); list [1, 4, 0, 2]
//           top 3 = 1, 4, 0: hits at ranks 1 and 3.
//   user 1: truth {3:2};     list [5, 3] (shorter than k): hit at rank 2.
//   user 2: truth {4:1, 5:5}; no list (absent from predictions).
//   user 3: no truth;        list [0, 1] (absent from truth).
//   user 4: truth {2:2};     list [0, 1, 3]: no hit.
// U = {0, 1, 4} (n = 3); T = {0, 1, 2, 4} (NDCG denominator 4).
CsrMatrix ExampleTruth() {
  return Matrix(5, 6,
                {{0, 0, 5, 0},
                 {0, 1, 3, 0},
                 {0, 2, 4, 0},
                 {0, 5, 1, 0},
                 {1, 3, 2, 0},
                 {2, 4, 1, 0},
                 {2, 5, 5, 0},
                 {4, 2, 2, 0}});
}
RankedLists ExampleLists() {
  return RankedLists::FromRows({{1, 4, 0, 2}, {5, 3}, {}, {0, 1}, {0, 1, 3}});
}

const double kLn2 = std::log(2.0), kLn3 = std::log(3.0), kLn4 = std::log(4.0);

TEST(RankingMetricsTest, HandComputedExample) {
  RankingOptions options;
  options.k = 3;
  auto m = ComputeRankingMetrics(ExampleTruth(), ExampleLists(), options);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->users_evaluated, 3u);
  EXPECT_EQ(m->ndcg_users, 4u);
  // precision: (2/3 + 1/3 + 0) / 3; user 1's short list still divides by k.
  EXPECT_NEAR(m->precision_at_k, 1.0 / 3, kTol);
  // recall: (2/4 + 1/1 + 0) / 3
  EXPECT_NEAR(m->recall_at_k, 0.5, kTol);
  // reciprocal sums: user 0: 1/1 + 2/3 = 5/3; user 1: 1/2.
  // map: (5/3 / 4 + 1/2 / 1) / 3 = 11/36; map@k: (5/3 / min(4,3) + 1/2) / 3 = 19/54.
  EXPECT_NEAR(m->map, 11.0 / 36, kTol);
  EXPECT_NEAR(m->map_at_k, 19.0 / 54, kTol);
  // NDCG (binary, ln): user 0 DCG = 1/ln2 + 1/ln4, IDCG = 1/ln2 + 1/ln3 + 1/ln4;
  // user 1 DCG = 1/ln3, IDCG = 1/ln2; users 2 and 4 score 0; divided by |T| = 4.
  const double ndcg0 = (1 / kLn2 + 1 / kLn4) / (1 / kLn2 + 1 / kLn3 + 1 / kLn4);
  const double ndcg1 = kLn2 / kLn3;
  EXPECT_NEAR(m->ndcg_at_k, (ndcg0 + ndcg1) / 4, kTol);  // 0.333712
}

TEST(RankingMetricsTest, GradedRelevanceNdcg) {
  RankingOptions options;
  options.k = 3;
  options.relevance = NdcgRelevance::kRaw;
  auto raw = ComputeRankingMetrics(ExampleTruth(), ExampleLists(), options);
  ASSERT_TRUE(raw.ok());
  // User 0: hits item 1 (rating 3) at rank 1 and item 0 (rating 5) at rank 3;
  // ideal takes ratings 5, 4, 3 of {5, 3, 4, 1}. User 1: 2/ln3 over 2/ln2.
  double ndcg0 = (3 / kLn2 + 5 / kLn4) / (5 / kLn2 + 4 / kLn3 + 3 / kLn4);
  EXPECT_NEAR(raw->ndcg_at_k, (ndcg0 + kLn2 / kLn3) / 4, kTol);

  options.relevance = NdcgRelevance::kExp;  // 2^r - 1: 5 -> 31, 4 -> 15, 3 -> 7
  auto exp = ComputeRankingMetrics(ExampleTruth(), ExampleLists(), options);
  ASSERT_TRUE(exp.ok());
  ndcg0 = (7 / kLn2 + 31 / kLn4) / (31 / kLn2 + 15 / kLn3 + 7 / kLn4);
  EXPECT_NEAR(exp->ndcg_at_k, (ndcg0 + kLn2 / kLn3) / 4, kTol);

  // The base of the logarithm cancels in DCG / IDCG.
  options.discount = NdcgDiscount::kLog2;
  auto exp_log2 = ComputeRankingMetrics(ExampleTruth(), ExampleLists(), options);
  ASSERT_TRUE(exp_log2.ok());
  EXPECT_NEAR(exp_log2->ndcg_at_k, exp->ndcg_at_k, 1e-12);
  // Other metrics ignore the NDCG options.
  EXPECT_NEAR(exp->precision_at_k, 1.0 / 3, kTol);
}

TEST(RankingMetricsTest, KLargerThanListsAndTruth) {
  // k = 10: user 0's whole list counts (hits at ranks 1, 3, 4), user 1 as before.
  RankingOptions options;
  options.k = 10;
  auto m = ComputeRankingMetrics(ExampleTruth(), ExampleLists(), options);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(m->precision_at_k, (3.0 / 10 + 1.0 / 10) / 3, kTol);
  EXPECT_NEAR(m->recall_at_k, (3.0 / 4 + 1.0) / 3, kTol);
  const double rr0 = 1.0 + 2.0 / 3 + 3.0 / 4;
  EXPECT_NEAR(m->map, (rr0 / 4 + 0.5) / 3, kTol);
  EXPECT_NEAR(m->map_at_k, (rr0 / 4 + 0.5) / 3, kTol);  // min(actual, 10) = actual
  const double ndcg0 = (1 / kLn2 + 1 / kLn4 + 1 / std::log(5.0)) /
                       (1 / kLn2 + 1 / kLn3 + 1 / kLn4 + 1 / std::log(5.0));
  EXPECT_NEAR(m->ndcg_at_k, (ndcg0 + kLn2 / kLn3) / 4, kTol);
}

TEST(RankingMetricsTest, NoHitsGivesZeros) {
  const CsrMatrix truth = Matrix(2, 4, {{0, 0, 1, 0}, {1, 1, 1, 0}});
  const RankedLists lists = RankedLists::FromRows({{2, 3}, {0}});
  auto m = ComputeRankingMetrics(truth, lists, {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->users_evaluated, 2u);
  EXPECT_EQ(m->precision_at_k, 0.0);
  EXPECT_EQ(m->recall_at_k, 0.0);
  EXPECT_EQ(m->ndcg_at_k, 0.0);
  EXPECT_EQ(m->map, 0.0);
  EXPECT_EQ(m->map_at_k, 0.0);
}

TEST(RankingMetricsTest, PerfectRankingScoresOne) {
  const CsrMatrix truth = Matrix(2, 5, {{0, 1, 1, 0}, {0, 3, 1, 0}, {1, 4, 1, 0}});
  const RankedLists lists = RankedLists::FromRows({{3, 1}, {4}});
  RankingOptions options;
  options.k = 2;
  auto m = ComputeRankingMetrics(truth, lists, options);
  ASSERT_TRUE(m.ok());
  EXPECT_NEAR(m->recall_at_k, 1.0, kTol);
  EXPECT_NEAR(m->ndcg_at_k, 1.0, kTol);
  EXPECT_NEAR(m->map, 1.0, kTol);
  EXPECT_NEAR(m->map_at_k, 1.0, kTol);
  EXPECT_NEAR(m->precision_at_k, (1.0 + 0.5) / 2, kTol);  // user 1 has one item for k = 2
}

TEST(RankingMetricsTest, ListsWithMoreRowsThanTruth) {
  // Row 2 of the lists has no truth row at all: it is simply not evaluated.
  const CsrMatrix truth = Matrix(1, 3, {{0, 2, 1, 0}});
  const RankedLists lists = RankedLists::FromRows({{2}, {}, {0, 1}});
  auto m = ComputeRankingMetrics(truth, lists, {});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->users_evaluated, 1u);
  EXPECT_NEAR(m->recall_at_k, 1.0, kTol);
}

TEST(RankingMetricsTest, RejectsBadInput) {
  const CsrMatrix truth = ExampleTruth();
  RankingOptions k0;
  k0.k = 0;
  EXPECT_EQ(ComputeRankingMetrics(truth, ExampleLists(), k0).status().code(),
            Status::Code::kInvalidArgument);
  auto out_of_range = ComputeRankingMetrics(truth, RankedLists::FromRows({{9}}), {}).status();
  EXPECT_EQ(out_of_range.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(out_of_range.message().find("item 9"), std::string::npos) << out_of_range.message();
  auto repeated = ComputeRankingMetrics(truth, RankedLists::FromRows({{}, {3, 3}}), {}).status();
  EXPECT_EQ(repeated.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(repeated.message().find("row 1 repeats item 3"), std::string::npos)
      << repeated.message();
  CsrMatrix broken = truth;
  broken.indptr.pop_back();
  EXPECT_EQ(ComputeRankingMetrics(broken, ExampleLists(), {}).status().code(),
            Status::Code::kInvalidArgument);
  RankedLists bad_indptr = ExampleLists();
  bad_indptr.indptr.back() += 1;
  EXPECT_EQ(ComputeRankingMetrics(truth, bad_indptr, {}).status().code(),
            Status::Code::kInvalidArgument);
}

// ---- Coverage ------------------------------------------------------------------

TEST(CoverageTest, HandComputed) {
  // Train items {0, 1, 2}; recommended 3 three times and 0 once.
  const CsrMatrix train = Matrix(2, 5, {{0, 0, 1, 0}, {0, 1, 1, 0}, {1, 1, 1, 0}, {1, 2, 1, 0}});
  const RankedLists lists = RankedLists::FromRows({{3}, {3, 0}, {3}});
  auto c = ComputeCoverage(train, lists);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NEAR(c->catalog, 2.0 / 3, kTol);
  EXPECT_NEAR(c->distributional, -(0.75 * std::log2(0.75) + 0.25 * std::log2(0.25)), kTol);
}

TEST(CoverageTest, UniformRecommendationsHaveLog2Entropy) {
  const CsrMatrix train = Matrix(1, 4, {{0, 0, 1, 0}});
  const RankedLists lists = RankedLists::FromRows({{1, 2}, {3, 0}});
  auto c = ComputeCoverage(train, lists);
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(c->catalog, 4.0, kTol);  // can exceed 1, as in the reference
  EXPECT_NEAR(c->distributional, 2.0, kTol);
}

TEST(CoverageTest, RejectsRecommendingTrainItems) {
  const CsrMatrix train = Matrix(2, 3, {{0, 0, 1, 0}, {1, 1, 1, 0}});
  auto status = ComputeCoverage(train, RankedLists::FromRows({{2}, {1}})).status();
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("user 1"), std::string::npos) << status.message();
  const CsrMatrix empty = Matrix(1, 3, {});
  EXPECT_EQ(ComputeCoverage(empty, RankedLists::FromRows({{2}})).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace reco
