// RecommendationStore on every backend: publishing, activation, rollback,
// deletion, the reader's cached active version, and an atomic switch under
// concurrent readers.
#include "reco/rec_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store_test_util.h"

namespace reco {
namespace {

using testing_util::LmdbBackend;
using testing_util::MemoryBackend;
using testing_util::RedisBackend;
using testing_util::RedisClusterBackend;

// Lists whose every item names the version that wrote it, so a reader can
// tell a list that mixes versions: item "<version>:<user>:<rank>", score
// version_number + rank / 100.
struct VersionedLists {
  std::string version;
  float number;
  std::vector<std::string> ids;
  std::vector<RecItem> items;

  VersionedLists(std::string v, float n) : version(std::move(v)), number(n) {}
  std::span<const RecItem> For(const std::string& owner, int k) {
    ids.clear();
    items.clear();
    for (int r = 0; r < k; ++r) ids.push_back(version + ":" + owner + ":" + std::to_string(r));
    for (int r = 0; r < k; ++r) items.push_back({ids[r], number + r / 100.0f});
    return items;
  }
};

// Publishes users [first_user, last_user), similar lists for items 0..9 and
// a popular list; returns the committed metadata.
VersionMeta Publish(RecommendationStore* store, const std::string& version, float number,
                    int first_user, int last_user) {
  auto writer = store->BeginVersion(version, "test model " + version);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return {};
  VersionedLists lists(version, number);
  for (int u = first_user; u < last_user; ++u) {
    std::string user = "u" + std::to_string(u);
    EXPECT_TRUE((*writer)->PutUserRecs(user, lists.For(user, 10)).ok());
  }
  for (int i = 0; i < 10; ++i) {
    std::string item = "i" + std::to_string(i);
    EXPECT_TRUE((*writer)->PutSimilarItems(item, lists.For(item, 5)).ok());
  }
  EXPECT_TRUE((*writer)->PutPopular(lists.For("popular", 20)).ok());
  auto meta = (*writer)->Commit();
  EXPECT_TRUE(meta.ok()) << meta.status().ToString();
  return meta.ok() ? *meta : VersionMeta{};
}

// Empty string when `list` is entirely from its own version and is the list
// of `owner` with `k` items; otherwise what is wrong.
std::string CheckList(const RecList& list, const std::string& owner, size_t k) {
  if (list.size() != k) return "size " + std::to_string(list.size());
  float number = list.version() == "v1" ? 1.0f : list.version() == "v2" ? 2.0f : -1.0f;
  for (size_t r = 0; r < list.size(); ++r) {
    std::string want = list.version() + ":" + owner + ":" + std::to_string(r);
    if (list[r].item_id != want) {
      return "item " + std::string(list[r].item_id) + " in a list of version " + list.version();
    }
    if (list[r].score != number + static_cast<float>(r) / 100.0f) return "score mismatch";
  }
  return "";
}

size_t CountKeys(KvStore& kv, std::string_view prefix) {
  size_t n = 0;
  EXPECT_TRUE(kv.Scan(prefix, [&](std::string_view, std::string_view) {
                  ++n;
                  return true;
                }).ok());
  return n;
}

template <typename Backend>
class RecStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status st = backend_.SetUp();
    ASSERT_TRUE(st.ok()) << st.ToString();
    writer_ = OpenStore(std::chrono::milliseconds(0));
    ASSERT_NE(writer_, nullptr);
  }

  // Another handle on the same data, as another process would have.
  std::unique_ptr<RecommendationStore> OpenStore(std::chrono::milliseconds refresh) {
    RecStoreOptions options;
    options.refresh_interval = refresh;
    options.batch_max_ops = 64;  // several batches per version
    auto store = RecommendationStore::Open(backend_.uri(), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  Backend backend_;
  std::unique_ptr<RecommendationStore> writer_;
};

struct BackendName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using Backends = ::testing::Types<MemoryBackend, LmdbBackend, RedisBackend, RedisClusterBackend>;
TYPED_TEST_SUITE(RecStoreTest, Backends, BackendName);

TYPED_TEST(RecStoreTest, PublishActivateAndRead) {
  RecommendationStore& store = *this->writer_;
  RecList list;
  EXPECT_EQ(store.GetUserRecs("u1", &list).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(store.ActiveVersion().status().code(), Status::Code::kFailedPrecondition);
  EXPECT_FALSE(store.CheckReady().ok());

  VersionMeta meta = Publish(&store, "v1", 1.0f, 0, 30);
  EXPECT_EQ(meta.version, "v1");
  EXPECT_EQ(meta.user_lists, 30u);
  EXPECT_EQ(meta.item_lists, 10u);
  EXPECT_EQ(meta.popular_items, 20u);
  EXPECT_EQ(meta.description, "test model v1");
  EXPECT_GT(meta.created_unix_ms, 0);
  // Committed but not active yet.
  EXPECT_EQ(store.GetUserRecs("u1", &list).code(), Status::Code::kFailedPrecondition);
  ASSERT_TRUE(store.GetUserRecsAt("v1", "u1", &list).ok());
  EXPECT_EQ(CheckList(list, "u1", 10), "");

  ASSERT_TRUE(store.Activate("v1").ok());
  EXPECT_TRUE(store.CheckReady().ok());
  EXPECT_EQ(*store.ActiveVersion(), "v1");
  ASSERT_TRUE(store.GetUserRecs("u29", &list).ok());
  EXPECT_EQ(list.version(), "v1");
  EXPECT_EQ(CheckList(list, "u29", 10), "");
  EXPECT_EQ(list[3].item_id, "v1:u29:3");
  EXPECT_FLOAT_EQ(list[3].score, 1.03f);
  ASSERT_TRUE(store.GetSimilarItems("i4", &list).ok());
  EXPECT_EQ(CheckList(list, "i4", 5), "");
  ASSERT_TRUE(store.GetPopular(&list).ok());
  EXPECT_EQ(CheckList(list, "popular", 20), "");
  EXPECT_EQ(store.GetUserRecs("u30", &list).code(), Status::Code::kNotFound);
  EXPECT_EQ(store.GetSimilarItems("u1", &list).code(), Status::Code::kNotFound);
  EXPECT_EQ(store.GetUserRecs("", &list).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store.GetUserRecs(std::string(kMaxExternalIdSize + 1, 'u'), &list).code(),
            Status::Code::kInvalidArgument);

  auto versions = store.ListVersions();
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].user_lists, 30u);
  auto fetched = store.GetVersionMeta("v1");
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->description, "test model v1");
}

// The online refresher's write-behind: pending lists are read from memory by
// the writing object, reach the store (and other handles) with FlushPending,
// and never overwrite a newer direct write or outlive their version.
TYPED_TEST(RecStoreTest, PendingListsAreReadableAtOnceAndFlushedInOneWrite) {
  RecommendationStore& store = *this->writer_;
  Publish(&store, "v1", 1.0f, 0, 5);
  Publish(&store, "v2", 2.0f, 0, 5);
  ASSERT_TRUE(store.Activate("v1").ok());
  auto other = this->OpenStore(std::chrono::milliseconds(0));
  ASSERT_NE(other, nullptr);

  const std::vector<RecItem> fresh = {{"fresh-a", 9.0f}, {"fresh-b", 8.0f}};
  const std::vector<UserRecs> lists = {{"u1", fresh}, {"new-user", fresh}};
  EXPECT_EQ(store.PutUserRecsPending("nope", lists).code(), Status::Code::kNotFound);
  const std::vector<UserRecs> bad = {{"", fresh}};
  EXPECT_EQ(store.PutUserRecsPending("v1", bad).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(store.pending_lists(), 0u);

  ASSERT_TRUE(store.PutUserRecsPending("v1", lists).ok());
  EXPECT_EQ(store.pending_lists(), 2u);
  RecList list;
  ASSERT_TRUE(store.GetUserRecs("u1", &list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].item_id, "fresh-a");
  EXPECT_EQ(list.version(), "v1");
  ASSERT_TRUE(store.GetUserRecsAt("v1", "new-user", &list).ok());
  EXPECT_EQ(list[1].item_id, "fresh-b");
  // Only in this object's memory so far.
  ASSERT_TRUE(other->GetUserRecs("u1", &list).ok());
  EXPECT_EQ(CheckList(list, "u1", 10), "");
  EXPECT_EQ(other->GetUserRecs("new-user", &list).code(), Status::Code::kNotFound);

  ASSERT_TRUE(store.FlushPending().ok());
  EXPECT_EQ(store.pending_lists(), 0u);
  ASSERT_TRUE(other->GetUserRecs("new-user", &list).ok());
  EXPECT_EQ(list[0].item_id, "fresh-a");
  ASSERT_TRUE(store.GetUserRecs("u1", &list).ok());
  EXPECT_EQ(list[0].item_id, "fresh-a");
  ASSERT_TRUE(store.FlushPending().ok());  // nothing pending: no-op

  // A direct write supersedes an older pending copy of the same list.
  const std::vector<RecItem> stale = {{"stale", 1.0f}};
  const std::vector<RecItem> direct = {{"direct", 2.0f}};
  ASSERT_TRUE(store.PutUserRecsPending("v1", std::vector<UserRecs>{{"u2", stale}}).ok());
  ASSERT_TRUE(store.PutUserRecsAt("v1", std::vector<UserRecs>{{"u2", direct}}).ok());
  EXPECT_EQ(store.pending_lists(), 0u);
  ASSERT_TRUE(store.FlushPending().ok());
  ASSERT_TRUE(other->GetUserRecs("u2", &list).ok());
  EXPECT_EQ(list[0].item_id, "direct");

  // Deleting a version drops its pending lists: a flush must not bring its
  // keys back.
  ASSERT_TRUE(store.PutUserRecsPending("v2", lists).ok());
  ASSERT_TRUE(store.PutUserRecsPending("v1", std::vector<UserRecs>{{"u3", fresh}}).ok());
  EXPECT_EQ(store.pending_lists(), 3u);
  ASSERT_TRUE(store.DeleteVersion("v2").ok());
  EXPECT_EQ(store.pending_lists(), 1u);
  ASSERT_TRUE(store.FlushPending().ok());
  EXPECT_EQ(CountKeys(store.kv(), "reco/v/v2/"), 0u);
  ASSERT_TRUE(other->GetUserRecs("u3", &list).ok());
  EXPECT_EQ(list[0].item_id, "fresh-a");
}

// The real-time engine's spilled histories: opaque payloads under the
// version, checksummed, counted by Verify and deleted with the version.
TYPED_TEST(RecStoreTest, SpilledLiveStatesRoundTripAndGoWithTheirVersion) {
  RecommendationStore& store = *this->writer_;
  const std::vector<LiveStateRecord> records = {{"alice", std::string_view("\x00\x01payload", 9)},
                                                {"bob", ""}};
  EXPECT_EQ(store.PutLiveStates("v1", records).code(), Status::Code::kNotFound);  // no version
  Publish(&store, "v1", 1.0f, 0, 3);
  ASSERT_TRUE(store.PutLiveStates("v1", records).ok());
  std::string payload;
  ASSERT_TRUE(store.GetLiveState("v1", "alice", &payload).ok());
  EXPECT_EQ(payload, std::string("\x00\x01payload", 9));
  ASSERT_TRUE(store.GetLiveState("v1", "bob", &payload).ok());
  EXPECT_EQ(payload, "");
  EXPECT_EQ(store.GetLiveState("v1", "carol", &payload).code(), Status::Code::kNotFound);
  const std::vector<LiveStateRecord> bad = {{"", "x"}};
  EXPECT_EQ(store.PutLiveStates("v1", bad).code(), Status::Code::kInvalidArgument);

  StoreVerifyReport report = store.Verify();
  EXPECT_TRUE(report.ok()) << (report.examples.empty() ? "" : report.examples[0]);
  EXPECT_EQ(report.live_states, 2u);
  EXPECT_EQ(report.lists, 3u + 10u + 1u);

  // One flipped payload byte: the read and Verify both say so.
  std::string raw;
  ASSERT_TRUE(store.kv().Get("reco/v/v1/h/alice", &raw).ok());
  raw[3] ^= 0x20;
  ASSERT_TRUE(store.kv().Put("reco/v/v1/h/alice", raw).ok());
  EXPECT_EQ(store.GetLiveState("v1", "alice", &payload).code(), Status::Code::kCorruption);
  report = store.Verify();
  EXPECT_EQ(report.damaged, 1u);
  ASSERT_EQ(report.examples.size(), 1u);
  EXPECT_EQ(report.examples[0], "\"reco/v/v1/h/alice\": live-state value checksum mismatch");

  Result<uint64_t> deleted = store.DeleteLiveStates("v1");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 2u);
  EXPECT_EQ(store.GetLiveState("v1", "bob", &payload).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store.PutLiveStates("v1", records).ok());
  ASSERT_TRUE(store.DeleteVersion("v1").ok());
  EXPECT_EQ(CountKeys(store.kv(), "reco/v/v1/"), 0u);
}

TYPED_TEST(RecStoreTest, AbandonedVersionIsInvisibleAndCleanedUp) {
  RecommendationStore& store = *this->writer_;
  {
    auto writer = store.BeginVersion("v2");
    ASSERT_TRUE(writer.ok());
    VersionedLists lists("v2", 2.0f);
    for (int u = 0; u < 100; ++u) {
      std::string user = "u" + std::to_string(u);
      ASSERT_TRUE((*writer)->PutUserRecs(user, lists.For(user, 3)).ok());
    }
    EXPECT_GT(CountKeys(store.kv(), "reco/v/v2/"), 0u);  // flushed batches
    EXPECT_EQ(store.Activate("v2").code(), Status::Code::kNotFound);
  }  // destroyed without Commit
  EXPECT_EQ(CountKeys(store.kv(), "reco/v/v2/"), 0u);
  EXPECT_TRUE(store.ListVersions()->empty());
  EXPECT_EQ(store.GetVersionMeta("v2").status().code(), Status::Code::kNotFound);
  // Leftovers from a crashed publisher are cleared when the id is reused.
  ASSERT_TRUE(store.kv().Put("reco/v/v3/u/ghost", "not a list").ok());
  Publish(&store, "v3", 3.0f, 0, 2);
  RecList list;
  EXPECT_EQ(store.GetUserRecsAt("v3", "ghost", &list).code(), Status::Code::kNotFound);
  EXPECT_EQ(CountKeys(store.kv(), "reco/v/v3/u/"), 2u);
}

TYPED_TEST(RecStoreTest, VersionManagement) {
  RecommendationStore& store = *this->writer_;
  Publish(&store, "v1", 1.0f, 0, 10);
  Publish(&store, "v2", 2.0f, 0, 10);
  EXPECT_EQ(store.BeginVersion("v1").status().code(), Status::Code::kFailedPrecondition);
  for (const char* bad : {"", "a/b", "v 1", "v1\n", "ü"}) {
    EXPECT_EQ(store.BeginVersion(bad).status().code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_EQ(store.Activate(bad).code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(store.BeginVersion(std::string(65, 'v')).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(store.Activate("v9").code(), Status::Code::kNotFound);

  ASSERT_TRUE(store.Activate("v1").ok());
  EXPECT_EQ(store.DeleteVersion("v1").code(), Status::Code::kFailedPrecondition);
  ASSERT_TRUE(store.Activate("v2").ok());
  ASSERT_TRUE(store.Activate("v1").ok());  // roll back
  RecList list;
  ASSERT_TRUE(store.GetUserRecs("u3", &list).ok());
  EXPECT_EQ(list.version(), "v1");
  ASSERT_TRUE(store.Activate("v2").ok());
  ASSERT_TRUE(store.DeleteVersion("v1").ok());
  EXPECT_EQ(CountKeys(store.kv(), "reco/v/v1/"), 0u);
  EXPECT_EQ(CountKeys(store.kv(), "reco/meta/v1"), 0u);
  EXPECT_EQ(store.DeleteVersion("v1").code(), Status::Code::kNotFound);
  EXPECT_EQ(store.Activate("v1").code(), Status::Code::kNotFound);
  auto versions = store.ListVersions();
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].version, "v2");
  ASSERT_TRUE(store.GetUserRecs("u3", &list).ok());
  EXPECT_EQ(list.version(), "v2");
}

TYPED_TEST(RecStoreTest, NamespacesAreIndependent) {
  RecStoreOptions other_ns;
  other_ns.ns = "other";
  auto other = RecommendationStore::Open(this->backend_.uri(), other_ns);
  ASSERT_TRUE(other.ok());
  Publish(this->writer_.get(), "v1", 1.0f, 0, 5);
  ASSERT_TRUE(this->writer_->Activate("v1").ok());
  EXPECT_TRUE((*other)->ListVersions()->empty());
  EXPECT_EQ((*other)->Activate("v1").code(), Status::Code::kNotFound);
  RecStoreOptions bad_ns;
  bad_ns.ns = "a/b";
  EXPECT_EQ(RecommendationStore::Open(this->backend_.uri(), bad_ns).status().code(),
            Status::Code::kInvalidArgument);
}

TYPED_TEST(RecStoreTest, ReaderCachesTheActiveVersion) {
  RecommendationStore& writer = *this->writer_;
  auto reader = this->OpenStore(std::chrono::hours(1));  // refreshes only on demand
  ASSERT_NE(reader, nullptr);
  Publish(&writer, "v1", 1.0f, 0, 10);
  ASSERT_TRUE(writer.Activate("v1").ok());
  RecList list;
  ASSERT_TRUE(reader->GetUserRecs("u1", &list).ok());
  EXPECT_EQ(list.version(), "v1");

  Publish(&writer, "v2", 2.0f, 5, 15);
  ASSERT_TRUE(writer.Activate("v2").ok());
  ASSERT_TRUE(reader->GetUserRecs("u7", &list).ok());
  EXPECT_EQ(list.version(), "v1");  // still cached
  EXPECT_EQ(*reader->ActiveVersion(), "v1");
  ASSERT_TRUE(reader->GetPopular(&list).ok());
  EXPECT_EQ(list.version(), "v1");
  // A user only in the new version is found by re-reading the pointer on a miss.
  ASSERT_TRUE(reader->GetUserRecs("u12", &list).ok());
  EXPECT_EQ(list.version(), "v2");
  EXPECT_EQ(CheckList(list, "u12", 10), "");

  ASSERT_TRUE(writer.Activate("v1").ok());
  EXPECT_EQ(*reader->RefreshActiveVersion(), "v1");
  ASSERT_TRUE(writer.Activate("v2").ok());
  ASSERT_TRUE(writer.DeleteVersion("v1").ok());
  // The reader still trusts v1, which is gone: the miss makes it re-read the
  // pointer and retry on v2 instead of reporting an unknown user.
  ASSERT_TRUE(reader->GetUserRecs("u7", &list).ok());
  EXPECT_EQ(list.version(), "v2");
  EXPECT_EQ(CheckList(list, "u7", 10), "");
  ASSERT_TRUE(reader->GetPopular(&list).ok());
  EXPECT_EQ(list.version(), "v2");
  EXPECT_EQ(reader->GetUserRecs("u1", &list).code(), Status::Code::kNotFound);
}

// Readers on several threads read users present in both versions while the
// writer publishes v2, activates it, rolls back to v1, and deletes v2. Every
// list must come entirely from one version and no such user may be missing.
TYPED_TEST(RecStoreTest, AtomicSwitchUnderConcurrentReaders) {
  RecommendationStore& writer = *this->writer_;
  auto reader = this->OpenStore(std::chrono::milliseconds(1));
  ASSERT_NE(reader, nullptr);
  Publish(&writer, "v1", 1.0f, 0, 200);  // users u0..u199
  ASSERT_TRUE(writer.Activate("v1").ok());

  constexpr int kShared0 = 50, kShared1 = 200;  // v2 has u50..u249
  std::atomic<bool> done{false};
  std::atomic<int> seen_v1{0}, seen_v2{0}, failures{0};
  std::vector<std::string> errors(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      RecList list;
      std::mt19937 rng(t);
      for (int i = 0; !done.load() || i < 100; ++i) {
        std::string user = "u" + std::to_string(kShared0 + rng() % (kShared1 - kShared0));
        Status st = reader->GetUserRecs(user, &list);
        std::string problem = st.ok() ? CheckList(list, user, 10) : st.ToString();
        if (!problem.empty()) {
          if (failures.fetch_add(1) == 0) errors[t] = user + ": " + problem;
          continue;
        }
        (list.version() == "v1" ? seen_v1 : seen_v2).fetch_add(1);
        if (i % 10 == 0) {
          st = reader->GetPopular(&list);
          problem = st.ok() ? CheckList(list, "popular", 20) : st.ToString();
          if (!problem.empty() && failures.fetch_add(1) == 0) errors[t] = "popular: " + problem;
        }
      }
    });
  }
  // Waits for the readers to make progress (bounded only to not hang).
  auto wait_for = [](std::atomic<int>& counter, int at_least) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (counter.load() < at_least && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return counter.load() >= at_least;
  };

  EXPECT_TRUE(wait_for(seen_v1, 100));
  Publish(&writer, "v2", 2.0f, kShared0, 250);
  ASSERT_TRUE(writer.Activate("v2").ok());
  EXPECT_TRUE(wait_for(seen_v2, 200));
  ASSERT_TRUE(writer.Activate("v1").ok());  // roll back
  int v1_before = seen_v1.load();
  EXPECT_TRUE(wait_for(seen_v1, v1_before + 200));
  ASSERT_TRUE(writer.DeleteVersion("v2").ok());
  v1_before = seen_v1.load();
  EXPECT_TRUE(wait_for(seen_v1, v1_before + 200));
  done = true;
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures.load(), 0) << errors[0] << " | " << errors[1] << " | " << errors[2];
  EXPECT_GT(seen_v2.load(), 0);
  EXPECT_EQ(*reader->RefreshActiveVersion(), "v1");
}

}  // namespace
}  // namespace reco
