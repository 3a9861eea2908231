// The write routes over real sockets, against a fake EventSink and ModelAdmin:
// status codes, auth, ordering of pipelined writes and reads, and a graceful
// shutdown that waits for a write in progress. Nothing asserts on time.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "../testing/temp_dir.h"
#include "reco/event_log.h"
#include "reco/ingest.h"
#include "reco/server.h"
#include "test_http_client.h"

namespace reco {
namespace {

using serve::testing::HttpResponse;
using serve::testing::TestClient;
using json = nlohmann::json;

constexpr std::string_view kKey = "test-key-0123456789";

// Records accepted events; can fail on demand or hold Accept at a gate.
// With async set it accepts asynchronously, as the real-time engine does:
// the server calls AcceptAsync on its event loop and the answer comes from
// another thread.
class FakeSink : public EventSink {
 public:
  ~FakeSink() override {
    std::lock_guard lock(threads_mu_);
    for (std::thread& t : threads_) t.join();
  }
  void set_async(bool async) { async_ = async; }
  bool async_accept() const override { return async_; }
  void AcceptAsync(std::vector<Event> events, AcceptDone done) override {
    if (!async_) return EventSink::AcceptAsync(std::move(events), std::move(done));
    std::lock_guard lock(threads_mu_);
    threads_.emplace_back(
        [this, events = std::move(events), done = std::move(done)] { done(Accept(events)); });
  }

  Result<uint64_t> Accept(std::span<const Event> events) override {
    std::unique_lock lock(mu_);
    ++calls_;
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !gated_; });
    if (!fail_with_.ok()) return fail_with_;
    accepted_.insert(accepted_.end(), events.begin(), events.end());
    return static_cast<uint64_t>(accepted_.size());
  }
  int RetryAfterSeconds() const override { return 7; }

  void FailWith(Status st) {
    std::lock_guard lock(mu_);
    fail_with_ = std::move(st);
  }
  void Gate() {
    std::lock_guard lock(mu_);
    gated_ = true;
    entered_ = false;
  }
  void WaitUntilEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    gated_ = false;
    cv_.notify_all();
  }
  std::vector<Event> accepted() {
    std::lock_guard lock(mu_);
    return accepted_;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool gated_ = false;
  bool entered_ = false;
  int calls_ = 0;
  Status fail_with_;
  std::vector<Event> accepted_;
  bool async_ = false;
  std::mutex threads_mu_;
  std::vector<std::thread> threads_;
};

class FakeAdmin : public ModelAdmin {
 public:
  Status ActivateModel(std::string_view version) override {
    std::lock_guard lock(mu_);
    if (version == "missing") return Status::NotFound("no version 'missing'");
    if (version == "corrupt") return Status::Corruption("model.rcfm: checksum mismatch");
    if (version == "incomplete") return Status::FailedPrecondition("lists incomplete");
    live_ = std::string(version);
    return Status::Ok();
  }
  Status Reload() override {
    std::lock_guard lock(mu_);
    ++reloads_;
    cv_.notify_all();
    return Status::Ok();
  }
  std::string LiveVersion() const override {
    std::lock_guard lock(mu_);
    return live_;
  }
  void WaitForReload() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return reloads_ > 0; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string live_ = "v1";
  int reloads_ = 0;
};

std::string PostRequest(std::string_view target, std::string_view body, std::string_view key = kKey,
                        std::string_view extra_headers = "") {
  std::string r = "POST " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n";
  if (!key.empty()) r += "Authorization: Bearer " + std::string(key) + "\r\n";
  r += std::string(extra_headers);
  r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
       "\r\n\r\n";
  r += body;
  return r;
}

std::string Hex(size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%zx", n);
  return buf;
}

json ErrorOf(const HttpResponse& r) {
  const json j = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(j.contains("error")) << r.body;
  return j.value("error", json::object());
}

// Every test runs twice: against a sink that blocks in Accept (the server
// runs it on its ingest pool) and one that accepts asynchronously.
class IngestServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    sink_.set_async(GetParam());
    source_.SetActiveVersion("v1");
    source_.SetUserRecommendations("alice", {{"i1", 0.5f}});
    options_.port = 0;
    options_.threads = 2;
    options_.ingest_threads = 2;
    options_.max_events_per_request = 3;
    options_.max_event_body_bytes = 4096;
    writes_.events = &sink_;
    writes_.models = &admin_;
    ASSERT_TRUE(writes_.keys.Add(kKey).ok());
  }

  void StartServer() {
    auto server = HttpServer::Start(options_, &source_, writes_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  std::optional<HttpResponse> Post(std::string_view target, std::string_view body,
                                   std::string_view key = kKey) {
    TestClient c(server_->port());
    EXPECT_TRUE(c.connected());
    c.Send(PostRequest(target, body, key));
    return c.Read();
  }

  InMemoryRecommendationSource source_;
  FakeSink sink_;
  FakeAdmin admin_;
  ServerOptions options_;
  WriteBackends writes_;
  std::unique_ptr<HttpServer> server_;
};

TEST_P(IngestServerTest, AcceptsSingleEventAndBatch) {
  StartServer();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  c.Send(PostRequest("/v1/events", R"({"user_id":"u1","item_id":"i1","type":"rating","value":4,)"
                                   R"("timestamp":881250949})"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"accepted":1,"last_seq":1})");
  c.Send(PostRequest("/v1/events", R"({"events":[{"user_id":2,"item_id":3,"type":"click"},)"
                                   R"({"user_id":"u2","item_id":"i4","type":"view"}]})"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"accepted":2,"last_seq":3})");
  const auto events = sink_.accepted();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].user_id, "u1");
  EXPECT_EQ(events[0].value, 4.0f);
  EXPECT_EQ(events[0].timestamp_ms, 881'250'949'000);
  EXPECT_EQ(events[1].user_id, "2");
  EXPECT_EQ(events[1].item_id, "3");
  EXPECT_EQ(events[2].type, "view");
}

TEST_P(IngestServerTest, ChunkedBodyIsRead) {
  StartServer();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  const std::string body = R"({"user_id":"u","item_id":"i","type":"t"})";
  c.Send("POST /v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + std::string(kKey) +
         "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n" + body.substr(0, 5) + "\r\n" +
         Hex(body.size() - 5) + "\r\n" + body.substr(5) + "\r\n0\r\n\r\n");
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(sink_.accepted().size(), 1u);
}

TEST_P(IngestServerTest, ExpectContinueGetsAnInterimAnswer) {
  StartServer();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  const std::string body = R"({"user_id":"u","item_id":"i","type":"t"})";
  const std::string request = PostRequest("/v1/events", body, kKey, "Expect: 100-continue\r\n");
  // The header alone: the client waits for "100 Continue" before the body.
  ASSERT_TRUE(c.Send(std::string_view(request).substr(0, request.size() - body.size())));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 100);
  ASSERT_TRUE(c.Send(body));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(sink_.accepted().size(), 1u);
}

TEST_P(IngestServerTest, InvalidBodiesAre400AndWriteNothing) {
  StartServer();
  struct Case {
    std::string body;
    int status;
    std::string field;
    int index;
  };
  const std::vector<Case> cases = {
      {"{not json", 400, "", -1},
      {R"({"user_id":"u","item_id":"i","type":"t","color":"red"})", 400, "color", 0},
      {R"({"user_id":"u","item_id":"i"})", 400, "type", 0},
      {R"({"user_id":[1],"item_id":"i","type":"t"})", 400, "user_id", 0},
      {R"({"user_id":"u","item_id":"i","type":"t","value":"high"})", 400, "value", 0},
      {R"({"user_id":")" + std::string(300, 'u') + R"(","item_id":"i","type":"t"})", 400, "user_id",
       0},
      {R"({"user_id":"u","item_id":"i","type":"t","value":-1e300})", 400, "value", 0},
      {R"({"events":[{"user_id":"u","item_id":"i","type":"t"},{"user_id":"u","type":"t"}]})", 400,
       "item_id", 1},
      {R"({"events":[1,2,3,4]})", 413, "events", -1},
  };
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  for (const Case& k : cases) {
    c.Send(PostRequest("/v1/events", k.body));
    auto r = c.Read();
    ASSERT_TRUE(r) << k.body;
    EXPECT_EQ(r->status, k.status) << k.body << " -> " << r->body;
    const json e = ErrorOf(*r);
    EXPECT_EQ(e.value("field", ""), k.field) << r->body;
    EXPECT_EQ(e.value("index", -1), k.index) << r->body;
    EXPECT_FALSE(e.value("message", "").empty());
  }
  EXPECT_EQ(sink_.calls(), 0);  // all-or-nothing: no partial batch reached the sink

  // Over max_event_body_bytes: refused from Content-Length, connection closed.
  TestClient big(server_->port());
  ASSERT_TRUE(big.connected());
  big.Send(PostRequest("/v1/events", std::string(5000, ' ')));
  auto r = big.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(sink_.calls(), 0);

  TestClient m(server_->port());
  auto metrics = m.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("reco_event_requests_rejected_total{reason=\"invalid\"} 8"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("reco_event_requests_rejected_total{reason=\"too_large\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics->body.find("reco_http_requests_total{route=\"/v1/events\",code=\"400\"} 8"),
            std::string::npos);
}

TEST_P(IngestServerTest, WritesNeedAValidKey) {
  StartServer();
  const std::string event = R"({"user_id":"u","item_id":"i","type":"t"})";
  auto r = Post("/v1/events", event, "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("www-authenticate"), "Bearer realm=\"reco\"");
  EXPECT_EQ(ErrorOf(*r).value("code", ""), "unauthorized");
  r = Post("/v1/events", event, "test-key-0123456780");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->header("www-authenticate"), "Bearer realm=\"reco\", error=\"invalid_token\"");
  // Wrong scheme, and two Authorization headers.
  TestClient c(server_->port());
  c.Send("POST /v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: Basic " + std::string(kKey) +
         "\r\nContent-Length: " + std::to_string(event.size()) + "\r\n\r\n" + event);
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  c.Send(PostRequest("/v1/events", event, kKey, "Authorization: Bearer x\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  // Scheme names are case-insensitive.
  c.Send(
      PostRequest("/v1/events", event, "", "authorization: bearer " + std::string(kKey) + "\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(sink_.calls(), 1);
  // Reads stay open by default.
  r = c.Get("/v1/users/alice/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_P(IngestServerTest, KeyedReads) {
  options_.require_key_for_reads = true;
  StartServer();
  TestClient c(server_->port());
  auto r = c.Get("/v1/users/alice/recommendations");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  c.Send("GET /v1/users/alice/recommendations HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
         std::string(kKey) + "\r\n\r\n");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_P(IngestServerTest, StartRefusesWritesWithoutKeysUnlessAllowed) {
  writes_.keys = ApiKeys();
  auto refused = HttpServer::Start(options_, &source_, writes_);
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  options_.allow_unauthenticated_writes = true;
  StartServer();
  auto r = Post("/v1/events", R"({"user_id":"u","item_id":"i","type":"t"})", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
}

TEST_P(IngestServerTest, RoutesWithoutBackendAre404AndMethodsAre405) {
  writes_.events = nullptr;
  StartServer();
  auto r = Post("/v1/events", R"({"user_id":"u","item_id":"i","type":"t"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  TestClient c(server_->port());
  r = c.Get("/v1/admin/models/v2/activate");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "POST");
  c.Send(PostRequest("/v1/users/alice/recommendations", "{}"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "GET, HEAD");
}

TEST_P(IngestServerTest, SinkFailuresMapToStatusCodes) {
  StartServer();
  const std::string event = R"({"user_id":"u","item_id":"i","type":"t"})";
  sink_.FailWith(Status::ResourceExhausted("refresh queue is full"));
  auto r = Post("/v1/events", event);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after"), "7");
  sink_.FailWith(Status::Unavailable("log not writable"));
  r = Post("/v1/events", event);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->header("retry-after"), "7");
  sink_.FailWith(Status::IOError("disk gone"));
  r = Post("/v1/events", event);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body.find("disk"), std::string::npos);  // internals stay in the log
  sink_.FailWith(Status::InvalidArgument("type is reserved"));
  r = Post("/v1/events", event);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  sink_.FailWith(Status::Internal("bug"));
  r = Post("/v1/events", event);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(sink_.accepted().empty());
  TestClient m(server_->port());
  auto metrics = m.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("reco_event_requests_rejected_total{reason=\"queue_full\"} 1"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("reco_event_requests_rejected_total{reason=\"unavailable\"} 2"),
            std::string::npos)
      << metrics->body;
}

TEST_P(IngestServerTest, PipelinedWritesAndReadsAnswerInOrder) {
  StartServer();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  // The first write is held in the sink while everything behind it arrives.
  sink_.Gate();
  const std::string e1 = R"({"user_id":"p1","item_id":"i","type":"t"})";
  const std::string e2 = R"({"user_id":"p2","item_id":"i","type":"t"})";
  ASSERT_TRUE(c.Send(PostRequest("/v1/events", e1) +
                     "GET /v1/users/alice/recommendations HTTP/1.1\r\nHost: t\r\n\r\n" +
                     PostRequest("/v1/events", e2) + "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  sink_.WaitUntilEntered();
  sink_.Release();
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"accepted":1,"last_seq":1})");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"user_id\":\"alice\""), std::string::npos);
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, R"({"accepted":1,"last_seq":2})");
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"status\":\"ok\"}");
  const auto events = sink_.accepted();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].user_id, "p1");
  EXPECT_EQ(events[1].user_id, "p2");
}

TEST_P(IngestServerTest, ShutdownWaitsForAWriteInProgress) {
  StartServer();
  TestClient c(server_->port());
  ASSERT_TRUE(c.connected());
  sink_.Gate();
  ASSERT_TRUE(c.Send(PostRequest("/v1/events", R"({"user_id":"u","item_id":"i","type":"t"})")));
  sink_.WaitUntilEntered();
  server_->Shutdown();
  std::atomic<bool> stopped{false};
  std::thread waiter([&] {
    server_->Wait();
    stopped = true;
  });
  // Wait() cannot return while Accept is held (the loop keeps the job's work).
  EXPECT_FALSE(stopped.load());
  sink_.Release();
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->header("connection"), "close");
  waiter.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_EQ(sink_.accepted().size(), 1u);
}

// Issue 12 class 7: a shutdown racing keep-alive writers. Every event the
// sink accepted (made durable) must have been answered 202 before the
// connection closed: the drain may only cut off connections that are idle,
// decided atomically with their read handler claiming a new request.
TEST_P(IngestServerTest, ShutdownUnderKeepAliveWritersAnswersEveryAcceptedEvent) {
  const std::string request =
      PostRequest("/v1/events", R"({"user_id":"u","item_id":"i","type":"click"})");
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE(round);
    StartServer();
    const size_t accepted_before = sink_.accepted().size();
    std::atomic<uint64_t> answered{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&] {
        TestClient c(server_->port());
        if (!c.connected()) return;
        // Bounded: the server closes every connection when it has drained.
        for (int i = 0; i < 100000; ++i) {
          if (!c.Send(request)) return;
          auto r = c.Read();
          if (!r) return;
          if (r->status == 202) answered.fetch_add(1);
          if (r->header("connection") == "close") return;
        }
      });
    }
    // Let the writers get going; vary the moment the shutdown lands.
    std::this_thread::sleep_for(std::chrono::microseconds(500 + 300 * (round % 10)));
    server_->Shutdown();
    server_->Wait();
    for (auto& t : writers) t.join();
    EXPECT_EQ(sink_.accepted().size() - accepted_before, answered.load());
    server_.reset();
  }
}

TEST_P(IngestServerTest, AdminActivation) {
  StartServer();
  auto r = Post("/v1/admin/models/v2/activate", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"active":"v2"})");
  EXPECT_EQ(admin_.LiveVersion(), "v2");
  r = Post("/v1/admin/models/missing/activate", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = Post("/v1/admin/models/corrupt/activate", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(ErrorOf(*r).value("code", ""), "conflict");
  r = Post("/v1/admin/models/incomplete/activate", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409);
  EXPECT_EQ(admin_.LiveVersion(), "v2");  // refusals leave the live model alone
  r = Post("/v1/admin/models/v3/activate", "", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  r = Post("/v1/admin/models/a%2Fb/activate", "");  // a decoded '/' is part of the id
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(admin_.LiveVersion(), "a/b");
  r = Post("/v1/admin/models/%01/activate", "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  TestClient c(server_->port());
  r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, R"({"status":"ready","model_version":"v1","live_model_version":"a/b"})");
}

TEST_P(IngestServerTest, SighupReloads) {
  options_.handle_signals = true;
  StartServer();
  ASSERT_EQ(std::raise(SIGHUP), 0);
  admin_.WaitForReload();
  // Still serving.
  TestClient c(server_->port());
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_P(IngestServerTest, HostileBodiesAre400AndNeverCopiedToTheLog) {
  // Big enough for a body the server hands to its ingest pool (> 16 KiB).
  options_.max_event_body_bytes = 256 * 1024;
  StartServer();
  auto captured = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  spdlog::default_logger()->sinks().push_back(captured);
  const std::string digits = "1" + std::string(100'000, '0');
  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"user_id":"u","item_id":"i","type":"t","value":)" + digits + "}", "value"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":1e400})", "value"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":1e20})", "value"},
      {R"({"user_id":"u","item_id":"i","type":"t","timestamp":)" + digits + "}", "timestamp"},
      {R"({"user_id":"u","item_id":"i","type":"a\nb"})", "type"},
      {R"({"user_id":"u","item_id":"i","type":" "})", "type"},
      {R"({"user_id":"u","item_id":"i","type":"\u0000"})", "type"},
      {std::string(R"({"user_id":"u","item_id":"i","type":"t"})") + std::string("\0garbage", 8),
       ""},
  };
  for (const Case& c : cases) {
    auto r = Post("/v1/events", c.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.body.substr(0, 80) << " -> " << r->body;
    EXPECT_EQ(ErrorOf(*r).value("field", ""), c.field) << r->body;
    EXPECT_LT(r->body.size(), 300u);
  }
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_TRUE(sink_.accepted().empty());
  for (const std::string& line : captured->last_formatted()) {
    EXPECT_LT(line.size(), 1000u) << line.substr(0, 200);
    EXPECT_EQ(line.find(std::string(100, '0')), std::string::npos) << line.substr(0, 200);
  }
}

TEST_P(IngestServerTest, LargeBatchIsAcceptedWhole) {
  // Bigger than what the server parses on its event loop (16 KiB).
  options_.max_event_body_bytes = 256 * 1024;
  options_.max_events_per_request = 1000;
  StartServer();
  std::string body = R"({"events":[)";
  for (int i = 0; i < 400; ++i) {
    if (i > 0) body += ',';
    body += R"({"user_id":"user-)" + std::to_string(i) + R"(","item_id":"item-)" +
            std::to_string(i % 7) + R"(","type":"click","value":1})";
  }
  body += "]}";
  ASSERT_GT(body.size(), 16u * 1024);
  auto r = Post("/v1/events", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_EQ(r->body, R"({"accepted":400,"last_seq":400})");
  const auto events = sink_.accepted();
  ASSERT_EQ(events.size(), 400u);
  EXPECT_EQ(events[399].user_id, "user-399");
}

INSTANTIATE_TEST_SUITE_P(SinkKinds, IngestServerTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("AsyncSink")
                                             : std::string("BlockingSink");
                         });

// The real event log behind the server: a log directory that disappears while
// serving is a 503, not a 202 for events that are gone.
class EventLogServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EventLog::Open(log_dir_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    sink_ = MakeLogOnlyEventSink(log_.get());
    source_.SetActiveVersion("v1");
    options_.port = 0;
    options_.threads = 2;
    options_.ingest_threads = 2;
    writes_.events = sink_.get();
    writes_.event_log = log_.get();
    ASSERT_TRUE(writes_.keys.Add(kKey).ok());
    auto server = HttpServer::Start(options_, &source_, writes_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }
  void TearDown() override { StopServer(); }
  void StopServer() {
    if (server_) {
      server_->Shutdown();
      server_->Wait();
      server_.reset();
    }
    sink_.reset();
    log_.reset();
  }
  std::optional<HttpResponse> Post(std::string_view body) {
    TestClient c(server_->port());
    EXPECT_TRUE(c.connected());
    c.Send(PostRequest("/v1/events", body, kKey));
    return c.Read();
  }
  std::optional<HttpResponse> Get(const std::string& target) {
    TestClient c(server_->port());
    EXPECT_TRUE(c.connected());
    return c.Get(target);
  }
  static std::string EventBody(const std::string& item) {
    return R"({"user_id":"u","item_id":")" + item + R"(","type":"click"})";
  }
  // The item ids in the log at `dir`, opened as after a restart.
  static std::vector<std::string> ItemsInLog(const std::string& dir) {
    std::vector<std::string> items;
    auto log = EventLog::Open(dir);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    if (!log.ok()) return items;
    EXPECT_TRUE((*log)
                    ->Replay(0,
                             [&](uint64_t, const Event& e) {
                               items.push_back(e.item_id);
                               return Status::Ok();
                             })
                    .ok());
    return items;
  }

  testing_util::TempDir scratch_{"reco-ingest-log"};  // declared first: removed last
  const std::string root_ = scratch_.path();
  const std::string log_dir_ = root_ + "/events";
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<EventSink> sink_;
  InMemoryRecommendationSource source_;
  ServerOptions options_;
  WriteBackends writes_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(EventLogServerTest, RemovedLogDirectoryIs503AndNotReady) {
  auto r = Post(EventBody("before"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202) << r->body;
  r = Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  r = Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\nreco_event_log_writable 1\n"), std::string::npos);

  std::filesystem::remove_all(log_dir_);
  for (int i = 0; i < 3; ++i) {
    r = Post(EventBody("after-" + std::to_string(i)));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503) << r->body;
    EXPECT_EQ(ErrorOf(*r).value("code", ""), "unavailable");
    EXPECT_FALSE(r->headers["retry-after"].empty());
  }
  r = Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(ErrorOf(*r).value("message", "").find("event log not writable"), std::string::npos)
      << r->body;
  // The reason stays in the server's log; the client is not told paths.
  EXPECT_EQ(r->body.find(root_), std::string::npos);
  r = Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\nreco_event_log_writable 0\n"), std::string::npos);
  EXPECT_NE(r->body.find("reco_event_requests_rejected_total{reason=\"unavailable\"} 3"),
            std::string::npos);

  // A restart starts a new, empty log there: nothing acknowledged after the
  // removal was pretended to be kept.
  StopServer();
  EXPECT_TRUE(ItemsInLog(log_dir_).empty());
}

TEST_F(EventLogServerTest, EveryAcknowledgedEventSurvivesTheDirectoryMovingUnderWriters) {
  constexpr int kWriters = 3;
  constexpr int kPerWriter = 40;
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::atomic<int> unavailable{0};
  // Writers 0 and 1 stop halfway until the directory has moved (so some
  // writes surely come after it); writer 2 runs on, racing the move.
  std::atomic<int> at_half{0};
  std::atomic<int> finished{0};
  std::atomic<bool> moved_flag{false};
  auto write = [&](int w) {
    TestClient c(server_->port());
    ASSERT_TRUE(c.connected());
    for (int i = 0; i < kPerWriter; ++i) {
      if (w < 2 && i == kPerWriter / 2) {
        at_half.fetch_add(1);
        while (!moved_flag.load()) std::this_thread::yield();
      }
      const std::string item = "w" + std::to_string(w) + "-" + std::to_string(i);
      c.Send(PostRequest("/v1/events", EventBody(item), kKey));
      auto r = c.Read();
      ASSERT_TRUE(r);
      ASSERT_TRUE(r->status == 202 || r->status == 503) << r->status << " " << r->body;
      if (r->status == 202) {
        std::lock_guard lock(mu);
        acknowledged.insert(item);
      } else {
        unavailable.fetch_add(1);
      }
    }
  };
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      write(w);
      finished.fetch_add(1);
    });
  }
  while (at_half.load() < 2 && finished.load() < kWriters) std::this_thread::yield();
  const std::string moved = root_ + "/events.moved";
  std::filesystem::rename(log_dir_, moved);
  moved_flag.store(true);
  for (std::thread& t : writers) t.join();

  EXPECT_GT(unavailable.load(), 0);
  auto r = Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  StopServer();
  const std::vector<std::string> items = ItemsInLog(moved);
  const std::set<std::string> in_log(items.begin(), items.end());
  EXPECT_EQ(in_log.size(), items.size()) << "an event was logged twice";
  for (const std::string& item : acknowledged) {
    EXPECT_TRUE(in_log.contains(item)) << item << " was acknowledged but is not in the log";
  }
  EXPECT_FALSE(acknowledged.empty());
}

}  // namespace
}  // namespace reco
