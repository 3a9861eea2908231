// Event-to-fresh-list probes (reco/loadgen.h, FreshnessProbeOptions): each
// probe client is a plain blocking HTTP/1.1 client on its own thread. A probe
// is a strict sequence (read the list, post, poll), measured in wall time,
// so blocking calls say it most directly and keep it off the load's event
// loops.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "http_response_parser.h"
#include "reco/loadgen.h"
#include "reco/status.h"
#include "request_builder.h"

namespace reco::loadgen_internal {

using Clock = std::chrono::steady_clock;

// One keep-alive connection, reopened when the server closes it or a call fails.
class BlockingHttpClient {
 public:
  static constexpr size_t kMaxBodyBytes = 1 << 20;

  BlockingHttpClient(const sockaddr* address, socklen_t address_size);
  ~BlockingHttpClient();
  BlockingHttpClient(const BlockingHttpClient&) = delete;
  BlockingHttpClient& operator=(const BlockingHttpClient&) = delete;

  // Sends `request` (connecting first if needed) and reads one response by
  // `deadline`. Unavailable on a socket error, a malformed response or the
  // deadline passing; the connection is closed then.
  Status RoundTrip(const std::string& request, Clock::time_point deadline);
  int status() const { return parser_.status(); }
  const std::string& body() const { return parser_.body(); }
  uint64_t connections_opened() const { return connections_opened_; }

 private:
  Status Connect();
  void Close();

  sockaddr_storage address_{};
  socklen_t address_size_ = 0;
  int fd_ = -1;
  HttpResponseParser parser_;
  std::vector<char> buffer_;
  uint64_t connections_opened_ = 0;
};

// The item ids of a recommendations body ({"items":[{"item_id":...},...]}),
// best first. InvalidArgument when the body is not such a JSON object.
Result<std::vector<std::string>> ParseListedItems(const std::string& body);

struct ProbePlan {
  const sockaddr* address = nullptr;
  socklen_t address_size = 0;
  const UrlTemplate* url = nullptr;
  const WriteWorkload* writes = nullptr;
  const FreshnessProbeOptions* options = nullptr;
  const EventPostBuilder* post_builder = nullptr;
  std::vector<std::string> raw_users;      // the probe users
  std::vector<std::string> encoded_users;  // the same, percent-encoded
  Clock::time_point warmup_end;
  Clock::time_point window_end;
  Clock::duration timeout{};                // per request
  const std::atomic<bool>* stop = nullptr;  // the load finished early
  uint64_t seed = 1;
};

// Runs probes back to back until window_end (or *stop); a probe in progress
// then finishes (bounded by the deadline). Counts the probes whose POST was
// sent inside [warmup_end, window_end).
FreshnessReport RunFreshnessProbes(const ProbePlan& plan);

}  // namespace reco::loadgen_internal
