// reco loadtest: drive an HTTP endpoint (normally `reco serve`) with
// keep-alive connections and report throughput and latency percentiles;
// optionally a mixed workload of reads and event POSTs, with probes that
// measure how soon a posted event shows in the user's list.
#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "reco/file_util.h"
#include "reco/loadgen.h"

namespace reco::cli {
namespace {

struct LoadtestFlags {
  std::string url;
  std::string users_from;
  std::string users_range;
  std::string items_from;
  std::string items_range;
  std::string write_users_sequence;
  double write_fraction = 0;
  std::string write_path = "/v1/events";
  std::string api_key;
  std::string event_type = "rating";
  std::string event_values = "1:5";
  bool no_event_value = false;
  int probe_connections = 0;
  int probe_users = 16;
  std::string probe_deadline = "2s";
  std::string probe_interval = "0s";
  std::string poll_interval = "1ms";
  int concurrency = 64;
  int threads = 0;
  std::string duration = "10s";
  std::string warmup = "0s";
  std::string timeout = "2s";
  double rate = 0;
  uint64_t requests = 0;
  uint64_t seed = 1;
  std::string json_out;
  bool allow_remote = false;
  bool quiet = false;
};

// One progress line per second on stderr: redrawn in place on a terminal,
// appended as plain lines when stderr is a file or pipe.
void PrintProgress(const LoadTestProgress& p, bool tty) {
  const std::string line =
      fmt::format("[{:6.1f}s] {}{} responses, {:.0f} req/s, {} errors", p.elapsed_seconds,
                  p.warming_up ? "warmup, " : "", p.responses, p.current_rps, p.errors);
  if (tty) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

// "1:5" -> {1, 5}, for the integer range of option `flag`.
template <typename Int>
Status ParseIntRange(const std::string& text, const char* flag, Int* min, Int* max) {
  const size_t colon = text.find(':');
  auto parse = [](std::string_view s, Int* out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size();
  };
  if (colon == std::string::npos || !parse(std::string_view(text).substr(0, colon), min) ||
      !parse(std::string_view(text).substr(colon + 1), max) || *min > *max) {
    return Status::InvalidArgument(std::string("bad ") + flag + " '" + text +
                                   "': expected MIN:MAX integers, MIN <= MAX (e.g. 1:5)");
  }
  return Status::Ok();
}

Status RunLoadtest(const LoadtestFlags& f) {
  LoadTestOptions o;
  RECO_ASSIGN_OR_RETURN(o.url, ParseUrlTemplate(f.url));
  if (!f.users_from.empty()) {
    RECO_ASSIGN_OR_RETURN(o.users, LoadUserIds(f.users_from));
  } else if (!f.users_range.empty()) {
    RECO_ASSIGN_OR_RETURN(o.users, ParseIdRange(f.users_range));
  } else if (o.url.has_user_placeholder()) {
    return Status::InvalidArgument(
        "the URL contains {user}: pass --users-from FILE or --users-range FIRST:LAST");
  }
  const bool writes = f.write_fraction > 0 || f.probe_connections > 0;
  if (!o.users.empty() && !o.url.has_user_placeholder() && !writes) {
    std::fprintf(stderr, "reco: warning: user ids given but the URL has no {user}\n");
  }
  if (!f.items_from.empty()) {
    RECO_ASSIGN_OR_RETURN(o.writes.items, LoadUserIds(f.items_from));
  } else if (!f.items_range.empty()) {
    RECO_ASSIGN_OR_RETURN(o.writes.items, ParseIdRange(f.items_range));
  } else if (writes) {
    return Status::InvalidArgument(
        "event writes and probes need items: pass --items-from FILE or --items-range FIRST:LAST");
  }
  o.writes.fraction = f.write_fraction;
  o.writes.path = f.write_path;
  o.writes.api_key = f.api_key;
  o.writes.event_type = f.event_type;
  o.writes.with_value = !f.no_event_value;
  RECO_RETURN_IF_ERROR(
      ParseIntRange(f.event_values, "--event-values", &o.writes.value_min, &o.writes.value_max));
  if (!f.write_users_sequence.empty()) {
    uint64_t last = 0;
    RECO_RETURN_IF_ERROR(ParseIntRange(f.write_users_sequence, "--write-users-sequence",
                                       &o.writes.sequence_first, &last));
    o.writes.sequence_count = last - o.writes.sequence_first + 1;
  }
  if (writes && f.api_key.empty()) {
    std::fprintf(stderr, "reco: warning: event POSTs without --api-key (or RECO_API_KEY)\n");
  }
  o.probes.connections = f.probe_connections;
  o.probes.users = f.probe_users;
  RECO_ASSIGN_OR_RETURN(o.probes.deadline, ParseDuration(f.probe_deadline));
  RECO_ASSIGN_OR_RETURN(o.probes.interval, ParseDuration(f.probe_interval));
  RECO_ASSIGN_OR_RETURN(o.probes.poll_interval, ParseDuration(f.poll_interval));
  RECO_ASSIGN_OR_RETURN(o.duration, ParseDuration(f.duration));
  RECO_ASSIGN_OR_RETURN(o.warmup, ParseDuration(f.warmup));
  RECO_ASSIGN_OR_RETURN(o.timeout, ParseDuration(f.timeout));
  o.concurrency = f.concurrency;
  o.threads = f.threads;
  o.rate = f.rate;
  o.max_requests = f.requests;
  o.seed = f.seed;
  o.allow_remote = f.allow_remote;
  const bool tty = ::isatty(STDERR_FILENO) != 0;
  bool drew = false;
  if (!f.quiet) {
    o.on_progress = [tty, &drew](const LoadTestProgress& p) {
      PrintProgress(p, tty);
      drew = true;
    };
  }

  Result<LoadTestReport> report = RunLoadTest(o);
  if (drew && tty) std::fprintf(stderr, "\n");
  if (!report.ok()) return report.status();
  std::fputs(FormatLoadTestReport(*report).c_str(), stdout);
  std::fflush(stdout);
  if (!f.json_out.empty()) {
    RECO_RETURN_IF_ERROR(WriteFileAtomically(f.json_out, LoadTestReportToJson(*report)));
  }
  return Status::Ok();
}

}  // namespace

void AddLoadtestCommand(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<LoadtestFlags>();
  CLI::App* cmd = app.add_subcommand(
      "loadtest",
      "HTTP load generator for benchmarking `reco serve` (or anything speaking HTTP/1.1).\n"
      "Closed loop by default: every connection sends its next request when the previous\n"
      "response arrived. With --rate, open loop: requests are scheduled at a fixed total rate\n"
      "and latency is measured from each request's scheduled time, so server stalls show up\n"
      "in the percentiles (coordinated-omission correction, as in wrk2).\n"
      "Mixed workload: --write-fraction 0.1 --api-key KEY --items-range 1:1682 makes 10% of\n"
      "the requests event POSTs; --probe-connections 1 adds event-to-fresh-list probes.");
  cmd->add_option("--url", f->url,
                  "URL template, e.g. http://127.0.0.1:8080/v1/users/{user}/recommendations?k=10;\n"
                  "{user} is replaced by a random id from --users-from/--users-range. http:// only")
      ->required();
  CLI::Option* users_from =
      cmd->add_option("--users-from,--users-file", f->users_from,
                      "File of user ids: one per line, or a CSV whose first column is the id\n"
                      "(header optional); duplicates are dropped")
          ->check(CLI::ExistingFile);
  cmd->add_option("--users-range", f->users_range,
                  "User ids FIRST:LAST (integers, inclusive), e.g. 1:943 for ml-100k")
      ->excludes(users_from);
  CLI::Option* items_from =
      cmd->add_option("--items-from,--items-file", f->items_from,
                      "File of item ids for event writes (same format as --users-from)")
          ->check(CLI::ExistingFile);
  cmd->add_option("--items-range", f->items_range,
                  "Item ids FIRST:LAST for event writes, e.g. 1:1682 for ml-100k")
      ->excludes(items_from);
  cmd->add_option("-w,--write-fraction", f->write_fraction,
                  "Mixed workload: each request is, with this probability, a POST of one event\n"
                  "{user_id, item_id, type, value} for a random user and item instead of the GET.\n"
                  "Reads and writes are reported apart (0 = reads only)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--write-users-sequence", f->write_users_sequence,
                  "Event POSTs go to the user ids FIRST..LAST in turn (shared by all\n"
                  "connections, wrapping around) instead of random users: a stream of distinct\n"
                  "users, e.g. 1000001:6000000 for five million new users");
  cmd->add_option("--write-path", f->write_path, "Target of the event POSTs, on the URL's host")
      ->capture_default_str();
  cmd->add_option("--api-key", f->api_key,
                  "Sent as 'Authorization: Bearer KEY' with every event POST")
      ->envname("RECO_API_KEY");
  cmd->add_option("--event-type", f->event_type, "The events' \"type\"")->capture_default_str();
  cmd->add_option("--event-values", f->event_values,
                  "Each event's \"value\" is a random integer MIN:MAX (a rating)")
      ->capture_default_str();
  cmd->add_flag("--no-event-value", f->no_event_value,
                "Send events without \"value\" (implicit feedback, e.g. clicks)");
  cmd->add_option(
         "--probe-connections", f->probe_connections,
         "Event-to-fresh-list probes on this many extra connections: read a probe user's list,\n"
         "POST an event for its top item, GET the list until that item is gone; reports the\n"
         "time from the POST to that GET's response (0 = no probes; 1 is enough)")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd->add_option("--probe-users", f->probe_users,
                  "The last N user ids are reserved for probes: load writes leave them alone")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--probe-deadline", f->probe_deadline,
                  "A probe whose item is still listed this long after the POST counts as stale")
      ->capture_default_str();
  cmd->add_option("--probe-interval", f->probe_interval, "Pause between probes")
      ->capture_default_str();
  cmd->add_option("--poll-interval", f->poll_interval,
                  "Pause between a probe's polling GETs (the first goes right after the\n"
                  "202): the latency's resolution, traded against the extra reads\n"
                  "back-to-back polling would add (0 = back to back)")
      ->capture_default_str();
  cmd->add_option("-c,--concurrency,--connections", f->concurrency, "Keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("-d,--duration", f->duration, "Measured time (30s, 500ms, 2m)")
      ->capture_default_str();
  cmd->add_option("--warmup", f->warmup, "Load before measuring, not recorded")
      ->capture_default_str();
  cmd->add_option("-R,--rate", f->rate,
                  "Open loop: total requests per second over all connections (0 = closed loop)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-t,--threads", f->threads, "Event-loop threads (0 = all cores)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--timeout", f->timeout,
                  "Per-request (and connect) timeout; a timed-out connection is reopened")
      ->capture_default_str();
  cmd->add_option("-n,--requests", f->requests,
                  "Closed loop: stop after this many requests (0 = run for --duration)")
      ->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed for choosing users")->capture_default_str();
  cmd->add_option("--json", f->json_out, "Also write the report as JSON to this file");
  cmd->add_flag("--allow-remote", f->allow_remote,
                "Allow a target that is not loopback (refused by default)");
  cmd->add_flag("-q,--quiet", f->quiet, "No progress lines on stderr");
  cmd->callback([f, exit_code] {
    Status st = RunLoadtest(*f);
    if (st.ok()) return;
    const int code = ReportError(st);
    *exit_code = st.code() == Status::Code::kInvalidArgument ? 2 : code;
  });
}

}  // namespace reco::cli
