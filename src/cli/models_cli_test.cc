// The model lifecycle end to end on the real `reco` binary (RECO_BINARY):
// `reco retrain` on a tiny hand-made CSV plus a tiny write-ahead log written
// with EventLog, `reco models list|show|activate|rollback` on the result,
// and a corrupt model refused while the active version keeps serving.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../testing/process.h"
#include "../testing/temp_dir.h"
#include "reco/event_log.h"
#include "reco/model_registry.h"
#include "reco/rec_store.h"

#ifndef RECO_BINARY
#error "RECO_BINARY must name the reco executable"
#endif

namespace reco {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using Outcome = testing_util::CapturedRun;
using testing_util::ReadFileOrEmpty;

constexpr auto kRunLimit = std::chrono::seconds(120);

#define EXPECT_SUCCEEDS(outcome)                            \
  do {                                                      \
    const Outcome& r_ = (outcome);                          \
    EXPECT_TRUE(r_.exited&& r_.exit_code == 0) << r_;       \
    EXPECT_THAT(r_.err, Not(HasSubstr("Sanitizer"))) << r_; \
  } while (0)

#define EXPECT_FAILS_WITH(outcome, needle)                  \
  do {                                                      \
    const Outcome& r_ = (outcome);                          \
    EXPECT_TRUE(r_.exited&& r_.exit_code == 1) << r_;       \
    EXPECT_THAT(r_.err, HasSubstr(needle)) << r_;           \
    EXPECT_THAT(r_.err, Not(HasSubstr("Sanitizer"))) << r_; \
  } while (0)

// 4 users x 5 items, 13 ratings.
constexpr char kBaseCsv[] =
    "user_id,item_id,rating,timestamp\n"
    "u1,i1,5,100\nu1,i2,3,101\nu1,i3,4,102\n"
    "u2,i1,4,103\nu2,i2,2,104\nu2,i4,5,105\n"
    "u3,i2,1,106\nu3,i3,5,107\nu3,i4,4,108\nu3,i5,2,109\n"
    "u4,i1,3,110\nu4,i3,3,111\nu4,i5,4,112\n";

class ModelsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path();
    dir_ = root_ / "work";
    fs::create_directory(dir_);
    std::ofstream(dir_ / "base.csv") << kBaseCsv;
  }

  Outcome Run(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {RECO_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    // The bound turns a hang into a failure the test reports.
    return testing_util::RunAndCapture(argv, dir_.string(), root_.string(), kRunLimit);
  }

  // The events of the tiny write-ahead log, seq 1..4.
  void WriteWal() {
    auto log = EventLog::Open((dir_ / "wal").string());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::vector<Event> events = {
        {"u1", "i5", "rating", 5.0f, 200000},         // new pair
        {"u2", "i1", "rating", 1.0f, 201000},         // replaces the base file's 4
        {"u3", "i1", "click", std::nullopt, 202000},  // no rating: explicit models skip it
        {"u9", "i2", "rating", 4.0f, 203000},         // a new user
    };
    ASSERT_TRUE((*log)->Append(events).ok());
  }

  std::vector<std::string> Retrain(const std::string& version,
                                   std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"retrain",   "--data",       "base.csv",
                                     "--events",  "wal",          "--registry",
                                     "reg",       "--store",      "lmdb://store",
                                     "--version", version,        "--factors",
                                     "2",         "--iterations", "3",
                                     "--holdout", "0.25",         "--k",
                                     "3",         "--threads",    "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::vector<std::string> Models(const std::string& sub, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"models", sub, "--registry", "reg"};
    if (sub != "show") {
      args.push_back("--store");
      args.push_back("lmdb://store");
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  // The store's active version, read directly.
  std::string StoreActive() {
    auto store = RecommendationStore::Open("lmdb://" + (dir_ / "store").string());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return "";
    auto active = (*store)->RefreshActiveVersion();
    return active.ok() ? *active : "(none)";
  }

  // The version marked active in `models list --json`.
  std::string ListedActive() {
    Outcome r = Run(Models("list", {"--json"}));
    EXPECT_SUCCEEDS(r);
    auto list = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(list.is_array()) << r;
    if (!list.is_array()) return "";
    for (const auto& v : list) {
      if (v.value("active", false)) return v["version"];
    }
    return "(none)";
  }

  testing_util::TempDir tmp_{"reco-models-cli"};
  fs::path root_, dir_;  // root_ holds the captured output, dir_ the work
};

TEST_F(ModelsCliTest, RetrainMergesEventsRegistersAndActivates) {
  WriteWal();
  Outcome r = Run(Retrain("v1"));
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("13 base records"));
  EXPECT_THAT(r.out, HasSubstr("4 events through seq 4 (2 new pairs, 1 updated, 1 without a "
                               "rating skipped)"));
  EXPECT_THAT(r.out, HasSubstr("= 15 interactions of 5 users x 5 items"));
  EXPECT_THAT(r.out, HasSubstr("RMSE"));
  EXPECT_THAT(r.out, HasSubstr("Registered as version v1"));
  EXPECT_THAT(r.out, HasSubstr("now the active version (was none)"));

  // What was registered: the merged data, in the model's index space.
  auto registry = ModelRegistry::Open((dir_ / "reg").string());
  ASSERT_TRUE(registry.ok());
  auto model = (*registry)->Load("v1");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(model->events_through_seq, 4u);
  EXPECT_EQ(model->interactions.nnz(), 15u);
  auto value_of = [&](const std::string& user, const std::string& item) -> float {
    const auto u = model->model->users().Find(user);
    const auto i = model->model->items().Find(item);
    if (!u || !i) return -1;
    const CsrMatrix& m = model->interactions;
    for (uint64_t j = m.indptr[*u]; j < m.indptr[*u + 1]; ++j) {
      if (m.indices[j] == *i) return m.values[j];
    }
    return -1;
  };
  EXPECT_EQ(value_of("u2", "i1"), 1.0f);  // the event won over the base file
  EXPECT_EQ(value_of("u1", "i5"), 5.0f);
  EXPECT_EQ(value_of("u9", "i2"), 4.0f);
  EXPECT_EQ(value_of("u3", "i1"), -1.0f);  // valueless click skipped
  EXPECT_EQ(value_of("u1", "i1"), 5.0f);
  auto meta = nlohmann::json::parse(model->meta_json);
  EXPECT_EQ(meta["data"]["hash"],
            TrainingDataHash(model->interactions, model->model->users(), model->model->items()));
  EXPECT_EQ(meta["params"]["factors"], 2);
  EXPECT_TRUE(meta["metrics"]["rating"]["rmse"].is_number());
  EXPECT_EQ(meta["metrics"]["holdout"]["fraction"], 0.25);

  EXPECT_EQ(StoreActive(), "v1");
  Outcome list = Run(Models("list"));
  EXPECT_SUCCEEDS(list);
  EXPECT_THAT(list.out, HasSubstr("* v1"));
  EXPECT_THAT(list.out, HasSubstr("explicit"));
  EXPECT_THAT(list.out, HasSubstr("rmse "));
  EXPECT_THAT(list.out, HasSubstr(" yes"));
  EXPECT_EQ(ListedActive(), "v1");

  Outcome show = Run(Models("show", {"v1"}));
  EXPECT_SUCCEEDS(show);
  EXPECT_THAT(show.out, HasSubstr("\"events_through_seq\": 4"));
  EXPECT_THAT(show.err, HasSubstr("verified"));
}

TEST_F(ModelsCliTest, CorruptModelIsRefusedAndRollbackWorks) {
  WriteWal();
  EXPECT_SUCCEEDS(Run(Retrain("v1")));
  EXPECT_SUCCEEDS(Run(Retrain("v2")));
  Outcome r = Run(Retrain("v3", {"--no-activate"}));
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("Not activated"));
  EXPECT_EQ(StoreActive(), "v2");
  EXPECT_EQ(ListedActive(), "v2");

  // Damage one byte of v3's factors: activation refused, v2 keeps serving.
  const fs::path model = dir_ / "reg" / "versions" / "v3" / "model.rcfm";
  std::string bytes = ReadFileOrEmpty(model);
  ASSERT_GT(bytes.size(), 120u);
  bytes[110] = static_cast<char>(bytes[110] ^ 0x40);
  std::ofstream(model, std::ios::binary | std::ios::trunc) << bytes;
  Outcome refused = Run(Models("activate", {"v3"}));
  EXPECT_FAILS_WITH(refused, "refusing to activate model version v3");
  EXPECT_THAT(refused.err, HasSubstr("reg/versions/v3/model.rcfm"));
  EXPECT_THAT(refused.err, HasSubstr("checksum mismatch"));
  EXPECT_EQ(StoreActive(), "v2");
  EXPECT_EQ(ListedActive(), "v2");
  EXPECT_FAILS_WITH(Run(Models("show", {"v3"})), "checksum mismatch");
  EXPECT_FAILS_WITH(Run(Models("activate", {"v7"})), "not in registry");

  // Rollback goes to v1, a second rollback back to v2.
  Outcome back = Run(Models("rollback"));
  EXPECT_SUCCEEDS(back);
  EXPECT_THAT(back.out, HasSubstr("active model version v1 (was v2)"));
  EXPECT_EQ(StoreActive(), "v1");
  EXPECT_EQ(ListedActive(), "v1");
  EXPECT_SUCCEEDS(Run(Models("rollback")));
  EXPECT_EQ(StoreActive(), "v2");

  // Re-running an id is refused before any training.
  EXPECT_FAILS_WITH(Run(Retrain("v2")), "already exists");
}

TEST_F(ModelsCliTest, ImplicitRetrainCountsClicksAndReportsRankingMetrics) {
  WriteWal();
  Outcome r = Run(Retrain("c1", {"--implicit", "--reg", "0.1"}));
  EXPECT_SUCCEEDS(r);
  EXPECT_THAT(r.out, HasSubstr("3 new pairs, 1 updated)"));  // the click counts
  EXPECT_THAT(r.out, HasSubstr("NDCG@3"));
  Outcome list = Run(Models("list"));
  EXPECT_SUCCEEDS(list);
  EXPECT_THAT(list.out, HasSubstr("implicit"));
  EXPECT_THAT(list.out, HasSubstr("ndcg@3 "));
}

TEST_F(ModelsCliTest, BadInvocationsFailCleanly) {
  WriteWal();
  EXPECT_FAILS_WITH(Run(Models("rollback")), "no model version was ever activated");
  Outcome usage = Run({"retrain", "--data", "base.csv", "--registry", "reg", "--store",
                       "lmdb://store", "--holdout", "0.95"});
  EXPECT_EQ(usage.exit_code, 2) << usage;
  EXPECT_FAILS_WITH(Run(Retrain("bad/id")), "version id");
  Outcome help = Run({"retrain", "--help"});
  EXPECT_SUCCEEDS(help);
  EXPECT_THAT(help.out, HasSubstr("SIGHUP"));
}

}  // namespace
}  // namespace reco
