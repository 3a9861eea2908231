// The mixed workload and the freshness probes against TestHttpServer, whose
// event ingest and lists follow a rule computed by hand (test_http_server.h):
// counts are asserted exactly where the client and server must agree, never
// times.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "freshness_probe.h"
#include "reco/loadgen.h"
#include "request_builder.h"
#include "test_http_server.h"

namespace reco {
namespace {

using loadgen_test::TestHttpServer;
using loadgen_test::TestServerOptions;
using namespace std::chrono_literals;

LoadTestOptions MixedOptions(uint16_t port, std::vector<std::string> users) {
  LoadTestOptions o;
  auto url = ParseUrlTemplate("http://127.0.0.1:" + std::to_string(port) +
                              "/v1/users/{user}/recommendations?k=3");
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  o.url = *url;
  o.users = std::move(users);
  o.concurrency = 4;
  o.threads = 2;
  o.duration = 60s;  // a limit only where a request count ends the run
  o.timeout = 5s;
  o.writes.api_key = "secret";
  o.writes.items = {"i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9"};
  return o;
}

TestServerOptions KeyedServer() {
  TestServerOptions s;
  s.api_key = "secret";
  return s;
}

uint64_t Sum(const std::map<int, uint64_t>& m) {
  uint64_t n = 0;
  for (const auto& [status, count] : m) n += count;
  return n;
}

TEST(MixedWorkloadTest, SplitsReadsAndWritesAndPostsValidEvents) {
  TestHttpServer server(KeyedServer());
  LoadTestOptions o = MixedOptions(server.port(), {"1", "2", "3", "4", "5"});
  o.writes.fraction = 0.3;
  o.max_requests = 1000;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->mixed);
  EXPECT_EQ(report->responses, 1000u);
  EXPECT_EQ(report->reads.responses + report->writes.responses, 1000u);
  // Every POST reached the events route and was accepted; every GET was a list.
  EXPECT_EQ(report->writes.responses, server.event_posts());
  EXPECT_EQ(report->writes.responses, server.events_accepted());
  EXPECT_EQ(report->reads.responses, server.list_gets());
  EXPECT_EQ(report->writes.statuses, (std::map<int, uint64_t>{{202, report->writes.responses}}));
  EXPECT_EQ(report->reads.statuses, (std::map<int, uint64_t>{{200, report->reads.responses}}));
  EXPECT_EQ(report->reads.non_2xx + report->writes.non_2xx, 0u);
  EXPECT_EQ(report->reads.latency.count(), report->reads.responses);
  EXPECT_EQ(report->writes.latency.count(), report->writes.responses);
  // Binomial(1000, 0.3): 300 +- 14.5; the bounds are 7 standard deviations.
  EXPECT_GT(report->writes.responses, 200u);
  EXPECT_LT(report->writes.responses, 400u);
  EXPECT_DOUBLE_EQ(report->writes.requests_per_second + report->reads.requests_per_second,
                   report->requests_per_second);

  // Events name users and items from the lists, with a rating 1..5.
  for (const auto& [user, items] : server.RatedItems()) {
    EXPECT_TRUE(user >= "1" && user <= "5" && user.size() == 1) << user;
    for (const std::string& item : items) {
      EXPECT_TRUE(item.size() == 2 && item[0] == 'i' && item[1] >= '1' && item[1] <= '9') << item;
    }
  }
  const auto body = nlohmann::json::parse(server.LastEventBody());
  EXPECT_EQ(body.size(), 4u) << body;
  EXPECT_EQ(body["type"], "rating");
  EXPECT_TRUE(body["value"].is_number_integer());
  EXPECT_GE(body["value"].get<int>(), 1);
  EXPECT_LE(body["value"].get<int>(), 5);
}

TEST(MixedWorkloadTest, WrongKeyIsCountedByStatus) {
  TestHttpServer server(KeyedServer());
  LoadTestOptions o = MixedOptions(server.port(), {"1", "2"});
  o.writes.fraction = 1;  // writes only
  o.writes.api_key = "wrong";
  o.max_requests = 50;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->reads.responses, 0u);
  EXPECT_EQ(report->writes.responses, 50u);
  EXPECT_EQ(report->writes.non_2xx, 50u);
  EXPECT_EQ(report->writes.statuses, (std::map<int, uint64_t>{{401, 50}}));
  EXPECT_EQ(report->status_classes[4], 50u);
  EXPECT_EQ(server.events_accepted(), 0u);
}

TEST(MixedWorkloadTest, ReadOnlyRunHasNoWriteSection) {
  TestHttpServer server(KeyedServer());
  LoadTestOptions o = MixedOptions(server.port(), {"1", "2"});
  o.max_requests = 40;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_FALSE(report->mixed);
  EXPECT_EQ(report->reads.responses, 40u);
  EXPECT_EQ(report->writes.responses, 0u);
  EXPECT_EQ(server.event_posts(), 0u);
  const auto json = nlohmann::json::parse(LoadTestReportToJson(*report));
  EXPECT_EQ(json["reads"]["requests"], 40);
  EXPECT_FALSE(json.contains("writes"));
  EXPECT_FALSE(json.contains("freshness"));
}

TEST(MixedWorkloadTest, EventsWithoutValue) {
  TestHttpServer server(KeyedServer());
  LoadTestOptions o = MixedOptions(server.port(), {"u"});
  o.writes.fraction = 1;
  o.writes.with_value = false;
  o.writes.event_type = "click";
  o.max_requests = 5;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(server.events_accepted(), 5u);
  const auto body = nlohmann::json::parse(server.LastEventBody());
  EXPECT_EQ(body["type"], "click");
  EXPECT_EQ(body["user_id"], "u");
  EXPECT_FALSE(body.contains("value"));
}

// --write-users-sequence: each write takes the next user id, wrapping.
TEST(MixedWorkloadTest, SequentialWriteUsersTakeTurns) {
  TestHttpServer server(KeyedServer());
  LoadTestOptions o = MixedOptions(server.port(), {"1"});
  o.concurrency = 1;  // one request at a time: the order is the counter's
  o.threads = 1;
  o.writes.fraction = 1;
  o.writes.sequence_first = 100;
  o.writes.sequence_count = 3;
  o.max_requests = 5;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(server.events_accepted(), 5u);
  // 100, 101, 102, 100, 101.
  EXPECT_EQ(nlohmann::json::parse(server.LastEventBody())["user_id"], "101");
}

TEST(FreshnessProbeTest, PollsUntilTheRatedItemLeavesTheList) {
  TestServerOptions s = KeyedServer();
  s.fresh_after_gets = 2;  // each probe's POST is reflected by its 3rd GET
  TestHttpServer server(s);
  LoadTestOptions o = MixedOptions(server.port(), {"a", "b", "p1", "p2"});
  o.writes.fraction = 0.5;
  o.probes.connections = 1;
  o.probes.users = 2;  // p1 and p2
  o.concurrency = 2;
  o.duration = 300ms;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->probed);
  const FreshnessReport& f = report->freshness;
  ASSERT_GE(f.probes, 1u);
  EXPECT_EQ(f.failures(), 0u);
  EXPECT_EQ(f.skipped, 0u);
  EXPECT_EQ(f.polls, 3 * f.probes);
  EXPECT_EQ(f.latency.count(), f.probes);
  EXPECT_GT(f.latency.min(), 0u);

  // Load writes never touch probe users, and each probe rated its user's top
  // item, so p1's ratings are i1..iN and p2's i1..iM with N + M = probes.
  const auto rated = server.RatedItems();
  size_t probe_events = 0;
  for (const auto& [user, items] : rated) {
    ASSERT_TRUE(user == "a" || user == "b" || user == "p1" || user == "p2") << user;
    if (user[0] != 'p') continue;
    probe_events += items.size();
    for (size_t i = 1; i <= items.size(); ++i) {
      EXPECT_EQ(items.count("i" + std::to_string(i)), 1u) << user << " i" << i;
    }
  }
  EXPECT_EQ(probe_events, f.probes);
  EXPECT_GT(report->writes.responses, 0u);

  const auto json = nlohmann::json::parse(LoadTestReportToJson(*report));
  EXPECT_EQ(json["freshness"]["probes"], f.probes);
  EXPECT_EQ(json["freshness"]["polls"], f.polls);
  EXPECT_EQ(json["freshness"]["latency_ms"]["count"], f.probes);
  const std::string table = FormatLoadTestReport(*report);
  EXPECT_NE(table.find("Freshness"), std::string::npos) << table;
  EXPECT_NE(table.find("Writes (POST)"), std::string::npos) << table;
}

TEST(FreshnessProbeTest, ListThatNeverChangesIsStale) {
  TestServerOptions s = KeyedServer();
  s.fresh_after_gets = 1 << 30;
  TestHttpServer server(s);
  LoadTestOptions o = MixedOptions(server.port(), {"p"});
  o.probes.connections = 1;
  o.probes.deadline = 20ms;
  o.probes.poll_interval = 1ms;
  o.concurrency = 1;
  o.duration = 100ms;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->freshness.probes, 0u);
  EXPECT_GE(report->freshness.stale, 1u);
  EXPECT_EQ(report->freshness.failures(), report->freshness.stale);
  // Every stale probe rated i1 again: the list kept showing it.
  EXPECT_EQ(server.RatedItems().at("p"), (std::set<std::string>{"i1"}));
}

TEST(FreshnessProbeTest, RejectedPostsAndEmptyListsAreCountedNotTimed) {
  TestServerOptions s = KeyedServer();
  s.event_status = 503;
  TestHttpServer rejecting(s);
  LoadTestOptions o = MixedOptions(rejecting.port(), {"p"});
  o.probes.connections = 1;
  o.concurrency = 1;
  o.duration = 100ms;
  auto report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->freshness.probes, 0u);
  EXPECT_GE(report->freshness.write_statuses.at(503), 1u);
  EXPECT_EQ(Sum(report->freshness.write_statuses), rejecting.event_posts());
  EXPECT_EQ(report->freshness.failures(), Sum(report->freshness.write_statuses));

  TestServerOptions e = KeyedServer();
  e.list_length = 0;
  TestHttpServer empty(e);
  o = MixedOptions(empty.port(), {"p"});
  o.probes.connections = 1;
  o.probes.interval = 1ms;
  o.concurrency = 1;
  o.duration = 100ms;
  report = RunLoadTest(o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_GE(report->freshness.skipped, 1u);
  EXPECT_EQ(report->freshness.probes + report->freshness.failures(), 0u);
  EXPECT_EQ(empty.event_posts(), 0u);
}

TEST(MixedWorkloadTest, BadOptionsAreRefused) {
  LoadTestOptions o = MixedOptions(1, {"1", "2"});
  o.writes.fraction = 1.5;
  EXPECT_EQ(RunLoadTest(o).status().code(), Status::Code::kInvalidArgument);
  o.writes.fraction = 0.1;
  o.writes.items.clear();
  EXPECT_NE(RunLoadTest(o).status().message().find("item ids"), std::string::npos);
  o = MixedOptions(1, {"1", "2"});
  o.writes.fraction = 0.1;
  o.writes.api_key = "has space";
  EXPECT_NE(RunLoadTest(o).status().message().find("printable"), std::string::npos);
  o.writes.api_key = "k";
  o.writes.value_min = 5;
  o.writes.value_max = 1;
  EXPECT_NE(RunLoadTest(o).status().message().find("value range"), std::string::npos);
  o = MixedOptions(1, {"1"});
  o.writes.fraction = 0.1;
  o.probes.connections = 1;
  EXPECT_NE(RunLoadTest(o).status().message().find("at least 2 users"), std::string::npos);
  o = MixedOptions(1, {"1", "2"});
  o.url = *ParseUrlTemplate("http://127.0.0.1:1/v1/fixed");
  o.probes.connections = 1;
  EXPECT_NE(RunLoadTest(o).status().message().find("{user}"), std::string::npos);
}

TEST(RequestBuilderTest, EventPostBytes) {
  WriteWorkload w;
  w.api_key = "k1";
  const UrlTemplate url = *ParseUrlTemplate("http://127.0.0.1:8080/v1/users/{user}/x");
  const loadgen_internal::EventPostBuilder builder(url, w);
  std::string scratch, out;
  builder.Append("u\"1", "i\\2", 4, &scratch, &out);
  const std::string body = R"({"user_id":"u\"1","item_id":"i\\2","type":"rating","value":4})";
  EXPECT_EQ(out,
            "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
            "Content-Type: application/json\r\nAuthorization: Bearer k1\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
  out.clear();
  loadgen_internal::AppendGetRequest(url, "a%20b", &out);
  EXPECT_EQ(out, "GET /v1/users/a%20b/x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n");
}

TEST(RequestBuilderTest, ParseListedItems) {
  using loadgen_internal::ParseListedItems;
  auto items = ParseListedItems(
      R"({"user_id":"1","source":"model","items":[{"item_id":"302","score":4.8},{"item_id":50}]})");
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  EXPECT_EQ(*items, (std::vector<std::string>{"302", "50"}));
  EXPECT_TRUE(ParseListedItems(R"({"items":[]})")->empty());
  EXPECT_FALSE(ParseListedItems("not json").ok());
  EXPECT_FALSE(ParseListedItems(R"({"list":[]})").ok());
  EXPECT_FALSE(ParseListedItems(R"({"items":[{"score":1}]})").ok());
  EXPECT_FALSE(ParseListedItems(R"({"items":[3]})").ok());
}

}  // namespace
}  // namespace reco
