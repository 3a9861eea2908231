#include "reco/tune.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../testing/temp_dir.h"
#include "reco/pipeline.h"
#include "reco/random.h"

namespace reco {
namespace {

using ::testing::HasSubstr;

// Two taste groups: even users rate items 0-14, odd users items 15-29, each
// user 8 distinct items of their group with a rating in 1..5. A model that
// learns anything ranks a user's own group first.
Dataset TwoGroups() {
  Dataset ds;
  SplitMix64 rng(7);
  for (uint32_t i = 0; i < 30; ++i) ds.items.GetOrAdd("i" + std::to_string(i));
  for (uint32_t u = 0; u < 40; ++u) {
    const uint32_t user = ds.users.GetOrAdd("u" + std::to_string(u));
    const uint32_t base = (u % 2 == 0) ? 0 : 15;
    std::vector<uint32_t> items(15);
    for (uint32_t i = 0; i < 15; ++i) items[i] = base + i;
    Shuffle(std::span<uint32_t>(items), rng);
    for (uint32_t j = 0; j < 8; ++j) {
      ds.interactions.push_back({user, items[j], static_cast<float>(1 + rng.Below(5)),
                                 static_cast<int64_t>(1000 + u * 10 + j)});
    }
  }
  return ds;
}

TuneOptions QuickOptions() {
  TuneOptions o;
  o.families = {ModelFamily::kImplicitAls};
  o.trials = 4;
  o.max_iterations = 3;
  o.threads = 2;
  o.k = 5;
  return o;
}

TEST(TuneMetricTest, ParsesNameAndCutOff) {
  uint32_t k = 0;
  EXPECT_EQ(*ParseTuneMetric("ndcg@10", &k), TuneMetric::kNdcg);
  EXPECT_EQ(k, 10u);
  EXPECT_EQ(*ParseTuneMetric("precision@5", &k), TuneMetric::kPrecision);
  EXPECT_EQ(k, 5u);
  EXPECT_EQ(*ParseTuneMetric("map", &k), TuneMetric::kMap);
  EXPECT_EQ(k, 10u);  // no cut-off: 10
  EXPECT_EQ(*ParseTuneMetric("recall@20", &k), TuneMetric::kRecall);
  EXPECT_THAT(ParseTuneMetric("auc@10", &k).status().message(), HasSubstr("unknown metric"));
  EXPECT_THAT(ParseTuneMetric("ndcg@0", &k).status().message(), HasSubstr("positive integer"));
  EXPECT_FALSE(ParseTuneMetric("ndcg@x", &k).ok());
  EXPECT_FALSE(ParseTuneMetric("ndcg@", &k).ok());
}

TEST(TuneTest, FirstTrialIsTheDefaultAndTheBestIsRefittedOnAllTrainingData) {
  const Dataset train = TwoGroups();
  TuneOptions o = QuickOptions();
  uint32_t callbacks = 0;
  o.on_trial = [&](const TuneTrial& t, const TuneTrial& best) {
    EXPECT_EQ(t.index, callbacks++);
    EXPECT_GE(best.objective, t.status.ok() ? t.objective : 0.0);
  };
  Result<TuneResult> r = Tune(train, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->trials.size(), 4u);
  EXPECT_EQ(callbacks, 4u);

  ModelConfig first = DefaultModelConfig(ModelFamily::kImplicitAls);
  first.als.iterations = 3;
  EXPECT_EQ(r->trials[0].config.ToJson(), first.ToJson());
  for (const TuneTrial& t : r->trials) {
    ASSERT_TRUE(t.status.ok()) << t.status.ToString();
    EXPECT_LE(t.objective, r->trials[r->best].objective);
    EXPECT_EQ(t.config.family, ModelFamily::kImplicitAls);
  }
  // Trials differ: they are drawn, not repeated.
  EXPECT_NE(r->trials[1].config.ToJson(), r->trials[2].config.ToJson());

  // 20% of each user's 8 records held out: round(0.8 * 8) = 6 kept each.
  EXPECT_EQ(r->fit_records, 40u * 6);
  EXPECT_EQ(r->validation_records, 40u * 2);
  ASSERT_NE(r->model, nullptr);
  EXPECT_EQ(r->model->num_users(), 40u);  // refitted on everything
  EXPECT_EQ(r->model->config().ToJson(), r->trials[r->best].config.ToJson());
  const auto meta = nlohmann::json::parse(r->model->metadata_json());
  EXPECT_EQ(meta["tune"]["best_trial"], r->trials[r->best].index);
  EXPECT_EQ(meta["tune"]["metric"], "ndcg@5");
  // The planted groups are easy: the best trial ranks the own group first.
  EXPECT_GT(r->trials[r->best].metrics.precision_at_k, 0.2);
}

TEST(TuneTest, SameSeedSameTrials) {
  const Dataset train = TwoGroups();
  Result<TuneResult> a = Tune(train, QuickOptions());
  Result<TuneResult> b = Tune(train, QuickOptions());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->trials.size(), b->trials.size());
  for (size_t i = 0; i < a->trials.size(); ++i) {
    EXPECT_EQ(a->trials[i].config.ToJson(), b->trials[i].config.ToJson());
    EXPECT_DOUBLE_EQ(a->trials[i].objective, b->trials[i].objective);
  }
  TuneOptions other = QuickOptions();
  other.seed = 43;
  Result<TuneResult> c = Tune(train, other);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->trials[2].config.ToJson(), c->trials[2].config.ToJson());
}

TEST(TuneTest, AFailingTrialIsRecordedAndTheSearchGoesOn) {
  const Dataset train = TwoGroups();
  TuneOptions o = QuickOptions();
  o.families = {ModelFamily::kEase, ModelFamily::kImplicitAls};
  o.ease_max_memory_bytes = 1;  // no EASE fits in one byte
  Result<TuneResult> r = Tune(train, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->trials.size(), 4u);
  for (const TuneTrial& t : r->trials) {
    if (t.config.family == ModelFamily::kEase) {
      EXPECT_FALSE(t.status.ok());
    } else {
      EXPECT_TRUE(t.status.ok()) << t.status.ToString();
    }
  }
  EXPECT_EQ(r->model->family(), ModelFamily::kImplicitAls);

  o.families = {ModelFamily::kEase};
  Result<TuneResult> none = Tune(train, o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_THAT(none.status().message(), HasSubstr("every trial failed"));
  EXPECT_THAT(none.status().message(), HasSubstr("trial 0 (ease)"));

  // A failed search still leaves its record when asked for one.
  const testing_util::TempDir scratch("reco-tune-failed");
  o.report_dir = scratch.path();
  none = Tune(train, o);
  EXPECT_EQ(none.status().code(), Status::Code::kFailedPrecondition);
  std::ifstream json_in(scratch.PathOf("trials.json"));
  std::stringstream text;
  text << json_in.rdbuf();
  const auto doc = nlohmann::json::parse(text.str());
  EXPECT_TRUE(doc["best_trial"].is_null());
  ASSERT_EQ(doc["trials"].size(), 4u);
  EXPECT_THAT(doc["trials"][0]["status"].get<std::string>(), HasSubstr("memory"));
  EXPECT_FALSE(doc["trials"][0].contains("objective"));
}

TEST(TuneTest, RefusesBadOptions) {
  const Dataset train = TwoGroups();
  TuneOptions o = QuickOptions();
  o.trials = 0;
  EXPECT_THAT(Tune(train, o).status().message(), HasSubstr("--trials"));
  o = QuickOptions();
  o.families.clear();
  EXPECT_THAT(Tune(train, o).status().message(), HasSubstr("no model family"));
  o = QuickOptions();
  o.validation_ratio = 1;
  EXPECT_THAT(Tune(train, o).status().message(), HasSubstr("validation ratio"));
}

TEST(TuneTest, WritesEveryTrialAsTsvAndJson) {
  const Dataset train = TwoGroups();
  TuneOptions o = QuickOptions();
  Result<TuneResult> r = Tune(train, o);
  ASSERT_TRUE(r.ok());
  const testing_util::TempDir scratch("reco-tune-test");
  const std::filesystem::path dir = scratch.path();
  ASSERT_TRUE(WriteTuneTrials(*r, o, dir.string()).ok());
  std::ifstream tsv(dir / "trials.tsv");
  std::string line;
  std::getline(tsv, line);
  EXPECT_THAT(line, HasSubstr("trial\tfamily\tstatus\tndcg@5\tprecision@5"));
  int rows = 0;
  while (std::getline(tsv, line)) {
    EXPECT_THAT(line, HasSubstr("\tials\tok\t"));
    ++rows;
  }
  EXPECT_EQ(rows, 4);
  std::ifstream json_in(dir / "trials.json");
  std::stringstream text;
  text << json_in.rdbuf();
  const auto doc = nlohmann::json::parse(text.str());
  EXPECT_EQ(doc["trials"].size(), 4u);
  EXPECT_EQ(doc["best_trial"], r->trials[r->best].index);
  EXPECT_EQ(doc["trials"][0]["config"]["family"], "ials");
}

}  // namespace
}  // namespace reco
