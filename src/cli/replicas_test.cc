// Stateless serving replicas, with the real binary: two `reco serve`
// processes on one networked store (a Redis server, or a 3-master Redis
// Cluster) give byte-identical answers, and both follow a version switch
// made by `reco store activate` within their refresh interval.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../serve/test_http_client.h"
#include "../store/store_test_util.h"
#include "../testing/process.h"
#include "../testing/serve_process.h"
#include "../testing/temp_dir.h"

#ifndef RECO_BINARY
#error "RECO_BINARY must name the reco executable"
#endif

namespace reco {
namespace {

using serve::testing::TestClient;
using testing_util::TempDir;

constexpr auto kCommandLimit = std::chrono::seconds(120);

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

// One `reco serve` replica on the shared store.
Result<testing_util::ServeProcess> StartReplica(const std::string& store_uri,
                                                const std::string& name, const TempDir& dir) {
  return testing_util::ServeProcess::Start(
      {RECO_BINARY, "serve", "--store", store_uri, "--threads", "1", "--refresh-ms", "100"},
      {.log_file = dir.PathOf(name + ".log"), .port_file = dir.PathOf(name + ".port")});
}

// The store the replicas share, by test parameter.
class ReplicasTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    Status st;
    if (GetParam() == "redis") {
      st = server_.Start();
      uri_ = server_.uri();
    } else {
      st = cluster_.Start();
      uri_ = cluster_.uri();
    }
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // Runs `reco args...`; asserts success.
  void Reco(std::vector<std::string> args) {
    args.insert(args.begin(), RECO_BINARY);
    Status st = testing_util::RunProcessToSuccess(
        args, {.stdout_file = dir_.PathOf("commands.log"), .append = true}, kCommandLimit);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  TempDir dir_;
  testing_util::RedisServerProcess server_;
  testing_util::RedisClusterProcess cluster_;
  std::string uri_;
};

// 20 users rate some of 8 items; deterministic.
std::string TrainingCsv() {
  std::string csv = "user_id,item_id,rating,timestamp\n";
  for (int u = 0; u < 20; ++u) {
    for (int i = 0; i < 8; ++i) {
      if ((u * 7 + i * 3) % 5 < 3) {
        csv += "u" + std::to_string(u) + ",i" + std::to_string(i) + "," +
               std::to_string(1 + (u + i) % 5) + ",1\n";
      }
    }
  }
  return csv;
}

TEST_P(ReplicasTest, TwoReplicasAnswerIdenticallyAndFollowActivation) {
  std::ofstream(Path("train.csv")) << TrainingCsv();
  // Two different models, so the versions' lists differ.
  Reco({"train", "--train", Path("train.csv"), "--factors", "2", "--iterations", "3", "-o",
        Path("m1")});
  Reco({"train", "--train", Path("train.csv"), "--factors", "3", "--iterations", "4", "-o",
        Path("m2")});
  Reco({"precompute", "-m", Path("m1"), "--seen", Path("train.csv"), "--store", uri_, "--version",
        "v1", "-k", "3", "--similar-k", "3"});
  Reco({"precompute", "-m", Path("m2"), "--seen", Path("train.csv"), "--store", uri_, "--version",
        "v2", "-k", "3", "--similar-k", "3", "--no-activate"});

  auto a = StartReplica(uri_, "replica-a", dir_);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = StartReplica(uri_, "replica-b", dir_);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_NE(a->port(), b->port());
  TestClient ca(a->port()), cb(b->port());

  std::vector<std::string> paths = {"/v1/users/nobody/recommendations?k=2",
                                    "/v1/items/nothing/similar"};
  for (int u = 0; u < 20; ++u)
    paths.push_back("/v1/users/u" + std::to_string(u) + "/recommendations");
  for (int i = 0; i < 8; ++i) paths.push_back("/v1/items/i" + std::to_string(i) + "/similar?k=2");

  // Every path answered the same by both, from `version`; returns the bodies.
  auto same_answers = [&](const std::string& version) {
    std::vector<std::string> bodies;
    for (const std::string& path : paths) {
      auto ra = ca.Get(path);
      auto rb = cb.Get(path);
      EXPECT_TRUE(ra && rb) << path;
      if (!ra || !rb) return bodies;
      EXPECT_EQ(ra->status, rb->status) << path;
      EXPECT_EQ(ra->body, rb->body) << path;
      if (ra->status == 200) {
        EXPECT_NE(ra->body.find("\"model_version\":\"" + version + "\""), std::string::npos)
            << path << ": " << ra->body;
      }
      bodies.push_back(ra->body);
    }
    return bodies;
  };
  std::vector<std::string> v1 = same_answers("v1");
  ASSERT_EQ(v1.size(), paths.size());
  EXPECT_NE(v1[2].find("\"source\":\"model\""), std::string::npos) << v1[2];  // u0 is known

  Reco({"store", "activate", "--store", uri_, "v2"});
  for (TestClient* c : {&ca, &cb}) {
    EXPECT_TRUE(Eventually([&] {
      auto r = c->Get("/readyz");
      return r && r->body.find("\"model_version\":\"v2\"") != std::string::npos;
    }));
  }
  std::vector<std::string> v2 = same_answers("v2");
  ASSERT_EQ(v2.size(), paths.size());
  // The lists changed too, not only the version they name.
  for (std::string& body : v1) {
    size_t at = body.find("\"model_version\":\"v1\"");
    if (at != std::string::npos) body.replace(at, 19, "\"model_version\":\"v2\"");
  }
  EXPECT_NE(v1, v2);

  // SIGTERM is a graceful drain: a clean exit.
  for (testing_util::ServeProcess* replica : {&*a, &*b}) {
    const testing_util::ExitStatus stopped = replica->Stop(std::chrono::seconds(60));
    EXPECT_TRUE(stopped.success()) << stopped.ToString() << "\n" << replica->log();
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, ReplicasTest, ::testing::Values("redis", "redis_cluster"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace reco
