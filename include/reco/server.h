// The HTTP API that serves precomputed recommendations (docs/api.md).
//
//   GET /v1/users/{user_id}/recommendations?k=10   a user's top-k (popular list if unknown)
//   GET /v1/items/{item_id}/similar?k=10           an item's most similar items
//   GET /healthz  /readyz  /metrics                liveness, readiness, Prometheus text
//   POST /v1/events                                 record events (API key; EventSink)
//   POST /v1/admin/models/{version}/activate        switch the live model (API key; ModelAdmin)
//
// HttpServer owns sockets and threads and nothing else: every list it serves
// comes from a RecommendationSource, so the serving path is tested against an
// in-memory source and runs in production over a RecommendationStore
// (MakeStoreSource). The hot path is allocation-free once buffers have grown:
// one event loop shared by the worker threads, per-connection buffers, JSON
// written straight into the response buffer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "reco/status.h"

namespace reco {

class EventLog;    // reco/event_log.h
class EventSink;   // reco/ingest.h
class ModelAdmin;  // reco/ingest.h

// A ranked list of (external item id, score), reused across requests: the
// source refills it, the server renders it. Ids live in one backing string so
// refilling a list that has grown to its working size allocates nothing.
class ScoredItemList {
 public:
  void Clear() {
    ids_.clear();
    entries_.clear();
    model_version.clear();
  }
  void Add(std::string_view item_id, float score) {
    entries_.push_back(
        {static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(item_id.size()), score});
    ids_.append(item_id);
  }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::string_view item_id(size_t i) const {
    return std::string_view(ids_).substr(entries_[i].offset, entries_[i].length);
  }
  float score(size_t i) const { return entries_[i].score; }

  // The model version the list was read from; served as "model_version".
  std::string model_version;

 private:
  struct Entry {
    uint32_t offset;
    uint32_t length;
    float score;
  };
  std::string ids_;
  std::vector<Entry> entries_;
};

// Where the server reads lists from. Called concurrently from every worker
// thread, so implementations must be thread-safe; calls may block (a store
// round trip) but should be short: a blocked call stalls its worker's other
// connections.
//
// List reads fill *out (including out->model_version) from the active model
// version and return: OK; NotFound when the active version has no such list;
// FailedPrecondition when no version is active; Unavailable when the backing
// store cannot be reached; anything else for a store fault.
class RecommendationSource {
 public:
  virtual ~RecommendationSource() = default;
  virtual Status GetUserRecommendations(std::string_view user_id, ScoredItemList* out) = 0;
  virtual Status GetSimilarItems(std::string_view item_id, ScoredItemList* out) = 0;
  virtual Status GetPopularItems(ScoredItemList* out) = 0;
  // The active model version as last seen, "" when none. Must be cheap (no
  // store round trip): /metrics calls it.
  virtual std::string ActiveVersion() = 0;
  // OK when the store is reachable and a model version is active.
  virtual Status CheckReady() = 0;
};

// A source over maps in memory: for tests, demos and benchmarks. Setters may
// be called while the server runs.
class InMemoryRecommendationSource : public RecommendationSource {
 public:
  using Items = std::vector<std::pair<std::string, float>>;

  void SetUserRecommendations(std::string user_id, Items items);
  void SetSimilarItems(std::string item_id, Items items);
  void SetPopularItems(Items items);
  // "" deactivates: list reads then fail with FailedPrecondition.
  void SetActiveVersion(std::string version);
  // A non-OK status makes CheckReady and every list read fail with it,
  // simulating an unreachable store.
  void SetStoreStatus(Status status);

  Status GetUserRecommendations(std::string_view user_id, ScoredItemList* out) override;
  Status GetSimilarItems(std::string_view item_id, ScoredItemList* out) override;
  Status GetPopularItems(ScoredItemList* out) override;
  std::string ActiveVersion() override;
  Status CheckReady() override;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using ListMap = std::unordered_map<std::string, Items, StringHash, std::equal_to<>>;
  Status ReadLocked(const Items* items, ScoredItemList* out) const;

  mutable std::shared_mutex mu_;
  ListMap users_;
  ListMap similar_;
  Items popular_;
  bool has_popular_ = false;
  std::string version_;
  Status store_status_;
};

class RecommendationStore;  // reco/rec_store.h

// A source reading the active version of `store` (not owned; must outlive the
// source). The store caches the active version and re-reads its pointer once
// per RecStoreOptions::refresh_interval, so a version switch is served within
// that interval and requests pay one list read each.
std::unique_ptr<RecommendationSource> MakeStoreSource(RecommendationStore* store);

// The API keys that may call keyed routes. Only SHA-256 digests are kept, and
// Verify compares the presented key's digest against every stored digest with
// CRYPTO_memcmp, so neither the content nor the length of a key leaks through
// response timing.
class ApiKeys {
 public:
  // A key is 16..256 visible ASCII characters (no blanks): what fits in
  // "Authorization: Bearer <key>" unquoted, and long enough not to be guessed.
  Status Add(std::string_view key);
  // One key per line; blank lines and lines starting with '#' are skipped,
  // blanks around a key are trimmed. Errors name the file and line.
  Status AddFromFile(const std::string& path);
  // Comma-separated keys (the RECO_API_KEYS environment variable).
  Status AddFromList(std::string_view list, std::string_view what = "RECO_API_KEYS");

  bool Verify(std::string_view presented) const;
  bool empty() const { return digests_.empty(); }
  size_t size() const { return digests_.size(); }

 private:
  std::vector<std::array<unsigned char, 32>> digests_;
};

// An EventSink that only appends to the write-ahead log (no online refresh):
// what `reco serve --events DIR` uses without a model registry. `log` is
// borrowed and must outlive the sink.
std::unique_ptr<EventSink> MakeLogOnlyEventSink(EventLog* log);

// What the write routes call; all borrowed, they must outlive the server.
struct WriteBackends {
  EventSink* events = nullptr;  // enables POST /v1/events
  // Enables POST /v1/admin/models/{version}/activate, SIGHUP reload (with
  // handle_signals) and "live_model_version" in /readyz.
  ModelAdmin* models = nullptr;
  // The log behind `events`, when there is one: while it refuses appends
  // (EventLog::health), /readyz answers 503 "event log not writable", and
  // /metrics has reco_event_log_writable.
  const EventLog* event_log = nullptr;
  ApiKeys keys;
  // Appended to /metrics when set: Prometheus text of the backends (e.g.
  // RealtimeEngine::PrometheusText). Called on a worker thread; keep it cheap.
  std::function<std::string()> extra_metrics;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 picks a free port; HttpServer::port() tells which
  int threads = 0;       // threads running the event loop; <= 0 means one per core
  // Install SIGINT/SIGTERM handlers that start a graceful shutdown.
  bool handle_signals = false;

  // Request limits (checked before anything is buffered beyond them).
  uint32_t max_header_bytes = 8 * 1024;         // whole header incl. request line; else 431
  uint32_t max_url_bytes = 2 * 1024;            // request target; else 414
  uint32_t max_body_bytes = 64 * 1024;          // any other route (bodies are ignored); else 413
  uint32_t max_event_body_bytes = 1024 * 1024;  // POST /v1/events; else 413
  uint32_t max_events_per_request = 1000;       // events in one POST /v1/events; else 413
  uint32_t max_id_bytes = 256;                  // decoded user/item id; else 400
  int default_k = 10;                           // when ?k= is absent (capped at the list length)

  // A keep-alive connection with no request in progress is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // From a request's first byte to its last (slowloris guard).
  std::chrono::milliseconds request_timeout{10'000};
  // A response the client does not read within this is abandoned.
  std::chrono::milliseconds write_timeout{10'000};
  // After Shutdown(), in-flight requests get this long before connections are cut.
  std::chrono::milliseconds drain_timeout{30'000};
  int listen_backlog = 1024;

  // Threads that run the blocking calls behind writes (EventSink::Accept of
  // a sink without async_accept, ModelAdmin::ActivateModel/Reload) and parse
  // event bodies over 16 KiB, so the event loop never waits on an fdatasync.
  // An async_accept sink (the real-time engine) is called from the loop.
  int ingest_threads = 8;
  // Writes always need a key; this makes the list routes and /metrics need
  // one too (/healthz and /readyz stay open for probes).
  bool require_key_for_reads = false;
  // Without this, Start refuses write backends when no API key is configured.
  bool allow_unauthenticated_writes = false;
};

class HttpServer {
 public:
  // Binds, listens and starts the worker threads; returns once accepting.
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                   RecommendationSource* source,
                                                   WriteBackends writes = {});
  ~HttpServer();  // Shutdown() then Wait()

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // "http://127.0.0.1:8080"
  std::string url() const;

  // Begins a graceful shutdown and returns at once (thread-safe, idempotent):
  // stop accepting, close idle connections, let requests already received
  // finish (their responses carry "Connection: close"; a write waits for its
  // EventSink::Accept, so an acknowledged event is always answered), then stop
  // the workers.
  void Shutdown();
  // Blocks until every worker has stopped (after Shutdown or a signal).
  void Wait();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reco
