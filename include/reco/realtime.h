// The real-time engine behind `POST /v1/events`: events are made durable in
// the write-ahead log, then a bounded queue feeds refresher threads that
// fold the user's vector in against the live model's fixed item factors
// (reco/fold_in.h), rank the user's top-k unseen items and write the lists
// into the live store version, so the next GET serves them.
//
// The live model is a registry version (reco/model_registry.h) held through
// a shared_ptr swapped atomically on activation: a refresh in flight finishes
// on the model it started with and writes under that model's version.
//
// A user's row for fold-in is their training row merged with their live
// history, the events logged after the model's events_through_seq (kept in
// memory up to RealtimeOptions::live_memory_bytes, then spilled to the
// store):
//  - explicit models take events that carry a value, as a rating; the latest
//    event (by sequence number) for an item wins and replaces the training
//    rating of that item. Events without a value are ignored for fold-in.
//  - implicit models take every event with strength value (1 when absent),
//    added to the training strength of that item.
// Events on items the model does not know are logged but ignored for
// fold-in (counted). Users the model does not know get a history too, so
// their first events give them a personal list.
//
// Intake is asynchronous (EventSink::AcceptAsync): a committer thread takes
// every request pending at that moment, appends them to the log as one group
// (one write, one fdatasync), applies them to the histories, refreshes the
// group's users (itself for a small group, else through the refresh queue)
// and then answers each request. The server calls it straight from its event
// loop, so an event costs no thread hop of its own, and a burst of events
// costs one fdatasync.
//
// Refreshers drain the queue in batches: each batch is solved and scored
// with one GEMM (reco/topk.h, the same ranking as precompute). Its lists are
// written behind (RecommendationStore::PutUserRecsPending): readable through
// the store object at once, written to the KvStore every flush_interval in
// one Write. They are derived data -- a restart rebuilds them from the log --
// so an fsyncing store (LMDB) pays one commit per interval, not per batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "reco/event_log.h"
#include "reco/ingest.h"
#include "reco/model_registry.h"
#include "reco/rec_store.h"
#include "reco/status.h"

namespace reco {

struct RealtimeOptions {
  size_t queue_capacity = 4096;  // pending user refreshes; beyond -> ResourceExhausted (503)
  int refresh_threads = 1;
  uint32_t k = 10;               // length of a refreshed list (as precompute's k)
  size_t max_batch_users = 256;  // users refreshed (and written) together
  // A committed group touching at most this many users is refreshed by the
  // committer itself before the requests are answered (so a 202 means the
  // list is fresh, with no thread hand-off); bigger groups go to the
  // refresher threads. 0 sends every group to the refreshers.
  size_t inline_refresh_max_users = 16;
  // Scheduler time slice asked for the committer thread (Linux 6.12+, no
  // privilege; ignored elsewhere): it mostly waits on the disk and every
  // event waits on it, so it should run as soon as it wakes. 0 leaves it.
  std::chrono::microseconds committer_slice{100};
  // The refresher threads write the refreshed lists to the KvStore this
  // often, all in one Write (write-behind, above); until then they are
  // served from memory. 0 writes each batch through (PutUserRecsAt), for
  // stores read by other processes that must see a refresh at once.
  std::chrono::milliseconds flush_interval{100};
  // Memory for the live histories (the events of users since the model's
  // training), estimated per user from above. Past it the least recently
  // active users' histories are spilled to the store (one Write, under the
  // live version's prefix, docs/store.md) and read back on their next event,
  // down to 90% of the budget; a stream of distinct users cannot grow the
  // process without limit. 0: no bound.
  size_t live_memory_bytes = size_t{1} << 30;
};

struct RealtimeStats {
  uint64_t events_accepted = 0;             // durable in the log
  uint64_t events_rejected_queue_full = 0;  // refused with ResourceExhausted, never logged
  uint64_t events_unknown_item = 0;         // logged, ignored for fold-in
  uint64_t events_without_value = 0;        // explicit model: logged, ignored for fold-in
  uint64_t refreshes = 0;                   // user lists written
  uint64_t refresh_failures = 0;            // solve or store write failed (logged)
  uint64_t refresh_batches = 0;             // batches solved and ranked
  uint64_t flushes = 0;                     // write-behind store writes
  uint64_t flush_failures = 0;              // failed ones (the lists stay pending)
  uint64_t unflushed_lists = 0;             // lists served from memory, not yet in the store
  uint64_t queue_depth = 0;                 // users waiting for a refresh
  uint64_t live_users = 0;                  // users with a live history in memory
  uint64_t live_bytes = 0;                  // their estimated memory
  uint64_t live_budget_bytes = 0;           // RealtimeOptions::live_memory_bytes
  uint64_t live_spilled = 0;                // histories moved to the store
  uint64_t live_restored = 0;               // spilled histories read back for a new event
  uint64_t live_spill_failures = 0;         // failed spills (kept in memory, retried)
  uint64_t live_restore_failures = 0;       // spilled histories that could not be read
  uint64_t activations = 0;                 // successful ActivateModel / Reload swaps
  // Enqueue -> list readable, in microseconds (log-scale histogram, about 10%
  // resolution). 0 before the first refresh.
  double refresh_latency_p50_us = 0;
  double refresh_latency_p99_us = 0;
  double refresh_latency_max_us = 0;
};

// Where the engine gets models from and records activations. RealtimeEngine::
// Start wraps a ModelRegistry in one; tests may supply their own.
class ModelSource {
 public:
  virtual ~ModelSource() = default;
  // As ModelRegistry::Load: NotFound, Corruption naming the file, ...
  virtual Result<RegisteredModel> Load(std::string_view version) const = 0;
  // As ModelRegistry::RecordActivation.
  virtual Status RecordActivation(std::string_view version) = 0;
};

// EventSink + ModelAdmin over a registry, a store and an event log (all
// borrowed; they must outlive the engine). The engine must be the only writer
// of `store` in this process while it runs (it serialises its own writes:
// refreshes and activations).
class RealtimeEngine : public EventSink, public ModelAdmin {
 public:
  // Loads the store's active version from the registry, replays WAL events
  // after its events_through_seq into users' histories and refreshes the
  // users they touch (before returning, so a restart keeps freshness), then
  // starts the refresher threads. With no active version the engine starts
  // without a model: events are only logged until a version is activated.
  static Result<std::unique_ptr<RealtimeEngine>> Start(ModelRegistry* registry,
                                                       RecommendationStore* store, EventLog* log,
                                                       const RealtimeOptions& options);
  static Result<std::unique_ptr<RealtimeEngine>> Start(std::unique_ptr<ModelSource> models,
                                                       RecommendationStore* store, EventLog* log,
                                                       const RealtimeOptions& options);
  ~RealtimeEngine() override;  // stops accepting, drains the queue, joins the threads
  RealtimeEngine(const RealtimeEngine&) = delete;
  RealtimeEngine& operator=(const RealtimeEngine&) = delete;

  // Reserves queue room for the events' distinct users (ResourceExhausted,
  // nothing logged, when full), appends the events (durable), applies them
  // to the live histories and queues the users whose row changed.
  // InvalidArgument (nothing logged) when an event fails ValidateEvent;
  // Unavailable once the engine is shutting down. Accept is AcceptAsync
  // waited for.
  Result<uint64_t> Accept(std::span<const Event> events) override;
  // Checks and reserves at once (a refusal calls `done` before returning);
  // the rest runs on the committer thread, which calls `done` once the
  // events are durable. Every request taken is answered, at shutdown too.
  void AcceptAsync(std::vector<Event> events, AcceptDone done) override;
  bool async_accept() const override { return true; }

  // Load + verify (Corruption/NotFound: nothing changes), require the store
  // to hold `version` complete (FailedPrecondition otherwise), rebuild the
  // live histories from the WAL after the model's events_through_seq and
  // write those users' fresh lists into `version`, then -- with event intake
  // paused for a moment so no event falls between the two models -- flip the
  // store pointer, record the activation and swap the live model.
  Status ActivateModel(std::string_view version) override;
  // Re-reads the store's active pointer; when it differs from the live
  // version, loads that version the same way (without re-recording it).
  Status Reload() override;
  std::string LiveVersion() const override;

  // The row the engine scores `user_id` from: their training row merged with
  // their live events by the folding rule (reco/event_folding.h), as
  // (external item ID, value) pairs in the live model's item order. Empty
  // when there is no model or the user has neither training data nor events.
  std::vector<std::pair<std::string, float>> UserRow(std::string_view user_id) const;

  RealtimeStats stats() const;
  // The stats in Prometheus text exposition format (reco_realtime_* metrics),
  // for the server's /metrics.
  std::string PrometheusText() const;

  // Blocks until every user queued so far has been refreshed and the lists
  // are flushed to the store (tests, shutdown).
  void WaitIdle();

 private:
  struct Impl;
  explicit RealtimeEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reco
