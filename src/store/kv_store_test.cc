// The KvStore conformance suite (every backend passes the same typed tests)
// plus backend-specific behaviour: LMDB paths and map growth, Redis outages.
// Redis Cluster specifics are in redis_cluster_store_test.cc.
#include "reco/kv_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "store_test_util.h"

namespace reco {
namespace {

using testing_util::LmdbBackend;
using testing_util::MemoryBackend;
using testing_util::RedisBackend;
using testing_util::RedisClusterBackend;

template <typename Backend>
class KvStoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    Status st = backend_.SetUp();
    ASSERT_TRUE(st.ok()) << st.ToString();
    auto store = OpenKvStore(backend_.uri());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  // Every key/value with `prefix`, sorted (Redis scans in no order).
  std::map<std::string, std::string> ScanAll(std::string_view prefix) {
    std::map<std::string, std::string> out;
    Status st = store_->Scan(prefix, [&](std::string_view k, std::string_view v) {
      EXPECT_TRUE(out.emplace(std::string(k), std::string(v)).second) << "visited twice: " << k;
      return true;
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  Backend backend_;
  std::unique_ptr<KvStore> store_;
};

struct BackendName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
// Redis Cluster passes every test here. What it does not give, and what no
// test here checks, is one atomic Write across hash slots: it is atomic per
// slot only (docs/store.md, "Redis Cluster"), which redis_cluster_store_test
// checks instead (WriteIsAtomicWithinASlot).
using Backends = ::testing::Types<MemoryBackend, LmdbBackend, RedisBackend, RedisClusterBackend>;
TYPED_TEST_SUITE(KvStoreConformance, Backends, BackendName);

TYPED_TEST(KvStoreConformance, GetMissingKeyIsNotFound) {
  std::string value = "untouched";
  Status st = this->store_->Get("missing", &value);
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.ToString();
}

TYPED_TEST(KvStoreConformance, PutGetOverwrite) {
  std::string value = "previous contents are replaced, not appended to";
  ASSERT_TRUE(this->store_->Put("k", "v1").ok());
  ASSERT_TRUE(this->store_->Get("k", &value).ok());
  EXPECT_EQ(value, "v1");
  ASSERT_TRUE(this->store_->Put("k", "second value").ok());
  ASSERT_TRUE(this->store_->Get("k", &value).ok());
  EXPECT_EQ(value, "second value");
}

TYPED_TEST(KvStoreConformance, BinaryKeysAndValuesRoundTrip) {
  const std::string key("a\0b\xff\n*?[", 8);
  const std::string value("\0\x01\x02\xfe\xff\r\n", 7);
  ASSERT_TRUE(this->store_->Put(key, value).ok());
  ASSERT_TRUE(this->store_->Put("empty", "").ok());
  std::string got;
  ASSERT_TRUE(this->store_->Get(key, &got).ok());
  EXPECT_EQ(got, value);
  got = "x";
  ASSERT_TRUE(this->store_->Get("empty", &got).ok());
  EXPECT_EQ(got, "");
  EXPECT_EQ(this->store_->Get(std::string("a\0b", 3), &got).code(), Status::Code::kNotFound);
}

TYPED_TEST(KvStoreConformance, LargeValueRoundTrips) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  ASSERT_TRUE(this->store_->Put("big", big).ok());
  std::string got;
  ASSERT_TRUE(this->store_->Get("big", &got).ok());
  EXPECT_EQ(got, big);
}

TYPED_TEST(KvStoreConformance, KeyLimitsAreEnforced) {
  std::string got;
  EXPECT_EQ(this->store_->Put("", "v").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->store_->Get("", &got).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->store_->Delete("").code(), Status::Code::kInvalidArgument);
  const std::string longest(kMaxKeySize, 'k');
  ASSERT_TRUE(this->store_->Put(longest, "v").ok());
  ASSERT_TRUE(this->store_->Get(longest, &got).ok());
  EXPECT_EQ(got, "v");
  const std::string too_long(kMaxKeySize + 1, 'k');
  EXPECT_EQ(this->store_->Put(too_long, "v").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->store_->Get(too_long, &got).code(), Status::Code::kInvalidArgument);
}

TYPED_TEST(KvStoreConformance, DeleteIsIdempotent) {
  ASSERT_TRUE(this->store_->Put("k", "v").ok());
  ASSERT_TRUE(this->store_->Delete("k").ok());
  std::string got;
  EXPECT_EQ(this->store_->Get("k", &got).code(), Status::Code::kNotFound);
  EXPECT_TRUE(this->store_->Delete("k").ok());
  EXPECT_TRUE(this->store_->Delete("never-existed").ok());
}

TYPED_TEST(KvStoreConformance, WriteBatchAppliesInOrder) {
  ASSERT_TRUE(this->store_->Put("doomed", "x").ok());
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Put("b", "2");
  batch.Delete("doomed");
  batch.Put("a", "3");  // later op on the same key wins
  batch.Put("c", "tmp");
  batch.Delete("c");
  batch.Delete("absent");  // deleting an absent key is fine inside a batch too
  ASSERT_TRUE(this->store_->Write(batch).ok());
  EXPECT_EQ(this->ScanAll(""), (std::map<std::string, std::string>{{"a", "3"}, {"b", "2"}}));
  EXPECT_TRUE(this->store_->Write(WriteBatch()).ok());
}

TYPED_TEST(KvStoreConformance, WriteBatchIsAllOrNothing) {
  ASSERT_TRUE(this->store_->Put("keep", "old").ok());
  WriteBatch batch;
  batch.Put("keep", "new");
  batch.Put("fresh", "1");
  batch.Put(std::string(kMaxKeySize + 1, 'x'), "bad key makes the whole batch fail");
  Status st = this->store_->Write(batch);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_EQ(this->ScanAll(""), (std::map<std::string, std::string>{{"keep", "old"}}));
}

TYPED_TEST(KvStoreConformance, ScanVisitsExactlyThePrefix) {
  for (const char* k : {"pre", "pre/a", "pre/b", "pre/c/d", "prf", "pr", "other", "pre\xff"}) {
    ASSERT_TRUE(this->store_->Put(k, std::string("v:") + k).ok());
  }
  auto got = this->ScanAll("pre/");
  EXPECT_EQ(got, (std::map<std::string, std::string>{
                     {"pre/a", "v:pre/a"}, {"pre/b", "v:pre/b"}, {"pre/c/d", "v:pre/c/d"}}));
  EXPECT_EQ(this->ScanAll("pre").size(), 5u);
  EXPECT_EQ(this->ScanAll("").size(), 8u);
  EXPECT_TRUE(this->ScanAll("zzz").empty());
}

TYPED_TEST(KvStoreConformance, ScanTreatsGlobCharactersLiterally) {
  ASSERT_TRUE(this->store_->Put("a*[x]?\\1", "1").ok());
  ASSERT_TRUE(this->store_->Put("ab", "2").ok());
  ASSERT_TRUE(this->store_->Put("a*zz", "3").ok());
  auto got = this->ScanAll("a*[x]?\\");
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"a*[x]?\\1", "1"}}));
  EXPECT_EQ(this->ScanAll("a*").size(), 2u);
}

TYPED_TEST(KvStoreConformance, ScanStopsWhenAsked) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(this->store_->Put("k" + std::to_string(i), "v").ok());
  int visited = 0;
  ASSERT_TRUE(
      this->store_->Scan("k", [&](std::string_view, std::string_view) { return ++visited < 7; })
          .ok());
  EXPECT_EQ(visited, 7);
}

TYPED_TEST(KvStoreConformance, ScanAndDeletePrefixOverManyKeys) {
  // More keys than one Redis SCAN page or one LMDB scan chunk.
  constexpr int kKeys = 5000;
  WriteBatch batch;
  for (int i = 0; i < kKeys; ++i) {
    batch.Put("many/" + std::to_string(i), std::to_string(i * 3));
    if (i % 10 == 0) batch.Put("keep/" + std::to_string(i), "x");
  }
  ASSERT_TRUE(this->store_->Write(batch).ok());
  auto got = this->ScanAll("many/");
  ASSERT_EQ(got.size(), static_cast<size_t>(kKeys));
  EXPECT_EQ(got["many/4321"], "12963");
  auto deleted = this->store_->DeletePrefix("many/");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, static_cast<uint64_t>(kKeys));
  EXPECT_TRUE(this->ScanAll("many/").empty());
  EXPECT_EQ(this->ScanAll("keep/").size(), 500u);
  auto none = this->store_->DeletePrefix("many/");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

TYPED_TEST(KvStoreConformance, DeletePrefixRefusesEmptyPrefix) {
  ASSERT_TRUE(this->store_->Put("k", "v").ok());
  EXPECT_EQ(this->store_->DeletePrefix("").status().code(), Status::Code::kInvalidArgument);
  std::string got;
  EXPECT_TRUE(this->store_->Get("k", &got).ok());
}

TYPED_TEST(KvStoreConformance, PingAndUri) {
  EXPECT_TRUE(this->store_->Ping().ok());
  EXPECT_EQ(this->store_->uri(), this->backend_.uri());
}

// Readers on several threads while one writer rewrites the same keys: every
// value read is one the writer wrote in full (no torn or foreign values).
TYPED_TEST(KvStoreConformance, ConcurrentReadersAndOneWriter) {
  constexpr int kKeys = 20;
  auto value_for = [](int key, int round) {
    std::string tag = std::to_string(key) + ":" + std::to_string(round) + ":";
    std::string v;
    while (v.size() < 300) v += tag;
    return v;
  };
  for (int k = 0; k < kKeys; ++k) {
    ASSERT_TRUE(this->store_->Put("c/" + std::to_string(k), value_for(k, 0)).ok());
  }
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::string value;
      for (int i = 0; !done.load() || i < 200; ++i) {
        int k = (i + t) % kKeys;
        Status st = this->store_->Get("c/" + std::to_string(k), &value);
        std::string tag = std::to_string(k) + ":";
        int round = st.ok() ? std::atoi(value.c_str() + tag.size()) : -1;
        if (!st.ok() || value.rfind(tag, 0) != 0 || value != value_for(k, round)) ++bad;
        ++reads;
      }
    });
  }
  for (int round = 1; round <= 100; ++round) {
    WriteBatch batch;
    for (int k = 0; k < kKeys; ++k) batch.Put("c/" + std::to_string(k), value_for(k, round));
    ASSERT_TRUE(this->store_->Write(batch).ok());
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(reads.load(), 600);
}

// ---- URIs -------------------------------------------------------------------

TEST(OpenKvStoreTest, RejectsMalformedUris) {
  for (const char* uri :
       {"", "memory", "nope://x", "lmdb://", "lmdb:///tmp/x?map_size=abc",
        "lmdb:///tmp/x?map_size=0", "lmdb:///tmp/x?color=red",
        "lmdb:///tmp/x?map_size=1&map_size=2", "redis://", "redis://:6379", "redis://host:0",
        "redis://host:70000", "redis://host:12ab", "redis://host:6379/x",
        "redis://host:6379?timeout_ms=-5", "memory://?x=1"}) {
    auto store = OpenKvStore(uri);
    EXPECT_FALSE(store.ok()) << uri;
    if (!store.ok()) {
      EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument)
          << uri << ": " << store.status().ToString();
    }
  }
}

TEST(OpenKvStoreTest, NamedMemoryStoresAreShared) {
  auto a = OpenKvStore("memory://shared-for-test");
  auto b = OpenKvStore("memory://shared-for-test");
  auto c = OpenKvStore("memory://");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE((*a)->Put("k", "v").ok());
  std::string got;
  EXPECT_TRUE((*b)->Get("k", &got).ok());
  EXPECT_EQ((*c)->Get("k", &got).code(), Status::Code::kNotFound);
}

// ---- LMDB -------------------------------------------------------------------

TEST(LmdbStoreTest, RelativePathIsCreatedAndDataPersists) {
  testing_util::TempDir dir;
  std::string relative =
      std::filesystem::relative(dir.path() + "/a/b/db", std::filesystem::current_path()).string();
  ASSERT_FALSE(relative.starts_with("/"));
  {
    auto store = OpenKvStore("lmdb://" + relative);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Put("k", "persisted").ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/a/b/db/data.mdb"));
  auto reopened = OpenKvStore("lmdb://" + dir.path() + "/a/b/db");
  ASSERT_TRUE(reopened.ok());
  std::string got;
  ASSERT_TRUE((*reopened)->Get("k", &got).ok());
  EXPECT_EQ(got, "persisted");
}

TEST(LmdbStoreTest, TwoOpensOfOnePathShareTheEnvironment) {
  testing_util::TempDir dir;
  auto a = OpenKvStore("lmdb://" + dir.path());
  auto b = OpenKvStore("lmdb://" + dir.path() + "/./");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Put("k", "v").ok());
  std::string got;
  ASSERT_TRUE((*b)->Get("k", &got).ok());
  EXPECT_EQ(got, "v");
  a->reset();
  ASSERT_TRUE((*b)->Put("k2", "v2").ok());  // still open through b
}

TEST(LmdbStoreTest, MapGrowsWhenFull) {
  testing_util::TempDir dir;
  auto store = OpenKvStore("lmdb://" + dir.path() + "?map_size=256k");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string value(64 << 10, 'v');
  for (int i = 0; i < 64; ++i) {  // 4 MiB into a 256 KiB map
    Status st = (*store)->Put("k" + std::to_string(i), value);
    ASSERT_TRUE(st.ok()) << i << ": " << st.ToString();
  }
  WriteBatch batch;
  for (int i = 0; i < 64; ++i) batch.Put("b" + std::to_string(i), value);
  ASSERT_TRUE((*store)->Write(batch).ok());
  std::string got;
  ASSERT_TRUE((*store)->Get("k63", &got).ok());
  EXPECT_EQ(got, value);
}

TEST(LmdbStoreTest, PathThatIsAFileIsAnIOError) {
  testing_util::TempDir dir;
  std::ofstream(dir.path() + "/file") << "not a directory";
  auto store = OpenKvStore("lmdb://" + dir.path() + "/file");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kIOError) << store.status().ToString();
}

// ---- Redis ------------------------------------------------------------------

TEST(RedisStoreTest, NothingListeningIsUnavailable) {
  testing_util::RefusingLoopbackPort refusing;
  ASSERT_NE(refusing.port(), 0);
  auto store = OpenKvStore("redis://127.0.0.1:" + std::to_string(refusing.port()) +
                           "?connect_timeout_ms=500");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kUnavailable) << store.status().ToString();
}

// Polls Ping until it succeeds; the bound only guards against a hung test.
bool WaitUntilPingOk(KvStore* store) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (store->Ping().ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(RedisStoreTest, UnavailableWhileDownAndRecoversAfterRestart) {
  testing_util::RedisServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto opened = OpenKvStore(server.uri() + "?timeout_ms=500&connect_timeout_ms=500");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  KvStore* store = opened->get();
  // Several pooled connections, all of which die with the server.
  std::vector<std::thread> warm;
  for (int t = 0; t < 4; ++t) {
    warm.emplace_back([&] {
      for (int i = 0; i < 50; ++i) (void)store->Put("k", "before");
    });
  }
  for (auto& t : warm) t.join();

  ASSERT_TRUE(server.Stop().ok());
  std::string got;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(store->Get("k", &got).code(), Status::Code::kUnavailable);
    EXPECT_EQ(store->Put("k", "during").code(), Status::Code::kUnavailable);
    EXPECT_EQ(store->Ping().code(), Status::Code::kUnavailable);
    WriteBatch batch;
    batch.Put("a", "1");
    EXPECT_EQ(store->Write(batch).code(), Status::Code::kUnavailable);
    EXPECT_EQ(store->DeletePrefix("a").status().code(), Status::Code::kUnavailable);
  }

  ASSERT_TRUE(server.Start().ok());  // same port, empty data set
  ASSERT_TRUE(WaitUntilPingOk(store));
  EXPECT_EQ(store->Get("k", &got).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store->Put("k", "after").ok());
  ASSERT_TRUE(store->Get("k", &got).ok());
  EXPECT_EQ(got, "after");
}

TEST(RedisStoreTest, UnresponsiveServerTimesOut) {
  testing_util::RedisServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto store = OpenKvStore(server.uri() + "?timeout_ms=200&connect_timeout_ms=200");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put("k", "v").ok());
  ASSERT_TRUE(server.Freeze().ok());
  std::string got;
  EXPECT_EQ((*store)->Get("k", &got).code(), Status::Code::kUnavailable);
  ASSERT_TRUE(server.Thaw().ok());
  ASSERT_TRUE(WaitUntilPingOk(store->get()));
  ASSERT_TRUE((*store)->Get("k", &got).ok());
  EXPECT_EQ(got, "v");
}

TEST(RedisStoreTest, SelectsTheDatabaseFromTheUri) {
  testing_util::RedisServerProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto db0 = OpenKvStore(server.uri());
  auto db3 = OpenKvStore(server.uri() + "/3");
  ASSERT_TRUE(db0.ok() && db3.ok()) << db3.status().ToString();
  ASSERT_TRUE((*db3)->Put("k", "in db 3").ok());
  std::string got;
  EXPECT_EQ((*db0)->Get("k", &got).code(), Status::Code::kNotFound);
  ASSERT_TRUE((*db3)->Get("k", &got).ok());
  EXPECT_EQ(got, "in db 3");
  auto bad_db = OpenKvStore(server.uri() + "/999");
  EXPECT_FALSE(bad_db.ok());
}

}  // namespace
}  // namespace reco
