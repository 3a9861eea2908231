// Acceptance test for the write path (issue 4): run the real `reco serve`
// with an event log, stream event POSTs at it over keep-alive connections from
// several clients, kill -9 it at a random (seeded) moment, and check the log:
// every event that got a 2xx is there exactly once, nothing is duplicated, and
// nothing appears that no client sent. Repeated over many rounds on the same
// log directory, so each restart also recovers the torn tail of the last kill.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../serve/test_http_client.h"
#include "../testing/serve_process.h"
#include "../testing/temp_dir.h"
#include "reco/event_log.h"

#ifndef RECO_BINARY
#error "RECO_BINARY must name the reco executable"
#endif

namespace reco {
namespace {

namespace fs = std::filesystem;
using serve::testing::TestClient;

constexpr std::string_view kKey = "crash-test-key-0123456789";
constexpr int kRounds = 20;
constexpr int kClients = 3;

// Starts `reco serve` on the log and returns once it listens.
Result<testing_util::ServeProcess> StartServer(const fs::path& dir, const fs::path& log_dir) {
  return testing_util::ServeProcess::Start(
      {RECO_BINARY, "serve", "--store", "memory://", "--events", log_dir.string(),
       "--api-keys-file", (dir / "keys").string(), "--threads", "2", "--ingest-threads", "4"},
      {.log_file = (dir / "server.log").string(), .port_file = (dir / "port").string()});
}

std::string PostEvents(const std::vector<std::string>& users) {
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < users.size(); ++i) {
    if (i > 0) body += ",";
    body += "{\"user_id\":\"" + users[i] + "\",\"item_id\":\"i" + std::to_string(i) +
            "\",\"type\":\"click\",\"value\":1}";
  }
  body += "]}";
  return "POST /v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kKey) +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

struct Ledger {
  std::mutex mu;
  std::set<std::string> sent;   // every user_id a client put on the wire
  std::set<std::string> acked;  // those whose request got a 2xx
  int unexpected_status = 0;    // a non-2xx answer from a healthy server
};

// One client: POSTs batches of 1..3 events with unique user ids until the
// connection dies with the server.
void RunClient(uint16_t port, int round, int client, uint32_t seed, Ledger* ledger) {
  TestClient c(port);
  if (!c.connected()) return;
  std::mt19937 rng(seed);
  for (int n = 0;; ++n) {
    const int batch = 1 + static_cast<int>(rng() % 3);
    std::vector<std::string> users;
    for (int b = 0; b < batch; ++b) {
      users.push_back("r" + std::to_string(round) + "-c" + std::to_string(client) + "-" +
                      std::to_string(n) + "-" + std::to_string(b));
    }
    {
      std::lock_guard lock(ledger->mu);
      ledger->sent.insert(users.begin(), users.end());
    }
    if (!c.Send(PostEvents(users))) return;
    const auto r = c.Read();
    if (!r) return;
    std::lock_guard lock(ledger->mu);
    if (r->status / 100 == 2) {
      ledger->acked.insert(users.begin(), users.end());
    } else {
      ++ledger->unexpected_status;
    }
  }
}

TEST(IngestCrashTest, AcknowledgedEventsSurviveKill9) {
  testing_util::TempDir tmp("reco-ingest-crash");
  const fs::path dir(tmp.path());
  const fs::path log_dir = dir / "events";
  std::ofstream(dir / "keys") << "# test key\n" << kKey << "\n";

  std::mt19937 rng(20261125);
  Ledger ledger;
  size_t previously_logged = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    {
      auto server = StartServer(dir, log_dir);
      ASSERT_TRUE(server.ok()) << server.status().ToString();
      std::vector<std::thread> clients;
      for (int c = 0; c < kClients; ++c) {
        clients.emplace_back(RunClient, server->port(), round, c, static_cast<uint32_t>(rng()),
                             &ledger);
      }
      // A random moment in the stream: the kill lands before, during or after
      // a group commit's write and fdatasync.
      std::this_thread::sleep_for(std::chrono::milliseconds(10 + rng() % 190));
      (void)server->Kill();
      for (auto& t : clients) t.join();
    }

    // What a restarted server would recover (a torn tail is truncated here).
    auto log = EventLog::Open(log_dir.string());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    std::map<std::string, int> logged;
    const Status st = (*log)->Replay(0, [&](uint64_t, const Event& e) {
      ++logged[e.user_id];
      return Status::Ok();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::lock_guard lock(ledger.mu);
    for (const auto& [user, count] : logged) {
      EXPECT_EQ(count, 1) << user << " is in the log " << count << " times";
      EXPECT_TRUE(ledger.sent.count(user)) << user << " was never sent";
    }
    for (const std::string& user : ledger.acked) {
      EXPECT_TRUE(logged.count(user)) << user << " was acknowledged but is not in the log";
    }
    EXPECT_GE(logged.size(), previously_logged);  // nothing earlier was lost either
    previously_logged = logged.size();
    if (HasFailure()) break;
  }
  std::lock_guard lock(ledger.mu);
  EXPECT_EQ(ledger.unexpected_status, 0);
  // The rounds did write: otherwise the checks above prove nothing.
  EXPECT_GT(ledger.acked.size(), static_cast<size_t>(kRounds));
  std::printf("%d rounds: %zu events sent, %zu acknowledged, %zu in the log\n", kRounds,
              ledger.sent.size(), ledger.acked.size(), previously_logged);
  if (HasFailure()) {  // the directory goes with tmp: show what the server said
    const std::string log = testing_util::ReadFileOrEmpty((dir / "server.log").string());
    std::printf("end of server.log:\n%s\n",
                log.substr(log.size() - std::min<size_t>(log.size(), 4000)).c_str());
  }
}

}  // namespace
}  // namespace reco
