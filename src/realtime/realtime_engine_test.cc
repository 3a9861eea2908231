#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "../store/faulty_kv_store.h"
#include "../testing/temp_dir.h"
#include "reco/fold_in.h"
#include "reco/precompute.h"
#include "reco/realtime.h"

namespace reco {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// ---- Tiny hand-made models --------------------------------------------------
//
// Five items with 2-d factors a=(1,0) b=(0,1) c=(1,1) d=(-1,0) e=(0,-1).
// Training ratings: u1 {d:5, e:4}, u2 {d:4, b:3}, u3 {e:5, d:3}, so the
// popular list is d (3 users), e (2), b (1), a, c.

const char* const kItems[] = {"a", "b", "c", "d", "e"};

FactorModel TinyModel(ModelKind kind = ModelKind::kExplicit) {
  FactorModel m;
  m.kind = kind;
  m.params.factors = 2;
  m.params.implicit = kind == ModelKind::kImplicit;
  m.params.regularization = 0.1f;
  m.params.alpha = 1.0f;
  for (const char* u : {"u1", "u2", "u3"}) m.users.GetOrAdd(u);
  for (const char* i : kItems) m.items.GetOrAdd(i);
  m.item_factors.resize(5, 2);
  m.item_factors << 1, 0, 0, 1, 1, 1, -1, 0, 0, -1;
  m.user_factors.resize(3, 2);
  m.user_factors << -1, -1, -1, 0.5f, 0.2f, -1;
  return m;
}

CsrMatrix TinyRatings() {
  // Items: a=0 b=1 c=2 d=3 e=4.
  std::vector<Interaction> r = {{0, 3, 5, 0}, {0, 4, 4, 0}, {1, 3, 4, 0},
                                {1, 1, 3, 0}, {2, 4, 5, 0}, {2, 3, 3, 0}};
  return CsrMatrix::FromInteractions(r, 3, 5);
}

// A larger model with pseudo-random factors, for consistency with precompute.
FactorModel RandomModel(ModelKind kind, bool biases, uint32_t users, uint32_t items,
                        uint32_t factors, CsrMatrix* ratings) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(-1, 1);
  FactorModel m;
  m.kind = kind;
  m.params.factors = factors;
  m.params.implicit = kind == ModelKind::kImplicit;
  m.params.use_biases = biases;
  m.params.regularization = kind == ModelKind::kImplicit ? 0.5f : 0.1f;
  m.params.alpha = 2.0f;
  for (uint32_t u = 0; u < users; ++u) m.users.GetOrAdd("user" + std::to_string(u));
  for (uint32_t i = 0; i < items; ++i) m.items.GetOrAdd("item" + std::to_string(i));
  m.user_factors.resize(users, factors);
  m.item_factors.resize(items, factors);
  for (uint32_t u = 0; u < users; ++u)
    for (uint32_t f = 0; f < factors; ++f) m.user_factors(u, f) = unit(rng);
  for (uint32_t i = 0; i < items; ++i)
    for (uint32_t f = 0; f < factors; ++f) m.item_factors(i, f) = unit(rng);
  if (biases) {
    m.user_bias.resize(users);
    m.item_bias.resize(items);
    for (uint32_t u = 0; u < users; ++u) m.user_bias[u] = unit(rng);
    for (uint32_t i = 0; i < items; ++i) m.item_bias[i] = unit(rng);
    m.global_bias = 3.5f;
  }
  std::vector<Interaction> records;
  for (uint32_t u = 0; u < users; ++u) {
    for (uint32_t i = 0; i < items; ++i) {
      if ((u * 7 + i * 3) % 5 == 0) records.push_back({u, i, float(1 + (u + i) % 5), 0});
    }
  }
  *ratings = CsrMatrix::FromInteractions(records, users, items);
  return m;
}

Event MakeEvent(std::string user, std::string item, std::optional<float> value = std::nullopt) {
  Event e;
  e.user_id = std::move(user);
  e.item_id = std::move(item);
  e.type = value ? "rating" : "click";
  e.value = value;
  e.timestamp_ms = 1700000000000;
  return e;
}

// Models kept in memory; tests of the registry itself use ModelRegistry.
class MemoryModelSource : public ModelSource {
 public:
  void Add(std::string version, FactorModel model, CsrMatrix interactions,
           uint64_t events_through_seq = 0) {
    RegisteredModel r;
    r.version = version;
    r.model = MakeAlsRecommender(std::move(model));
    r.interactions = std::move(interactions);
    r.events_through_seq = events_through_seq;
    models_[version] = std::move(r);
  }
  Result<RegisteredModel> Load(std::string_view version) const override {
    auto it = models_.find(std::string(version));
    if (it == models_.end()) return Status::NotFound("no model version " + std::string(version));
    return it->second;
  }
  Status RecordActivation(std::string_view version) override {
    activations.emplace_back(version);
    return Status::Ok();
  }
  std::vector<std::string> activations;

 private:
  std::map<std::string, RegisteredModel> models_;
};

std::vector<std::string> Ids(const RecList& list) {
  std::vector<std::string> ids;
  for (const RecItem& item : list) ids.emplace_back(item.item_id);
  return ids;
}

class RealtimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OpenLog();
    auto store = RecommendationStore::Open("memory://");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    engine_.reset();
    log_.reset();
  }
  void OpenLog() {
    log_.reset();
    auto log = EventLog::Open(dir_ + "/wal");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }

  // Precomputes `model` into the store as `version` (lists of length 3).
  void Publish(const std::string& version, const FactorModel& model, const CsrMatrix& seen,
               bool activate) {
    PrecomputeOptions o;
    o.k = kK;
    o.similar_k = 0;
    o.popular_k = 5;
    o.threads = 1;
    o.version = version;
    o.activate = activate;
    o.show_progress = false;
    auto r = PrecomputeToStore(*MakeAlsRecommender(model), seen, store_.get(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  void StartEngine(std::unique_ptr<ModelSource> source, RealtimeOptions options = {}) {
    options.k = kK;
    auto engine = RealtimeEngine::Start(std::move(source), store_.get(), log_.get(), options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
  }

  // Replaces the store with one over a FaultyKvStore (faults off), which the
  // store owns; returns it to switch faults on.
  testing_util::FaultyKvStore* UseFaultyStore() {
    auto owned = testing_util::FaultyKvStore::OverMemory();
    testing_util::FaultyKvStore* faulty = owned.get();
    auto store = RecommendationStore::Create(std::move(owned));
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    store_ = std::move(*store);
    return faulty;
  }

  // The tiny explicit model published and active as "v1", engine started.
  MemoryModelSource* StartTiny(RealtimeOptions options = {}) {
    auto source = std::make_unique<MemoryModelSource>();
    source->Add("v1", TinyModel(), TinyRatings());
    MemoryModelSource* raw = source.get();
    Publish("v1", TinyModel(), TinyRatings(), true);
    StartEngine(std::move(source), options);
    return raw;
  }

  static constexpr uint32_t kK = 3;
  testing_util::TempDir scratch_{"reco-realtime-test"};  // outlives the log and the engine
  const std::string dir_ = scratch_.path();
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<RecommendationStore> store_;
  std::unique_ptr<RealtimeEngine> engine_;
};

// ---- Acceptance 2 at library level ------------------------------------------

TEST_F(RealtimeTest, NewUserGetsPersonalListExcludingRatedItems) {
  StartTiny();
  RecList list;
  EXPECT_EQ(store_->GetUserRecs("newbie", &list).code(), Status::Code::kNotFound);

  Event e = MakeEvent("newbie", "a", 5.0f);
  auto seq = engine_->Accept({&e, 1});
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, 1u);
  engine_->WaitIdle();

  // (a a^T + 0.1 * 1 * I) x = 5 a  =>  x = (5 / 1.1, 0).
  // Scores: b 0, c 4.545, d -4.545, e 0; a is rated. Ties by item order.
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_EQ(list.version(), "v1");
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
  EXPECT_NEAR(list[0].score, 5.0 / 1.1, 1e-5);
  EXPECT_NEAR(list[1].score, 0.0, 1e-6);

  RecList popular;
  ASSERT_TRUE(store_->GetPopular(&popular).ok());
  std::vector<std::string> popular_ids = Ids(popular);
  std::vector<std::string> top3(popular_ids.begin(), popular_ids.begin() + 3);
  EXPECT_THAT(top3, ::testing::ElementsAre("d", "e", "b"));
  EXPECT_NE(Ids(list), top3);

  RealtimeStats s = engine_->stats();
  EXPECT_EQ(s.events_accepted, 1u);
  EXPECT_EQ(s.refreshes, 1u);
  EXPECT_EQ(s.live_users, 1u);
  EXPECT_EQ(s.queue_depth, 0u);
  EXPECT_GT(s.refresh_latency_p99_us, 0);
  EXPECT_EQ(log_->last_seq(), 1u);
}

TEST_F(RealtimeTest, NewUserOnAnLmdbStoreAcrossReopen) {
  {
    auto lmdb = RecommendationStore::Open("lmdb://" + dir_ + "/store");
    ASSERT_TRUE(lmdb.ok()) << lmdb.status().ToString();
    store_ = std::move(*lmdb);
  }
  StartTiny();
  std::vector<Event> events = {MakeEvent("newbie", "a", 5.0f), MakeEvent("other", "c", 1.0f)};
  ASSERT_TRUE(engine_->Accept(events).ok());
  engine_->WaitIdle();
  EXPECT_EQ(engine_->stats().refresh_batches, 1u);  // both users in one store write
  engine_.reset();
  store_.reset();
  auto reopened = RecommendationStore::Open("lmdb://" + dir_ + "/store");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  RecList list;
  ASSERT_TRUE((*reopened)->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
}

TEST_F(RealtimeTest, ExistingUserLatestRatingReplacesTrainingRating) {
  StartTiny();
  RecList before;
  ASSERT_TRUE(store_->GetUserRecs("u1", &before).ok());

  // u1 trained {d:5, e:4}; now rates a=2, d=3, then d=1 (the latest wins).
  std::vector<Event> events = {MakeEvent("u1", "a", 2.0f), MakeEvent("u1", "d", 3.0f)};
  ASSERT_TRUE(engine_->Accept(events).ok());
  Event again = MakeEvent("u1", "d", 1.0f);
  ASSERT_TRUE(engine_->Accept({&again, 1}).ok());
  engine_->WaitIdle();

  // Row {a:2, d:1, e:4}, n = 3: A = diag(2 + 0.3, 1 + 0.3), rhs = (2 - 1, -4),
  // x = (1/2.3, -4/1.3). Unseen: b = -3.0769, c = -2.6421.
  RecList after;
  ASSERT_TRUE(store_->GetUserRecs("u1", &after).ok());
  EXPECT_THAT(Ids(after), ::testing::ElementsAre("c", "b"));
  EXPECT_NEAR(after[0].score, 1 / 2.3 - 4 / 1.3, 1e-5);
  EXPECT_NEAR(after[1].score, -4 / 1.3, 1e-5);
  EXPECT_NE(Ids(after), Ids(before));
}

TEST_F(RealtimeTest, UnknownItemsAndValuelessEventsAreLoggedButNotFoldedIn) {
  StartTiny();
  std::vector<Event> events = {MakeEvent("newbie", "zzz", 4.0f), MakeEvent("newbie", "b")};
  auto seq = engine_->Accept(events);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 2u);
  engine_->WaitIdle();
  RealtimeStats s = engine_->stats();
  EXPECT_EQ(s.events_accepted, 2u);
  EXPECT_EQ(s.events_unknown_item, 1u);
  EXPECT_EQ(s.events_without_value, 1u);
  EXPECT_EQ(s.refreshes, 0u);
  RecList list;
  EXPECT_EQ(store_->GetUserRecs("newbie", &list).code(), Status::Code::kNotFound);
  EXPECT_EQ(log_->last_seq(), 2u);
}

TEST_F(RealtimeTest, ImplicitStrengthsAddUp) {
  auto source = std::make_unique<MemoryModelSource>();
  source->Add("imp", TinyModel(ModelKind::kImplicit), TinyRatings());
  Publish("imp", TinyModel(ModelKind::kImplicit), TinyRatings(), true);
  StartEngine(std::move(source));

  // Two clicks on c (strength 1 + 1) and one event of strength 3 on d.
  std::vector<Event> events = {MakeEvent("fresh", "c"), MakeEvent("fresh", "c"),
                               MakeEvent("fresh", "d", 3.0f)};
  ASSERT_TRUE(engine_->Accept(events).ok());
  engine_->WaitIdle();

  // The same solve done directly on the row {c:2, d:3}.
  FactorModel model = TinyModel(ModelKind::kImplicit);
  FoldIn fold_in(model);
  float x[2];
  std::vector<uint32_t> items = {2, 3};
  std::vector<float> values = {2.0f, 3.0f};
  ASSERT_TRUE(fold_in.SolveUser(items, values, x, nullptr).ok());
  std::vector<std::pair<float, std::string>> expected;
  for (uint32_t i : {0u, 1u, 4u}) {
    expected.push_back({model.item_factors.row(i).dot(Eigen::Vector2f(x[0], x[1])), kItems[i]});
  }
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& p, const auto& q) { return p.first > q.first; });
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("fresh", &list).ok());
  ASSERT_EQ(list.size(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(list[r].item_id, expected[r].second) << r;
    EXPECT_NEAR(list[r].score, expected[r].first, 1e-5) << r;
  }
}

// ---- Fold-in + ranking agree with precompute on the merged data ------------

struct ConsistencyCase {
  ModelKind kind;
  bool biases;
};

class ConsistencyTest : public RealtimeTest,
                        public ::testing::WithParamInterface<ConsistencyCase> {};

TEST_P(ConsistencyTest, RefreshedListEqualsPrecomputeOfMergedRow) {
  const auto [kind, biases] = GetParam();
  CsrMatrix ratings;
  FactorModel model = RandomModel(kind, biases, 12, 40, 4, &ratings);
  auto source = std::make_unique<MemoryModelSource>();
  source->Add("v1", model, ratings);
  Publish("v1", model, ratings, true);
  RealtimeOptions options;
  options.refresh_threads = 2;
  StartEngine(std::move(source), options);

  // user3 re-rates one training item and rates two new ones.
  const uint32_t u = 3;
  const uint32_t trained = ratings.indices[ratings.indptr[u]];
  std::vector<Event> events = {MakeEvent("user3", "item" + std::to_string(trained), 1.5f),
                               MakeEvent("user3", "item1", 4.0f),
                               MakeEvent("user3", "item39", 2.0f)};
  ASSERT_TRUE(engine_->Accept(events).ok());
  engine_->WaitIdle();

  // The merged data: explicit replaces, implicit adds.
  std::vector<Interaction> merged;
  for (uint32_t r = 0; r < ratings.rows; ++r) {
    for (uint64_t p = ratings.indptr[r]; p < ratings.indptr[r + 1]; ++p) {
      merged.push_back({r, ratings.indices[p], ratings.values[p], 0});
    }
  }
  auto add = [&](uint32_t item, float value) {
    for (Interaction& in : merged) {
      if (in.user == u && in.item == item) {
        in.value = kind == ModelKind::kExplicit ? value : in.value + value;
        return;
      }
    }
    merged.push_back({u, item, value, 0});
  };
  add(trained, 1.5f);
  add(1, 4.0f);
  add(39, 2.0f);
  std::sort(merged.begin(), merged.end(), [](const Interaction& a, const Interaction& b) {
    return std::tie(a.user, a.item) < std::tie(b.user, b.item);
  });
  CsrMatrix merged_csr = CsrMatrix::FromInteractions(merged, 12, 40);

  // The user's row re-solved against the fixed items, then precomputed.
  FactorModel expected_model = model;
  FoldIn fold_in(model);
  const uint64_t b = merged_csr.indptr[u], e = merged_csr.indptr[u + 1];
  std::vector<float> x(model.factors());
  float bias = 0;
  ASSERT_TRUE(fold_in
                  .SolveUser({merged_csr.indices.data() + b, size_t(e - b)},
                             {merged_csr.values.data() + b, size_t(e - b)}, x.data(), &bias)
                  .ok());
  for (uint32_t f = 0; f < model.factors(); ++f) expected_model.user_factors(u, f) = x[f];
  if (biases) expected_model.user_bias[u] = bias;
  auto other = RecommendationStore::Open("memory://");
  ASSERT_TRUE(other.ok());
  std::swap(store_, *other);
  Publish("expected", expected_model, merged_csr, true);
  std::swap(store_, *other);

  RecList got, want;
  ASSERT_TRUE(store_->GetUserRecs("user3", &got).ok());
  ASSERT_TRUE((*other)->GetUserRecs("user3", &want).ok());
  ASSERT_EQ(Ids(got), Ids(want));
  for (size_t r = 0; r < got.size(); ++r) EXPECT_NEAR(got[r].score, want[r].score, 1e-4);
  // Seen items (training and live) are never recommended.
  for (const RecItem& item : got) {
    EXPECT_NE(item.item_id, "item1");
    EXPECT_NE(item.item_id, "item39");
  }
  // Other users' lists are untouched.
  RecList other_user, original;
  ASSERT_TRUE(store_->GetUserRecs("user4", &other_user).ok());
  ASSERT_TRUE(store_->GetUserRecsAt("v1", "user4", &original).ok());
  EXPECT_EQ(Ids(other_user), Ids(original));
}

INSTANTIATE_TEST_SUITE_P(Kinds, ConsistencyTest,
                         ::testing::Values(ConsistencyCase{ModelKind::kExplicit, false},
                                           ConsistencyCase{ModelKind::kExplicit, true},
                                           ConsistencyCase{ModelKind::kImplicit, false}));

// ---- Backpressure -----------------------------------------------------------

bool IsQueueFull(const Status& st) {
  return st.code() == Status::Code::kResourceExhausted &&
         st.message().find("queue is full") != std::string::npos;
}

TEST_F(RealtimeTest, FullQueueRejectsBeforeAppending) {
  RealtimeOptions options;
  options.queue_capacity = 1;
  StartTiny(options);
  // Two distinct users cannot fit a queue of one: refused, nothing logged.
  std::vector<Event> events = {MakeEvent("x", "a", 5.0f), MakeEvent("y", "b", 4.0f)};
  auto r = engine_->Accept(events);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsQueueFull(r.status())) << r.status().ToString();
  EXPECT_EQ(log_->last_seq(), 0u);
  EXPECT_EQ(engine_->stats().events_rejected_queue_full, 2u);
  EXPECT_EQ(engine_->stats().events_accepted, 0u);

  // One user fits (several events of one user take one slot).
  std::vector<Event> one = {MakeEvent("x", "a", 5.0f), MakeEvent("x", "b", 1.0f)};
  auto ok = engine_->Accept(one);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, 2u);
  engine_->WaitIdle();
  RecList list;
  EXPECT_TRUE(store_->GetUserRecs("x", &list).ok());
}

TEST_F(RealtimeTest, PrometheusTextReportsCounters) {
  StartTiny();
  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  engine_->WaitIdle();
  std::string text = engine_->PrometheusText();
  EXPECT_THAT(text, HasSubstr("# TYPE reco_realtime_events_accepted_total counter\n"
                              "reco_realtime_events_accepted_total 1\n"));
  EXPECT_THAT(text, HasSubstr("reco_realtime_refreshes_total 1\n"));
  EXPECT_THAT(text, HasSubstr("reco_realtime_queue_depth 0\n"));
  EXPECT_THAT(text, HasSubstr("reco_realtime_refresh_latency_seconds{quantile=\"0.99\"} "));
  EXPECT_THAT(text, HasSubstr("reco_realtime_refresh_latency_seconds_count 1\n"));
}

// ---- Asynchronous intake and write-behind -----------------------------------

TEST_F(RealtimeTest, AcceptAsyncAnswersEveryRequestOnceEvenAtShutdown) {
  StartTiny();
  constexpr int kThreads = 4, kPerThread = 50;
  std::mutex mu;
  std::vector<uint64_t> seqs;
  int failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<Event> events = {MakeEvent("w" + std::to_string(t), kItems[i % 5], 3.0f)};
        engine_->AcceptAsync(std::move(events), [&](Result<uint64_t> r) {
          std::lock_guard lock(mu);
          if (r.ok()) {
            seqs.push_back(*r);
          } else {
            ++failures;
          }
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  engine_.reset();  // answers whatever the committer had not taken yet
  EXPECT_EQ(failures, 0);
  ASSERT_EQ(seqs.size(), size_t{kThreads * kPerThread});
  std::sort(seqs.begin(), seqs.end());
  for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1);
  EXPECT_EQ(log_->last_seq(), uint64_t{kThreads * kPerThread});
}

TEST_F(RealtimeTest, InvalidEventIsRefusedAtOnceAndNothingIsLogged) {
  StartTiny();
  std::vector<Event> events = {MakeEvent("ok", "a", 1.0f), MakeEvent("", "b", 1.0f)};
  bool answered = false;
  engine_->AcceptAsync(std::move(events), [&](Result<uint64_t> r) {
    answered = true;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("event 1"));
  });
  EXPECT_TRUE(answered);  // before AcceptAsync returned
  engine_->WaitIdle();
  EXPECT_EQ(log_->last_seq(), 0u);
  EXPECT_EQ(engine_->stats().events_accepted, 0u);
}

class RealtimeWriteBehindTest : public RealtimeTest {
 protected:
  // The engine on an LMDB store, and a second handle on it that sees only
  // what reached LMDB (as another process would).
  void StartOnLmdb(std::chrono::milliseconds flush_interval) {
    auto lmdb = RecommendationStore::Open("lmdb://" + dir_ + "/store");
    ASSERT_TRUE(lmdb.ok()) << lmdb.status().ToString();
    store_ = std::move(*lmdb);
    RecStoreOptions reader_options;
    reader_options.refresh_interval = std::chrono::milliseconds(0);
    RealtimeOptions options;
    options.flush_interval = flush_interval;
    StartTiny(options);
    auto reader = RecommendationStore::Open("lmdb://" + dir_ + "/store", reader_options);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::move(*reader);
  }

  // Waits (bounded) until the refresher has written `n` lists.
  void WaitForRefreshes(uint64_t n) {
    for (int i = 0; i < 10'000 && engine_->stats().refreshes < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GE(engine_->stats().refreshes, n);
  }

  std::unique_ptr<RecommendationStore> reader_;
};

TEST_F(RealtimeWriteBehindTest, RefreshIsServedFromMemoryUntilTheFlush) {
  StartOnLmdb(std::chrono::hours(1));  // no timed flush during the test
  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  WaitForRefreshes(1);
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
  EXPECT_EQ(reader_->GetUserRecs("newbie", &list).code(), Status::Code::kNotFound);
  EXPECT_EQ(engine_->stats().unflushed_lists, 1u);
  EXPECT_EQ(engine_->stats().flushes, 0u);

  engine_->WaitIdle();  // flushes
  ASSERT_TRUE(reader_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
  EXPECT_EQ(engine_->stats().unflushed_lists, 0u);
  EXPECT_EQ(engine_->stats().flushes, 1u);
}

TEST_F(RealtimeWriteBehindTest, TimedFlushReachesTheStoreWithoutWaitIdle) {
  StartOnLmdb(std::chrono::milliseconds(20));
  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  RecList list;
  Status st;
  for (int i = 0; i < 10'000; ++i) {
    st = reader_->GetUserRecs("newbie", &list);
    if (st.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
  // The flush is counted once its write returns, just after readers see it.
  for (int i = 0; i < 10'000 && engine_->stats().flushes == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(engine_->stats().flushes, 1u);
}

TEST_F(RealtimeWriteBehindTest, ZeroIntervalWritesEachBatchThrough) {
  StartOnLmdb(std::chrono::milliseconds(0));
  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  WaitForRefreshes(1);
  RecList list;
  ASSERT_TRUE(reader_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
  EXPECT_EQ(engine_->stats().unflushed_lists, 0u);
}

// ---- Many writers, several refreshers ---------------------------------------

// Committed groups refreshed by the committer (small groups, the default) or
// all handed to the refresher threads: the same lists either way.
class RealtimeRefreshPathTest : public RealtimeTest,
                                public ::testing::WithParamInterface<size_t> {};

TEST_P(RealtimeRefreshPathTest, ConcurrentAcceptsConvergeToTheMergedRows) {
  RealtimeOptions options;
  options.refresh_threads = 2;
  options.max_batch_users = 4;
  options.inline_refresh_max_users = GetParam();
  StartTiny(options);
  // Each thread owns its users; each user ends with ratings {a:1, c:5}.
  constexpr int kThreads = 4, kUsers = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int u = 0; u < kUsers; ++u) {
        std::string user = "t" + std::to_string(t) + "u" + std::to_string(u);
        for (Event e :
             {MakeEvent(user, "a", 4.0f), MakeEvent(user, "c", 5.0f), MakeEvent(user, "a", 1.0f)}) {
          if (!engine_->Accept({&e, 1}).ok()) ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  engine_->WaitIdle();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log_->last_seq(), uint64_t{kThreads * kUsers * 3});
  // Row {a:1, c:5}, n = 2: A = [[2.2, 1], [1, 1.2]], rhs = (6, 5):
  // x = (6*1.2 - 5, 2.2*5 - 6) / (2.2*1.2 - 1) = (2.2, 5) / 1.64.
  const float x0 = 2.2f / 1.64f, x1 = 5.0f / 1.64f;
  for (int t = 0; t < kThreads; ++t) {
    for (int u = 0; u < kUsers; ++u) {
      RecList list;
      std::string user = "t" + std::to_string(t) + "u" + std::to_string(u);
      ASSERT_TRUE(store_->GetUserRecs(user, &list).ok()) << user;
      // Unseen b = x1, d = -x0, e = -x1.
      ASSERT_THAT(Ids(list), ::testing::ElementsAre("b", "d", "e")) << user;
      EXPECT_NEAR(list[0].score, x1, 1e-4);
      EXPECT_NEAR(list[1].score, -x0, 1e-4);
    }
  }
  EXPECT_EQ(engine_->stats().live_users, uint64_t{kThreads * kUsers});
}

INSTANTIATE_TEST_SUITE_P(InlineOrQueued, RealtimeRefreshPathTest, ::testing::Values(16, 0),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return info.param == 0 ? std::string("Queued") : std::string("Inline");
                         });

// ---- Restart ----------------------------------------------------------------

TEST_F(RealtimeTest, RestartReplaysTheLogAfterTheModelsTraining) {
  // Events logged by a process that died before refreshing anything.
  {
    std::vector<Event> events = {MakeEvent("newbie", "a", 5.0f), MakeEvent("u1", "a", 2.0f),
                                 MakeEvent("u1", "d", 1.0f)};
    ASSERT_TRUE(log_->Append(events).ok());
  }
  OpenLog();
  StartTiny();
  // Start refreshed them before returning.
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
  ASSERT_TRUE(store_->GetUserRecs("u1", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b"));
  EXPECT_EQ(engine_->stats().live_users, 2u);

  // Later events build on the replayed history: newbie now {a:5, c:1}.
  engine_.reset();
  OpenLog();
  auto source = std::make_unique<MemoryModelSource>();
  source->Add("v1", TinyModel(), TinyRatings());
  StartEngine(std::move(source));
  Event e = MakeEvent("newbie", "c", 1.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  engine_->WaitIdle();
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  // A = [[2.2, 1], [1, 1.2]], rhs = (6, 1): x = (6*1.2 - 1, 2.2 - 6) / 1.64
  // = (6.2, -3.8) / 1.64. Unseen: b = -3.8/1.64, d = -6.2/1.64, e = 3.8/1.64.
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("e", "b", "d"));
  EXPECT_NEAR(list[0].score, 3.8f / 1.64f, 1e-4);
}

// ---- Live memory budget -----------------------------------------------------

// Enough for a handful of one-item histories (about 200 bytes each), so the
// tests below spill after a few distinct users.
constexpr size_t kTinyBudget = 1000;

// 30 new users rate a, then the first 10 (spilled long since) rate c; u1
// (a training user) rates a early and b at the end.
std::vector<Event> ManyUsersComingBack() {
  std::vector<Event> events = {MakeEvent("u1", "a", 2.0f)};
  for (int u = 0; u < 30; ++u) events.push_back(MakeEvent("n" + std::to_string(u), "a", 4.0f));
  for (int u = 0; u < 10; ++u) events.push_back(MakeEvent("n" + std::to_string(u), "c", 1.0f));
  events.push_back(MakeEvent("u1", "b", 5.0f));
  return events;
}

struct UserView {
  std::vector<std::pair<std::string, float>> row;
  std::vector<std::pair<std::string, float>> list;
  bool operator==(const UserView&) const = default;
};

class RealtimeBudgetTest : public RealtimeTest {
 protected:
  // Starts the tiny model on a fresh store and log with `budget`, accepts
  // `events` one request at a time and returns every user's row and list.
  std::map<std::string, UserView> Run(size_t budget, const std::vector<Event>& events) {
    engine_.reset();
    log_.reset();
    fs::remove_all(dir_ + "/wal");
    OpenLog();
    store_ = std::move(RecommendationStore::Open("memory://")).value();
    RealtimeOptions options;
    options.live_memory_bytes = budget;
    StartTiny(options);
    for (const Event& e : events) {
      EXPECT_TRUE(engine_->Accept({&e, 1}).ok());
    }
    engine_->WaitIdle();
    return Views(events);
  }

  std::map<std::string, UserView> Views(const std::vector<Event>& events) {
    std::map<std::string, UserView> views;
    for (const Event& e : events) {
      UserView& view = views[e.user_id];
      view.row = engine_->UserRow(e.user_id);
      RecList list;
      EXPECT_TRUE(store_->GetUserRecs(e.user_id, &list).ok()) << e.user_id;
      view.list.clear();
      for (const RecItem& item : list) view.list.emplace_back(item.item_id, item.score);
    }
    return views;
  }
};

TEST_F(RealtimeBudgetTest, SpilledHistoriesGiveTheSameRowsAndListsAsUnbounded) {
  const std::vector<Event> events = ManyUsersComingBack();
  const std::map<std::string, UserView> unbounded = Run(0, events);
  EXPECT_EQ(engine_->stats().live_spilled, 0u);
  EXPECT_EQ(engine_->stats().live_users, 31u);
  // The known answers: n0 is {a:4, c:1}, n29 {a:4}, u1 {a:2, b:5, d:5, e:4}.
  EXPECT_THAT(unbounded.at("n0").row,
              ::testing::ElementsAre(::testing::Pair("a", 4.0f), ::testing::Pair("c", 1.0f)));
  EXPECT_THAT(unbounded.at("n29").row, ::testing::ElementsAre(::testing::Pair("a", 4.0f)));
  EXPECT_THAT(unbounded.at("u1").row,
              ::testing::ElementsAre(::testing::Pair("a", 2.0f), ::testing::Pair("b", 5.0f),
                                     ::testing::Pair("d", 5.0f), ::testing::Pair("e", 4.0f)));

  const std::map<std::string, UserView> bounded = Run(kTinyBudget, events);
  EXPECT_EQ(bounded, unbounded);
  RealtimeStats s = engine_->stats();
  EXPECT_LE(s.live_bytes, kTinyBudget);
  EXPECT_GT(s.live_bytes, 0u);
  EXPECT_LT(s.live_users, 10u);
  EXPECT_GE(s.live_spilled, 22u);   // 31 users, at most 9 in memory
  EXPECT_EQ(s.live_restored, 11u);  // n0..n9 and u1 came back
  EXPECT_EQ(s.live_spill_failures, 0u);
  EXPECT_EQ(s.live_restore_failures, 0u);
  EXPECT_EQ(s.live_budget_bytes, kTinyBudget);
  EXPECT_THAT(engine_->PrometheusText(), HasSubstr("reco_realtime_live_spilled_total "));
  EXPECT_GT(store_->Verify().live_states, 0u);

  // A restart replays the log within the budget (the spills of the earlier
  // run are dropped first) and serves the same.
  engine_.reset();
  OpenLog();
  auto source = std::make_unique<MemoryModelSource>();
  source->Add("v1", TinyModel(), TinyRatings());
  RealtimeOptions options;
  options.live_memory_bytes = kTinyBudget;
  StartEngine(std::move(source), options);
  EXPECT_LE(engine_->stats().live_bytes, kTinyBudget);
  EXPECT_EQ(Views(events), unbounded);
}

// A store that refuses the spill: the histories stay in memory (over the
// budget, counted), nothing is lost, and the next try after the store
// recovers spills them.
TEST_F(RealtimeBudgetTest, ASpillTheStoreRefusesKeepsTheHistoriesInMemory) {
  testing_util::FaultyKvStore* faulty = UseFaultyStore();
  ASSERT_NE(faulty, nullptr);
  RealtimeOptions options;
  options.live_memory_bytes = kTinyBudget;
  StartTiny(options);
  faulty->writes_until_failure = 0;
  std::vector<Event> events;
  for (int u = 0; u < 12; ++u) events.push_back(MakeEvent("n" + std::to_string(u), "a", 4.0f));
  for (const Event& e : events) ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  engine_->WaitIdle();
  RealtimeStats s = engine_->stats();
  EXPECT_GE(s.live_spill_failures, 1u);
  EXPECT_EQ(s.live_spilled, 0u);
  EXPECT_EQ(s.live_users, 12u);
  EXPECT_GT(s.live_bytes, kTinyBudget);
  for (const Event& e : events) {
    EXPECT_THAT(engine_->UserRow(e.user_id), ::testing::ElementsAre(::testing::Pair("a", 4.0f)));
  }

  faulty->writes_until_failure = -1;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the retry pause
  Event more = MakeEvent("n0", "c", 1.0f);
  ASSERT_TRUE(engine_->Accept({&more, 1}).ok());
  engine_->WaitIdle();
  s = engine_->stats();
  EXPECT_GT(s.live_spilled, 0u);
  EXPECT_LE(s.live_bytes, kTinyBudget);
  for (const Event& e : events) {
    if (e.user_id == "n0") continue;
    EXPECT_THAT(engine_->UserRow(e.user_id), ::testing::ElementsAre(::testing::Pair("a", 4.0f)));
  }
  EXPECT_THAT(engine_->UserRow("n0"),
              ::testing::ElementsAre(::testing::Pair("a", 4.0f), ::testing::Pair("c", 1.0f)));
}

// ---- Store faults (testing_util::FaultyKvStore) ------------------------------

// Write-behind (the default): while the store refuses writes, refreshed lists
// stay pending and are served from memory; the flush that fails is counted
// and the next one, once the store takes writes, lands them.
TEST_F(RealtimeTest, AFullStoreKeepsRefreshedListsPendingUntilItTakesWritesAgain) {
  testing_util::FaultyKvStore* faulty = UseFaultyStore();
  ASSERT_NE(faulty, nullptr);
  StartTiny();

  faulty->writes_until_failure = 0;
  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  engine_->WaitIdle();  // its flush fails
  RealtimeStats s = engine_->stats();
  EXPECT_GE(s.flush_failures, 1u);
  EXPECT_EQ(s.refreshes, 1u);
  EXPECT_GT(store_->pending_lists(), 0u);
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));

  faulty->writes_until_failure = -1;
  engine_->WaitIdle();
  EXPECT_EQ(store_->pending_lists(), 0u);
  EXPECT_GE(engine_->stats().flushes, 1u);
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
}

// Write-through: a refresh whose list cannot be written is counted and the
// user's stored list is left as it was (here: none), but the event was
// durable before it was acknowledged, so a restart on a healthy store replays
// it and the list is refreshed.
TEST_F(RealtimeTest, AnAcknowledgedEventSurvivesAFailedListWrite) {
  testing_util::FaultyKvStore* faulty = UseFaultyStore();
  ASSERT_NE(faulty, nullptr);
  RealtimeOptions write_through;
  write_through.flush_interval = std::chrono::milliseconds(0);
  StartTiny(write_through);

  faulty->writes_until_failure = 0;
  Event e = MakeEvent("newbie", "a", 5.0f);
  auto seq = engine_->Accept({&e, 1});
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  engine_->WaitIdle();
  EXPECT_EQ(engine_->stats().refresh_failures, 1u);
  EXPECT_EQ(engine_->stats().refreshes, 0u);
  RecList list;
  EXPECT_EQ(store_->GetUserRecs("newbie", &list).code(), Status::Code::kNotFound);
  EXPECT_GT(faulty->injected_failures(), 0u);

  faulty->writes_until_failure = -1;
  engine_.reset();
  OpenLog();
  EXPECT_EQ(log_->last_seq(), *seq);
  auto source = std::make_unique<MemoryModelSource>();
  source->Add("v1", TinyModel(), TinyRatings());
  StartEngine(std::move(source), write_through);
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
}

TEST_F(RealtimeTest, EventsTheModelWasTrainedOnAreNotReplayed) {
  ASSERT_TRUE(log_->Append(std::vector<Event>{MakeEvent("old", "a", 5.0f)}).ok());
  auto source = std::make_unique<MemoryModelSource>();
  source->Add("v1", TinyModel(), TinyRatings(), /*events_through_seq=*/1);
  Publish("v1", TinyModel(), TinyRatings(), true);
  StartEngine(std::move(source));
  EXPECT_EQ(engine_->stats().live_users, 0u);
  RecList list;
  EXPECT_EQ(store_->GetUserRecs("old", &list).code(), Status::Code::kNotFound);
}

TEST_F(RealtimeTest, WithoutAnActiveVersionEventsAreOnlyLogged) {
  StartEngine(std::make_unique<MemoryModelSource>());
  EXPECT_EQ(engine_->LiveVersion(), "");
  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  engine_->WaitIdle();
  EXPECT_EQ(log_->last_seq(), 1u);
  EXPECT_EQ(engine_->stats().refreshes, 0u);
}

// ---- Activation -------------------------------------------------------------

TEST_F(RealtimeTest, ActivationReappliesLiveEventsToTheNewVersion) {
  MemoryModelSource* source = StartTiny();
  // v2: the same items, user factors scaled, trained on nothing newer.
  FactorModel v2 = TinyModel();
  v2.user_factors *= 2;
  Publish("v2", v2, TinyRatings(), false);
  // The registry is a borrowed pointer inside the engine; add before use.
  source->Add("v2", v2, TinyRatings());

  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  engine_->WaitIdle();
  ASSERT_TRUE(engine_->ActivateModel("v2").ok());
  EXPECT_EQ(engine_->LiveVersion(), "v2");
  EXPECT_EQ(*store_->ActiveVersion(), "v2");
  EXPECT_THAT(source->activations, ::testing::ElementsAre("v2"));
  // The new user's list was written into v2 before it became active.
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_EQ(list.version(), "v2");
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
  EXPECT_EQ(engine_->stats().activations, 2u);  // Start + this one
}

TEST_F(RealtimeTest, ActivationRefusesUnknownOrUnpublishedVersions) {
  MemoryModelSource* source = StartTiny();
  Status st = engine_->ActivateModel("nope");
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.ToString();
  source->Add("v2", TinyModel(), TinyRatings());  // in the registry, no lists in the store
  st = engine_->ActivateModel("v2");
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(engine_->LiveVersion(), "v1");
  EXPECT_EQ(*store_->ActiveVersion(), "v1");
  EXPECT_TRUE(source->activations.empty());
}

TEST_F(RealtimeTest, ReloadFollowsTheStorePointer) {
  MemoryModelSource* source = StartTiny();
  source->Add("v2", TinyModel(), TinyRatings());
  Publish("v2", TinyModel(), TinyRatings(), /*activate=*/true);  // e.g. another process
  EXPECT_EQ(engine_->LiveVersion(), "v1");
  ASSERT_TRUE(engine_->Reload().ok());
  EXPECT_EQ(engine_->LiveVersion(), "v2");
  EXPECT_TRUE(source->activations.empty());  // Reload does not re-record
  ASSERT_TRUE(engine_->Reload().ok());       // unchanged: nothing to do
  EXPECT_EQ(engine_->stats().activations, 2u);
}

// ---- The store write the refresher uses ------------------------------------

TEST_F(RealtimeTest, PutUserRecsAtWritesOneBatchIntoACommittedVersion) {
  Publish("v1", TinyModel(), TinyRatings(), true);
  RecItem x[] = {{"a", 1.0f}};
  RecItem y[] = {{"b", 2.0f}, {"c", 1.5f}};
  UserRecs lists[] = {{"u1", x}, {"brand-new", y}};
  ASSERT_TRUE(store_->PutUserRecsAt("v1", lists).ok());
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("u1", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("a"));
  ASSERT_TRUE(store_->GetUserRecs("brand-new", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("b", "c"));
  EXPECT_EQ(store_->PutUserRecsAt("nope", lists).code(), Status::Code::kNotFound);
  UserRecs bad[] = {{"ok", x}, {"", y}};
  EXPECT_EQ(store_->PutUserRecsAt("v1", bad).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(store_->GetUserRecs("u1", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("a"));  // the bad batch wrote nothing
  EXPECT_EQ(store_->GetUserRecs("ok", &list).code(), Status::Code::kNotFound);
}

// ---- With the model registry ------------------------------------------------

class RealtimeRegistryTest : public RealtimeTest {
 protected:
  void SetUp() override {
    RealtimeTest::SetUp();
    auto registry = ModelRegistry::Open(dir_ + "/models");
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_ = std::move(*registry);
  }
  void TearDown() override {
    engine_.reset();
    registry_.reset();
    RealtimeTest::TearDown();
  }
  void RegisterAndPublish(const std::string& version, const FactorModel& model) {
    RegisterOptions o;
    o.version = version;
    auto v = registry_->Register(*MakeAlsRecommender(model), TinyRatings(), o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    Publish(version, model, TinyRatings(), false);
  }
  void StartWithRegistry() {
    RealtimeOptions options;
    options.k = kK;
    options.refresh_threads = 2;
    auto engine = RealtimeEngine::Start(registry_.get(), store_.get(), log_.get(), options);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine);
  }
  std::string ModelFile(const std::string& version) {
    return registry_->dir() + "/versions/" + version + "/model.rcfm";
  }

  std::unique_ptr<ModelRegistry> registry_;
};

TEST_F(RealtimeRegistryTest, CorruptModelIsRefusedAndTheOldOneKeepsServing) {
  RegisterAndPublish("v1", TinyModel());
  ASSERT_TRUE(ActivateModelVersion(registry_.get(), store_.get(), "v1").ok());
  FactorModel v2 = TinyModel();
  v2.user_factors *= 3;
  RegisterAndPublish("v2", v2);
  StartWithRegistry();
  EXPECT_EQ(engine_->LiveVersion(), "v1");

  {
    std::fstream f(ModelFile("v2"), std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open());
    f.seekg(100);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(100);
    f.write(&c, 1);
  }
  Status st = engine_->ActivateModel("v2");
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("model.rcfm"));
  EXPECT_EQ(engine_->LiveVersion(), "v1");
  EXPECT_EQ(*store_->RefreshActiveVersion(), "v1");
  EXPECT_EQ(*registry_->ActiveVersion(), "v1");

  // Still serving and refreshing on v1.
  Event e = MakeEvent("newbie", "a", 5.0f);
  ASSERT_TRUE(engine_->Accept({&e, 1}).ok());
  engine_->WaitIdle();
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_EQ(list.version(), "v1");
}

// Acceptance 3 at library level: readers never fail across an activation,
// while events keep arriving.
TEST_F(RealtimeRegistryTest, ActivationUnderConcurrentReadsAndWritesFailsNoRead) {
  RegisterAndPublish("v1", TinyModel());
  ASSERT_TRUE(ActivateModelVersion(registry_.get(), store_.get(), "v1").ok());
  FactorModel v2 = TinyModel();
  v2.user_factors *= -1;
  RegisterAndPublish("v2", v2);
  StartWithRegistry();

  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0}, failed{0}, writes{0}, writes_failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      RecList list;
      const char* users[] = {"u1", "u2", "u3"};
      for (uint64_t i = 0; !done.load() || i < 200; ++i) {
        Status st = store_->GetUserRecs(users[(i + t) % 3], &list);
        reads.fetch_add(1);
        if (!st.ok() || list.empty()) failed.fetch_add(1);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; !done.load(); ++i) {
      Event e = MakeEvent("w" + std::to_string(i % 16), kItems[i % 5], float(1 + i % 5));
      if (!engine_->Accept({&e, 1}).ok()) writes_failed.fetch_add(1);
      writes.fetch_add(1);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Status st = engine_->ActivateModel("v2");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  done = true;
  for (auto& t : threads) t.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  engine_->WaitIdle();
  EXPECT_EQ(failed.load(), 0u) << "of " << reads.load() << " reads";
  EXPECT_EQ(writes_failed.load(), 0u);
  EXPECT_EQ(engine_->LiveVersion(), "v2");
  EXPECT_EQ(*registry_->ActiveVersion(), "v2");
  EXPECT_EQ(*store_->ActiveVersion(), "v2");
  // Every writer's events reached a list in the new version.
  ASSERT_GT(writes.load(), 0u);
  for (uint64_t i = 0; i < std::min<uint64_t>(16, writes.load()); ++i) {
    RecList list;
    std::string user = "w" + std::to_string(i);
    ASSERT_TRUE(store_->GetUserRecs(user, &list).ok()) << user;
    EXPECT_EQ(list.version(), "v2") << user;
  }
}

TEST_F(RealtimeRegistryTest, RestartWithTheRegistryReplaysTheLog) {
  RegisterAndPublish("v1", TinyModel());
  ASSERT_TRUE(ActivateModelVersion(registry_.get(), store_.get(), "v1").ok());
  ASSERT_TRUE(log_->Append(std::vector<Event>{MakeEvent("newbie", "a", 5.0f)}).ok());
  OpenLog();
  StartWithRegistry();
  RecList list;
  ASSERT_TRUE(store_->GetUserRecs("newbie", &list).ok());
  EXPECT_THAT(Ids(list), ::testing::ElementsAre("c", "b", "e"));
}

}  // namespace
}  // namespace reco
