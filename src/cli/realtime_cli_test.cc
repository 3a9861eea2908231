// Issue 4 acceptance 2 and 3 end to end, on the real binary: `reco retrain`
// builds registry versions of a tiny two-taste data set, `reco serve` runs
// with an event log and the registry, and over HTTP
//   - a new user's events turn their popular fallback into a personalised
//     list (source "model") without the items they just rated;
//   - activating a corrupt model is refused (409) while the old one serves;
//   - activating a good model under concurrent reads fails no request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../serve/test_http_client.h"
#include "../testing/process.h"
#include "../testing/serve_process.h"
#include "../testing/temp_dir.h"

#ifndef RECO_BINARY
#error "RECO_BINARY must name the reco executable"
#endif

namespace reco {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;
using serve::testing::HttpResponse;
using serve::testing::TestClient;
using testing_util::TempDir;

constexpr const char* kKey = "realtime-test-key-0123456789";

// Two tastes: 20 users like the b items (so b items are the popular ones),
// 10 users like the a items. Every user rates 5 items of their taste.
void WriteTwoTasteData(const fs::path& path) {
  std::ofstream out(path);
  out << "user_id,item_id,rating,timestamp\n";
  int64_t ts = 1'700'000'000;
  for (int u = 0; u < 30; ++u) {
    const bool likes_a = u < 10;
    for (int j = 0; j < 5; ++j) {
      const int item = 1 + (u + j) % 8;  // items 1..8 of the user's taste
      out << "u" << u << "," << (likes_a ? "a" : "b") << item << ",1," << ts++ << "\n";
    }
  }
}

// The ALS defaults of these tests; other families pass their own flags.
const std::vector<std::string> kImplicitAlsFlags = {
    "--implicit", "--factors", "4", "--iterations", "10", "--reg", "0.1", "--alpha", "10"};

Status Retrain(const fs::path& dir, const std::string& version, bool activate,
               const std::vector<std::string>& model_flags = kImplicitAlsFlags) {
  std::vector<std::string> args = {RECO_BINARY,  "retrain",
                                   "--data",     (dir / "data.csv").string(),
                                   "--registry", (dir / "models").string(),
                                   "--store",    "lmdb://" + (dir / "store").string(),
                                   "--events",   (dir / "events").string(),
                                   "--version",  version,
                                   "--holdout",  "0",
                                   "--k",        "5",
                                   "--threads",  "1"};
  args.insert(args.end(), model_flags.begin(), model_flags.end());
  if (!activate) args.push_back("--no-activate");
  return testing_util::RunProcessToSuccess(
      args, {.stdout_file = (dir / ("retrain-" + version + ".log")).string()},
      std::chrono::seconds(120));
}

// `reco serve` on the directory's store, registry and event log.
Result<testing_util::ServeProcess> StartServer(const fs::path& dir) {
  std::ofstream(dir / "keys") << "# test key\n" << kKey << "\n";
  return testing_util::ServeProcess::Start(
      {RECO_BINARY, "serve", "--store", "lmdb://" + (dir / "store").string(), "--registry",
       (dir / "models").string(), "--events", (dir / "events").string(), "--api-keys-file",
       (dir / "keys").string(), "--threads", "2", "--refresh-ms", "20", "--live-memory-mb", "64"},
      {.log_file = (dir / "server.log").string(), .port_file = (dir / "port").string()});
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + kKey +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::vector<std::string> ItemIds(const nlohmann::json& body) {
  std::vector<std::string> ids;
  for (const auto& item : body.at("items")) ids.push_back(item.at("item_id").get<std::string>());
  return ids;
}

class RealtimeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(tmp_.path());
    WriteTwoTasteData(dir_ / "data.csv");
    fs::create_directories(dir_ / "events");
    const Status st = Retrain(dir_, "v1", /*activate=*/true);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  TempDir tmp_;
  fs::path dir_;
};

TEST_F(RealtimeCliTest, NewUserEventsGiveAPersonalisedListWithoutTheRatedItems) {
  auto server = StartServer(dir_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());

  auto before = client.Get("/v1/users/newcomer/recommendations?k=5");
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(before->status, 200) << before->body;
  const auto popular = nlohmann::json::parse(before->body);
  ASSERT_EQ(popular.at("source"), "popular");

  ASSERT_TRUE(
      client.Send(Post("/v1/events", R"({"events":[)"
                                     R"({"user_id":"newcomer","item_id":"a1","type":"click"},)"
                                     R"({"user_id":"newcomer","item_id":"a2","type":"click"},)"
                                     R"({"user_id":"newcomer","item_id":"a3","type":"click"}]})")));
  auto posted = client.Read();
  ASSERT_TRUE(posted.has_value());
  ASSERT_EQ(posted->status / 100, 2) << posted->body;

  // The refresh is asynchronous: poll (bounded) until the list is the model's.
  nlohmann::json fresh;
  for (int i = 0; i < 1000; ++i) {
    auto r = client.Get("/v1/users/newcomer/recommendations?k=5");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200) << r->body;
    fresh = nlohmann::json::parse(r->body);
    if (fresh.at("source") == "model") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(fresh.at("source"), "model") << fresh.dump() << "\n" << server->log();
  EXPECT_EQ(fresh.at("model_version"), "v1");
  const std::vector<std::string> personal = ItemIds(fresh);
  ASSERT_FALSE(personal.empty());
  EXPECT_NE(personal, ItemIds(popular));
  for (const char* rated : {"a1", "a2", "a3"}) {
    EXPECT_THAT(personal, ::testing::Not(::testing::Contains(rated))) << fresh.dump();
  }
  // The newcomer clicked only a items: the a taste should lead their list,
  // while the popular list leads with the majority's b items.
  EXPECT_EQ(personal.front().front(), 'a') << fresh.dump();
  EXPECT_EQ(ItemIds(popular).front().front(), 'b') << popular.dump();

  // The live state is within its budget (--live-memory-mb 64), in /metrics.
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics.has_value());
  EXPECT_THAT(metrics->body, HasSubstr("\nreco_realtime_live_budget_bytes 67108864\n"));
  EXPECT_THAT(metrics->body, HasSubstr("\nreco_realtime_live_users 1\n"));
  EXPECT_THAT(metrics->body, HasSubstr("\nreco_realtime_live_spilled_total 0\n"));
}

TEST_F(RealtimeCliTest, CorruptModelIsRefusedAndAGoodOneActivatesUnderLoad) {
  const Status v2 = Retrain(dir_, "v2", /*activate=*/false);
  ASSERT_TRUE(v2.ok()) << v2.ToString();
  const Status v3 = Retrain(dir_, "v3-corrupt", /*activate=*/false);
  ASSERT_TRUE(v3.ok()) << v3.ToString();
  {
    // Flip one byte in the middle of the model file (inside the factors).
    const fs::path model = dir_ / "models" / "versions" / "v3-corrupt" / "model.rcfm";
    ASSERT_TRUE(fs::exists(model));
    std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(fs::file_size(model));
    f.seekg(size / 2);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(size / 2);
    f.write(&c, 1);
  }
  auto server = StartServer(dir_);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  TestClient admin(server->port());
  ASSERT_TRUE(admin.connected());

  ASSERT_TRUE(admin.Send(Post("/v1/admin/models/v3-corrupt/activate", "")));
  auto refused = admin.Read();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 409) << refused->body;
  // Short and specific for the client; paths and checksums only in the log.
  EXPECT_THAT(refused->body, ::testing::HasSubstr("files are damaged")) << refused->body;
  EXPECT_THAT(refused->body, ::testing::Not(::testing::HasSubstr(dir_.string())));
  EXPECT_THAT(refused->body, ::testing::Not(::testing::HasSubstr("checksum")));
  EXPECT_THAT(refused->body, ::testing::Not(::testing::HasSubstr("/models/")));
  // Ids the registry can never hold are a 400 (or 404), never a 500.
  const std::string long_id(65, 'v');
  for (const std::string& bad :
       {std::string(".."), std::string(".tmp"), long_id, std::string("%2e%2e"),
        std::string("..%2f..%2fetc"), std::string("a%20b")}) {
    ASSERT_TRUE(admin.Send(Post("/v1/admin/models/" + bad + "/activate", "")));
    auto r = admin.Read();
    ASSERT_TRUE(r.has_value()) << bad;
    EXPECT_TRUE(r->status == 400 || r->status == 404) << bad << ": " << r->status << " " << r->body;
    EXPECT_THAT(r->body, ::testing::Not(::testing::HasSubstr(dir_.string()))) << bad;
  }
  auto still = admin.Get("/v1/users/u0/recommendations");
  ASSERT_TRUE(still.has_value());
  ASSERT_EQ(still->status, 200);
  EXPECT_EQ(nlohmann::json::parse(still->body).at("model_version"), "v1");

  // Readers hammer every route while v2 is activated.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> requests{0};
  std::atomic<int> saw_v2{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      TestClient c(server->port());
      if (!c.connected()) {
        ++failures;
        return;
      }
      for (int n = 0; !stop.load(); ++n) {
        const int u = (n * 7 + t) % 30;
        const std::string target = n % 3 == 0
                                       ? "/v1/items/b" + std::to_string(1 + n % 8) + "/similar"
                                       : "/v1/users/u" + std::to_string(u) + "/recommendations";
        auto r = c.Get(target);
        ++requests;
        if (!r.has_value() || r->status != 200) {
          ++failures;
          if (!r.has_value()) return;
          continue;
        }
        if (r->body.find("\"v2\"") != std::string::npos) ++saw_v2;
      }
    });
  }
  // Bounded: readers that cannot connect stop early and are counted as failures.
  for (int i = 0; i < 10'000 && requests.load() < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(admin.Send(Post("/v1/admin/models/v2/activate", "")));
  auto activated = admin.Read();
  ASSERT_TRUE(activated.has_value());
  EXPECT_EQ(activated->status, 200) << activated->body;
  // Keep reading until every reader has been served by v2 for a while.
  for (int i = 0; i < 3000 && saw_v2.load() < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(failures.load(), 0) << server->log();
  EXPECT_GE(saw_v2.load(), 200);
  auto after = admin.Get("/v1/users/u0/recommendations");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(nlohmann::json::parse(after->body).at("model_version"), "v2");
}

// Issue 10 acceptance 4: every family refreshes a new user's list from
// their posted events before the GET that follows, over HTTP on the real
// binary (ALS folds the user in; EASE and kNN rescore the history).
struct FamilyCase {
  const char* name;
  std::vector<std::string> flags;
  const char* event;       // one event body with ITEM in place of the item id
  bool ranks_taste_first;  // the newcomer's taste leads the list
};

class RealtimeFamilyTest : public ::testing::TestWithParam<FamilyCase> {};

TEST_P(RealtimeFamilyTest, NewUserEventsGiveAPersonalListWithoutThePostedItems) {
  const FamilyCase& c = GetParam();
  TempDir tmp;
  const fs::path dir(tmp.path());
  WriteTwoTasteData(dir / "data.csv");
  fs::create_directories(dir / "events");
  const Status st = Retrain(dir, "v1", /*activate=*/true, c.flags);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto server = StartServer(dir);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  TestClient client(server->port());
  ASSERT_TRUE(client.connected());

  std::string events;
  for (const char* item : {"a1", "a2", "a3"}) {
    std::string e = c.event;
    e.replace(e.find("ITEM"), 4, item);
    events += (events.empty() ? "" : ",") + e;
  }
  ASSERT_TRUE(client.Send(Post("/v1/events", R"({"events":[)" + events + "]}")));
  auto posted = client.Read();
  ASSERT_TRUE(posted.has_value());
  ASSERT_EQ(posted->status, 202) << posted->body;

  // Small groups are refreshed before the 202: the next GET is the model's.
  auto r = client.Get("/v1/users/newcomer/recommendations?k=5");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->status, 200) << r->body;
  const auto fresh = nlohmann::json::parse(r->body);
  ASSERT_EQ(fresh.at("source"), "model") << fresh.dump() << "\n" << server->log();
  const std::vector<std::string> personal = ItemIds(fresh);
  ASSERT_FALSE(personal.empty()) << fresh.dump();
  for (const char* rated : {"a1", "a2", "a3"}) {
    EXPECT_THAT(personal, ::testing::Not(::testing::Contains(rated))) << fresh.dump();
  }
  if (c.ranks_taste_first) {
    EXPECT_EQ(personal.front().front(), 'a') << fresh.dump();
  }

  // Similar items work for every family.
  auto similar = client.Get("/v1/items/a1/similar?k=3");
  ASSERT_TRUE(similar.has_value());
  EXPECT_EQ(similar->status, 200) << similar->body;
  EXPECT_FALSE(ItemIds(nlohmann::json::parse(similar->body)).empty()) << similar->body;
}

INSTANTIATE_TEST_SUITE_P(
    Families, RealtimeFamilyTest,
    ::testing::Values(
        FamilyCase{"als",
                   {"--family", "als", "--factors", "4", "--iterations", "10"},
                   R"({"user_id":"newcomer","item_id":"ITEM","type":"rating","value":5})",
                   false},
        FamilyCase{"ials", kImplicitAlsFlags,
                   R"({"user_id":"newcomer","item_id":"ITEM","type":"click"})", true},
        FamilyCase{"ease",
                   {"--family", "ease"},
                   R"({"user_id":"newcomer","item_id":"ITEM","type":"click"})",
                   true},
        FamilyCase{"knn",
                   {"--family", "knn"},
                   R"({"user_id":"newcomer","item_id":"ITEM","type":"click"})",
                   true}),
    [](const ::testing::TestParamInfo<FamilyCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace reco
