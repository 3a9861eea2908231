// reco's HTTP load generator, behind `reco loadtest`: keep-alive HTTP/1.1
// connections on Asio event loops, closed loop (each connection sends its next
// request when the previous response arrived) or open loop (a fixed arrival
// rate, with latency measured from each request's scheduled send time so a
// slow server cannot hide its queueing: the coordinated-omission correction
// of wrk2). Latencies go to reco/latency_histogram.h, the one log-linear
// histogram every latency in reco is measured with.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reco/latency_histogram.h"
#include "reco/status.h"

namespace reco {

// "http://127.0.0.1:8080/v1/users/{user}/recommendations?k=10", split at the
// {user} placeholders so a request target is built by concatenation.
struct UrlTemplate {
  std::string host;  // without brackets for IPv6 literals
  uint16_t port = 80;
  std::string host_header;  // "127.0.0.1:8080", as the Host header wants it
  // The request target (path + query) is parts[0] + user + parts[1] + user
  // + ... + parts.back(); parts.size() == 1 when there is no placeholder.
  std::vector<std::string> target_parts;

  bool has_user_placeholder() const { return target_parts.size() > 1; }
  // Appends the target for `user` (already percent-encoded) to *out.
  void AppendTarget(std::string_view encoded_user, std::string* out) const;
};

// Accepts only http:// (no TLS), a host and an optional port, and an
// origin-form target; `{user}` may appear in the path or query, no other
// {...} placeholder is allowed. Errors name what is wrong with the URL.
Result<UrlTemplate> ParseUrlTemplate(std::string_view url);

// True for "localhost", IPv4 literals in 127.0.0.0/8 and "::1": the hosts a
// load test may target without --allow-remote.
bool IsLoopbackHost(std::string_view host);

// Percent-encodes everything except RFC 3986 unreserved characters, so any
// external user id is safe inside a path segment or query value.
std::string PercentEncode(std::string_view raw);

// Reads user ids, one per line, or a CSV whose first column is the id. Blank
// lines are skipped, surrounding whitespace and double quotes are stripped,
// duplicates are dropped (first occurrence kept, file order preserved). The
// first line is taken as a header when its first field is a known column
// name (user, user_id, userId, uid, id; any case) or when it is not an
// integer while the next line's is. Errors: missing file, an id with inner
// whitespace or over 256 bytes (file:line: reason), no ids at all.
Result<std::vector<std::string>> LoadUserIds(const std::string& path);

// "30s", "500ms", "2m", "1.5s", "250us", "1h"; a bare number means seconds.
Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

// "1:943" -> {"1", "2", ..., "943"}: integer ids for --users-range and
// --items-range (inclusive, first <= last, at most 10 million ids).
Result<std::vector<std::string>> ParseIdRange(std::string_view text);

// The writes of a mixed workload: each load request is, with probability
// `fraction`, a POST of one event
//   {"user_id":U,"item_id":I,"type":TYPE,"value":V}
// for a random user of LoadTestOptions::users (probe users excepted) and a
// random item of `items`, instead of the GET of the URL template.
struct WriteWorkload {
  double fraction = 0;              // 0..1; 0 = read-only
  std::string path = "/v1/events";  // request target, on the URL's host
  std::string api_key;              // sent as "Authorization: Bearer KEY" when set
  std::vector<std::string> items;   // raw ids; required when fraction > 0 or probing
  std::string event_type = "rating";
  // The value is an integer drawn uniformly from [value_min, value_max] (a
  // rating for explicit models); no "value" field when with_value is false.
  bool with_value = true;
  int value_min = 1;
  int value_max = 5;
  // sequence_count > 0: the writes go to the integer user ids
  // sequence_first, sequence_first + 1, ... in turn (one counter shared by
  // every connection, wrapping after sequence_count ids) instead of random
  // users: a stream of distinct users, as a crawler or a launch sends.
  uint64_t sequence_first = 0;
  uint64_t sequence_count = 0;
};

// Event-to-fresh-list probes, on dedicated connections beside the load (so
// they measure under it without changing it). One probe:
//   1. GET the URL template for a probe user; take the first item of "items"
//      (the user's best-ranked item; a user with an empty list is skipped);
//   2. POST an event (WriteWorkload's type and value) for that user and item;
//   3. GET the user's list again and again until the item is gone.
// The item disappearing is the "reflects" signal: the refresher re-ranks the
// user's unseen items, so only a list computed after the event excludes it,
// and needs no server support. Latency runs from sending the POST to
// receiving the first GET response without the item. Probe users are the
// last `users` ids of LoadTestOptions::users and the load writes none of
// their events, so no other write moves their lists.
struct FreshnessProbeOptions {
  int connections = 0;  // probe clients, each on its own thread; 0 = no probes
  int users = 16;       // reserved probe users (fewer when the users list is short)
  // A probe whose item is still listed this long after the POST is stale.
  std::chrono::nanoseconds deadline = std::chrono::seconds(2);
  std::chrono::nanoseconds interval{0};       // pause between a probe and the next
  std::chrono::nanoseconds poll_interval{0};  // pause between polling GETs (none before the first)
};

struct LoadTestProgress {
  double elapsed_seconds = 0;  // since the start, warmup included
  bool warming_up = false;
  uint64_t responses = 0;  // received so far, all phases
  uint64_t errors = 0;     // socket errors + timeouts so far
  double current_rps = 0;  // responses per second over the last interval
};

struct LoadTestOptions {
  UrlTemplate url;
  std::vector<std::string> users;  // raw ids; required iff url has {user}
  int concurrency = 64;            // connections, spread round-robin over threads
  int threads = 0;                 // event loops; <= 0: all hardware threads
  std::chrono::nanoseconds duration = std::chrono::seconds(10);  // measured window
  std::chrono::nanoseconds warmup{0};  // before the window; load runs, nothing recorded
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);  // per request and connect
  // > 0: open loop at this many requests per second in total. The requests
  // scheduled inside the window number ceil((warmup+duration)*rate) -
  // ceil(warmup*rate) (exactly rate*duration when that is a whole number and
  // warmup*rate is too); after the window, queued and in-flight ones get
  // `timeout` to finish, then count as timeouts.
  double rate = 0;
  // > 0: closed loop stops after this many requests in total (warmup
  // included) and waits for the in-flight ones; duration is then a limit.
  uint64_t max_requests = 0;
  uint64_t seed = 1;          // each connection picks users from its own stream seeded by this
  bool allow_remote = false;  // refuse non-loopback targets unless set
  WriteWorkload writes;       // mixed workload; reads only by default
  FreshnessProbeOptions probes;
  // Called on the caller's thread about once per second while running.
  std::function<void(const LoadTestProgress&)> on_progress;
};

// One kind of request (the GETs, or the event POSTs) in the measured window.
struct RequestKindReport {
  uint64_t responses = 0;
  uint64_t non_2xx = 0;
  std::map<int, uint64_t> statuses;  // HTTP status -> responses
  // Socket errors and timeouts of requests of this kind (a failed connect
  // belongs to no request kind: it is counted in the totals only).
  uint64_t errors = 0;
  double requests_per_second = 0;
  LatencyHistogram latency;  // counted responses only
};

struct FreshnessReport {
  uint64_t probes = 0;   // events seen reflected; latency has one value each
  uint64_t stale = 0;    // still listed at the deadline
  uint64_t skipped = 0;  // the user's list was empty
  // The probe's POST got a non-2xx status (by status) or a socket error.
  std::map<int, uint64_t> write_statuses;
  uint64_t write_errors = 0;
  // A probe GET got a non-2xx status, a socket error or an unreadable body.
  uint64_t read_failures = 0;
  uint64_t polls = 0;        // GETs after the POSTs, over all probes
  LatencyHistogram latency;  // POST sent -> first response without the item

  uint64_t failures() const;  // stale + POST and GET failures
};

struct LoadTestReport {
  bool open_loop = false;
  double rate = 0;
  int concurrency = 0;
  int threads = 0;
  std::string target;         // host:port
  double window_seconds = 0;  // measured window, as it actually ran
  uint64_t responses = 0;     // complete responses counted (any status)
  uint64_t non_2xx = 0;
  std::array<uint64_t, 6> status_classes{};  // [1]=1xx ... [5]=5xx, [0]=other
  uint64_t connect_errors = 0;
  uint64_t read_errors = 0;  // includes the server closing mid-request
  uint64_t write_errors = 0;
  uint64_t timeouts = 0;            // requests (or connects) exceeding the timeout
  uint64_t protocol_errors = 0;     // malformed or oversized responses
  uint64_t scheduled = 0;           // open loop: requests scheduled inside the window
  uint64_t connections_opened = 0;  // successful connects, all phases
  uint64_t bytes_read = 0;          // in the window
  double requests_per_second = 0;   // responses / window_seconds
  LatencyHistogram latency;         // counted responses only
  // Mixed workloads (writes.fraction > 0): the totals above split by kind.
  bool mixed = false;
  RequestKindReport reads;
  RequestKindReport writes;
  bool probed = false;        // probes.connections > 0
  FreshnessReport freshness;  // probes whose POST was sent inside the window

  uint64_t socket_errors() const {
    return connect_errors + read_errors + write_errors + timeouts + protocol_errors;
  }
};

// Resolves the target, checks it is reachable (one connect; Unavailable if
// not), runs the load and returns the merged report. Unavailable also when no
// connection succeeded during the run. InvalidArgument for bad options.
Result<LoadTestReport> RunLoadTest(const LoadTestOptions& options);

// A human-readable table (wrk-like), and the same numbers as JSON text.
std::string FormatLoadTestReport(const LoadTestReport& report);
std::string LoadTestReportToJson(const LoadTestReport& report);

}  // namespace reco
