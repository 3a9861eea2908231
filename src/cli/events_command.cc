// `reco events export|replay`: read the live-event log (reco::EventLog) that
// the server appends to, as training input or for inspection. Both read the
// log without locking or repairing it, so they work while a server runs.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "commands.h"
#include "reco/event_log.h"

namespace reco::cli {
namespace {

struct EventsFlags {
  std::string log_dir;
  std::string out = "events.csv";
  uint64_t from_seq = 0;
  bool skip_corrupt = false;
};

void AddLogFlags(CLI::App* cmd, EventsFlags* f) {
  cmd->add_option("--log", f->log_dir, "Event log directory (holds events-*.log)")->required();
  cmd->add_flag("--skip-corrupt", f->skip_corrupt,
                "Skip corrupt records in the middle of the log (logged) instead of failing");
}

Status RunReplay(const EventsFlags& f) {
  EventLogOptions options;
  options.skip_corrupt_records = f.skip_corrupt;
  std::printf("seq\tuser_id\titem_id\ttype\tvalue\ttimestamp_ms\n");
  return EventLog::ReplayDirectory(
      f.log_dir, f.from_seq,
      [](uint64_t seq, const Event& e) {
        std::string value = e.value ? fmt::format("{}", *e.value) : "";
        std::printf("%llu\t%s\t%s\t%s\t%s\t%lld\n", static_cast<unsigned long long>(seq),
                    e.user_id.c_str(), e.item_id.c_str(), e.type.c_str(), value.c_str(),
                    static_cast<long long>(e.timestamp_ms));
        return Status::Ok();
      },
      options);
}

}  // namespace

void AddEventsCommand(CLI::App& app, int* exit_code) {
  CLI::App* events = app.add_subcommand(
      "events", "Read a reco event log: the durable, checksummed write-ahead log of live events");
  events->require_subcommand(0, 1);  // none: main prints the group's help
  auto flags = std::make_shared<EventsFlags>();

  CLI::App* exp = events->add_subcommand(
      "export",
      "Write every event in the log as CSV training input: header\n"
      "user_id,item_id,rating,timestamp; rating = the event's value (1 when it has\n"
      "none), timestamp in seconds. `reco train` reads the file like ratings.csv.\n"
      "A torn last record (a write cut by a crash, never acknowledged) is ignored.");
  AddLogFlags(exp, flags.get());
  exp->add_option("--out", flags->out, "CSV file to write (replaced atomically)")
      ->capture_default_str();
  exp->callback([flags, exit_code] {
    EventLogOptions options;
    options.skip_corrupt_records = flags->skip_corrupt;
    Result<uint64_t> n = ExportEventsCsv(flags->log_dir, flags->out, options);
    if (!n.ok()) {
      *exit_code = ReportError(n.status());
      return;
    }
    std::fprintf(stderr, "wrote %llu events to %s\n", static_cast<unsigned long long>(*n),
                 flags->out.c_str());
  });

  CLI::App* replay = events->add_subcommand(
      "replay",
      "Print the events of the log in sequence order, one tab-separated line each:\n"
      "seq, user_id, item_id, type, value (empty when absent), timestamp_ms");
  AddLogFlags(replay, flags.get());
  replay->add_option("--from", flags->from_seq, "First sequence number to print")
      ->capture_default_str();
  replay->callback([flags, exit_code] {
    Status st = RunReplay(*flags);
    if (!st.ok()) *exit_code = ReportError(st);
  });
}

}  // namespace reco::cli
