#include "freshness_probe.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "reco/errno_text.h"
#include "reco/random.h"

namespace reco::loadgen_internal {
namespace {

std::string Errno(const char* what) { return std::string(what) + ": " + ErrnoText(errno); }

int MillisUntil(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60'000));
}

uint64_t Nanos(Clock::duration d) {
  return d.count() <= 0 ? 0
                        : static_cast<uint64_t>(
                              std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

}  // namespace

BlockingHttpClient::BlockingHttpClient(const sockaddr* address, socklen_t address_size)
    : address_size_(std::min<socklen_t>(address_size, sizeof(address_))), buffer_(16 * 1024) {
  std::memcpy(&address_, address, address_size_);
  parser_.set_body_limit(kMaxBodyBytes);
}

BlockingHttpClient::~BlockingHttpClient() { Close(); }

void BlockingHttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status BlockingHttpClient::Connect() {
  fd_ = ::socket(address_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Status::Unavailable(Errno("socket"));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address_), address_size_) != 0) {
    Status st = Status::Unavailable(Errno("connect"));
    Close();
    return st;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ++connections_opened_;
  return Status::Ok();
}

Status BlockingHttpClient::RoundTrip(const std::string& request, Clock::time_point deadline) {
  if (fd_ < 0) RECO_RETURN_IF_ERROR(Connect());
  auto fail = [this](std::string why) {
    Close();
    return Status::Unavailable(std::move(why));
  };
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errno("send"));
    }
    sent += static_cast<size_t>(n);
  }
  parser_.Reset();
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, MillisUntil(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return fail(Errno("poll"));
    }
    if (ready == 0) return fail("timed out waiting for the response");
    const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(Errno("recv"));
    }
    if (n == 0) {
      if (parser_.FinishOnClose() != HttpResponseParser::State::kDone) return fail(parser_.error());
      Close();
      return Status::Ok();
    }
    const auto outcome = parser_.Feed(buffer_.data(), static_cast<size_t>(n));
    if (outcome.state == HttpResponseParser::State::kError) return fail(parser_.error());
    if (outcome.state == HttpResponseParser::State::kDone) {
      // One request at a time: anything past the response is junk.
      if (outcome.consumed != static_cast<size_t>(n)) return fail("bytes after the response");
      if (!parser_.keep_alive()) Close();
      return Status::Ok();
    }
  }
}

Result<std::vector<std::string>> ParseListedItems(const std::string& body) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("recommendations body is not a JSON object");
  }
  const auto items = doc.find("items");
  if (items == doc.end() || !items->is_array()) {
    return Status::InvalidArgument("recommendations body has no \"items\" array");
  }
  std::vector<std::string> out;
  out.reserve(items->size());
  for (const auto& entry : *items) {
    const auto id = entry.is_object() ? entry.find("item_id") : entry.end();
    if (!entry.is_object() || id == entry.end()) {
      return Status::InvalidArgument("an entry of \"items\" has no \"item_id\"");
    }
    out.push_back(id->is_string() ? id->get<std::string>() : id->dump());
  }
  return out;
}

FreshnessReport RunFreshnessProbes(const ProbePlan& plan) {
  FreshnessReport report;
  if (plan.encoded_users.empty()) return report;
  const FreshnessProbeOptions& o = *plan.options;
  const WriteWorkload& w = *plan.writes;
  BlockingHttpClient client(plan.address, plan.address_size);
  SplitMix64 rng(plan.seed);
  std::string get, post, scratch;

  // A failed call costs at most a timeout; pausing after one keeps a dead
  // server from being spun on.
  auto pause_after_failure = [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); };
  // The user's list: a socket error, a non-2xx status or an unreadable body
  // is an error.
  auto fetch_list = [&](size_t user) -> Result<std::vector<std::string>> {
    get.clear();
    AppendGetRequest(*plan.url, plan.encoded_users[user], &get);
    RECO_RETURN_IF_ERROR(client.RoundTrip(get, Clock::now() + plan.timeout));
    if (client.status() / 100 != 2) {
      return Status::Unavailable("GET answered " + std::to_string(client.status()));
    }
    return ParseListedItems(client.body());
  };

  while (!plan.stop->load(std::memory_order_relaxed) && Clock::now() < plan.window_end) {
    const size_t user = static_cast<size_t>(rng.Below(plan.encoded_users.size()));
    Result<std::vector<std::string>> before = fetch_list(user);
    if (!before.ok()) {
      if (Clock::now() >= plan.warmup_end) ++report.read_failures;
      pause_after_failure();
      continue;
    }
    if (before->empty()) {
      if (Clock::now() >= plan.warmup_end) ++report.skipped;
      continue;
    }
    const std::string item = before->front();
    std::optional<int> value;
    if (w.with_value) {
      value = w.value_min +
              static_cast<int>(rng.Below(static_cast<uint64_t>(w.value_max - w.value_min) + 1));
    }
    post.clear();
    plan.post_builder->Append(plan.raw_users[user], item, value, &scratch, &post);

    const Clock::time_point sent = Clock::now();
    if (sent >= plan.window_end) break;
    const bool counted = sent >= plan.warmup_end;
    const Status posted = client.RoundTrip(post, sent + plan.timeout);
    if (!posted.ok() || client.status() / 100 != 2) {
      if (counted) {
        if (!posted.ok()) {
          ++report.write_errors;
        } else {
          ++report.write_statuses[client.status()];
        }
      }
      pause_after_failure();
      continue;
    }

    // The first poll goes right after the 202 (a pause there would add to
    // every measurement); the pause is between polls that found it stale.
    for (bool first_poll = true;; first_poll = false) {
      if (!first_poll && o.poll_interval.count() > 0) std::this_thread::sleep_for(o.poll_interval);
      Result<std::vector<std::string>> after = fetch_list(user);
      const Clock::time_point now = Clock::now();
      if (!after.ok()) {
        if (counted) ++report.read_failures;
        pause_after_failure();
        break;
      }
      if (counted) ++report.polls;
      if (std::find(after->begin(), after->end(), item) == after->end()) {
        if (counted) {
          ++report.probes;
          report.latency.Record(Nanos(now - sent));
        }
        break;
      }
      if (now - sent >= o.deadline) {
        if (counted) ++report.stale;
        break;
      }
    }
    if (o.interval.count() > 0) std::this_thread::sleep_for(o.interval);
  }
  return report;
}

}  // namespace reco::loadgen_internal
