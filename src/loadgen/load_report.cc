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

}  // namespace

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
  const LatencyHistogram& h = r.latency;
  nlohmann::ordered_json latency;
  latency["count"] = h.count();
  latency["mean"] = h.Mean() / 1e6;
  latency["stdev"] = h.StdDev() / 1e6;
  latency["min"] = static_cast<double>(h.min()) / 1e6;
  for (const auto& p : kPercentiles) {
    latency[p.json_key] = static_cast<double>(h.ValueAtPercentile(p.percentile)) / 1e6;
  }
  latency["max"] = static_cast<double>(h.max()) / 1e6;
  j["latency_ms"] = latency;
  return j.dump(2) + "\n";
}

}  // namespace reco
