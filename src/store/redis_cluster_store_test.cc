// Redis Cluster backend: hash slots, URIs, per-slot atomicity, redirects
// during a live slot migration and a master restart (precompute + serve
// through a cluster: redis_cluster_serving_test.cc). Tests that change the cluster's shape start
// their own 3-master cluster on loopback ports; the others share one.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "reco/kv_store.h"
#include "redis_cluster_store.h"
#include "store_test_util.h"

namespace reco {
namespace {

using store_internal::RedisClusterKeySlot;
using testing_util::RedisClusterProcess;

// Polls `ok` until it holds; the bound only guards against a hung test.
template <typename Pred>
bool Eventually(Pred ok) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// The shared cluster, emptied.
RedisClusterProcess* SharedCluster() {
  auto cluster = testing_util::SharedRedisCluster();
  EXPECT_TRUE(cluster.ok()) << cluster.status().ToString();
  if (!cluster.ok()) return nullptr;
  Status st = (*cluster)->FlushAll();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return *cluster;
}

std::unique_ptr<KvStore> Open(const std::string& uri) {
  auto store = OpenKvStore(uri);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// ---- Hash slots ---------------------------------------------------------------

TEST(RedisClusterKeySlotTest, KnownValuesAndHashTags) {
  EXPECT_EQ(RedisClusterKeySlot("123456789"), 0x31C3);  // the CRC16/XMODEM check value
  EXPECT_EQ(RedisClusterKeySlot("foo"), 12182);
  EXPECT_EQ(RedisClusterKeySlot("bar"), 5061);
  EXPECT_EQ(RedisClusterKeySlot("user1000"), RedisClusterKeySlot("{user1000}.following"));
  EXPECT_EQ(RedisClusterKeySlot("user1000"), RedisClusterKeySlot("{user1000}.followers"));
  EXPECT_EQ(RedisClusterKeySlot("foo{bar}{zap}"), RedisClusterKeySlot("bar"));
  EXPECT_EQ(RedisClusterKeySlot("foo{{bar}}zap"), RedisClusterKeySlot("{bar"));
  EXPECT_NE(RedisClusterKeySlot("foo{}{bar}"), RedisClusterKeySlot("bar"));
}

TEST(RedisClusterKeySlotTest, AgreesWithTheServer) {
  RedisClusterProcess* cluster = SharedCluster();
  ASSERT_NE(cluster, nullptr);
  std::vector<std::string> keys = {
      "foo{}{bar}",    "foo{bar", "}{x}", "{", "{}", "a{b}c{d}", std::string("\0\xff{\x80}", 5),
      "reco/v/v1/u/42"};
  uint64_t x = 12345;
  for (int i = 0; i < 200; ++i) {  // random binary keys, some with braces
    std::string key;
    for (int j = 0, n = 1 + i % 17; j < n; ++j) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      int r = static_cast<int>(x >> 56);
      key.push_back(r % 7 == 0 ? '{' : r % 7 == 1 ? '}' : static_cast<char>(r));
    }
    keys.push_back(key);
  }
  for (const std::string& key : keys) {
    auto slot = cluster->node(0).Command({"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(slot.ok()) << slot.status().ToString();
    EXPECT_EQ(std::to_string(RedisClusterKeySlot(key)), *slot) << key;
  }
}

// ---- URIs ---------------------------------------------------------------------

TEST(RedisClusterUriTest, RejectsMalformedUris) {
  for (const char* uri : {"redis+cluster://", "redis+cluster://host", "redis+cluster://:7000",
                          "redis+cluster://host:7000,", "redis+cluster://host:7000,,host:7001",
                          "redis+cluster://host:0", "redis+cluster://host:7000/0",
                          "redis+cluster://host:7000?db=1", "redis+cluster://host:7000?pool=0"}) {
    auto store = OpenKvStore(uri);
    ASSERT_FALSE(store.ok()) << uri;
    EXPECT_EQ(store.status().code(), Status::Code::kInvalidArgument)
        << uri << ": " << store.status().ToString();
  }
}

TEST(RedisClusterUriTest, NoSeedAnsweringIsUnavailable) {
  testing_util::RefusingLoopbackPort refusing;
  ASSERT_NE(refusing.port(), 0);
  std::string port = std::to_string(refusing.port());
  auto store = OpenKvStore("redis+cluster://127.0.0.1:" + port + ",127.0.0.1:" + port +
                           "?connect_timeout_ms=500");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Status::Code::kUnavailable) << store.status().ToString();
}

TEST(RedisClusterUriTest, AnyOneLiveSeedIsEnough) {
  RedisClusterProcess* cluster = SharedCluster();
  ASSERT_NE(cluster, nullptr);
  // The first seed refuses connections.
  testing_util::RefusingLoopbackPort refusing;
  ASSERT_NE(refusing.port(), 0);
  auto store = Open("redis+cluster://127.0.0.1:" + std::to_string(refusing.port()) +
                    ",127.0.0.1:" + std::to_string(cluster->node(2).port()));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Put("foo", "1").ok());
  ASSERT_TRUE(store->Put("bar", "2").ok());
  std::string got;
  ASSERT_TRUE(store->Get("bar", &got).ok());
  EXPECT_EQ(got, "2");
}

// ---- Atomicity ----------------------------------------------------------------

// Write is one MULTI/EXEC per hash slot: a reader that reads two keys of one
// slot in one command (MGET) never sees one updated without the other, even
// though the batch also spans other slots and masters.
TEST(RedisClusterStoreTest, WriteIsAtomicWithinASlot) {
  RedisClusterProcess* cluster = SharedCluster();
  ASSERT_NE(cluster, nullptr);
  auto store = Open(cluster->uri());
  ASSERT_NE(store, nullptr);
  auto node = cluster->NodeForSlot(RedisClusterKeySlot("{pair}a"));
  ASSERT_TRUE(node.ok()) << node.status().ToString();

  auto write_round = [&](int round) {
    WriteBatch batch;
    batch.Put("{pair}a", std::to_string(round));
    for (int k = 0; k < 30; ++k) batch.Put("other/" + std::to_string(k), std::to_string(round));
    batch.Put("{pair}b", std::to_string(round));
    return store->Write(batch);
  };
  ASSERT_TRUE(write_round(0).ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done.load() || reads.load() < 20) {
      auto both = cluster->node(*node).Command({"MGET", "{pair}a", "{pair}b"});
      if (!both.ok()) continue;
      size_t nl = both->find('\n');
      if (nl == std::string::npos || both->substr(0, nl) != both->substr(nl + 1)) ++torn;
      ++reads;
    }
  });
  for (int round = 1; round <= 200; ++round) ASSERT_TRUE(write_round(round).ok());
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  std::string got;
  ASSERT_TRUE(store->Get("other/29", &got).ok());
  EXPECT_EQ(got, "200");
}

// ---- Redirects ----------------------------------------------------------------

// Migrates one slot between masters by hand (CLUSTER SETSLOT ... IMPORTING /
// MIGRATING, MIGRATE, SETSLOT ... NODE) under a store that read the slot map
// before: during the migration, keys not yet on the source are answered with
// ASK (followed with ASKING), and after it the source answers MOVED
// (followed, and the slot map refreshed).
TEST(RedisClusterStoreTest, FollowsAskAndMovedDuringSlotMigration) {
  RedisClusterProcess cluster;
  Status st = cluster.Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto store = Open(cluster.uri());
  ASSERT_NE(store, nullptr);

  const int slot = RedisClusterKeySlot("mig");
  auto src_index = cluster.NodeForSlot(slot);
  ASSERT_TRUE(src_index.ok()) << src_index.status().ToString();
  auto& src = cluster.node(*src_index);
  auto& dst = cluster.node((*src_index + 1) % 3);
  auto src_id = src.Command({"CLUSTER", "MYID"});
  auto dst_id = dst.Command({"CLUSTER", "MYID"});
  ASSERT_TRUE(src_id.ok() && dst_id.ok());
  const std::string slot_text = std::to_string(slot);
  auto count_on = [&](testing_util::RedisServerProcess& node) {
    auto n = node.Command({"CLUSTER", "COUNTKEYSINSLOT", slot_text});
    return n.ok() ? std::atoi(n->c_str()) : -1;
  };

  ASSERT_TRUE(store->Put("{mig}old", "1").ok());
  ASSERT_TRUE(dst.Command({"CLUSTER", "SETSLOT", slot_text, "IMPORTING", *src_id}).ok());
  ASSERT_TRUE(src.Command({"CLUSTER", "SETSLOT", slot_text, "MIGRATING", *dst_id}).ok());

  // A new key of a migrating slot belongs to the target: the source says ASK.
  ASSERT_TRUE(store->Put("{mig}new", "2").ok());
  auto raw = src.Command({"GET", "{mig}new"});
  ASSERT_FALSE(raw.ok());
  EXPECT_TRUE(raw.status().message().starts_with("ASK ")) << raw.status().ToString();
  std::string got;
  ASSERT_TRUE(store->Get("{mig}new", &got).ok());
  EXPECT_EQ(got, "2");
  ASSERT_TRUE(store->Get("{mig}old", &got).ok());  // still on the source
  EXPECT_EQ(got, "1");
  // A batch whose slot is migrating: its MULTI/EXEC is redone with ASKING.
  WriteBatch batch;
  batch.Put("{mig}batch", "3");
  batch.Put("elsewhere", "4");
  ASSERT_TRUE(store->Write(batch).ok());
  EXPECT_EQ(count_on(dst), 2);
  EXPECT_EQ(count_on(src), 1);

  ASSERT_TRUE(src.Command({"MIGRATE", "127.0.0.1", std::to_string(dst.port()), "", "0", "5000",
                           "KEYS", "{mig}old"})
                  .ok());
  for (size_t i = 0; i < cluster.size(); ++i) {
    // The target first, so the slot always has an owner that accepts it.
    auto& node = cluster.node((*src_index + 1 + i) % 3);
    ASSERT_TRUE(node.Command({"CLUSTER", "SETSLOT", slot_text, "NODE", *dst_id}).ok());
  }
  raw = src.Command({"GET", "{mig}old"});
  ASSERT_FALSE(raw.ok());
  EXPECT_TRUE(raw.status().message().starts_with("MOVED ")) << raw.status().ToString();

  // The store still maps the slot to the source: MOVED, then the target.
  ASSERT_TRUE(store->Get("{mig}old", &got).ok());
  EXPECT_EQ(got, "1");
  ASSERT_TRUE(store->Put("{mig}old", "5").ok());
  ASSERT_TRUE(store->Get("{mig}old", &got).ok());
  EXPECT_EQ(got, "5");
  EXPECT_EQ(count_on(dst), 3);
  EXPECT_EQ(count_on(src), 0);
  std::vector<std::string> scanned;
  ASSERT_TRUE(store
                  ->Scan("{mig}",
                         [&](std::string_view k, std::string_view) {
                           scanned.emplace_back(k);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(scanned.size(), 3u);
  auto deleted = store->DeletePrefix("{mig}");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(*deleted, 3u);
  EXPECT_TRUE(store->Ping().ok());
}

// ---- Node failure -------------------------------------------------------------

// A key whose slot is served by node `node` (no hash tag).
std::string KeyOnNode(RedisClusterProcess* cluster, size_t node, const std::string& stem) {
  for (int i = 0; i < 10000; ++i) {
    std::string key = stem + std::to_string(i);
    auto owner = cluster->NodeForSlot(RedisClusterKeySlot(key));
    if (owner.ok() && *owner == node) return key;
  }
  return "";
}

TEST(RedisClusterStoreTest, MasterDownIsUnavailableAndRecoversAfterRestart) {
  RedisClusterProcess cluster;
  Status st = cluster.Start();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto store = Open(cluster.uri() + "?timeout_ms=500&connect_timeout_ms=500");
  ASSERT_NE(store, nullptr);
  const std::string on_victim = KeyOnNode(&cluster, 0, "victim");
  const std::string on_survivor = KeyOnNode(&cluster, 1, "survivor");
  ASSERT_FALSE(on_victim.empty() || on_survivor.empty());
  // Pooled connections to every node, which die with the victim.
  std::vector<std::thread> warm;
  for (int t = 0; t < 3; ++t) {
    warm.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        (void)store->Put(on_victim, "before");
        (void)store->Put(on_survivor, "before");
      }
    });
  }
  for (auto& t : warm) t.join();

  ASSERT_TRUE(cluster.node(0).Stop().ok());
  std::string got;
  // The survivors serve their slots until the cluster marks the victim
  // failed (cluster-node-timeout, 3 s here).
  ASSERT_TRUE(store->Get(on_survivor, &got).ok());
  EXPECT_EQ(got, "before");
  EXPECT_EQ(store->Get(on_victim, &got).code(), Status::Code::kUnavailable);
  EXPECT_EQ(store->Put(on_victim, "during").code(), Status::Code::kUnavailable);
  WriteBatch batch;
  batch.Put(on_victim, "during");
  EXPECT_EQ(store->Write(batch).code(), Status::Code::kUnavailable);
  EXPECT_EQ(store->Ping().code(), Status::Code::kUnavailable);

  // Same port, same nodes.conf: it rejoins with its slots (and no data).
  ASSERT_TRUE(cluster.node(0).Start().ok());
  ASSERT_TRUE(Eventually([&] { return store->Put(on_victim, "after").ok(); }));
  ASSERT_TRUE(Eventually([&] { return store->Get(on_survivor, &got).ok(); }));
  EXPECT_EQ(got, "before");
  ASSERT_TRUE(store->Get(on_victim, &got).ok());
  EXPECT_EQ(got, "after");
  EXPECT_TRUE(Eventually([&] { return store->Ping().ok(); }));
}

}  // namespace
}  // namespace reco
