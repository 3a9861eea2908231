#include "reco/recommender.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "model_test_data.h"
#include "reco/als.h"
#include "reco/fold_in.h"
#include "reco/topk.h"

namespace reco {
namespace {

using model_test::RandomMatrix;
using model_test::SequentialIds;

std::vector<uint32_t> RowItems(const RankedLists& l, uint32_t r) {
  return {l.Items(r).begin(), l.Items(r).end()};
}
std::vector<float> RowScores(const RankedLists& l, uint32_t r) {
  return {l.Scores(r).begin(), l.Scores(r).end()};
}

void ExpectSameLists(const RankedLists& got, const RankedLists& want) {
  ASSERT_EQ(got.rows(), want.rows());
  for (uint32_t r = 0; r < want.rows(); ++r) {
    EXPECT_EQ(RowItems(got, r), RowItems(want, r)) << "row " << r;
    EXPECT_EQ(RowScores(got, r), RowScores(want, r)) << "row " << r;
  }
}

// ---- names, transforms, config JSON -----------------------------------------

TEST(ModelFamilyTest, NamesRoundTrip) {
  for (ModelFamily f : {ModelFamily::kExplicitAls, ModelFamily::kImplicitAls, ModelFamily::kEase,
                        ModelFamily::kItemKnn}) {
    auto parsed = ParseModelFamily(ModelFamilyName(f));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, f);
  }
  EXPECT_STREQ(ModelFamilyName(ModelFamily::kImplicitAls), "ials");
  auto bad = ParseModelFamily("svd");
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("als, ials, ease or knn"), std::string::npos);
  EXPECT_TRUE(IsFactorFamily(ModelFamily::kExplicitAls));
  EXPECT_FALSE(IsFactorFamily(ModelFamily::kEase));
  EXPECT_EQ(*ParseValueTransform("log"), ValueTransform::kLog);
  EXPECT_FALSE(ParseValueTransform("sqrt").ok());
  EXPECT_EQ(*ParseKnnSimilarity("lift"), KnnSimilarity::kLift);
  EXPECT_FALSE(ParseKnnSimilarity("pearson").ok());
}

TEST(ValueOptionsTest, KnownAnswers) {
  ValueOptions raw;
  EXPECT_EQ(raw.Apply(4.5f), 4.5f);
  EXPECT_EQ(raw.Apply(-2.0f), -2.0f);
  ValueOptions binary{ValueTransform::kBinary};
  EXPECT_EQ(binary.Apply(4.5f), 1.0f);
  EXPECT_EQ(binary.Apply(0.01f), 1.0f);
  EXPECT_EQ(binary.Apply(0.0f), 0.0f);
  EXPECT_EQ(binary.Apply(-3.0f), -1.0f);
  ValueOptions log{ValueTransform::kLog, 2.0f};
  EXPECT_NEAR(log.Apply(6.0f), std::log(4.0), 1e-6);  // log(1 + 6/2)
  EXPECT_NEAR(log.Apply(-6.0f), -std::log(4.0), 1e-6);
  EXPECT_EQ(log.Apply(0.0f), 0.0f);
  // Extreme but allowed inputs stay finite, even with a tiny epsilon.
  ValueOptions tiny{ValueTransform::kLog, 1e-30f};
  EXPECT_TRUE(std::isfinite(tiny.Apply(kMaxInteractionValue)));
  EXPECT_NEAR(tiny.Apply(kMaxInteractionValue), std::log1p(1e6 / double{1e-30f}), 1e-4);
}

TEST(ModelConfigTest, JsonKnownAnswersPerFamily) {
  ModelConfig als;
  als.family = ModelFamily::kExplicitAls;
  als.als.implicit = false;
  als.als.use_biases = true;
  EXPECT_EQ(als.ToJson(), R"({"family":"als","factors":64,"iterations":15,"regularization":0.1,)"
                          R"("biases":true,"seed":42,"init_scale":1})");

  ModelConfig ials;
  ials.als.implicit = true;
  ials.als.alpha = 2.5f;
  ials.values.transform = ValueTransform::kLog;
  ials.values.epsilon = 0.3f;
  EXPECT_EQ(ials.ToJson(),
            R"({"family":"ials","factors":64,"iterations":15,"regularization":0.1,)"
            R"("alpha":2.5,"nu":0,"alpha0":1,"solver":"cg","cg_steps":3,"seed":42,"init_scale":1,)"
            R"("transform":"log","epsilon":0.3})");

  ModelConfig ease;
  ease.family = ModelFamily::kEase;
  ease.values.transform = ValueTransform::kBinary;
  EXPECT_EQ(ease.ToJson(), R"({"family":"ease","lambda":500,"transform":"binary"})");

  ModelConfig knn;
  knn.family = ModelFamily::kItemKnn;
  knn.knn.similarity = KnnSimilarity::kJaccard;
  knn.knn.neighbors = 50;
  knn.knn.shrinkage = 10;
  knn.knn.half_life_days = 30.5;
  EXPECT_EQ(knn.ToJson(), R"({"family":"knn","similarity":"jaccard","neighbors":50,"shrinkage":10,)"
                          R"("half_life_days":30.5,"transform":"raw"})");
}

TEST(ModelConfigTest, JsonRoundTripsEveryField) {
  ModelConfig c;
  c.family = ModelFamily::kImplicitAls;
  c.als.implicit = true;
  c.als.factors = 7;
  c.als.iterations = 3;
  c.als.regularization = 0.01f;
  c.als.alpha = 40;
  c.als.implicit_solver = ImplicitSolver::kCholesky;
  c.als.cg_steps = 5;
  c.als.seed = UINT64_MAX;  // beyond double precision: must survive as an integer
  c.als.init_scale = 0.3f;
  c.values = {ValueTransform::kLog, 0.7f};
  auto back = ModelConfigFromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());
  EXPECT_EQ(back->als.seed, UINT64_MAX);
  EXPECT_EQ(back->als.regularization, 0.01f);
  EXPECT_EQ(back->als.init_scale, 0.3f);
  EXPECT_EQ(back->values.epsilon, 0.7f);
  EXPECT_EQ(back->als.implicit_solver, ImplicitSolver::kCholesky);
  EXPECT_TRUE(back->als.implicit);

  // Missing keys take their defaults; EASE accepts a memory limit it does not store.
  auto ease = ModelConfigFromJson(R"({"family":"ease","lambda":250,"max_memory_bytes":1000})");
  ASSERT_TRUE(ease.ok()) << ease.status().ToString();
  EXPECT_EQ(ease->ease.lambda, 250.0f);
  EXPECT_EQ(ease->ease.max_memory_bytes, 1000u);
  EXPECT_EQ(ease->values.transform, ValueTransform::kRaw);
  EXPECT_EQ(ease->ToJson(), R"({"family":"ease","lambda":250,"transform":"raw"})");
}

TEST(ModelConfigTest, BadJsonNamesTheField) {
  auto expect_error = [](const std::string& json, const std::string& fragment) {
    auto r = ModelConfigFromJson(json);
    ASSERT_FALSE(r.ok()) << json;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << json;
    EXPECT_NE(r.status().message().find(fragment), std::string::npos)
        << json << ": " << r.status().message();
  };
  expect_error("{", "not valid JSON");
  expect_error("[1]", "not a JSON object");
  expect_error(R"({"factors":3})", "family");
  expect_error(R"({"family":"svd"})", "unknown model family 'svd'");
  expect_error(R"({"family":"ials","colour":1})", "unknown key 'colour'");
  expect_error(R"({"family":"ease","factors":8})", "unknown key 'factors' for family ease");
  expect_error(R"({"family":"als","alpha":8})", "unknown key 'alpha' for family als");
  expect_error(R"({"family":"als","transform":"binary"})", "unknown key 'transform'");
  expect_error(R"({"family":"ials","factors":-1})", "factors must be a non-negative integer");
  expect_error(R"({"family":"ials","factors":2.5})", "factors must be a non-negative integer");
  expect_error(R"({"family":"ials","factors":0})", "factors must be in [1");
  expect_error(R"({"family":"ials","alpha":"x"})", "alpha must be a number");
  expect_error(R"({"family":"ials","alpha":1e300})", "alpha must be in");
  expect_error(R"({"family":"ials","solver":"qr"})", "solver must be cg or cholesky");
  expect_error(R"({"family":"ials","transform":"sqrt"})", "unknown value transform 'sqrt'");
  expect_error(R"({"family":"ials","transform":"log","epsilon":0})", "epsilon");
  expect_error(R"({"family":"ease","lambda":0})", "lambda must be in (0");
  expect_error(R"({"family":"knn","neighbors":0})", "neighbors must be in [1");
  expect_error(R"({"family":"knn","similarity":"pearson"})", "unknown similarity 'pearson'");
  expect_error(R"({"family":"knn","shrinkage":-1})", "shrinkage must be in [0");
  expect_error(R"({"family":"knn","half_life_days":-2})", "half_life_days must be in [0");
  expect_error(R"({"family":"als","biases":1})", "biases must be true or false");
  expect_error(std::string(70000, ' '), "limit");
}

TEST(ModelConfigTest, ValidateChecksFamilyConsistency) {
  ModelConfig c;
  c.family = ModelFamily::kExplicitAls;
  c.als.implicit = true;
  EXPECT_NE(c.Validate().message().find("als.implicit"), std::string::npos);
  c.als.implicit = false;
  c.values.transform = ValueTransform::kBinary;
  EXPECT_NE(c.Validate().message().find("transform must be raw"), std::string::npos);
  c.values.transform = ValueTransform::kRaw;
  EXPECT_TRUE(c.Validate().ok());
  c.family = static_cast<ModelFamily>(9);
  EXPECT_EQ(c.Validate().code(), Status::Code::kInvalidArgument);
}

// ---- ALS behind the interface -------------------------------------------------

struct AlsCase {
  const char* name;
  bool implicit;
  bool biases;
};

class AlsRecommenderTest : public ::testing::TestWithParam<AlsCase> {
 protected:
  void SetUp() override {
    train_ = RandomMatrix(30, 50, 0.2, 7);
    AlsOptions o;
    o.factors = 6;
    o.iterations = 4;
    o.regularization = 0.05f;
    o.implicit = GetParam().implicit;
    o.use_biases = GetParam().biases;
    o.threads = 2;
    auto model = TrainAls(train_, SequentialIds(30, "u"), SequentialIds(50, "i"), o);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = std::move(*model);
  }
  CsrMatrix train_;
  FactorModel model_;
};

// What RecommendUnseen (src/eval/evaluation.cc) did before it called
// RecommendUsers: TopKItems with the item bias, then the global and user bias
// added to the reported scores.
Result<RankedLists> RecommendUnseenBefore(const FactorModel& model, const CsrMatrix& seen,
                                          const std::vector<uint32_t>& users, uint32_t k,
                                          int threads) {
  TopKOptions opts;
  opts.k = k;
  opts.threads = threads;
  opts.exclude = &seen;
  if (model.item_bias.size() != 0) {
    opts.item_bias = {model.item_bias.data(), static_cast<size_t>(model.item_bias.size())};
  }
  FactorView u{model.user_factors.data(), model.num_users(), model.factors()};
  FactorView i{model.item_factors.data(), model.num_items(), model.factors()};
  RECO_ASSIGN_OR_RETURN(RankedLists lists, TopKItems(u, i, users, opts));
  if (model.has_biases() && !lists.scores.empty()) {
    for (uint32_t r = 0; r < lists.rows(); ++r) {
      const uint32_t user = users.empty() ? r : users[r];
      const float offset = model.global_bias + model.user_bias[user];
      for (uint64_t p = lists.indptr[r]; p < lists.indptr[r + 1]; ++p) lists.scores[p] += offset;
    }
  }
  return lists;
}

TEST_P(AlsRecommenderTest, RecommendUsersIsRecommendUnseen) {
  auto rec = MakeAlsRecommender(model_);
  EXPECT_EQ(rec->family(),
            GetParam().implicit ? ModelFamily::kImplicitAls : ModelFamily::kExplicitAls);
  EXPECT_EQ(rec->num_users(), 30u);
  EXPECT_EQ(rec->num_items(), 50u);
  ASSERT_NE(rec->factor_model(), nullptr);
  for (int threads : {1, 2}) {
    auto want = RecommendUnseenBefore(model_, train_, {}, 7, threads);
    ASSERT_TRUE(want.ok());
    auto got = rec->RecommendUsers({}, train_, &train_, 7, threads);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectSameLists(*got, *want);

    const std::vector<uint32_t> some = {29, 3, 3, 0};
    want = RecommendUnseenBefore(model_, train_, some, 4, threads);
    got = rec->RecommendUsers(some, train_, &train_, 4, threads);
    ASSERT_TRUE(got.ok());
    ExpectSameLists(*got, *want);
  }
  // Without exclusions the trained items come back too.
  auto all = rec->RecommendUsers({}, train_, nullptr, 50, 1);
  ASSERT_TRUE(all.ok());
  for (uint32_t r = 0; r < all->rows(); ++r) EXPECT_EQ(all->RowLength(r), 50u);

  CsrMatrix wrong = RandomMatrix(29, 50, 0.1, 3);
  EXPECT_EQ(rec->RecommendUsers({}, wrong, nullptr, 5, 1).status().code(),
            Status::Code::kInvalidArgument);
}

// Today's RealtimeEngine::RefreshBatch (src/realtime/realtime_engine.cc),
// transcribed step by step: fold each row in, skip rows that do not solve,
// rank the solved rows together with their own items excluded, then add the
// global and user bias to the reported scores. Returns solved rows only.
RankedLists RefreshBatchToday(const FactorModel& model, const CsrMatrix& rows, uint32_t k) {
  const uint32_t f = model.factors();
  FoldIn fold_in(model);
  std::vector<float> factors(rows.rows * f);
  std::vector<float> user_bias(rows.rows, 0.0f);
  uint32_t solved = 0;
  CsrMatrix seen;
  seen.cols = model.num_items();
  seen.indptr.push_back(0);
  for (uint32_t r = 0; r < rows.rows; ++r) {
    const uint64_t b = rows.indptr[r], e = rows.indptr[r + 1];
    std::vector<uint32_t> items(rows.indices.begin() + b, rows.indices.begin() + e);
    std::vector<float> values(rows.values.begin() + b, rows.values.begin() + e);
    Status st =
        fold_in.SolveUser(items, values, factors.data() + size_t{solved} * f, &user_bias[solved]);
    if (!st.ok()) continue;
    ++solved;
    seen.indices.insert(seen.indices.end(), items.begin(), items.end());
    seen.values.insert(seen.values.end(), values.begin(), values.end());
    seen.indptr.push_back(seen.indices.size());
  }
  seen.rows = solved;
  TopKOptions topk;
  topk.k = k;
  topk.threads = 1;
  topk.exclude = &seen;
  if (model.item_bias.size() != 0) {
    topk.item_bias = {model.item_bias.data(), static_cast<size_t>(model.item_bias.size())};
  }
  FactorView user_view{factors.data(), seen.rows, f};
  FactorView item_view{model.item_factors.data(), model.num_items(), f};
  RankedLists ranked = *TopKItems(user_view, item_view, {}, topk);
  for (uint32_t r = 0; r < ranked.rows(); ++r) {
    const float offset = model.has_biases() ? model.global_bias + user_bias[r] : 0.0f;
    for (uint64_t p = ranked.indptr[r]; p < ranked.indptr[r + 1]; ++p) ranked.scores[p] += offset;
  }
  return ranked;
}

// Histories: user 2's training row with two new items, a new user, an empty
// history, a row with a NaN (does not solve) and user 5's training row.
CsrMatrix SomeHistories(const CsrMatrix& train) {
  std::vector<Interaction> cells;
  for (uint64_t p = train.indptr[2]; p < train.indptr[3]; ++p) {
    cells.push_back({0, train.indices[p], train.values[p], 0});
  }
  auto has = [&](uint32_t item) {
    for (const Interaction& c : cells) {
      if (c.user == 0 && c.item == item) return true;
    }
    return false;
  };
  for (uint32_t item : {1u, 44u}) {
    if (!has(item)) cells.push_back({0, item, 4.0f, 0});
  }
  cells.push_back({1, 7, 5.0f, 0});
  cells.push_back({1, 30, 2.0f, 0});
  cells.push_back({3, 8, std::numeric_limits<float>::quiet_NaN(), 0});
  for (uint64_t p = train.indptr[5]; p < train.indptr[6]; ++p) {
    cells.push_back({4, train.indices[p], train.values[p], 0});
  }
  return CsrMatrix::FromInteractions(cells, 5, train.cols);
}

TEST_P(AlsRecommenderTest, RecommendHistoriesIsTodaysRefreshBatch) {
  auto rec = MakeAlsRecommender(model_);
  const CsrMatrix histories = SomeHistories(train_);
  const RankedLists want = RefreshBatchToday(model_, histories, 6);
  ASSERT_EQ(want.rows(), 4u);  // the NaN row did not solve
  for (int threads : {1, 2}) {
    uint32_t failed = 99;
    auto got = rec->RecommendHistories(histories, nullptr, 6, threads, &failed);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->rows(), 5u);
    EXPECT_EQ(failed, 1u);
    EXPECT_EQ(got->RowLength(3), 0u);
    const uint32_t solved_rows[] = {0, 1, 2, 4};
    for (uint32_t n = 0; n < 4; ++n) {
      const uint32_t r = solved_rows[n];
      EXPECT_EQ(RowItems(*got, r), RowItems(want, n)) << "row " << r;
      EXPECT_EQ(RowScores(*got, r), RowScores(want, n)) << "row " << r;
    }
  }
}

TEST_P(AlsRecommenderTest, ExtraExclusionsAreNeverReturned) {
  auto rec = MakeAlsRecommender(model_);
  const CsrMatrix histories = SomeHistories(train_);
  auto base = rec->RecommendHistories(histories, nullptr, 3, 1, nullptr);
  ASSERT_TRUE(base.ok());
  // Exclude each row's current best item: the rest moves up by one.
  std::vector<Interaction> cells;
  for (uint32_t r = 0; r < base->rows(); ++r) {
    if (base->RowLength(r) > 0) cells.push_back({r, base->Items(r)[0], 1.0f, 0});
  }
  const CsrMatrix extra = CsrMatrix::FromInteractions(cells, histories.rows, histories.cols);
  auto longer = rec->RecommendHistories(histories, nullptr, 4, 1, nullptr);
  auto got = rec->RecommendHistories(histories, &extra, 3, 2, nullptr);
  ASSERT_TRUE(got.ok() && longer.ok());
  for (uint32_t r = 0; r < got->rows(); ++r) {
    if (longer->RowLength(r) == 0) {
      EXPECT_EQ(got->RowLength(r), 0u);
      continue;
    }
    std::vector<uint32_t> want(longer->Items(r).begin() + 1, longer->Items(r).end());
    EXPECT_EQ(RowItems(*got, r), want) << "row " << r;
  }
  // Shapes are checked.
  const CsrMatrix wrong = CsrMatrix::FromInteractions({}, 2, histories.cols);
  EXPECT_EQ(rec->RecommendHistories(histories, &wrong, 3, 1, nullptr).status().code(),
            Status::Code::kInvalidArgument);
  const CsrMatrix narrow = CsrMatrix::FromInteractions({}, 2, 49);
  EXPECT_EQ(rec->RecommendHistories(narrow, nullptr, 3, 1, nullptr).status().code(),
            Status::Code::kInvalidArgument);
}

TEST_P(AlsRecommenderTest, SimilarItemsIsCosineSimilarItems) {
  auto rec = MakeAlsRecommender(model_);
  TopKOptions o;
  o.k = 5;
  o.threads = 1;
  FactorView items{model_.item_factors.data(), model_.num_items(), model_.factors()};
  auto want = reco::SimilarItems(items, {}, o);
  auto got = rec->SimilarItems({}, 5, 2);
  ASSERT_TRUE(want.ok() && got.ok());
  ExpectSameLists(*got, *want);
  const std::vector<uint32_t> two = {4, 9};
  want = reco::SimilarItems(items, two, o);
  got = rec->SimilarItems(two, 5, 1);
  ASSERT_TRUE(want.ok() && got.ok());
  ExpectSameLists(*got, *want);
}

TEST_P(AlsRecommenderTest, PredictRatingsOnlyForExplicitModels) {
  auto rec = MakeAlsRecommender(model_);
  const std::vector<uint32_t> users = {0, 29, 3};
  const std::vector<uint32_t> items = {49, 0, 3};
  std::vector<float> out(3);
  Status st = rec->PredictRatings(users, items, out);
  if (GetParam().implicit) {
    EXPECT_FALSE(rec->predicts_ratings());
    EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
    return;
  }
  EXPECT_TRUE(rec->predicts_ratings());
  ASSERT_TRUE(st.ok()) << st.ToString();
  for (int n = 0; n < 3; ++n) EXPECT_EQ(out[n], model_.Predict(users[n], items[n]));
  const std::vector<uint32_t> bad = {0, 50, 3};
  EXPECT_EQ(rec->PredictRatings(users, bad, out).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(rec->PredictRatings(users, std::span(items).first(2), out).code(),
            Status::Code::kInvalidArgument);
}

TEST_P(AlsRecommenderTest, FitIsTrainAlsBitForBit) {
  ModelConfig config;
  config.family = GetParam().implicit ? ModelFamily::kImplicitAls : ModelFamily::kExplicitAls;
  config.als = model_.params;
  config.als.threads = 0;
  const IdMap users = SequentialIds(30, "u"), items = SequentialIds(50, "i");
  FitContext context;
  context.threads = 1;
  std::vector<uint32_t> steps;
  context.progress = [&](const FitProgress& p) {
    steps.push_back(p.step);
    EXPECT_EQ(p.total, 4u);
    EXPECT_NE(p.status.find("loss"), std::string::npos);
  };
  uint32_t calls = 0;
  context.on_iteration = [&](uint32_t it, const Recommender& current) {
    EXPECT_EQ(it, ++calls);
    EXPECT_TRUE(current.CheckFinite().ok());
    return Status::Ok();
  };
  auto fitted = FitRecommender(config, {&train_, &users, &items}, context);
  ASSERT_TRUE(fitted.ok()) << fitted.status().ToString();
  EXPECT_EQ(steps, (std::vector<uint32_t>{1, 2, 3, 4}));
  EXPECT_EQ(calls, 4u);
  const FactorModel* m = (*fitted)->factor_model();
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->user_factors == model_.user_factors);
  EXPECT_TRUE(m->item_factors == model_.item_factors);
  EXPECT_TRUE(m->user_bias == model_.user_bias);
  EXPECT_EQ((*fitted)->config().ToJson(), config.ToJson());
  EXPECT_EQ((*fitted)->memory_bytes(), 4u * (6 * 80 + (GetParam().biases ? 80 : 0)));

  // A hook that fails stops the fit with its status.
  context.on_iteration = [](uint32_t it, const Recommender&) {
    return it == 2 ? Status::Unavailable("stop at 2") : Status::Ok();
  };
  auto stopped = FitRecommender(config, {&train_, &users, &items}, context);
  EXPECT_EQ(stopped.status().code(), Status::Code::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(Kinds, AlsRecommenderTest,
                         ::testing::Values(AlsCase{"explicit", false, false},
                                           AlsCase{"explicit_biases", false, true},
                                           AlsCase{"implicit", true, false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AlsRecommenderValuesTest, HistoriesAreTransformedAsTrainingRowsWere) {
  // An implicit model trained on binary values: a history of raw ratings
  // must rank as the same history of ones.
  const CsrMatrix train = RandomMatrix(25, 40, 0.25, 11);
  ModelConfig config;
  config.als.implicit = true;
  config.als.factors = 5;
  config.als.iterations = 3;
  config.values.transform = ValueTransform::kBinary;
  const IdMap users = SequentialIds(25, "u"), items = SequentialIds(40, "i");
  auto rec = FitRecommender(config, {&train, &users, &items}, {});
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  CsrMatrix ones = train;
  for (float& v : ones.values) v = 1.0f;
  // Trained on ones: the transformed fit is a fit on the binary matrix.
  AlsOptions o = config.als;
  auto direct = TrainAls(ones, users, items, o);
  ASSERT_TRUE(direct.ok());
  EXPECT_TRUE((*rec)->factor_model()->item_factors == direct->item_factors);
  auto raw = (*rec)->RecommendHistories(train, nullptr, 5, 1, nullptr);
  auto binary = (*rec)->RecommendHistories(ones, nullptr, 5, 1, nullptr);
  ASSERT_TRUE(raw.ok() && binary.ok());
  ExpectSameLists(*raw, *binary);
  EXPECT_EQ((*rec)->config().values.transform, ValueTransform::kBinary);
}

TEST(FitRecommenderTest, RejectsBadData) {
  const CsrMatrix train = RandomMatrix(10, 12, 0.3, 1);
  const IdMap users = SequentialIds(10, "u"), items = SequentialIds(12, "i");
  ModelConfig config;
  config.als.implicit = true;
  config.als.factors = 3;
  config.als.iterations = 1;
  auto fit = [&](const CsrMatrix& m) { return FitRecommender(config, {&m, &users, &items}, {}); };
  ASSERT_TRUE(fit(train).ok());

  CsrMatrix huge = train;
  huge.values[3] = 2e6f;
  auto r = fit(huge);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("entry 3"), std::string::npos) << r.status().message();
  huge.values[3] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(fit(huge).status().code(), Status::Code::kInvalidArgument);

  const IdMap fewer = SequentialIds(9, "u");
  EXPECT_EQ(FitRecommender(config, {&train, &fewer, &items}, {}).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(FitRecommender(config, {}, {}).status().code(), Status::Code::kInvalidArgument);
  const std::vector<int64_t> stamps(3, 0);
  EXPECT_EQ(FitRecommender(config, {&train, &users, &items, stamps}, {}).status().code(),
            Status::Code::kInvalidArgument);
  config.als.factors = 0;
  EXPECT_EQ(fit(train).status().code(), Status::Code::kInvalidArgument);
}

TEST(FitRecommenderTest, CheckFiniteNamesTheFirstBadWeight) {
  FactorModel m;
  m.kind = ModelKind::kImplicit;
  m.params.implicit = true;
  m.params.factors = 2;
  m.users = SequentialIds(2, "u");
  m.items = SequentialIds(3, "i");
  m.user_factors = FactorMatrix::Ones(2, 2);
  m.item_factors = FactorMatrix::Ones(3, 2);
  auto ok = MakeAlsRecommender(m);
  EXPECT_TRUE(ok->CheckFinite().ok());
  m.item_factors(2, 1) = std::numeric_limits<float>::quiet_NaN();
  auto bad = MakeAlsRecommender(m);
  Status st = bad->CheckFinite();
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("item factor entry (2, 1)"), std::string::npos) << st.message();
}

TEST(FitRecommenderTest, CostEstimateGrowsWithTheProblem) {
  ModelConfig config;
  config.als.implicit = true;
  const FitCost small = EstimateFitCost(config, 100, 50, 1000);
  const FitCost big = EstimateFitCost(config, 1000, 500, 10000);
  EXPECT_GT(small.peak_bytes, 4u * 64 * 150);
  EXPECT_GT(small.flops, 0);
  EXPECT_GT(big.peak_bytes, small.peak_bytes);
  EXPECT_GT(big.flops, small.flops);
}

}  // namespace
}  // namespace reco
