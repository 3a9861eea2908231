#include "reco/als.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "model_test_data.h"

namespace reco {
namespace {

using model_test::RandomMatrix;
using model_test::SequentialIds;

CsrMatrix Matrix(uint32_t rows, uint32_t cols, const std::vector<Interaction>& cells) {
  return CsrMatrix::FromInteractions(cells, rows, cols);
}

AlsTrainer MakeTrainer(const CsrMatrix& m, const AlsOptions& o) {
  auto trainer = AlsTrainer::Create(m, SequentialIds(m.rows, "u"), SequentialIds(m.cols, "i"), o);
  EXPECT_TRUE(trainer.ok()) << trainer.status().ToString();
  return std::move(trainer).value();
}

Result<FactorModel> Train(const CsrMatrix& m, const AlsOptions& o,
                          const IterationCallback& cb = nullptr) {
  return TrainAls(m, SequentialIds(m.rows, "u"), SequentialIds(m.cols, "i"), o, cb);
}

// The 2 x 2 example used by the hand-derived tests:
//   user 0 rated item 0 = 5 and item 1 = 3; user 1 rated item 0 = 4.
CsrMatrix TwoByTwo() { return Matrix(2, 2, {{0, 0, 5, 0}, {0, 1, 3, 0}, {1, 0, 4, 0}}); }

TEST(AlsExplicitTest, OneIterationMatchesHandDerivation) {
  AlsOptions o;
  o.factors = 1;
  o.regularization = 0.1f;
  o.threads = 1;
  CsrMatrix m = TwoByTwo();
  AlsTrainer trainer = MakeTrainer(m, o);
  trainer.mutable_model().item_factors << 1.0f, 2.0f;  // y0 = 1, y1 = 2

  // x_u = sum_i r_ui y_i / (sum_i y_i^2 + lambda n_u):
  //   x0 = (5*1 + 3*2) / (1 + 4 + 0.1*2) = 11 / 5.2     = 2.1153846
  //   x1 = (4*1) / (1 + 0.1*1)           = 4 / 1.1      = 3.6363636
  trainer.UpdateUsers();
  const FactorModel& model = trainer.model();
  EXPECT_NEAR(model.user_factors(0, 0), 2.1153846, 1e-5);
  EXPECT_NEAR(model.user_factors(1, 0), 3.6363636, 1e-5);

  // y_i = sum_u r_ui x_u / (sum_u x_u^2 + lambda n_i):
  //   y0 = (5 x0 + 4 x1) / (x0^2 + x1^2 + 0.2) = 1.4036422
  //   y1 = (3 x0) / (x0^2 + 0.1)               = 1.3871823
  trainer.UpdateItems();
  EXPECT_NEAR(model.item_factors(0, 0), 1.4036422, 1e-5);
  EXPECT_NEAR(model.item_factors(1, 0), 1.3871823, 1e-5);
  EXPECT_NEAR(model.Predict(0, 1), 2.1153846 * 1.3871823, 1e-5);
}

TEST(AlsExplicitTest, BiasedUserUpdateMatchesHandDerivation) {
  AlsOptions o;
  o.factors = 1;
  o.regularization = 0.1f;
  o.use_biases = true;
  o.threads = 1;
  CsrMatrix m = TwoByTwo();
  AlsTrainer trainer = MakeTrainer(m, o);
  EXPECT_FLOAT_EQ(trainer.model().global_bias, 4.0f);  // (5 + 3 + 4) / 3
  trainer.mutable_model().item_factors << 1.0f, 2.0f;

  // z = [x0; b0], a_i = [y_i; 1], targets r - mu - c_i = 5-4, 3-4 (c_i = 0):
  //   A = [[1+4, 1+2], [1+2, 1+1]] + 0.1*2 I = [[5.2, 3], [3, 2.2]]
  //   b = 1*[1; 1] + (-1)*[2; 1] = [-1; 0]
  //   z = A^-1 b = [-2.2; 3] / (5.2*2.2 - 9) = [-0.9016393; 1.2295082]
  // User 1: target 4-4 = 0, so z = 0.
  trainer.UpdateUsers();
  const FactorModel& model = trainer.model();
  EXPECT_NEAR(model.user_factors(0, 0), -0.9016393, 1e-5);
  EXPECT_NEAR(model.user_bias[0], 1.2295082, 1e-5);
  EXPECT_NEAR(model.user_factors(1, 0), 0.0, 1e-6);
  EXPECT_NEAR(model.user_bias[1], 0.0, 1e-6);
  EXPECT_NEAR(model.Predict(0, 1), 4.0 + 1.2295082 - 0.9016393 * 2.0, 1e-5);
}

TEST(AlsImplicitTest, UserUpdateMatchesHandDerivation) {
  // Implicit, k = 1, alpha = 1, lambda = 0.1; user 0 has item 0 with r = 1
  // (c = 2), user 1 has item 1 with r = 2 (c = 3); y = (1, 2), YtY = 5.
  //   x0 = c p y0 / (YtY + lambda + (c-1) y0^2) = 2*1 / (5.1 + 1*1) = 0.3278689
  //   x1 = 3*2 / (5.1 + 2*4)                                       = 0.4580153
  CsrMatrix m = Matrix(2, 2, {{0, 0, 1, 0}, {1, 1, 2, 0}});
  for (ImplicitSolver solver : {ImplicitSolver::kCholesky, ImplicitSolver::kConjugateGradient}) {
    AlsOptions o;
    o.implicit = true;
    o.factors = 1;
    o.alpha = 1.0f;
    o.regularization = 0.1f;
    o.implicit_solver = solver;
    o.cg_steps = 1;  // one CG step solves a 1 x 1 system exactly
    AlsTrainer trainer = MakeTrainer(m, o);
    trainer.mutable_model().item_factors << 1.0f, 2.0f;
    trainer.UpdateUsers();
    EXPECT_NEAR(trainer.model().user_factors(0, 0), 0.3278689, 1e-5) << ImplicitSolverName(solver);
    EXPECT_NEAR(trainer.model().user_factors(1, 0), 0.4580153, 1e-5) << ImplicitSolverName(solver);
  }
}

TEST(AlsExplicitTest, RecoversRankOneMatrix) {
  // r_ui = a_u * b_i, 70% observed; with tiny lambda ALS should fit exactly.
  std::vector<Interaction> cells;
  for (uint32_t u = 0; u < 30; ++u) {
    for (uint32_t i = 0; i < 20; ++i) {
      if ((u * 7 + i * 3) % 10 < 7) {
        cells.push_back({u, i, (1.0f + 0.1f * u) * (0.5f + 0.2f * i), 0});
      }
    }
  }
  CsrMatrix m = Matrix(30, 20, cells);
  AlsOptions o;
  o.factors = 1;
  o.iterations = 30;
  o.regularization = 1e-6f;
  double last_rmse = -1;
  auto model =
      Train(m, o, [&](const IterationStats& s, const FactorModel&) { last_rmse = s.rmse; });
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_LT(last_rmse, 1e-3);
  EXPECT_NEAR(model->Predict(3, 4), (1.0 + 0.3) * (0.5 + 0.8), 1e-2);
}

TEST(AlsExplicitTest, BiasesFitAdditiveRatings) {
  // r_ui = 3 + u_off + i_off has no interaction term: biases alone explain it.
  std::vector<Interaction> cells;
  for (uint32_t u = 0; u < 25; ++u) {
    for (uint32_t i = 0; i < 15; ++i) {
      if ((u + 2 * i) % 3 != 0) {
        cells.push_back({u, i, 3.0f + 0.04f * static_cast<float>(u % 5) - 0.3f * (i % 4), 0});
      }
    }
  }
  CsrMatrix m = Matrix(25, 15, cells);
  AlsOptions o;
  o.factors = 2;
  o.iterations = 20;
  o.regularization = 1e-5f;
  o.use_biases = true;
  double last_rmse = -1;
  auto model =
      Train(m, o, [&](const IterationStats& s, const FactorModel&) { last_rmse = s.rmse; });
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_TRUE(model->has_biases());
  EXPECT_LT(last_rmse, 1e-2);
}

class AlsModeTest : public ::testing::TestWithParam<int> {
 protected:
  // 0 explicit, 1 explicit with biases, 2 implicit CG, 3 implicit Cholesky.
  AlsOptions Options() const {
    AlsOptions o;
    o.factors = 8;
    o.iterations = 8;
    o.regularization = 0.05f;
    o.seed = 7;
    switch (GetParam()) {
      case 1:
        o.use_biases = true;
        break;
      case 2:
        o.implicit = true;
        break;
      case 3:
        o.implicit = true;
        o.implicit_solver = ImplicitSolver::kCholesky;
        break;
      default:
        break;
    }
    return o;
  }
};

TEST_P(AlsModeTest, LossNeverIncreases) {
  // Every half-sweep minimises the objective exactly (Cholesky) or moves
  // downhill from the current point (warm-started CG), so the loss cannot
  // rise beyond rounding.
  CsrMatrix m = RandomMatrix(60, 40, 0.15, 11);
  std::vector<double> losses;
  auto model = Train(
      m, Options(), [&](const IterationStats& s, const FactorModel&) { losses.push_back(s.loss); });
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_EQ(losses.size(), 8u);
  for (size_t i = 1; i < losses.size(); ++i) {
    EXPECT_LE(losses[i], losses[i - 1] * (1 + 1e-5)) << "iteration " << i + 1;
  }
  EXPECT_LT(losses.back(), losses.front());
}

TEST_P(AlsModeTest, ThreadCountDoesNotChangeResult) {
  CsrMatrix m = RandomMatrix(200, 90, 0.08, 3);
  AlsOptions o = Options();
  o.threads = 1;
  auto one = Train(m, o);
  o.threads = 2;
  auto two = Train(m, o);
  ASSERT_TRUE(one.ok() && two.ok());
  // Bitwise: each row's solve reads only the fixed other side.
  EXPECT_TRUE(one->user_factors == two->user_factors);
  EXPECT_TRUE(one->item_factors == two->item_factors);
  EXPECT_TRUE(one->user_bias == two->user_bias);
  EXPECT_TRUE(one->item_bias == two->item_bias);
}

TEST_P(AlsModeTest, SeedDeterminesResult) {
  CsrMatrix m = RandomMatrix(40, 30, 0.2, 5);
  AlsOptions o = Options();
  o.iterations = 2;
  auto a = Train(m, o);
  auto b = Train(m, o);
  o.seed += 1;
  auto c = Train(m, o);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(a->item_factors == b->item_factors);
  EXPECT_FALSE(a->item_factors == c->item_factors);
}

std::string ModeName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"Explicit", "ExplicitBiased", "ImplicitCg",
                                       "ImplicitCholesky"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(Modes, AlsModeTest, ::testing::Values(0, 1, 2, 3), ModeName);

TEST(AlsImplicitTest, ConjugateGradientAgreesWithCholesky) {
  CsrMatrix m = RandomMatrix(80, 50, 0.1, 21);
  AlsOptions o;
  o.implicit = true;
  o.factors = 6;
  o.iterations = 6;
  o.regularization = 0.1f;
  o.alpha = 2.0f;
  o.implicit_solver = ImplicitSolver::kCholesky;
  auto exact = Train(m, o);
  o.implicit_solver = ImplicitSolver::kConjugateGradient;
  o.cg_steps = 12;  // twice the dimension: converged up to rounding
  auto cg = Train(m, o);
  ASSERT_TRUE(exact.ok() && cg.ok());
  double worst = 0;
  for (uint32_t u = 0; u < m.rows; ++u) {
    for (uint32_t i = 0; i < m.cols; ++i) {
      worst = std::max(worst, double{std::fabs(exact->Predict(u, i) - cg->Predict(u, i))});
    }
  }
  EXPECT_LT(worst, 1e-3);

  // The default 3 warm-started steps are not exact, but reach a similar loss.
  double loss_exact = 0, loss_cg3 = 0;
  o.cg_steps = 3;
  o.iterations = 15;
  ASSERT_TRUE(
      Train(m, o, [&](const IterationStats& s, const FactorModel&) { loss_cg3 = s.loss; }).ok());
  o.implicit_solver = ImplicitSolver::kCholesky;
  ASSERT_TRUE(
      Train(m, o, [&](const IterationStats& s, const FactorModel&) { loss_exact = s.loss; }).ok());
  EXPECT_NEAR(loss_cg3, loss_exact, 0.01 * loss_exact);
}

TEST(AlsTest, EmptyRowsGetZeroFactors) {
  // User 1 and item 2 have no interactions.
  CsrMatrix m = Matrix(3, 3, {{0, 0, 4, 0}, {0, 1, 2, 0}, {2, 1, 5, 0}});
  for (bool implicit : {false, true}) {
    AlsOptions o;
    o.factors = 2;
    o.iterations = 2;
    o.implicit = implicit;
    auto model = Train(m, o);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    EXPECT_TRUE(model->user_factors.row(1).isZero());
    EXPECT_TRUE(model->item_factors.row(2).isZero());
    EXPECT_TRUE(model->user_factors.allFinite());
  }
}

TEST(AlsTest, CallbackSeesEveryIteration) {
  CsrMatrix m = RandomMatrix(20, 20, 0.3, 1);
  AlsOptions o;
  o.factors = 3;
  o.iterations = 4;
  std::vector<uint32_t> seen;
  auto model = Train(m, o, [&](const IterationStats& s, const FactorModel& partial) {
    seen.push_back(s.iteration);
    EXPECT_TRUE(std::isfinite(s.loss));
    EXPECT_TRUE(std::isfinite(s.rmse));
    EXPECT_GE(s.seconds, 0.0);
    EXPECT_EQ(partial.num_users(), 20u);
  });
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(seen, (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(model->kind, ModelKind::kExplicit);
  EXPECT_EQ(model->users.External(5), "u5");
  EXPECT_EQ(model->params.iterations, 4u);
}

TEST(AlsTest, RejectsBadInput) {
  CsrMatrix m = TwoByTwo();
  AlsOptions o;
  o.factors = 0;
  EXPECT_EQ(Train(m, o).status().code(), Status::Code::kInvalidArgument);

  o = AlsOptions();
  o.implicit = true;
  o.use_biases = true;
  EXPECT_EQ(Train(m, o).status().code(), Status::Code::kInvalidArgument);

  o = AlsOptions();
  o.implicit = true;
  o.cg_steps = 0;
  EXPECT_EQ(Train(m, o).status().code(), Status::Code::kInvalidArgument);

  o = AlsOptions();
  o.regularization = -1;
  EXPECT_EQ(Train(m, o).status().code(), Status::Code::kInvalidArgument);

  auto mismatched = TrainAls(m, SequentialIds(3, "u"), SequentialIds(2, "i"), AlsOptions());
  EXPECT_EQ(mismatched.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(mismatched.status().message().find("ID maps"), std::string::npos);

  CsrMatrix bad_column = m;
  bad_column.indices[1] = 7;
  auto r = Train(bad_column, AlsOptions());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("column 7"), std::string::npos);

  CsrMatrix nan_value = m;
  nan_value.values[0] = std::nanf("");
  EXPECT_EQ(Train(nan_value, AlsOptions()).status().code(), Status::Code::kInvalidArgument);

  CsrMatrix broken_indptr = m;
  broken_indptr.indptr.pop_back();
  EXPECT_EQ(Train(broken_indptr, AlsOptions()).status().code(), Status::Code::kInvalidArgument);

  EXPECT_EQ(Train(CsrMatrix(), AlsOptions()).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace reco
