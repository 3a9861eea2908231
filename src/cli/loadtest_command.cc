// reco loadtest: drive an HTTP endpoint (normally `reco serve`) with
// keep-alive connections and report throughput and latency percentiles.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "commands.h"
#include "reco/loadgen.h"

namespace reco::cli {
namespace {

struct LoadtestFlags {
  std::string url;
  std::string users_from;
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

Status RunLoadtest(const LoadtestFlags& f) {
  LoadTestOptions o;
  RECO_ASSIGN_OR_RETURN(o.url, ParseUrlTemplate(f.url));
  if (!f.users_from.empty()) {
    RECO_ASSIGN_OR_RETURN(o.users, LoadUserIds(f.users_from));
    if (!o.url.has_user_placeholder()) {
      std::fprintf(stderr, "reco: warning: --users-from given but the URL has no {user}\n");
    }
  } else if (o.url.has_user_placeholder()) {
    return Status::InvalidArgument("the URL contains {user}: pass --users-from FILE");
  }
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
    std::ofstream out(f.json_out, std::ios::binary | std::ios::trunc);
    out << LoadTestReportToJson(*report);
    out.close();
    if (!out) return Status::IOError(f.json_out + ": cannot write the JSON report");
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
      "in the percentiles (coordinated-omission correction, as in wrk2).");
  cmd->add_option("--url", f->url,
                  "URL template, e.g. http://127.0.0.1:8080/v1/users/{user}/recommendations?k=10;\n"
                  "{user} is replaced by a random id from --users-from. http:// only")
      ->required();
  cmd->add_option("--users-from", f->users_from,
                  "File of user ids: one per line, or a CSV whose first column is the id\n"
                  "(header optional); duplicates are dropped")
      ->check(CLI::ExistingFile);
  cmd->add_option("-c,--concurrency", f->concurrency, "Keep-alive connections")
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
