#include "reco/fold_in.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "model_test_data.h"
#include "reco/als.h"

namespace reco {
namespace {

using model_test::RandomMatrix;
using model_test::SequentialIds;

// A model with one user (unused by fold-in) and the given item factors.
FactorModel HandModel(ModelKind kind, const FactorMatrix& item_factors, float regularization) {
  FactorModel model;
  model.kind = kind;
  model.params.implicit = kind == ModelKind::kImplicit;
  model.params.factors = static_cast<uint32_t>(item_factors.cols());
  model.params.regularization = regularization;
  model.params.alpha = 1.0f;
  model.users = SequentialIds(1, "u");
  model.items = SequentialIds(static_cast<uint32_t>(item_factors.rows()), "i");
  model.user_factors = FactorMatrix::Zero(1, item_factors.cols());
  model.item_factors = item_factors;
  return model;
}

FactorMatrix Column(std::initializer_list<float> values) {
  FactorMatrix m(static_cast<Eigen::Index>(values.size()), 1);
  Eigen::Index r = 0;
  for (float v : values) m(r++, 0) = v;
  return m;
}

struct Solved {
  std::vector<float> factors;
  float bias = std::numeric_limits<float>::quiet_NaN();
};

Solved MustSolve(const FoldIn& fold_in, const std::vector<uint32_t>& items,
                 const std::vector<float>& values) {
  Solved out;
  out.factors.assign(fold_in.factors(), std::numeric_limits<float>::quiet_NaN());
  Status st = fold_in.SolveUser(items, values, out.factors.data(), &out.bias);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// --- (1) Fold-in on a training row reproduces the trainer's user solve. ---

class FoldInMatchesTrainerTest : public ::testing::TestWithParam<int> {
 protected:
  AlsOptions Options() const {
    AlsOptions o;
    o.factors = 8;
    o.iterations = 5;
    o.regularization = 0.05f;
    o.alpha = 2.0f;
    o.seed = 13;
    o.threads = 2;
    switch (GetParam()) {
      case 1:
        o.use_biases = true;
        break;
      case 2:
        o.implicit = true;
        // The trainer's CG stops after cg_steps; only its exact solver is
        // the same system solved to rounding.
        o.implicit_solver = ImplicitSolver::kCholesky;
        break;
      default:
        break;
    }
    return o;
  }
};

TEST_P(FoldInMatchesTrainerTest, TrainingRowGivesTrainerFactors) {
  // 300 items at density 0.5: rows of ~150 events cross the 128-row gather
  // block; a few sparse rows and one empty row cover the short cases.
  CsrMatrix m = RandomMatrix(40, 300, 0.5, 17);
  {
    std::vector<Interaction> cells;
    for (uint32_t u = 0; u < m.rows; ++u) {
      uint64_t len = m.indptr[u + 1] - m.indptr[u];
      if (u == 3) len = 0;  // empty row
      if (u == 5) len = 1;  // one event
      if (u == 7) len = 3;  // a handful
      for (uint64_t n = m.indptr[u]; n < m.indptr[u] + len; ++n) {
        cells.push_back({u, m.indices[n], m.values[n], 0});
      }
    }
    m = CsrMatrix::FromInteractions(cells, m.rows, m.cols);
  }
  ASSERT_EQ(m.RowLength(3), 0u);
  ASSERT_GT(m.RowLength(0), 128u);

  const AlsOptions o = Options();
  auto trainer = AlsTrainer::Create(m, SequentialIds(m.rows, "u"), SequentialIds(m.cols, "i"), o);
  ASSERT_TRUE(trainer.ok()) << trainer.status().ToString();
  for (uint32_t it = 0; it < o.iterations; ++it) trainer->Iterate(/*compute_loss=*/false);
  // The last step of an iteration solves items; one more user half-sweep
  // makes the user factors the solve against the final item factors.
  trainer->UpdateUsers();
  const FactorModel& model = trainer->model();

  FoldIn fold_in(model);
  ASSERT_EQ(fold_in.factors(), o.factors);
  double worst = 0;
  for (uint32_t u = 0; u < m.rows; ++u) {
    const uint64_t lo = m.indptr[u], hi = m.indptr[u + 1];
    std::vector<uint32_t> items(m.indices.begin() + static_cast<ptrdiff_t>(lo),
                                m.indices.begin() + static_cast<ptrdiff_t>(hi));
    std::vector<float> values(m.values.begin() + static_cast<ptrdiff_t>(lo),
                              m.values.begin() + static_cast<ptrdiff_t>(hi));
    const Solved solved = MustSolve(fold_in, items, values);
    for (uint32_t f = 0; f < o.factors; ++f) {
      EXPECT_NEAR(solved.factors[f], model.user_factors(u, f), 1e-4) << "user " << u << " f " << f;
      worst = std::max(worst, double{std::fabs(solved.factors[f] - model.user_factors(u, f))});
    }
    if (model.has_biases()) {
      EXPECT_NEAR(solved.bias, model.user_bias[u], 1e-4) << "user " << u;
    } else {
      EXPECT_EQ(solved.bias, 0.0f);
    }
  }
  // The factors are of order one, so agreement is far from trivial.
  EXPECT_GT(model.user_factors.cwiseAbs().maxCoeff(), 0.1f);
  RecordProperty("worst_abs_diff", worst);
}

std::string ModeName(const ::testing::TestParamInfo<int>& info) {
  static const char* const kNames[] = {"Explicit", "ExplicitBiased", "ImplicitCholesky"};
  return kNames[info.param];
}

INSTANTIATE_TEST_SUITE_P(Modes, FoldInMatchesTrainerTest, ::testing::Values(0, 1, 2), ModeName);

// --- (2) Hand-computed one-factor cases. ---

TEST(FoldInTest, ExplicitOneFactorByHand) {
  // k = 1, lambda = 0.1, y = (1, 2); events item 0 = 5, item 1 = 3 (n = 2):
  //   x = (5*1 + 3*2) / (1 + 4 + 0.1*2) = 11 / 5.2 = 2.1153846
  const FactorModel model = HandModel(ModelKind::kExplicit, Column({1, 2}), 0.1f);
  FoldIn fold_in(model);
  Solved s = MustSolve(fold_in, {0, 1}, {5, 3});
  EXPECT_NEAR(s.factors[0], 2.1153846, 1e-6);
  EXPECT_EQ(s.bias, 0.0f);
  // One event, item 1 = 4: x = 4*2 / (4 + 0.1) = 1.9512195
  s = MustSolve(fold_in, {1}, {4});
  EXPECT_NEAR(s.factors[0], 1.9512195, 1e-6);
}

TEST(FoldInTest, ExplicitBiasedOneFactorByHand) {
  // As above with biases: mu = 4, item biases c = (0.5, -0.5); z = [x; b],
  // a_i = [y_i; 1], targets r - mu - c_i = 5-4-0.5 = 0.5 and 3-4+0.5 = -0.5:
  //   A = [[1+4, 1+2], [1+2, 1+1]] + 0.1*2 I = [[5.2, 3], [3, 2.2]], det 2.44
  //   b = 0.5*[1; 1] - 0.5*[2; 1] = [-0.5; 0]
  //   z = [[2.2, -3], [-3, 5.2]] b / 2.44 = [-1.1; 1.5] / 2.44
  FactorModel model = HandModel(ModelKind::kExplicit, Column({1, 2}), 0.1f);
  model.params.use_biases = true;
  model.global_bias = 4.0f;
  model.user_bias = Eigen::VectorXf::Zero(1);
  model.item_bias = Eigen::VectorXf(2);
  model.item_bias << 0.5f, -0.5f;
  FoldIn fold_in(model);
  const Solved s = MustSolve(fold_in, {0, 1}, {5, 3});
  EXPECT_NEAR(s.factors[0], -1.1 / 2.44, 1e-6);
  EXPECT_NEAR(s.bias, 1.5 / 2.44, 1e-6);

  // A null out_bias is allowed: the factors are the same.
  float x = 0;
  const std::vector<uint32_t> items = {0, 1};
  const std::vector<float> values = {5, 3};
  ASSERT_TRUE(fold_in.SolveUser(items, values, &x, nullptr).ok());
  EXPECT_FLOAT_EQ(x, s.factors[0]);
}

TEST(FoldInTest, ImplicitOneFactorByHand) {
  // k = 1, alpha = 1, lambda = 0.1, y = (1, 2), YtY = 5; c = 1 + |r|,
  // p = [r > 0]; x = sum c p y / (YtY + lambda + sum (c - 1) y^2).
  const FactorModel model = HandModel(ModelKind::kImplicit, Column({1, 2}), 0.1f);
  FoldIn fold_in(model);
  // item 0, r = 1: 2*1 / (5.1 + 1*1) = 0.3278689
  EXPECT_NEAR(MustSolve(fold_in, {0}, {1}).factors[0], 2.0 / 6.1, 1e-6);
  // items 0 (r = 1), 1 (r = 2): (2*1 + 3*2) / (5.1 + 1 + 2*4) = 8 / 14.1
  EXPECT_NEAR(MustSolve(fold_in, {0, 1}, {1, 2}).factors[0], 8.0 / 14.1, 1e-6);
  // a negative strength adds confidence but no preference:
  // items 0 (r = 1), 1 (r = -1): 2*1 / (5.1 + 1 + 1*4) = 2 / 10.1
  const Solved s = MustSolve(fold_in, {0, 1}, {1, -1});
  EXPECT_NEAR(s.factors[0], 2.0 / 10.1, 1e-6);
  EXPECT_EQ(s.bias, 0.0f);
}

// --- (3) A brand-new user's first events. ---

uint32_t TopUnseen(const FactorModel& model, const std::vector<float>& x,
                   const std::vector<uint32_t>& seen) {
  const Eigen::Map<const Eigen::VectorXf> user(x.data(), static_cast<Eigen::Index>(x.size()));
  uint32_t best = 0;
  float best_score = -std::numeric_limits<float>::infinity();
  for (uint32_t i = 0; i < model.num_items(); ++i) {
    if (std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
    const float score = model.item_factors.row(i).dot(user.transpose());
    if (score > best_score) best_score = score, best = i;
  }
  return best;
}

TEST(FoldInTest, NewUserExplicitRecommendsTheirTaste) {
  // Two tastes: axis 0 (items 0, 1, 4) and axis 1 (items 2, 3). The new
  // user loves items 0 and 1 (5 stars) and dislikes item 2 (1 star).
  // lambda = 0.1, n = 3:
  //   A = y0y0' + y1y1' + y2y2' + 0.3 I = [[2.11, 0.09], [0.09, 1.31]]
  //   b = 5 (1, 0) + 5 (0.9, 0.1) + 1 (0, 1) = (9.5, 1.5), det A = 2.756
  //   x = (1.31*9.5 - 0.09*1.5, -0.09*9.5 + 2.11*1.5) / 2.756
  //     = (12.31, 2.31) / 2.756 = (4.4666183, 0.8381713)
  // Unseen scores: item 3 = 0.1 x0 + 0.9 x1 = 1.201, item 4 = 0.8 x0 +
  // 0.2 x1 = 3.741: item 4 comes first.
  FactorMatrix y(5, 2);
  y << 1.0f, 0.0f, 0.9f, 0.1f, 0.0f, 1.0f, 0.1f, 0.9f, 0.8f, 0.2f;
  const FactorModel model = HandModel(ModelKind::kExplicit, y, 0.1f);
  FoldIn fold_in(model);
  const std::vector<uint32_t> seen = {0, 1, 2};
  const Solved s = MustSolve(fold_in, seen, {5, 5, 1});
  EXPECT_NEAR(s.factors[0], 12.31 / 2.756, 1e-5);
  EXPECT_NEAR(s.factors[1], 2.31 / 2.756, 1e-5);
  EXPECT_EQ(TopUnseen(model, s.factors, seen), 4u);
}

TEST(FoldInTest, NewUserImplicitRecommendsTheirTaste) {
  // Same two tastes with more items; the new user clicked three axis-1
  // items (2, 3, 5). Their vector must point along axis 1, so the best
  // unseen item is the most axis-1 one left, item 7 = (0.05, 0.95), ahead
  // of the mixed item 6 = (0.5, 0.5) and the axis-0 items.
  FactorMatrix y(8, 2);
  y << 1.0f, 0.0f,   // 0
      0.9f, 0.1f,    // 1
      0.0f, 1.0f,    // 2
      0.1f, 0.9f,    // 3
      0.8f, 0.2f,    // 4
      0.2f, 0.8f,    // 5
      0.5f, 0.5f,    // 6
      0.05f, 0.95f;  // 7
  FactorModel model = HandModel(ModelKind::kImplicit, y, 0.1f);
  model.params.alpha = 4.0f;
  FoldIn fold_in(model);
  const std::vector<uint32_t> seen = {2, 3, 5};
  const Solved s = MustSolve(fold_in, seen, {1, 2, 1});
  EXPECT_GT(s.factors[1], 0.1f);
  EXPECT_GT(s.factors[1], s.factors[0]);
  EXPECT_EQ(TopUnseen(model, s.factors, seen), 7u);
}

// --- (4) Edge cases and bad input. ---

TEST(FoldInTest, NoEventsGiveZeroVector) {
  FactorModel model = HandModel(ModelKind::kExplicit, Column({1, 2}), 0.1f);
  model.params.use_biases = true;
  model.global_bias = 3.0f;
  model.user_bias = Eigen::VectorXf::Zero(1);
  model.item_bias = Eigen::VectorXf::Ones(2);
  for (ModelKind kind : {ModelKind::kExplicit, ModelKind::kImplicit}) {
    FactorModel m = model;
    m.kind = kind;
    if (kind == ModelKind::kImplicit) m.user_bias = m.item_bias = Eigen::VectorXf();
    FoldIn fold_in(m);
    float x = 7.0f, bias = 7.0f;
    ASSERT_TRUE(fold_in.SolveUser({}, {}, &x, &bias).ok()) << ModelKindName(kind);
    EXPECT_EQ(x, 0.0f);
    EXPECT_EQ(bias, 0.0f);
  }
}

TEST(FoldInTest, RejectsBadInputWithoutWriting) {
  const FactorModel model = HandModel(ModelKind::kImplicit, Column({1, 2}), 0.1f);
  FoldIn fold_in(model);
  float x = 7.0f, bias = 7.0f;
  auto solve = [&](std::vector<uint32_t> items, std::vector<float> values) {
    return fold_in.SolveUser(items, values, &x, &bias);
  };

  Status st = solve({0, 2}, {1, 1});  // item 2 does not exist
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("item index 2"), std::string::npos) << st.message();
  EXPECT_EQ(solve({0, 1}, {1, std::numeric_limits<float>::quiet_NaN()}).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(solve({0}, {std::numeric_limits<float>::infinity()}).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(solve({0}, {-std::numeric_limits<float>::infinity()}).code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(solve({0, 1}, {1}).code(), Status::Code::kInvalidArgument);  // length mismatch
  EXPECT_EQ(x, 7.0f);
  EXPECT_EQ(bias, 7.0f);

  const std::vector<uint32_t> items = {0};
  const std::vector<float> values = {1};
  EXPECT_EQ(fold_in.SolveUser(items, values, nullptr, nullptr).code(),
            Status::Code::kInvalidArgument);
}

TEST(FoldInTest, UnusableModelIsFailedPrecondition) {
  FactorModel inconsistent = HandModel(ModelKind::kExplicit, Column({1, 2}), 0.1f);
  inconsistent.items = SequentialIds(3, "i");  // 3 ids for 2 factor rows
  float x = 7.0f;
  const std::vector<uint32_t> items = {0};
  const std::vector<float> values = {1};
  EXPECT_EQ(FoldIn(inconsistent).SolveUser(items, values, &x, nullptr).code(),
            Status::Code::kFailedPrecondition);

  FactorModel implicit_biased = HandModel(ModelKind::kImplicit, Column({1, 2}), 0.1f);
  implicit_biased.user_bias = Eigen::VectorXf::Zero(1);
  implicit_biased.item_bias = Eigen::VectorXf::Zero(2);
  EXPECT_EQ(FoldIn(implicit_biased).SolveUser(items, values, &x, nullptr).code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(x, 7.0f);
}

TEST(FoldInTest, ConcurrentCallsAgreeWithSerial) {
  // Each thread has its own scratch, so concurrent solves of the same
  // model give bitwise the same vectors as one thread alone.
  CsrMatrix m = RandomMatrix(30, 200, 0.4, 5);
  AlsOptions o;
  o.factors = 6;
  o.iterations = 2;
  o.implicit = true;
  o.threads = 1;
  auto model = TrainAls(m, SequentialIds(m.rows, "u"), SequentialIds(m.cols, "i"), o);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  FoldIn fold_in(*model);

  auto solve_all = [&](std::vector<float>* out) {
    out->assign(static_cast<size_t>(m.rows) * o.factors, 0.0f);
    for (uint32_t u = 0; u < m.rows; ++u) {
      const uint64_t lo = m.indptr[u], n = m.indptr[u + 1] - lo;
      Status st = fold_in.SolveUser({m.indices.data() + lo, n}, {m.values.data() + lo, n},
                                    out->data() + static_cast<size_t>(u) * o.factors, nullptr);
      if (!st.ok()) ADD_FAILURE() << st.ToString();
    }
  };
  std::vector<float> serial;
  solve_all(&serial);
  std::vector<std::vector<float>> parallel(4);
  std::vector<std::thread> threads;
  for (auto& out : parallel) threads.emplace_back(solve_all, &out);
  for (auto& t : threads) t.join();
  for (const auto& out : parallel) EXPECT_EQ(out, serial);
}

}  // namespace
}  // namespace reco
