// End-to-end runs against TestHttpServer on an ephemeral loopback port. The
// assertions are on counts that do not depend on timing: closed-loop runs
// use a request limit (so client and server agree exactly on what was
// sent), and the open-loop schedule is a pure function of rate and window.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>

#include "reco/loadgen.h"
#include "test_http_server.h"

namespace reco {
namespace {

using loadgen_test::TestHttpServer;
using loadgen_test::TestServerOptions;
using namespace std::chrono_literals;

LoadTestOptions OptionsFor(uint16_t port, const std::string& path, std::vector<std::string> users) {
  LoadTestOptions o;
  auto url = ParseUrlTemplate("http://127.0.0.1:" + std::to_string(port) + path);
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  o.url = *url;
  o.users = std::move(users);
  o.concurrency = 4;
  o.threads = 2;
  o.duration = 60s;  // a limit only: the request count ends these runs
  o.timeout = 5s;
  return o;
}

TEST(LoadRunnerTest, ClosedLoopCountsEveryResponse) {
  TestHttpServer server;
  LoadTestOptions o = OptionsFor(server.port(), "/v1/users/{user}/recs?k=10", {"1", "2", "3"});
  o.max_requests = 500;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->responses, 500u);
  EXPECT_EQ(server.requests(), 500u);
  EXPECT_EQ(server.responses(), 500u);
  EXPECT_EQ(report->non_2xx, 0u);
  EXPECT_EQ(report->status_classes[2], 500u);
  EXPECT_EQ(report->socket_errors(), 0u);
  EXPECT_EQ(report->latency.count(), 500u);
  EXPECT_GT(report->latency.max(), 0u);
  // Keep-alive: one connection each (the server also saw the reachability probe).
  EXPECT_EQ(report->connections_opened, 4u);
  EXPECT_EQ(server.connections(), 5u);
  EXPECT_EQ(report->threads, 2);
  // Every response body is {"target":"/v1/users/N/recs?k=10"} plus headers.
  EXPECT_GT(report->bytes_read, 500u * 30);
}

TEST(LoadRunnerTest, Non2xxAndChunkedResponsesAreCounted) {
  TestHttpServer server;
  // "fail" users get a 500, "chunked" users a chunked 200.
  LoadTestOptions o =
      OptionsFor(server.port(), "/u/{user}", {"ok1", "fail1", "chunked1", "ok2", "fail2"});
  o.max_requests = 400;
  o.seed = 7;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->responses, 400u);
  EXPECT_EQ(report->socket_errors(), 0u);
  EXPECT_EQ(report->non_2xx, server.responses_500());
  EXPECT_EQ(report->status_classes[5], server.responses_500());
  EXPECT_GT(report->non_2xx, 0u);
  EXPECT_LT(report->non_2xx, 400u);
  EXPECT_EQ(report->status_classes[2] + report->status_classes[5], 400u);
}

TEST(LoadRunnerTest, ServerClosingConnectionsCausesErrorsAndReconnects) {
  TestServerOptions server_options;
  server_options.close_after = 3;  // then drops the connection unannounced
  TestHttpServer server(server_options);
  LoadTestOptions o = OptionsFor(server.port(), "/x/{user}", {"a", "b"});
  o.max_requests = 200;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Each request either got its response or failed on a dropped connection.
  EXPECT_EQ(report->responses, server.responses());
  EXPECT_EQ(report->responses + report->read_errors + report->write_errors, 200u);
  EXPECT_GT(report->read_errors + report->write_errors, 0u);
  EXPECT_EQ(report->connect_errors + report->timeouts + report->protocol_errors, 0u);
  EXPECT_GT(report->connections_opened, 4u);
  EXPECT_EQ(server.connections(), report->connections_opened + 1);
}

TEST(LoadRunnerTest, ConnectionCloseHeaderReconnectsWithoutErrors) {
  TestServerOptions server_options;
  server_options.connection_close = true;
  TestHttpServer server(server_options);
  LoadTestOptions o = OptionsFor(server.port(), "/plain", {});
  o.max_requests = 60;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->responses, 60u);
  EXPECT_EQ(report->socket_errors(), 0u);
  EXPECT_EQ(report->connections_opened, 60u);  // one connection per request
}

TEST(LoadRunnerTest, RequestsThatNeverAnswerTimeOut) {
  TestHttpServer server;
  LoadTestOptions o = OptionsFor(server.port(), "/slow/{user}", {"1"});
  o.concurrency = 2;
  o.max_requests = 4;
  o.timeout = 100ms;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->responses, 0u);
  EXPECT_EQ(report->timeouts, 4u);
}

TEST(LoadRunnerTest, OpenLoopSchedulesRateTimesDuration) {
  TestHttpServer server;
  LoadTestOptions o = OptionsFor(server.port(), "/u/{user}", {"1", "2", "3", "fail"});
  o.rate = 400;
  o.duration = 500ms;
  o.warmup = 250ms;
  o.concurrency = 3;
  o.threads = 2;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->open_loop);
  // Requests j at j * 2.5 ms; the window [250 ms, 750 ms) holds j = 100..299.
  EXPECT_EQ(report->scheduled, 200u);
  // Each scheduled request ends exactly one way.
  EXPECT_EQ(report->responses + report->read_errors + report->write_errors + report->timeouts +
                report->protocol_errors,
            200u);
  // Warmup requests (j = 0..99) were sent too, but not counted.
  EXPECT_EQ(server.requests(), 300u);
  EXPECT_EQ(report->latency.count(), report->responses);
  EXPECT_DOUBLE_EQ(report->window_seconds, 0.5);
}

TEST(LoadRunnerTest, OpenLoopQueueingCountsAgainstLatency) {
  // One connection to a server that never answers in time: every request
  // scheduled in the window waits or times out; none is silently skipped.
  TestHttpServer server;
  LoadTestOptions o = OptionsFor(server.port(), "/slow", {});
  o.rate = 100;
  o.duration = 300ms;
  o.concurrency = 1;
  o.timeout = 50ms;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->scheduled, 30u);
  EXPECT_EQ(report->responses, 0u);
  EXPECT_EQ(report->timeouts, 30u);
}

TEST(LoadRunnerTest, UnreachableTargetIsAnError) {
  uint16_t port = 0;
  {
    // Take an ephemeral port and release it: nothing listens there now.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }
  LoadTestOptions o = OptionsFor(port, "/", {});
  o.duration = 1s;
  auto report = RunLoadTest(o);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(report.status().message().find("cannot connect"), std::string::npos);
}

TEST(LoadRunnerTest, RefusesRemoteHostsAndBadOptions) {
  LoadTestOptions o;
  o.url = *ParseUrlTemplate("http://10.11.12.13:8080/");
  auto remote = RunLoadTest(o);
  ASSERT_FALSE(remote.ok());
  EXPECT_NE(remote.status().message().find("--allow-remote"), std::string::npos);

  o.url = *ParseUrlTemplate("http://127.0.0.1:1/u/{user}");
  auto no_users = RunLoadTest(o);
  ASSERT_FALSE(no_users.ok());
  EXPECT_NE(no_users.status().message().find("{user}"), std::string::npos);

  o.users = {"1"};
  o.concurrency = 0;
  EXPECT_EQ(RunLoadTest(o).status().code(), Status::Code::kInvalidArgument);
  o.concurrency = 1;
  o.rate = 10;
  o.max_requests = 5;
  EXPECT_EQ(RunLoadTest(o).status().code(), Status::Code::kInvalidArgument);
}

TEST(LoadRunnerTest, ReportRendersTableAndJson) {
  LoadTestReport r;
  r.target = "127.0.0.1:8080";
  r.concurrency = 2;
  r.threads = 1;
  r.window_seconds = 2;
  r.responses = 4;
  r.requests_per_second = 2;
  r.non_2xx = 1;
  r.status_classes[2] = 3;
  r.status_classes[5] = 1;
  r.read_errors = 2;
  for (uint64_t us : {1000, 2000, 3000, 4000}) r.latency.Record(us * 1000);
  const std::string table = FormatLoadTestReport(r);
  EXPECT_NE(table.find("closed loop"), std::string::npos) << table;
  EXPECT_NE(table.find("(2.0 req/s)"), std::string::npos) << table;
  EXPECT_NE(table.find("5xx: 1"), std::string::npos) << table;
  EXPECT_NE(table.find("read 2"), std::string::npos) << table;
  const std::string json = LoadTestReportToJson(r);
  EXPECT_NE(json.find("\"requests\": 4"), std::string::npos) << json;
  EXPECT_NE(json.find("\"mode\": \"closed\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"max\": 4.0"), std::string::npos) << json;
  EXPECT_NE(json.find("\"total\": 2"), std::string::npos) << json;
}

}  // namespace
}  // namespace reco
