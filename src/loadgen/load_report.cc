// Rendering a LoadTestReport: a wrk-like table for people, JSON for scripts
// (bench/serve_bench.sh reads requests_per_second and latency_ms.p50/p99).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "reco/loadgen.h"

namespace reco {
namespace {

std::string FormatNanos(double nanos) {
  if (nanos < 1e6) return fmt::format("{:.1f}us", nanos / 1e3);
  if (nanos < 1e9) return fmt::format("{:.2f}ms", nanos / 1e6);
  return fmt::format("{:.2f}s", nanos / 1e9);
}

struct NamedPercentile {
  const char* label;
  const char* json_key;
  double percentile;
};
constexpr NamedPercentile kPercentiles[] = {
    {"p50", "p50", 50}, {"p90", "p90", 90}, {"p99", "p99", 99}, {"p99.9", "p99_9", 99.9}};

std::string FormatStatuses(const std::map<int, uint64_t>& statuses) {
  std::string out;
  for (const auto& [status, n] : statuses) {
    out += fmt::format("{}{}: {}", out.empty() ? "" : ", ",
                       status == 0 ? std::string("other") : std::to_string(status), n);
  }
  return out.empty() ? "none" : out;
}

std::string FormatPercentiles(const LatencyHistogram& h) {
  std::string out;
  for (const auto& p : kPercentiles) {
    out += fmt::format("{} {}  ", p.label,
                       FormatNanos(static_cast<double>(h.ValueAtPercentile(p.percentile))));
  }
  return out + fmt::format("max {}", FormatNanos(static_cast<double>(h.max())));
}

void FormatKind(const char* label, const RequestKindReport& k, std::string* out) {
  out->append(fmt::format("  {:<16}{}  ({:.1f} req/s), non-2xx {}, socket errors {}\n", label,
                          k.responses, k.requests_per_second, k.non_2xx, k.errors));
  out->append(fmt::format("    {:<8}{}\n", "status", FormatStatuses(k.statuses)));
  out->append(fmt::format("    {:<8}{}\n", "latency", FormatPercentiles(k.latency)));
}

nlohmann::ordered_json LatencyJson(const LatencyHistogram& h) {
  nlohmann::ordered_json latency;
  latency["count"] = h.count();
  latency["mean"] = h.Mean() / 1e6;
  latency["stdev"] = h.StdDev() / 1e6;
  latency["min"] = static_cast<double>(h.min()) / 1e6;
  for (const auto& p : kPercentiles) {
    latency[p.json_key] = static_cast<double>(h.ValueAtPercentile(p.percentile)) / 1e6;
  }
  latency["max"] = static_cast<double>(h.max()) / 1e6;
  return latency;
}

nlohmann::ordered_json StatusesJson(const std::map<int, uint64_t>& statuses) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [status, n] : statuses) {
    out[status == 0 ? std::string("other") : std::to_string(status)] = n;
  }
  return out;
}

nlohmann::ordered_json KindJson(const RequestKindReport& k) {
  nlohmann::ordered_json j;
  j["requests"] = k.responses;
  j["requests_per_second"] = k.requests_per_second;
  j["non_2xx"] = k.non_2xx;
  j["statuses"] = StatusesJson(k.statuses);
  j["socket_errors"] = k.errors;
  j["latency_ms"] = LatencyJson(k.latency);
  return j;
}

}  // namespace

uint64_t FreshnessReport::failures() const {
  uint64_t bad_posts = write_errors;
  for (const auto& [status, n] : write_statuses) bad_posts += n;
  return stale + bad_posts + read_failures;
}

std::string FormatLoadTestReport(const LoadTestReport& r) {
  std::string out;
  const std::string mode =
      r.open_loop ? fmt::format("open loop at {:g} req/s", r.rate) : std::string("closed loop");
  out += fmt::format("Target {}, {}, {} connections on {} threads, {:.2f}s measured\n", r.target,
                     mode, r.concurrency, r.threads, r.window_seconds);
  if (r.open_loop) out += fmt::format("  {:<16}{}\n", "Scheduled", r.scheduled);
  out +=
      fmt::format("  {:<16}{}  ({:.1f} req/s)\n", "Responses", r.responses, r.requests_per_second);
  std::string classes;
  for (size_t i = 1; i < r.status_classes.size(); ++i) {
    if (i != 2 && r.status_classes[i] > 0) {
      classes += fmt::format("{}{}xx: {}", classes.empty() ? "" : ", ", i, r.status_classes[i]);
    }
  }
  if (r.status_classes[0] > 0) {
    classes += fmt::format("{}other: {}", classes.empty() ? "" : ", ", r.status_classes[0]);
  }
  out += fmt::format("  {:<16}{}{}\n", "Non-2xx", r.non_2xx,
                     classes.empty() ? "" : "  (" + classes + ")");
  out += fmt::format("  {:<16}{}  (connect {}, read {}, write {}, timeout {}, protocol {})\n",
                     "Errors", r.socket_errors(), r.connect_errors, r.read_errors, r.write_errors,
                     r.timeouts, r.protocol_errors);
  out += fmt::format("  {:<16}{} opened\n", "Connections", r.connections_opened);
  out += fmt::format(
      "  {:<16}{:.2f} MB/s\n", "Transfer",
      r.window_seconds > 0 ? static_cast<double>(r.bytes_read) / 1e6 / r.window_seconds : 0.0);
  const LatencyHistogram& h = r.latency;
  out += fmt::format("  {:<16}mean {}  stdev {}  min {}{}\n", "Latency", FormatNanos(h.Mean()),
                     FormatNanos(h.StdDev()), FormatNanos(static_cast<double>(h.min())),
                     r.open_loop ? "  (from scheduled send times)" : "");
  for (const auto& p : kPercentiles) {
    out += fmt::format("    {:<8}{}\n", p.label,
                       FormatNanos(static_cast<double>(h.ValueAtPercentile(p.percentile))));
  }
  out += fmt::format("    {:<8}{}\n", "max", FormatNanos(static_cast<double>(h.max())));
  if (r.mixed) {
    FormatKind("Reads (GET)", r.reads, &out);
    FormatKind("Writes (POST)", r.writes, &out);
  }
  if (r.probed) {
    const FreshnessReport& f = r.freshness;
    out += fmt::format("  {:<16}{} fresh, {} stale, {} skipped (empty list), {} polls\n",
                       "Freshness", f.probes, f.stale, f.skipped, f.polls);
    out += fmt::format("    {:<8}{}  (POST sent -> first GET without the item)\n", "latency",
                       FormatPercentiles(f.latency));
    if (f.failures() > f.stale) {
      out +=
          fmt::format("    {:<8}POST statuses {}, POST socket errors {}, failed GETs {}\n",
                      "failed", FormatStatuses(f.write_statuses), f.write_errors, f.read_failures);
    }
  }
  return out;
}

std::string LoadTestReportToJson(const LoadTestReport& r) {
  nlohmann::ordered_json j;
  j["target"] = r.target;
  j["mode"] = r.open_loop ? "open" : "closed";
  if (r.open_loop) j["rate"] = r.rate;
  j["concurrency"] = r.concurrency;
  j["threads"] = r.threads;
  j["window_seconds"] = r.window_seconds;
  if (r.open_loop) j["scheduled"] = r.scheduled;
  j["requests"] = r.responses;
  j["requests_per_second"] = r.requests_per_second;
  j["non_2xx"] = r.non_2xx;
  nlohmann::ordered_json classes;
  for (size_t i = 1; i < r.status_classes.size(); ++i) {
    classes[fmt::format("{}xx", i)] = r.status_classes[i];
  }
  classes["other"] = r.status_classes[0];
  j["status_classes"] = classes;
  j["errors"] = {{"connect", r.connect_errors},   {"read", r.read_errors},
                 {"write", r.write_errors},       {"timeout", r.timeouts},
                 {"protocol", r.protocol_errors}, {"total", r.socket_errors()}};
  j["connections_opened"] = r.connections_opened;
  j["bytes_read"] = r.bytes_read;
  j["latency_ms"] = LatencyJson(r.latency);
  j["reads"] = KindJson(r.reads);
  if (r.mixed) j["writes"] = KindJson(r.writes);
  if (r.probed) {
    const FreshnessReport& f = r.freshness;
    nlohmann::ordered_json fj;
    fj["signal"] = "POST sent -> first GET response whose list no longer holds the rated item";
    fj["probes"] = f.probes;
    fj["stale"] = f.stale;
    fj["skipped_empty_list"] = f.skipped;
    fj["failed_post_statuses"] = StatusesJson(f.write_statuses);
    fj["failed_post_socket_errors"] = f.write_errors;
    fj["failed_gets"] = f.read_failures;
    fj["failures"] = f.failures();
    fj["polls"] = f.polls;
    fj["latency_ms"] = LatencyJson(f.latency);
    j["freshness"] = fj;
  }
  return j.dump(2) + "\n";
}

}  // namespace reco
