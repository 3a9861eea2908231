// reco serve: the HTTP API over a recommendation store (docs/api.md), and with
// --events the write side: POST /v1/events into the event log.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "commands.h"
#include "reco/event_log.h"
#include "reco/file_util.h"
#include "reco/ingest.h"
#include "reco/model_registry.h"
#include "reco/realtime.h"
#include "reco/rec_store.h"
#include "reco/server.h"

namespace reco::cli {
namespace {

struct ServeFlags {
  std::string store;
  std::string model = "reco";
  ServerOptions server;
  int refresh_ms = 1000;
  int idle_timeout_s = 60;
  std::string events_dir;
  std::string registry_dir;
  size_t refresh_queue = 4096;
  int refresh_threads = 1;
  uint32_t refresh_k = 10;
  int refresh_flush_ms = 100;
  size_t live_memory_mb = 1024;
  std::string api_keys_file;
  std::string port_file;
};

Status LoadKeys(const ServeFlags& f, ApiKeys* keys) {
  if (!f.api_keys_file.empty()) RECO_RETURN_IF_ERROR(keys->AddFromFile(f.api_keys_file));
  if (const char* env = std::getenv("RECO_API_KEYS"); env != nullptr) {
    RECO_RETURN_IF_ERROR(keys->AddFromList(env));
  }
  return Status::Ok();
}

// Written after the socket is bound, renamed into place so a reader never sees
// a partial number: how scripts and tests learn the port of --port 0.
Status WritePortFile(const std::string& path, uint16_t port) {
  return WriteFileAtomically(path, std::to_string(port) + "\n");
}

void RunServe(const ServeFlags& f, int* exit_code) {
  if (!f.registry_dir.empty() && f.events_dir.empty()) {
    *exit_code = ReportError(Status::InvalidArgument("--registry needs --events DIR"));
    return;
  }
  WriteBackends writes;
  if (Status st = LoadKeys(f, &writes.keys); !st.ok()) {
    *exit_code = ReportError(st);
    return;
  }
  const bool writes_enabled = !f.events_dir.empty();
  if (writes_enabled && writes.keys.empty() && !f.server.allow_unauthenticated_writes) {
    *exit_code = ReportError(Status::FailedPrecondition(
        "--events enables writes, but no API key is configured: give --api-keys-file FILE or "
        "RECO_API_KEYS, or pass --allow-unauthenticated-writes to accept writes from anyone"));
    return;
  }
  if (f.server.require_key_for_reads && writes.keys.empty()) {
    *exit_code = ReportError(Status::InvalidArgument(
        "--require-key-for-reads needs a key from --api-keys-file or RECO_API_KEYS"));
    return;
  }

  RecStoreOptions store_options;
  store_options.ns = f.model;
  store_options.refresh_interval = std::chrono::milliseconds(f.refresh_ms);
  auto store = RecommendationStore::Open(f.store, store_options);
  if (!store.ok()) {
    *exit_code = ReportError(store.status());
    return;
  }
  auto source = MakeStoreSource(store->get());
  if (const Status ready = source->CheckReady(); !ready.ok()) {
    spdlog::warn("not ready yet ({}): /readyz answers 503 until a version is active",
                 ready.ToString());
  }

  // Declared before the server so they outlive it.
  std::unique_ptr<EventLog> log;
  std::unique_ptr<EventSink> sink;
  std::unique_ptr<ModelRegistry> registry;
  std::unique_ptr<RealtimeEngine> engine;
  if (writes_enabled) {
    auto opened = EventLog::Open(f.events_dir);
    if (!opened.ok()) {
      *exit_code = ReportError(opened.status());
      return;
    }
    log = std::move(opened).value();
    writes.event_log = log.get();
    const EventLogRecovery& rec = log->recovery();
    spdlog::info("event log {}: {} events in {} segments, last seq {}{}", f.events_dir, rec.events,
                 rec.segments, log->last_seq(),
                 rec.torn_bytes_dropped > 0 ? fmt::format(" ({} torn bytes dropped: {})",
                                                          rec.torn_bytes_dropped, rec.torn_reason)
                                            : std::string());
    if (f.registry_dir.empty()) {
      sink = MakeLogOnlyEventSink(log.get());
      writes.events = sink.get();
    } else {
      auto opened_registry = ModelRegistry::Open(f.registry_dir);
      if (!opened_registry.ok()) {
        *exit_code = ReportError(opened_registry.status());
        return;
      }
      registry = std::move(opened_registry).value();
      RealtimeOptions realtime;
      realtime.queue_capacity = f.refresh_queue;
      realtime.refresh_threads = f.refresh_threads;
      realtime.k = f.refresh_k;
      realtime.flush_interval = std::chrono::milliseconds(f.refresh_flush_ms);
      realtime.live_memory_bytes = f.live_memory_mb << 20;
      auto started = RealtimeEngine::Start(registry.get(), store->get(), log.get(), realtime);
      if (!started.ok()) {
        *exit_code = ReportError(started.status());
        return;
      }
      engine = std::move(started).value();
      writes.events = engine.get();
      writes.models = engine.get();
      RealtimeEngine* e = engine.get();
      writes.extra_metrics = [e] { return e->PrometheusText(); };
      spdlog::info("online refresh on: registry {}, live model version '{}'", f.registry_dir,
                   engine->LiveVersion());
    }
  }

  ServerOptions options = f.server;
  options.handle_signals = true;
  options.idle_timeout = std::chrono::seconds(f.idle_timeout_s);
  auto server = HttpServer::Start(options, source.get(), std::move(writes));
  if (!server.ok()) {
    *exit_code = ReportError(server.status());
    return;
  }
  spdlog::info("listening on {} (store {}, model {}, version {}, writes {})", (*server)->url(),
               f.store, f.model, source->ActiveVersion().empty() ? "none" : source->ActiveVersion(),
               writes_enabled ? "to " + f.events_dir : std::string("off"));
  if (!f.port_file.empty()) {
    if (Status st = WritePortFile(f.port_file, (*server)->port()); !st.ok()) {
      (*server)->Shutdown();
      (*server)->Wait();
      *exit_code = ReportError(st);
      return;
    }
  }
  (*server)->Wait();
  spdlog::info("stopped");
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the active model version's precomputed recommendations over HTTP:\n"
      "  GET /v1/users/{user_id}/recommendations?k=10\n"
      "  GET /v1/items/{item_id}/similar?k=10\n"
      "  GET /healthz, /readyz, /metrics (Prometheus)\n"
      "With --events DIR also record events (API key required):\n"
      "  POST /v1/events\n"
      "and with --registry DIR refresh users' lists from them and switch models:\n"
      "  POST /v1/admin/models/{version}/activate, SIGHUP reloads the active version\n"
      "SIGINT/SIGTERM finish in-flight requests (and writes), then exit 0. See docs/api.md.");
  cmd->add_option("--store", flags->store,
                  "Store URI: lmdb://PATH, redis://HOST:PORT[/DB] or redis+cluster://HOST:PORT,... "
                  "(memory:// starts empty)")
      ->required();
  cmd->add_option("--model", flags->model, "Model namespace in the store")->capture_default_str();
  cmd->add_option("--host", flags->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", flags->server.port, "TCP port (0 picks a free one)")
      ->capture_default_str();
  cmd->add_option("--port-file", flags->port_file,
                  "Write the listening port to this file once accepting (useful with --port 0)");
  cmd->add_option("--threads", flags->server.threads,
                  "Worker threads serving the event loop (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--refresh-ms", flags->refresh_ms,
                  "How often the active model version is re-read: a switch is served "
                  "within this time")
      ->capture_default_str()
      ->check(CLI::Range(1, 3'600'000));
  cmd->add_option("--idle-timeout", flags->idle_timeout_s,
                  "Seconds before an idle keep-alive connection is closed")
      ->capture_default_str()
      ->check(CLI::Range(1, 86'400));
  cmd->add_option("--events", flags->events_dir,
                  "Event log directory (created if missing): enables POST /v1/events; every "
                  "acknowledged event is durable there")
      ->check(CLI::NonexistentPath | CLI::ExistingDirectory);
  cmd->add_option("--registry", flags->registry_dir,
                  "Model registry directory: with --events, refresh a user's list after their "
                  "events and enable POST /v1/admin/models/{version}/activate and SIGHUP reload")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--refresh-queue", flags->refresh_queue,
                  "Pending user refreshes before POST /v1/events answers 503 (with --registry)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 24));
  cmd->add_option("--refresh-threads", flags->refresh_threads,
                  "Threads re-solving users and rewriting their lists (with --registry)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--refresh-k", flags->refresh_k,
                  "Length of a refreshed list (use the k given to `reco precompute`)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000));
  cmd->add_option("--refresh-flush-ms", flags->refresh_flush_ms,
                  "Refreshed lists are served from memory at once and written to the store\n"
                  "this often, in one write (they are rebuilt from the event log at start).\n"
                  "0 writes every refresh batch through, for a store other processes read")
      ->capture_default_str()
      ->check(CLI::Range(0, 60'000));
  cmd->add_option("--live-memory-mb", flags->live_memory_mb,
                  "Memory for live users' event histories (with --registry). Past it the least\n"
                  "recently active users' histories go to the store and come back on their next\n"
                  "event (reco_realtime_live_* in /metrics). 0: no bound")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{1} << 24));
  cmd->add_option("--ingest-threads", flags->server.ingest_threads,
                  "Threads for the blocking part of writes: model loads, event bodies over\n"
                  "16 KiB, and the log fsync when there is no --registry")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--api-keys-file", flags->api_keys_file,
                  "API keys, one per line (# comments); also read from RECO_API_KEYS "
                  "(comma-separated). Writes need 'Authorization: Bearer <key>'")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--require-key-for-reads", flags->server.require_key_for_reads,
                "Also require an API key on the list routes and /metrics (/healthz and /readyz "
                "stay open)");
  cmd->add_flag("--allow-unauthenticated-writes", flags->server.allow_unauthenticated_writes,
                "Accept writes without an API key when none is configured (trusted networks "
                "only)");

  cmd->callback([flags, exit_code] { RunServe(*flags, exit_code); });
}

}  // namespace reco::cli
