// The server over a real RecommendationStore (memory backend): lists, the
// popular fallback, a version switch becoming visible to requests, and a
// damaged stored value answering 500 for its key alone.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "../store/faulty_kv_store.h"
#include "reco/kv_store.h"
#include "reco/rec_store.h"
#include "reco/server.h"
#include "test_http_client.h"

namespace reco {
namespace {

using serve::testing::TestClient;

// Publishes a version whose every score is `score`, so a response shows which
// version it came from.
void Publish(RecommendationStore* store, const std::string& version, float score) {
  auto writer = store->BeginVersion(version, "test");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::vector<RecItem> alice = {{"i1", score}, {"i2", score}};
  const std::vector<RecItem> popular = {{"p1", score}};
  const std::vector<RecItem> similar = {{"i2", score}};
  ASSERT_TRUE((*writer)->PutUserRecs("alice", alice).ok());
  ASSERT_TRUE((*writer)->PutPopular(popular).ok());
  ASSERT_TRUE((*writer)->PutSimilarItems("i1", similar).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
  ASSERT_TRUE(store->Activate(version).ok());
}

// A server on a free loopback port over `source`; null (with the test
// failed) when it does not start.
std::unique_ptr<HttpServer> StartServer(RecommendationSource* source, int threads) {
  ServerOptions options;
  options.port = 0;
  options.threads = threads;
  auto server = HttpServer::Start(options, source);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(server).value() : nullptr;
}

TEST(StoreSourceTest, ServesActiveVersionAndSeesSwitches) {
  RecStoreOptions store_options;
  store_options.refresh_interval = std::chrono::milliseconds(10);
  auto store = RecommendationStore::Open("memory://", store_options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto source = MakeStoreSource(store->get());

  std::unique_ptr<HttpServer> server = StartServer(source.get(), 2);
  ASSERT_NE(server, nullptr);
  TestClient c(server->port());

  // Nothing published yet: not ready, and list reads say so.
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  r = c.Get("/v1/users/alice/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);

  Publish(store->get(), "v1", 1.0f);
  // The store re-reads its active pointer within refresh_interval.
  for (int i = 0; i < 100000 && r->status != 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    r = c.Get("/readyz");
    ASSERT_TRUE(r);
  }
  EXPECT_EQ(r->body, "{\"status\":\"ready\",\"model_version\":\"v1\"}");
  r = c.Get("/v1/users/alice/recommendations?k=2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body,
            "{\"user_id\":\"alice\",\"model_version\":\"v1\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"i1\",\"score\":1},{\"item_id\":\"i2\",\"score\":1}]}");
  r = c.Get("/v1/users/bob/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body,
            "{\"user_id\":\"bob\",\"model_version\":\"v1\",\"source\":\"popular\",\"items\":["
            "{\"item_id\":\"p1\",\"score\":1}]}");
  r = c.Get("/v1/items/i1/similar");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/v1/items/i9/similar");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);

  Publish(store->get(), "v2", 2.0f);
  std::string body;
  for (int i = 0; i < 100000; ++i) {
    r = c.Get("/v1/users/alice/recommendations?k=1");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    body = r->body;
    if (body.find("\"v2\"") != std::string::npos) break;
    // Until the switch is seen, a response is entirely v1.
    EXPECT_EQ(body.find("\"score\":2"), std::string::npos) << body;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(body,
            "{\"user_id\":\"alice\",\"model_version\":\"v2\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"i1\",\"score\":2}]}");
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("reco_active_model_version{version=\"v2\"} 1\n"), std::string::npos);
}

// A list value damaged in the store (one flipped byte, as a bad disk would
// do it) is a 500 for that key, counted as a store error; it does not fall
// back to the popular list (that would hide the damage), and other keys are
// served as before.
TEST(StoreSourceTest, DamagedValueIs500ForThatKeyAndCounted) {
  auto store = RecommendationStore::Open("memory://");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Publish(store->get(), "v1", 1.0f);
  KvStore& kv = (*store)->kv();
  for (const std::string key : {"reco/v/v1/u/alice", "reco/v/v1/i/i1"}) {
    std::string value;
    ASSERT_TRUE(kv.Get(key, &value).ok()) << key;
    value[value.size() / 2] = static_cast<char>(value[value.size() / 2] ^ 0x01);
    ASSERT_TRUE(kv.Put(key, value).ok());
  }
  // Another user of the same version, intact.
  std::string intact;
  const std::vector<RecItem> bob_list = {{"i2", 1.0f}};
  ASSERT_TRUE(EncodeRecList(bob_list, &intact).ok());
  ASSERT_TRUE(kv.Put("reco/v/v1/u/bob", intact).ok());

  auto source = MakeStoreSource(store->get());
  std::unique_ptr<HttpServer> server = StartServer(source.get(), 1);
  ASSERT_NE(server, nullptr);
  TestClient c(server->port());

  auto r = c.Get("/v1/users/alice/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}");
  r = c.Get("/v1/items/i1/similar");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  r = c.Get("/v1/users/bob/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "{\"user_id\":\"bob\",\"model_version\":\"v1\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"i2\",\"score\":1}]}");
  r = c.Get("/v1/users/carol/recommendations");  // unknown: the popular list
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("reco_store_errors_total 2\n"), std::string::npos) << r->body;
}

// Reads that fail (EIO from the disk under the store) are a 503 for the
// request, counted as store errors, never a crash or a popular list passed
// off as the user's; once the store reads again the same server answers 200,
// without a restart.
TEST(StoreSourceTest, FailingReadsAre503UntilTheStoreRecovers) {
  auto owned = testing_util::FaultyKvStore::OverMemory();
  testing_util::FaultyKvStore* faulty = owned.get();
  auto store = RecommendationStore::Create(std::move(owned));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Publish(store->get(), "v1", 1.0f);
  auto source = MakeStoreSource(store->get());
  std::unique_ptr<HttpServer> server = StartServer(source.get(), 1);
  ASSERT_NE(server, nullptr);
  TestClient c(server->port());

  faulty->fail_reads = true;
  for (const char* target : {"/v1/users/alice/recommendations", "/v1/items/i1/similar",
                             "/v1/users/carol/recommendations"}) {
    auto r = c.Get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 503) << target;
    EXPECT_EQ(r->body, "{\"error\":{\"code\":\"unavailable\",\"message\":\"store unavailable\"}}")
        << target;
  }
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("reco_store_errors_total 3\n"), std::string::npos) << r->body;
  EXPECT_GE(faulty->injected_failures(), 3u);

  faulty->fail_reads = false;
  r = c.Get("/v1/users/alice/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "{\"user_id\":\"alice\",\"model_version\":\"v1\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"i1\",\"score\":1},{\"item_id\":\"i2\",\"score\":1}]}");
}

}  // namespace
}  // namespace reco
