// End to end through a Redis Cluster: precompute a hand-made model into a
// 3-master cluster (started by the test) and serve it over HTTP.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "../serve/test_http_client.h"
#include "reco/precompute.h"
#include "reco/rec_store.h"
#include "reco/server.h"
#include "store_test_util.h"

namespace reco {
namespace {

using testing_util::RedisClusterProcess;

// The server's count of keys on one node.
int64_t KeysOn(RedisClusterProcess* cluster, size_t node) {
  auto n = cluster->node(node).Command({"DBSIZE"});
  return n.ok() ? std::atoll(n->c_str()) : -1;
}

// One factor: users "u<i>" have +1 (even i) or -1 (odd i); items a..e have
// 5, 4, 3, 2, 1. So an even user's best unseen items are the largest, an odd
// user's the smallest.
FactorModel SignModel(int users) {
  FactorModel m;
  m.kind = ModelKind::kExplicit;
  m.params.factors = 1;
  m.user_factors.resize(users, 1);
  for (int u = 0; u < users; ++u) {
    m.users.GetOrAdd("u" + std::to_string(u));
    m.user_factors(u, 0) = u % 2 == 0 ? 1.0f : -1.0f;
  }
  for (const char* id : {"a", "b", "c", "d", "e"}) m.items.GetOrAdd(id);
  m.item_factors.resize(5, 1);
  m.item_factors << 5, 4, 3, 2, 1;
  return m;
}

TEST(RedisClusterStoreTest, PrecomputeAndServeThroughTheCluster) {
  RedisClusterProcess owned;
  Status started = owned.Start();
  ASSERT_TRUE(started.ok()) << started.ToString();
  RedisClusterProcess* cluster = &owned;
  constexpr int kUsers = 60;
  FactorModel model = SignModel(kUsers);
  // u0 has seen "a"; everybody has seen "e" once, so it is the most popular.
  std::vector<Interaction> seen_records = {{0, 0, 1, 0}};
  for (uint32_t u = 0; u < kUsers; ++u) seen_records.push_back({u, 4, 1, 0});
  CsrMatrix seen = CsrMatrix::FromInteractions(seen_records, kUsers, 5);

  RecStoreOptions store_options;
  store_options.refresh_interval = std::chrono::milliseconds(10);
  auto store = RecommendationStore::Open(cluster->uri(), store_options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  PrecomputeOptions options;
  options.k = 2;
  options.similar_k = 2;
  options.popular_k = 2;
  options.threads = 1;
  options.version = "v1";
  options.show_progress = false;
  auto result = PrecomputeToStore(*MakeAlsRecommender(model), seen, store->get(), options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->meta.user_lists, static_cast<uint64_t>(kUsers));

  // One version's keys spread over every master (no hash tag pins them).
  for (size_t n = 0; n < cluster->size(); ++n) EXPECT_GT(KeysOn(cluster, n), 5) << "node " << n;

  auto source = MakeStoreSource(store->get());
  ServerOptions server_options;
  server_options.port = 0;
  server_options.threads = 2;
  auto server = HttpServer::Start(server_options, source.get());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  serve::testing::TestClient client((*server)->port());
  auto r = client.Get("/v1/users/u0/recommendations?k=2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "{\"user_id\":\"u0\",\"model_version\":\"v1\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"b\",\"score\":4},{\"item_id\":\"c\",\"score\":3}]}");
  r = client.Get("/v1/users/u41/recommendations?k=2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body,
            "{\"user_id\":\"u41\",\"model_version\":\"v1\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"d\",\"score\":-2},{\"item_id\":\"c\",\"score\":-3}]}");
  r = client.Get("/v1/users/nobody/recommendations?k=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body,
            "{\"user_id\":\"nobody\",\"model_version\":\"v1\",\"source\":\"popular\",\"items\":["
            "{\"item_id\":\"e\",\"score\":60}]}");
  r = client.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace reco
