// EASE known answers: B = I - P diag(1/diag P), P = (X^T X + lambda I)^-1,
// by hand on a symmetric example and against an independent dense inverse
// (Gauss-Jordan here, not the fit's LAPACK Cholesky) on an asymmetric one.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
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
using model_test::FromDense;

using Dense = std::vector<std::vector<double>>;

// Gauss-Jordan with partial pivoting: the reference inverse.
Dense Inverse(Dense a) {
  const size_t n = a.size();
  Dense inv(n, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i) inv[i][i] = 1.0;
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < n; ++r) {
      if (std::fabs(a[r][c]) > std::fabs(a[pivot][c])) pivot = r;
    }
    std::swap(a[c], a[pivot]);
    std::swap(inv[c], inv[pivot]);
    const double d = a[c][c];
    for (size_t j = 0; j < n; ++j) {
      a[c][j] /= d;
      inv[c][j] /= d;
    }
    for (size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c];
      for (size_t j = 0; j < n; ++j) {
        a[r][j] -= f * a[c][j];
        inv[r][j] -= f * inv[c][j];
      }
    }
  }
  return inv;
}

ModelConfig Ease(float lambda, ValueTransform t) {
  ModelConfig c;
  c.family = ModelFamily::kEase;
  c.ease.lambda = lambda;
  c.values.transform = t;
  return c;
}

// B as the model reports it: SimilarItems(q) over every other item is row q.
std::vector<std::vector<double>> WeightsOf(const Recommender& model) {
  const uint32_t n = model.num_items();
  std::vector<std::vector<double>> b(n, std::vector<double>(n, 0.0));
  auto lists = model.SimilarItems({}, n, 1);
  EXPECT_TRUE(lists.ok()) << lists.status().ToString();
  for (uint32_t q = 0; q < n; ++q) {
    EXPECT_EQ(lists->RowLength(q), n - 1);
    for (uint32_t p = 0; p < lists->RowLength(q); ++p) {
      EXPECT_NE(lists->Items(q)[p], q);
      b[q][lists->Items(q)[p]] = lists->Scores(q)[p];
    }
  }
  return b;
}

// X = [[1,1,0],[1,0,1],[0,1,1],[1,1,1]], lambda 1: G + I = 2I + 2J, whose
// inverse is 0.5 I - 0.125 J, so P_ii = 0.375, P_ij = -0.125 and every
// off-diagonal B_ij = 0.125 / 0.375 = 1/3.
TEST(EaseTest, HandComputedWeights) {
  Data d = FromDense({{1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}});
  auto model = FitRecommender(Ease(1.0f, ValueTransform::kBinary), d.fit());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->family(), ModelFamily::kEase);
  EXPECT_FALSE((*model)->predicts_ratings());
  EXPECT_EQ((*model)->memory_bytes(), 9u * 4u);
  const auto b = WeightsOf(**model);
  for (uint32_t i = 0; i < 3; ++i) {
    for (uint32_t j = 0; j < 3; ++j) {
      if (i != j) {
        EXPECT_NEAR(b[i][j], 1.0 / 3.0, 1e-6) << i << "," << j;
      }
    }
  }
  // User 0 saw items 0 and 1: item 2 scores B_02 + B_12 = 2/3.
  auto lists = (*model)->RecommendUsers({}, d.m, &d.m, 5, 1);
  ASSERT_TRUE(lists.ok());
  ASSERT_EQ(lists->RowLength(0), 1u);
  EXPECT_EQ(lists->Items(0)[0], 2u);
  EXPECT_NEAR(lists->Scores(0)[0], 2.0 / 3.0, 1e-6);
  EXPECT_EQ(lists->RowLength(3), 0u);  // user 3 saw everything
  std::vector<float> out(1);
  EXPECT_EQ(
      (*model)->PredictRatings(std::vector<uint32_t>{0}, std::vector<uint32_t>{0}, out).code(),
      Status::Code::kFailedPrecondition);
}

// Raw values, an asymmetric B, against a dense inverse in double.
TEST(EaseTest, MatchesDenseInverse) {
  const std::vector<std::vector<float>> x = {{5, 0, 1, 0, 2}, {0, 3, 0, 4, 0}, {2, 2, 2, 0, 0},
                                             {0, 0, 1, 1, 5}, {4, 0, 0, 3, 1}, {1, 1, 0, 0, 0}};
  const double lambda = 2.5;
  Data d = FromDense(x);
  auto model = FitRecommender(Ease(2.5f, ValueTransform::kRaw), d.fit());
  ASSERT_TRUE(model.ok()) << model.status().ToString();

  Dense g(5, std::vector<double>(5, 0.0));
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 5; ++j) {
      for (int u = 0; u < 6; ++u) g[i][j] += double{x[u][i]} * x[u][j];
    }
    g[i][i] += lambda;
  }
  const Dense p = Inverse(g);
  Dense want(5, std::vector<double>(5, 0.0));
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) want[i][j] = i == j ? 0.0 : -p[i][j] / p[j][j];
  const auto b = WeightsOf(**model);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_NEAR(b[i][j], want[i][j], 1e-6) << i << "," << j;
  EXPECT_GT(std::fabs(want[0][4] - want[4][0]), 1e-3);  // the test does see asymmetry

  // Scores of known users are x_u B over the unseen items.
  Dense scores(6, std::vector<double>(5, 0.0));
  for (int u = 0; u < 6; ++u)
    for (int j = 0; j < 5; ++j)
      for (int i = 0; i < 5; ++i) scores[u][j] += x[u][i] * want[i][j];
  auto lists = (*model)->RecommendUsers({}, d.m, &d.m, 5, 1);
  ASSERT_TRUE(lists.ok());
  for (uint32_t u = 0; u < 6; ++u) {
    uint32_t unseen = 0;
    for (float v : x[u]) unseen += v == 0;
    ASSERT_EQ(lists->RowLength(u), unseen);
    for (uint32_t p2 = 0; p2 < unseen; ++p2) {
      EXPECT_NEAR(lists->Scores(u)[p2], scores[u][lists->Items(u)[p2]], 1e-5);
      if (p2 > 0) {
        EXPECT_GE(lists->Scores(u)[p2 - 1], lists->Scores(u)[p2]);
      }
    }
  }

  // The same rows as histories (the real-time path) give the same lists, and
  // so do other thread counts and a subset of users.
  auto histories = (*model)->RecommendHistories(d.m, nullptr, 5, 2, nullptr);
  ASSERT_TRUE(histories.ok());
  auto threaded = (*model)->RecommendUsers({}, d.m, &d.m, 5, 2);
  ASSERT_TRUE(threaded.ok());
  const std::vector<uint32_t> some = {4, 1};
  auto subset = (*model)->RecommendUsers(some, d.m, &d.m, 5, 1);
  ASSERT_TRUE(subset.ok());
  for (uint32_t u = 0; u < 6; ++u) {
    EXPECT_EQ(std::vector<uint32_t>(histories->Items(u).begin(), histories->Items(u).end()),
              std::vector<uint32_t>(lists->Items(u).begin(), lists->Items(u).end()));
    EXPECT_EQ(std::vector<float>(threaded->Scores(u).begin(), threaded->Scores(u).end()),
              std::vector<float>(lists->Scores(u).begin(), lists->Scores(u).end()));
  }
  for (uint32_t r = 0; r < some.size(); ++r) {
    EXPECT_EQ(std::vector<uint32_t>(subset->Items(r).begin(), subset->Items(r).end()),
              std::vector<uint32_t>(lists->Items(some[r]).begin(), lists->Items(some[r]).end()));
  }
}

TEST(EaseTest, HistoriesExcludeAndCountFailures) {
  Data d = FromDense({{1, 1, 0, 0}, {1, 0, 1, 0}, {0, 1, 1, 1}, {1, 1, 1, 0}});
  auto model = FitRecommender(Ease(0.5f, ValueTransform::kBinary), d.fit());
  ASSERT_TRUE(model.ok());
  // Row 0: an anonymous session {item 0}; row 1: a value that is not finite.
  CsrMatrix h;
  h.rows = 2;
  h.cols = 4;
  h.indptr = {0, 1, 2};
  h.indices = {0, 1};
  h.values = {3.0f, std::numeric_limits<float>::infinity()};
  CsrMatrix extra;
  extra.rows = 2;
  extra.cols = 4;
  extra.indptr = {0, 1, 1};
  extra.indices = {2};
  extra.values = {1.0f};
  uint32_t failed = 0;
  auto lists = (*model)->RecommendHistories(h, &extra, 10, 1, &failed);
  ASSERT_TRUE(lists.ok()) << lists.status().ToString();
  EXPECT_EQ(failed, 1u);
  EXPECT_EQ(lists->RowLength(1), 0u);
  // Item 0 itself and the extra exclusion (2) are never returned; the
  // binary transform makes the value 3 count as 1: scores are row 0 of B.
  auto similar = (*model)->SimilarItems(std::vector<uint32_t>{0}, 3, 1);
  ASSERT_TRUE(similar.ok());
  std::map<uint32_t, float> b0;
  for (uint32_t p = 0; p < 3; ++p) b0[similar->Items(0)[p]] = similar->Scores(0)[p];
  ASSERT_EQ(lists->RowLength(0), 2u);
  for (uint32_t p = 0; p < 2; ++p) {
    const uint32_t item = lists->Items(0)[p];
    EXPECT_TRUE(item == 1 || item == 3) << item;
    EXPECT_EQ(lists->Scores(0)[p], b0[item]);
  }
  // Unsorted columns are refused, not scored.
  h.indices = {1, 0};
  h.indptr = {0, 2, 2};
  h.values = {1.0f, 1.0f};
  EXPECT_EQ((*model)->RecommendHistories(h, nullptr, 10, 1, nullptr).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ((*model)->SimilarItems(std::vector<uint32_t>{4}, 3, 1).status().code(),
            Status::Code::kInvalidArgument);
  // Known users: a matrix of another shape, an unknown user, a bad column.
  CsrMatrix wrong = d.m;
  wrong.cols = 5;
  EXPECT_EQ((*model)->RecommendUsers({}, wrong, nullptr, 2, 1).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ((*model)->RecommendUsers(std::vector<uint32_t>{4}, d.m, nullptr, 2, 1).status().code(),
            Status::Code::kInvalidArgument);
  CsrMatrix bad = d.m;
  bad.indices[1] = 7;
  auto r = (*model)->RecommendUsers(std::vector<uint32_t>{0}, bad, nullptr, 2, 1);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("row 0 column 7 is out of range"), std::string::npos)
      << r.status().message();
}

TEST(EaseTest, RefusesWhenOverTheMemoryLimit) {
  Data d = FromDense({{1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}});
  ModelConfig c = Ease(1.0f, ValueTransform::kBinary);
  // 12 bytes per item^2, plus the item-major copy: 8 per entry and 8 per item + 8.
  const FitCost cost = EstimateFitCost(c, 4, 3, d.m.nnz());
  EXPECT_EQ(cost.peak_bytes, 12u * 9u + 8u * 9u + 8u * 4u);
  EXPECT_GT(cost.flops, 27.0);
  c.ease.max_memory_bytes = cost.peak_bytes - 1;
  auto refused = FitRecommender(c, d.fit());
  ASSERT_EQ(refused.status().code(), Status::Code::kResourceExhausted);
  const std::string& msg = refused.status().message();
  EXPECT_NE(msg.find("catalogue of 3 items"), std::string::npos) << msg;
  EXPECT_NE(msg.find("memory limit of 0.0 MiB (--max-memory)"), std::string::npos) << msg;
  c.ease.max_memory_bytes = cost.peak_bytes;
  EXPECT_TRUE(FitRecommender(c, d.fit()).ok());
  // The default limit (half of physical memory) takes this easily.
  c.ease.max_memory_bytes = 0;
  EXPECT_TRUE(FitRecommender(c, d.fit()).ok());
}

TEST(EaseTest, ReportsProgressAndSavesAndLoads) {
  Data d = FromDense({{5, 0, 1, 0, 2}, {0, 3, 0, 4, 0}, {2, 2, 2, 0, 0}, {0, 0, 1, 1, 5}});
  FitContext ctx;
  std::vector<std::string> steps;
  ctx.progress = [&](const FitProgress& p) {
    EXPECT_EQ(p.total, 4u);
    steps.push_back(p.status);
  };
  auto model = FitRecommender(Ease(3.0f, ValueTransform::kLog), d.fit(), ctx);
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(steps, (std::vector<std::string>{"gram 5 x 5", "factorised 5 x 5", "inverted 5 x 5",
                                             "weights 5 x 5"}));
  (*model)->set_metadata_json(R"({"n":1})");
  const testing_util::TempDir scratch("reco-ease-test");
  const std::string path = scratch.PathOf("ease_round_trip.rcfm");
  ASSERT_TRUE(SaveRecommender(**model, path).ok());
  auto loaded = LoadRecommender(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->family(), ModelFamily::kEase);
  EXPECT_EQ((*loaded)->config().ToJson(), (*model)->config().ToJson());
  EXPECT_EQ((*loaded)->config().values.transform, ValueTransform::kLog);
  EXPECT_EQ((*loaded)->metadata_json(), R"({"n":1})");
  EXPECT_EQ(WeightsOf(**loaded), WeightsOf(**model));
}

}  // namespace
}  // namespace reco
