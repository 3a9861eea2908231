// Implicit ALS with Rendle et al. 2022's nu and alpha0 (row_solver.h states
// the normal equations): defaults are HKV bit for bit, both solvers agree
// with an exact dense solve of the weighted objective, and extreme but
// allowed values give finite models.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <string>
#include <vector>

#include "model_test_data.h"
#include "reco/als.h"
#include "reco/fold_in.h"
#include "reco/recommender.h"
#include "row_solver.h"

namespace reco {
namespace {

using model_test::RandomMatrix;
using model_test::SequentialIds;

using Eigen::Index;

// ---- HKV as it was before nu / alpha0 (verbatim), the bit-for-bit reference --

void LegacyCholeskyRow(std::span<const uint32_t> cols, std::span<const float> values,
                       const FactorMatrix& other, const Eigen::MatrixXf& gram_reg, float alpha,
                       row_solver::Workspace& ws, float* out) {
  const Index k = other.cols();
  const Index n = static_cast<Index>(cols.size());
  Eigen::Map<Eigen::RowVectorXf> x(out, k);
  if (n == 0) {
    x.setZero();
    return;
  }
  ws.a = gram_reg;
  ws.b.setZero();
  for (Index start = 0; start < n; start += row_solver::kGatherRows) {
    const Index count = std::min(row_solver::kGatherRows, n - start);
    for (Index j = 0; j < count; ++j) {
      const uint32_t col = cols[static_cast<size_t>(start + j)];
      const float value = values[static_cast<size_t>(start + j)];
      const float extra = alpha * std::fabs(value);
      ws.gathered.row(j) = std::sqrt(extra) * other.row(col);
      if (value > 0) ws.b.noalias() += (1.0f + extra) * other.row(col).transpose();
    }
    ws.a.selfadjointView<Eigen::Lower>().rankUpdate(ws.gathered.topRows(count).transpose());
  }
  row_solver::SolveSymmetric(ws);
  x = ws.x.transpose();
}

void LegacyCgRow(std::span<const uint32_t> cols, std::span<const float> values,
                 const FactorMatrix& other, const Eigen::MatrixXf& gram_reg, float alpha,
                 uint32_t cg_steps, row_solver::Workspace& ws, float* inout) {
  const Index k = other.cols();
  Eigen::Map<Eigen::VectorXf> x(inout, k);
  if (cols.empty()) {
    x.setZero();
    return;
  }
  ws.r.noalias() = gram_reg * x;
  ws.r = -ws.r;
  for (size_t n = 0; n < cols.size(); ++n) {
    const auto y = other.row(cols[n]);
    const float value = values[n];
    const float extra = alpha * std::fabs(value);
    const float target = value > 0 ? 1.0f + extra : 0.0f;
    ws.r.noalias() += (target - extra * y.dot(x)) * y.transpose();
  }
  ws.p = ws.r;
  float rs_old = ws.r.squaredNorm();
  if (rs_old < 1e-20f) return;
  for (uint32_t step = 0; step < cg_steps; ++step) {
    ws.ap.noalias() = gram_reg * ws.p;
    for (size_t n = 0; n < cols.size(); ++n) {
      const auto y = other.row(cols[n]);
      const float extra = alpha * std::fabs(values[n]);
      ws.ap.noalias() += (extra * y.dot(ws.p)) * y.transpose();
    }
    const float step_size = rs_old / ws.p.dot(ws.ap);
    x.noalias() += step_size * ws.p;
    ws.r.noalias() -= step_size * ws.ap;
    const float rs_new = ws.r.squaredNorm();
    if (rs_new < 1e-20f) break;
    ws.p = ws.r + (rs_new / rs_old) * ws.p;
    rs_old = rs_new;
  }
}

void LegacyHalfSweep(const CsrMatrix& m, const FactorMatrix& other, const AlsOptions& o,
                     FactorMatrix* own) {
  Eigen::MatrixXf gram;
  row_solver::ComputeGram(other, 1, &gram);
  gram.diagonal().array() += o.regularization;
  row_solver::Workspace ws(o.factors);
  for (uint32_t r = 0; r < m.rows; ++r) {
    const uint64_t b = m.indptr[r], e = m.indptr[r + 1];
    std::span<const uint32_t> cols(m.indices.data() + b, e - b);
    std::span<const float> values(m.values.data() + b, e - b);
    float* out = own->row(r).data();
    if (o.implicit_solver == ImplicitSolver::kCholesky) {
      LegacyCholeskyRow(cols, values, other, gram, o.alpha, ws, out);
    } else {
      LegacyCgRow(cols, values, other, gram, o.alpha, o.cg_steps, ws, out);
    }
  }
}

TEST(ImplicitAlsTest, DefaultsAreHkvBitForBit) {
  // Rows longer than the 128-row gather block, and a negative value
  // (confidence from |r|, preference 0).
  CsrMatrix m = RandomMatrix(40, 300, 0.5, 3);
  m.values[5] = -2.0f;
  for (ImplicitSolver solver : {ImplicitSolver::kCholesky, ImplicitSolver::kConjugateGradient}) {
    AlsOptions o;
    o.implicit = true;
    o.factors = 7;
    o.alpha = 3.0f;
    o.regularization = 0.2f;
    o.implicit_solver = solver;
    o.threads = 2;
    ASSERT_EQ(o.nu, 0.0f);
    ASSERT_EQ(o.alpha0, 1.0f);
    auto trainer = AlsTrainer::Create(m, SequentialIds(40, "u"), SequentialIds(300, "i"), o);
    ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
    FactorMatrix users = trainer->model().user_factors;
    FactorMatrix items = trainer->model().item_factors;
    const CsrMatrix t = m.Transposed();
    for (int it = 0; it < 3; ++it) {
      trainer->Iterate(/*compute_loss=*/false);
      LegacyHalfSweep(m, items, o, &users);
      LegacyHalfSweep(t, users, o, &items);
      ASSERT_TRUE(trainer->model().user_factors == users)
          << ImplicitSolverName(solver) << " iteration " << it;
      ASSERT_TRUE(trainer->model().item_factors == items)
          << ImplicitSolverName(solver) << " iteration " << it;
    }
  }
}

// ---- known answers against an exact dense solve --------------------------------

// argmin_x sum_i w_i (p_i - x.y_i)^2 + lambda_u |x|^2 over ALL columns of
// `values` (a dense row: 0 = unobserved), in double, from the definition.
Eigen::VectorXd ExactRow(const Eigen::VectorXd& values, const Eigen::MatrixXd& y, double alpha,
                         double alpha0, double lambda, double nu) {
  const Index k = y.cols();
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(k, k);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
  int observed = 0;
  for (Index i = 0; i < values.size(); ++i) {
    const bool seen = values[i] != 0;
    observed += seen;
    const double w = seen ? 1 + alpha * std::fabs(values[i]) : alpha0;
    const double p = values[i] > 0 ? 1 : 0;
    a += w * y.row(i).transpose() * y.row(i);
    b += w * p * y.row(i).transpose();
  }
  if (observed == 0) return Eigen::VectorXd::Zero(k);
  a.diagonal().array() += lambda * std::pow(observed + alpha0 * values.size(), nu);
  return a.ldlt().solve(b);
}

struct WeightCase {
  float nu;
  float alpha0;
};

class ImplicitKnownAnswerTest : public ::testing::TestWithParam<WeightCase> {};

TEST_P(ImplicitKnownAnswerTest, BothSolversMatchTheExactWeightedSolve) {
  const auto [nu, alpha0] = GetParam();
  // 3 users x 4 items; user 2 has a negative value (preference 0).
  //        i0   i1   i2   i3
  const double dense[3][4] = {{1, 0, 3, 0}, {0, 2, 0, 1}, {4, 0, -1, 2}};
  std::vector<Interaction> cells;
  for (uint32_t u = 0; u < 3; ++u) {
    for (uint32_t i = 0; i < 4; ++i) {
      if (dense[u][i] != 0) cells.push_back({u, i, static_cast<float>(dense[u][i]), 0});
    }
  }
  const CsrMatrix m = CsrMatrix::FromInteractions(cells, 3, 4);
  Eigen::MatrixXd y(4, 2);
  y << 0.5, -1.0, 1.5, 0.25, -0.75, 0.5, 1.0, 2.0;

  for (ImplicitSolver solver : {ImplicitSolver::kCholesky, ImplicitSolver::kConjugateGradient}) {
    AlsOptions o;
    o.implicit = true;
    o.factors = 2;
    o.alpha = 1.0f;
    o.regularization = 0.3f;
    o.nu = nu;
    o.alpha0 = alpha0;
    o.implicit_solver = solver;
    o.cg_steps = 8;  // far past the dimension: converged up to rounding
    o.threads = 1;
    auto trainer = AlsTrainer::Create(m, SequentialIds(3, "u"), SequentialIds(4, "i"), o);
    ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
    trainer->mutable_model().item_factors = y.cast<float>();
    trainer->UpdateUsers();
    const FactorMatrix x = trainer->model().user_factors;
    for (uint32_t u = 0; u < 3; ++u) {
      Eigen::VectorXd row(4);
      for (int i = 0; i < 4; ++i) row[i] = dense[u][i];
      const Eigen::VectorXd want = ExactRow(row, y, 1.0, alpha0, 0.3, nu);
      for (int f = 0; f < 2; ++f) {
        EXPECT_NEAR(x(u, f), want[f], 1e-5) << ImplicitSolverName(solver) << " user " << u;
      }
    }
    // Items against those users: the same system transposed, lambda_i from
    // |U_i| + alpha0 |U|.
    trainer->UpdateItems();
    const Eigen::MatrixXd xd = x.cast<double>();
    for (uint32_t i = 0; i < 4; ++i) {
      Eigen::VectorXd column(3);
      for (int u = 0; u < 3; ++u) column[u] = dense[u][i];
      const Eigen::VectorXd want = ExactRow(column, xd, 1.0, alpha0, 0.3, nu);
      for (int f = 0; f < 2; ++f) {
        EXPECT_NEAR(trainer->model().item_factors(i, f), want[f], 1e-5)
            << ImplicitSolverName(solver) << " item " << i;
      }
    }
  }
}

// alpha0 = 3 > c = 2 for the value 1 entries: negative weights (the downdate).
INSTANTIATE_TEST_SUITE_P(Weights, ImplicitKnownAnswerTest,
                         ::testing::Values(WeightCase{0.0f, 1.0f}, WeightCase{0.5f, 0.1f},
                                           WeightCase{1.0f, 3.0f}, WeightCase{0.0f, 0.01f}));

TEST(ImplicitAlsTest, ConjugateGradientAgreesWithCholeskyWithNuAndAlpha0) {
  CsrMatrix m = RandomMatrix(80, 50, 0.1, 21);
  AlsOptions o;
  o.implicit = true;
  o.factors = 6;
  o.iterations = 6;
  o.regularization = 0.01f;
  o.alpha = 2.0f;
  o.nu = 0.7f;
  o.alpha0 = 0.05f;
  o.implicit_solver = ImplicitSolver::kCholesky;
  auto exact = TrainAls(m, SequentialIds(80, "u"), SequentialIds(50, "i"), o);
  o.implicit_solver = ImplicitSolver::kConjugateGradient;
  o.cg_steps = 12;
  auto cg = TrainAls(m, SequentialIds(80, "u"), SequentialIds(50, "i"), o);
  ASSERT_TRUE(exact.ok() && cg.ok());
  double worst = 0;
  for (uint32_t u = 0; u < m.rows; ++u) {
    for (uint32_t i = 0; i < m.cols; ++i) {
      worst = std::max(worst, double{std::fabs(exact->Predict(u, i) - cg->Predict(u, i))});
    }
  }
  EXPECT_LT(worst, 1e-3);
}

TEST(ImplicitAlsTest, LossNeverIncreasesWithNuAndAlpha0) {
  CsrMatrix m = RandomMatrix(60, 40, 0.15, 8);
  AlsOptions o;
  o.implicit = true;
  o.factors = 5;
  o.iterations = 8;
  o.nu = 1.0f;
  o.alpha0 = 0.2f;
  o.regularization = 0.001f;
  o.implicit_solver = ImplicitSolver::kCholesky;
  std::vector<double> losses;
  auto model =
      TrainAls(m, SequentialIds(60, "u"), SequentialIds(40, "i"), o,
               [&](const IterationStats& s, const FactorModel&) { losses.push_back(s.loss); });
  ASSERT_TRUE(model.ok());
  for (size_t n = 1; n < losses.size(); ++n) {
    EXPECT_LE(losses[n], losses[n - 1] * (1 + 1e-5)) << "iteration " << n + 1;
  }
}

TEST(ImplicitAlsTest, FoldInIsTheTrainersRowSolveToTheBit) {
  CsrMatrix m = RandomMatrix(30, 200, 0.4, 5);
  AlsOptions o;
  o.implicit = true;
  o.factors = 6;
  o.iterations = 3;
  o.nu = 0.5f;
  o.alpha0 = 0.3f;
  o.implicit_solver = ImplicitSolver::kCholesky;
  o.threads = 2;
  auto trainer = AlsTrainer::Create(m, SequentialIds(30, "u"), SequentialIds(200, "i"), o);
  ASSERT_TRUE(trainer.ok());
  for (uint32_t it = 0; it < o.iterations; ++it) trainer->Iterate(false);
  trainer->UpdateUsers();
  FoldIn fold_in(trainer->model());
  std::vector<float> x(o.factors);
  for (uint32_t u = 0; u < m.rows; ++u) {
    const uint64_t b = m.indptr[u], e = m.indptr[u + 1];
    ASSERT_TRUE(fold_in
                    .SolveUser({m.indices.data() + b, size_t(e - b)},
                               {m.values.data() + b, size_t(e - b)}, x.data(), nullptr)
                    .ok());
    for (uint32_t f = 0; f < o.factors; ++f) {
      EXPECT_EQ(x[f], trainer->model().user_factors(u, f)) << "user " << u << " factor " << f;
    }
  }
}

// ---- extreme but allowed values ----------------------------------------------

TEST(ImplicitAlsTest, OneRatingAtTheBoundGivesAFiniteModel) {
  CsrMatrix m = RandomMatrix(20, 15, 0.3, 2);
  m.values[7] = kMaxInteractionValue;
  m.values[11] = -kMaxInteractionValue;
  const IdMap users = SequentialIds(20, "u"), items = SequentialIds(15, "i");
  struct Case {
    ModelFamily family;
    bool biases;
    ValueTransform transform;
    ImplicitSolver solver;
    float alpha, nu, alpha0;
  };
  const Case cases[] = {
      {ModelFamily::kExplicitAls, false, ValueTransform::kRaw, ImplicitSolver::kCholesky, 1, 0, 1},
      {ModelFamily::kExplicitAls, true, ValueTransform::kRaw, ImplicitSolver::kCholesky, 1, 0, 1},
      {ModelFamily::kImplicitAls, false, ValueTransform::kRaw, ImplicitSolver::kCholesky, 40, 0, 1},
      {ModelFamily::kImplicitAls, false, ValueTransform::kRaw, ImplicitSolver::kConjugateGradient,
       40, 0, 1},
      // alpha at its bound on a value at its bound: c = 1e12.
      {ModelFamily::kImplicitAls, false, ValueTransform::kRaw, ImplicitSolver::kConjugateGradient,
       1e6f, 0, 1},
      {ModelFamily::kImplicitAls, false, ValueTransform::kRaw, ImplicitSolver::kCholesky, 1e6f, 1,
       0.01f},
      {ModelFamily::kImplicitAls, false, ValueTransform::kBinary, ImplicitSolver::kCholesky, 40, 0,
       1},
      {ModelFamily::kImplicitAls, false, ValueTransform::kLog, ImplicitSolver::kConjugateGradient,
       40, 0.5f, 0.1f},
  };
  for (const Case& c : cases) {
    ModelConfig config;
    config.family = c.family;
    config.als.implicit = c.family == ModelFamily::kImplicitAls;
    config.als.use_biases = c.biases;
    config.als.factors = 4;
    config.als.iterations = 10;
    config.als.alpha = c.alpha;
    config.als.nu = c.nu;
    config.als.alpha0 = c.alpha0;
    config.als.implicit_solver = c.solver;
    config.values.transform = c.transform;
    SCOPED_TRACE(config.ToJson());
    auto fitted = FitRecommender(config, {&m, &users, &items}, {});
    EXPECT_TRUE(fitted.ok()) << fitted.status().ToString();
    if (!fitted.ok()) continue;
    EXPECT_TRUE((*fitted)->CheckFinite().ok());
    // Its recommendations and a history holding the extreme value are finite too.
    auto lists = (*fitted)->RecommendUsers({}, m, &m, 5, 1);
    ASSERT_TRUE(lists.ok());
    for (float s : lists->scores) EXPECT_TRUE(std::isfinite(s));
    auto histories = (*fitted)->RecommendHistories(m, nullptr, 5, 1, nullptr);
    ASSERT_TRUE(histories.ok());
    for (float s : histories->scores) EXPECT_TRUE(std::isfinite(s));
  }
}

TEST(ImplicitAlsTest, RejectsOutOfRangeNuAlpha0AndAlpha) {
  CsrMatrix m = RandomMatrix(5, 5, 0.5, 1);
  auto train = [&](float nu, float alpha0, float alpha) {
    AlsOptions o;
    o.implicit = true;
    o.factors = 2;
    o.iterations = 1;
    o.nu = nu;
    o.alpha0 = alpha0;
    o.alpha = alpha;
    return TrainAls(m, SequentialIds(5, "u"), SequentialIds(5, "i"), o).status();
  };
  EXPECT_TRUE(train(0.5f, 0.5f, 1).ok());
  EXPECT_NE(train(-0.1f, 1, 1).message().find("nu must be in [0"), std::string::npos);
  EXPECT_NE(train(5, 1, 1).message().find("nu must be in [0"), std::string::npos);
  EXPECT_NE(train(0, 0, 1).message().find("alpha0 must be in (0"), std::string::npos);
  EXPECT_NE(train(0, NAN, 1).message().find("alpha0"), std::string::npos);
  EXPECT_NE(train(0, 1, 2e6f).message().find("alpha must be in [0"), std::string::npos);
}

}  // namespace
}  // namespace reco
