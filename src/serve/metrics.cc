#include "metrics.h"

#include <cstdio>

#include "text_util.h"

namespace reco::serve {

std::string_view RouteLabel(Route route) {
  switch (route) {
    case Route::kUserRecommendations:
      return "/v1/users/{user_id}/recommendations";
    case Route::kSimilarItems:
      return "/v1/items/{item_id}/similar";
    case Route::kHealthz:
      return "/healthz";
    case Route::kReadyz:
      return "/readyz";
    case Route::kMetrics:
      return "/metrics";
    case Route::kEvents:
      return "/v1/events";
    case Route::kAdminActivate:
      return "/v1/admin/models/{version}/activate";
    case Route::kOther:
      break;
  }
  return "other";
}

std::string_view EventRejectionLabel(EventRejection reason) {
  switch (reason) {
    case EventRejection::kInvalid:
      return "invalid";
    case EventRejection::kTooLarge:
      return "too_large";
    case EventRejection::kUnauthorized:
      return "unauthorized";
    case EventRejection::kQueueFull:
      return "queue_full";
    case EventRejection::kUnavailable:
      return "unavailable";
    case EventRejection::kError:
      break;
  }
  return "error";
}

ServerMetrics::ServerMetrics(int shards)
    : shard_count_(shards), shards_(std::make_unique<Shard[]>(shards)) {}

int ServerMetrics::CodeIndex(int status) {
  for (int i = 0; i < kCodeCount; ++i) {
    if (kStatusCodes[i] == status) return i;
  }
  // Unreachable for the codes the server emits; 500 keeps the count honest.
  return CodeIndex(500);
}

void ServerMetrics::RecordRequest(int shard, Route route, int status, uint64_t nanos) {
  Shard& s = shards_[shard];
  const int r = static_cast<int>(route);
  Bump(s.requests[r][CodeIndex(status)]);
  Bump(s.buckets[r][BucketIndex(nanos)]);
  Bump(s.latency_ns_sum[r], nanos);
}

int ServerMetrics::BucketIndex(uint64_t nanos) {
  const double seconds = static_cast<double>(nanos) * 1e-9;
  int b = 0;
  while (b < kBucketCount - 1 && seconds > kLatencyBuckets[b]) ++b;
  return b;
}

void ServerMetrics::RecordAcceptLatency(Shard& s, uint64_t nanos) {
  Bump(s.accept_buckets[BucketIndex(nanos)]);
  Bump(s.accept_ns_sum, nanos);
}

void ServerMetrics::RecordEventsAccepted(int shard, uint64_t events, uint64_t accept_nanos) {
  Shard& s = shards_[shard];
  Bump(s.events_accepted, events);
  RecordAcceptLatency(s, accept_nanos);
}

void ServerMetrics::RecordEventsRejected(int shard, EventRejection reason, uint64_t accept_nanos) {
  Shard& s = shards_[shard];
  Bump(s.events_rejected[static_cast<int>(reason)]);
  if (accept_nanos > 0) RecordAcceptLatency(s, accept_nanos);
}

namespace {

void AppendDouble(std::string* out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof(buf), "%.9g", v);
  out->append(buf, static_cast<size_t>(n));
}

// Label values escape backslash, double quote and newline.
void AppendLabelValue(std::string* out, std::string_view v) {
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out->push_back('\\');
      out->push_back(c);
    } else if (c == '\n') {
      out->append("\\n");
    } else {
      out->push_back(c);
    }
  }
}

void AppendHeader(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help) {
  out->append("# HELP ").append(name).append(" ").append(help).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// A metric without labels: header and one sample.
void AppendMetric(std::string* out, std::string_view name, std::string_view type,
                  std::string_view help, uint64_t value) {
  AppendHeader(out, name, type, help);
  out->append(name).push_back(' ');
  AppendUint(out, value);
  out->push_back('\n');
}

}  // namespace

void ServerMetrics::Render(std::string_view active_version, std::string* out) const {
  const auto sum = [&](auto member) {
    uint64_t total = 0;
    for (int i = 0; i < shard_count_; ++i)
      total += member(shards_[i]).load(std::memory_order_relaxed);
    return total;
  };

  AppendHeader(out, "reco_http_requests_total", "counter",
               "HTTP requests answered, by route and status code.");
  for (int r = 0; r < kRouteCount; ++r) {
    for (int c = 0; c < kCodeCount; ++c) {
      const uint64_t n = sum([&](const Shard& s) -> auto& { return s.requests[r][c]; });
      if (n == 0) continue;
      out->append("reco_http_requests_total{route=\"");
      out->append(RouteLabel(static_cast<Route>(r)));
      out->append("\",code=\"");
      AppendUint(out, static_cast<uint64_t>(kStatusCodes[c]));
      out->append("\"} ");
      AppendUint(out, n);
      out->push_back('\n');
    }
  }

  AppendHeader(out, "reco_http_request_duration_seconds", "histogram",
               "Time from a parsed request to its buffered response, by route.");
  for (int r = 0; r < kRouteCount; ++r) {
    const std::string_view label = RouteLabel(static_cast<Route>(r));
    uint64_t cumulative = 0;
    for (int b = 0; b < kBucketCount; ++b) {
      cumulative += sum([&](const Shard& s) -> auto& { return s.buckets[r][b]; });
      out->append("reco_http_request_duration_seconds_bucket{route=\"");
      out->append(label).append("\",le=\"");
      if (b + 1 < kBucketCount) {
        AppendDouble(out, kLatencyBuckets[b]);
      } else {
        out->append("+Inf");
      }
      out->append("\"} ");
      AppendUint(out, cumulative);
      out->push_back('\n');
    }
    out->append("reco_http_request_duration_seconds_sum{route=\"").append(label).append("\"} ");
    AppendDouble(out, static_cast<double>(
                          sum([&](const Shard& s) -> auto& { return s.latency_ns_sum[r]; })) *
                          1e-9);
    out->append("\nreco_http_request_duration_seconds_count{route=\"").append(label).append("\"} ");
    AppendUint(out, cumulative);
    out->push_back('\n');
  }

  AppendMetric(out, "reco_store_errors_total", "counter",
               "Store reads that failed (unreachable or corrupt), answered 500/503.",
               sum([](const Shard& s) -> auto& { return s.store_errors; }));
  AppendMetric(out, "reco_popular_fallback_total", "counter",
               "Recommendation requests for unknown users answered with the popular list.",
               sum([](const Shard& s) -> auto& { return s.popular_fallbacks; }));

  const uint64_t opened = sum([](const Shard& s) -> auto& { return s.connections_opened; });
  const uint64_t closed = sum([](const Shard& s) -> auto& { return s.connections_closed; });
  AppendMetric(out, "reco_http_connections_accepted_total", "counter", "TCP connections accepted.",
               opened);
  // Shards are read one after another, so guard against a transient skew.
  AppendMetric(out, "reco_http_connections_open", "gauge", "TCP connections currently open.",
               opened >= closed ? opened - closed : 0);
  AppendMetric(out, "reco_events_accepted_total", "counter",
               "Events made durable through POST /v1/events.",
               sum([](const Shard& s) -> auto& { return s.events_accepted; }));

  AppendHeader(out, "reco_event_requests_rejected_total", "counter",
               "POST /v1/events requests refused (nothing written), by reason.");
  for (int r = 0; r < kEventRejectionCount; ++r) {
    out->append("reco_event_requests_rejected_total{reason=\"");
    out->append(EventRejectionLabel(static_cast<EventRejection>(r)));
    out->append("\"} ");
    AppendUint(out, sum([&](const Shard& s) -> auto& { return s.events_rejected[r]; }));
    out->push_back('\n');
  }

  AppendHeader(out, "reco_event_accept_duration_seconds", "histogram",
               "Time the event sink took to make a request's events durable (Accept).");
  {
    uint64_t cumulative = 0;
    for (int b = 0; b < kBucketCount; ++b) {
      cumulative += sum([&](const Shard& s) -> auto& { return s.accept_buckets[b]; });
      out->append("reco_event_accept_duration_seconds_bucket{le=\"");
      if (b + 1 < kBucketCount) {
        AppendDouble(out, kLatencyBuckets[b]);
      } else {
        out->append("+Inf");
      }
      out->append("\"} ");
      AppendUint(out, cumulative);
      out->push_back('\n');
    }
    out->append("reco_event_accept_duration_seconds_sum ");
    AppendDouble(
        out,
        static_cast<double>(sum([](const Shard& s) -> auto& { return s.accept_ns_sum; })) * 1e-9);
    out->append("\nreco_event_accept_duration_seconds_count ");
    AppendUint(out, cumulative);
    out->push_back('\n');
  }

  AppendHeader(out, "reco_active_model_version", "gauge",
               "1 for the model version being served; absent when none is active.");
  if (!active_version.empty()) {
    out->append("reco_active_model_version{version=\"");
    AppendLabelValue(out, active_version);
    out->append("\"} 1\n");
  }
}

void ServerMetrics::RenderEventLogHealth(bool writable, std::string* out) {
  AppendMetric(out, "reco_event_log_writable", "gauge",
               "1 while the event log accepts appends; 0 once a write could not be made durable "
               "(POST /v1/events then answers 503 until a restart).",
               writable ? 1 : 0);
}

}  // namespace reco::serve
