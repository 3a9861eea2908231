#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>

#include "../testing/temp_dir.h"
#include "reco/event_log.h"
#include "reco/lifecycle.h"
#include "reco/precompute.h"
#include "reco/realtime.h"

namespace reco {
namespace {

namespace fs = std::filesystem;
using Row = std::vector<std::pair<std::string, float>>;

Event MakeEvent(std::string user, std::string item, std::optional<float> value, int64_t ms = 0) {
  return Event{std::move(user), std::move(item), value ? "rating" : "click", value, ms};
}

class EventMergeTest : public ::testing::Test {
 protected:
  void Log(const std::vector<Event>& events) {
    auto log = EventLog::Open(dir_ + "/wal");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    auto seq = (*log)->Append(events);
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  }

  // u1: {a: 2, b: 4}, u2: {b: 1}.
  static Dataset Base() {
    Dataset d;
    const uint32_t u1 = d.users.GetOrAdd("u1"), u2 = d.users.GetOrAdd("u2");
    const uint32_t a = d.items.GetOrAdd("a"), b = d.items.GetOrAdd("b");
    d.interactions = {{u1, a, 2.0f, 100}, {u1, b, 4.0f, 100}, {u2, b, 1.0f, 100}};
    return d;
  }

  static std::map<std::pair<std::string, std::string>, float> Values(const Dataset& d) {
    std::map<std::pair<std::string, std::string>, float> out;
    for (const Interaction& r : d.interactions) {
      out[{d.users.External(r.user), d.items.External(r.item)}] = r.value;
    }
    return out;
  }

  testing_util::TempDir scratch_{"reco-event-merge-test"};
  const std::string dir_ = scratch_.path();
};

TEST_F(EventMergeTest, ImplicitStrengthsAddToTheBaseFile) {
  // The case: base strength 2 and three clicks is 5 after a retrain,
  // as the live engine serves it.
  Log({MakeEvent("u1", "a", std::nullopt, 5000), MakeEvent("u1", "a", std::nullopt, 6000),
       MakeEvent("u1", "a", std::nullopt, 7000), MakeEvent("u2", "c", 0.5f, 8000),
       MakeEvent("u3", "a", 2.0f, 9000)});
  Dataset d = Base();
  EventMergeReport report;
  ASSERT_TRUE(MergeLoggedEvents(dir_ + "/wal", FoldRule::kAdd, &d, &report).ok());
  EXPECT_EQ(report.events, 5u);
  EXPECT_EQ(report.last_seq, 5u);
  EXPECT_EQ(report.updated, 1u);
  EXPECT_EQ(report.added, 2u);
  EXPECT_EQ(report.skipped_no_value, 0u);
  auto v = Values(d);
  EXPECT_EQ(v.size(), 5u);
  EXPECT_EQ((v[{"u1", "a"}]), 5.0f);
  EXPECT_EQ((v[{"u1", "b"}]), 4.0f);
  EXPECT_EQ((v[{"u2", "b"}]), 1.0f);
  EXPECT_EQ((v[{"u2", "c"}]), 0.5f);
  EXPECT_EQ((v[{"u3", "a"}]), 2.0f);
  // The updated pair takes its latest event's timestamp, in whole seconds.
  for (const Interaction& r : d.interactions) {
    if (d.users.External(r.user) == "u1" && d.items.External(r.item) == "a") {
      EXPECT_EQ(r.timestamp, 7);
    }
  }
}

TEST_F(EventMergeTest, ExplicitLatestRatingWinsAndClicksAreSkipped) {
  Log({MakeEvent("u1", "a", 5.0f), MakeEvent("u1", "a", std::nullopt), MakeEvent("u1", "a", 1.0f),
       MakeEvent("u2", "a", 3.0f)});
  Dataset d = Base();
  EventMergeReport report;
  ASSERT_TRUE(MergeLoggedEvents(dir_ + "/wal", FoldRule::kLatestWins, &d, &report).ok());
  EXPECT_EQ(report.events, 4u);
  EXPECT_EQ(report.updated, 1u);
  EXPECT_EQ(report.added, 1u);
  EXPECT_EQ(report.skipped_no_value, 1u);
  auto v = Values(d);
  EXPECT_EQ((v[{"u1", "a"}]), 1.0f);
  EXPECT_EQ((v[{"u2", "a"}]), 3.0f);
  EXPECT_EQ((v[{"u1", "b"}]), 4.0f);
}

TEST_F(EventMergeTest, EmptyOrMissingLogLeavesTheDataAlone) {
  fs::create_directories(dir_ + "/empty");
  Dataset d = Base();
  EventMergeReport report;
  ASSERT_TRUE(MergeLoggedEvents(dir_ + "/empty", FoldRule::kAdd, &d, &report).ok());
  EXPECT_EQ(report.events, 0u);
  EXPECT_EQ(d.interactions.size(), 3u);
  EXPECT_FALSE(MergeLoggedEvents(dir_ + "/missing", FoldRule::kAdd, &d, &report).ok());
}

// The cross-check of issue 11: for one event log, the row retrain trains on
// equals the row the live engine scores, for every user.
class FoldingCrossCheckTest : public EventMergeTest,
                              public ::testing::WithParamInterface<ModelKind> {};

TEST_P(FoldingCrossCheckTest, RetrainRowsEqualLiveEngineRows) {
  const ModelKind kind = GetParam();
  constexpr uint32_t kUsers = 12, kItems = 9, kFactors = 3;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(-1, 1);
  Dataset base;
  for (uint32_t u = 0; u < kUsers; ++u) base.users.GetOrAdd("user" + std::to_string(u));
  for (uint32_t i = 0; i < kItems; ++i) base.items.GetOrAdd("item" + std::to_string(i));
  for (uint32_t u = 0; u < kUsers; ++u) {
    for (uint32_t i = 0; i < kItems; ++i) {
      if ((u + 2 * i) % 3 == 0) base.interactions.push_back({u, i, float(1 + (u * i) % 5), 0});
    }
  }
  FactorModel model;
  model.kind = kind;
  model.params.factors = kFactors;
  model.params.implicit = kind == ModelKind::kImplicit;
  model.params.regularization = 0.5f;
  model.params.alpha = 2.0f;
  model.users = base.users;
  model.items = base.items;
  model.user_factors.resize(kUsers, kFactors);
  model.item_factors.resize(kItems, kFactors);
  for (uint32_t u = 0; u < kUsers; ++u)
    for (uint32_t f = 0; f < kFactors; ++f) model.user_factors(u, f) = unit(rng);
  for (uint32_t i = 0; i < kItems; ++i)
    for (uint32_t f = 0; f < kFactors; ++f) model.item_factors(i, f) = unit(rng);
  const CsrMatrix matrix =
      CsrMatrix::FromInteractions(base.interactions, base.users.size(), base.items.size());

  auto store = RecommendationStore::Open("memory://");
  ASSERT_TRUE(store.ok());
  PrecomputeOptions po;
  po.k = 3;
  po.similar_k = 0;
  po.threads = 1;
  po.version = "v1";
  po.show_progress = false;
  const auto recommender = MakeAlsRecommender(model);
  ASSERT_TRUE(PrecomputeToStore(*recommender, matrix, store->get(), po).ok());
  auto registry = ModelRegistry::Open(dir_ + "/registry");
  ASSERT_TRUE(registry.ok());
  RegisterOptions ro;
  ro.version = "v1";
  ASSERT_TRUE((*registry)->Register(*recommender, matrix, ro).ok());
  ASSERT_TRUE((*registry)->RecordActivation("v1").ok());
  auto log = EventLog::Open(dir_ + "/wal");
  ASSERT_TRUE(log.ok());
  auto engine = RealtimeEngine::Start(registry->get(), store->get(), log->get(), {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();

  // Ratings, clicks, repeats on trained pairs and new ones, new users.
  std::vector<Event> events;
  for (int n = 0; n < 200; ++n) {
    const std::string user = "user" + std::to_string(rng() % (kUsers + 4));
    const std::string item = "item" + std::to_string(rng() % kItems);
    std::optional<float> value;
    if (rng() % 3 != 0) value = float(1 + rng() % 5) * 0.5f;
    events.push_back(MakeEvent(user, item, value, 1000 * n));
  }
  for (size_t b = 0; b < events.size(); b += 7) {
    const size_t n = std::min<size_t>(7, events.size() - b);
    ASSERT_TRUE((*engine)->Accept({events.data() + b, n}).ok());
  }
  (*engine)->WaitIdle();

  Dataset merged = base;
  EventMergeReport report;
  ASSERT_TRUE(
      MergeLoggedEvents(dir_ + "/wal", FoldRuleFor(kind == ModelKind::kExplicit), &merged, &report)
          .ok());
  EXPECT_EQ(report.events, events.size());
  // Retrain's rows, in the model's item order (every event's item is known).
  std::map<std::string, Row> retrain_rows;
  std::vector<Interaction> sorted = merged.interactions;
  std::sort(sorted.begin(), sorted.end(), [](const Interaction& a, const Interaction& b) {
    return a.user != b.user ? a.user < b.user : a.item < b.item;
  });
  for (const Interaction& r : sorted) {
    ASSERT_LT(r.item, kItems);
    retrain_rows[merged.users.External(r.user)].emplace_back(merged.items.External(r.item),
                                                             r.value);
  }
  ASSERT_GT(retrain_rows.size(), kUsers);  // new users came from events
  for (const auto& [user, row] : retrain_rows) {
    EXPECT_EQ((*engine)->UserRow(user), row) << user;
  }
  engine->reset();
}

INSTANTIATE_TEST_SUITE_P(Kinds, FoldingCrossCheckTest,
                         ::testing::Values(ModelKind::kExplicit, ModelKind::kImplicit),
                         [](const auto& info) { return std::string(ModelKindName(info.param)); });

}  // namespace
}  // namespace reco
