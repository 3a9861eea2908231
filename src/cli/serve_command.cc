// reco serve: the HTTP API over a recommendation store (docs/api.md).
#include <spdlog/spdlog.h>

#include <memory>

#include "commands.h"
#include "reco/rec_store.h"
#include "reco/server.h"

namespace reco::cli {

void AddServeCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string store;
    std::string model = "reco";
    ServerOptions server;
    int refresh_ms = 1000;
    int idle_timeout_s = 60;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("serve",
                         "Serve the active model version's precomputed recommendations over HTTP:\n"
                         "  GET /v1/users/{user_id}/recommendations?k=10\n"
                         "  GET /v1/items/{item_id}/similar?k=10\n"
                         "  GET /healthz, /readyz, /metrics (Prometheus)\n"
                         "SIGINT/SIGTERM finish in-flight requests, then exit 0. See docs/api.md.");
  cmd->add_option("--store", flags->store,
                  "Store URI: lmdb://PATH or redis://HOST:PORT[/DB] (memory:// starts empty)")
      ->required();
  cmd->add_option("--model", flags->model, "Model namespace in the store")->capture_default_str();
  cmd->add_option("--host", flags->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", flags->server.port, "TCP port (0 picks a free one)")
      ->capture_default_str();
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

  cmd->callback([flags, exit_code] {
    RecStoreOptions store_options;
    store_options.ns = flags->model;
    store_options.refresh_interval = std::chrono::milliseconds(flags->refresh_ms);
    auto store = RecommendationStore::Open(flags->store, store_options);
    if (!store.ok()) {
      *exit_code = ReportError(store.status());
      return;
    }
    auto source = MakeStoreSource(store->get());
    if (const Status ready = source->CheckReady(); !ready.ok()) {
      spdlog::warn("not ready yet ({}): /readyz answers 503 until a version is active",
                   ready.ToString());
    }

    ServerOptions options = flags->server;
    options.handle_signals = true;
    options.idle_timeout = std::chrono::seconds(flags->idle_timeout_s);
    auto server = HttpServer::Start(options, source.get());
    if (!server.ok()) {
      *exit_code = ReportError(server.status());
      return;
    }
    spdlog::info("listening on {} (store {}, model {}, version {})", (*server)->url(), flags->store,
                 flags->model, source->ActiveVersion().empty() ? "none" : source->ActiveVersion());
    (*server)->Wait();
    spdlog::info("stopped");
  });
}

}  // namespace reco::cli
