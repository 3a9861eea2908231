// The real-time engine behind `POST /v1/events`: events are made durable in
// the write-ahead log, then a bounded queue feeds refresher threads that
// fold the user's vector in against the live model's fixed item factors
// (reco/fold_in.h), rank the user's top-k unseen items and write that one
// list into the active store version, so the next GET serves it.
//
// The live model is a registry version (reco/model_registry.h) held through
// a shared_ptr swapped atomically on activation: a refresh in flight finishes
// on the model it started with and writes under that model's version.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "reco/event_log.h"
#include "reco/ingest.h"
#include "reco/model_registry.h"
#include "reco/rec_store.h"
#include "reco/status.h"

namespace reco {

struct RealtimeOptions {
  size_t queue_capacity = 4096;  // pending user refreshes; beyond -> 503
  int refresh_threads = 1;
  uint32_t k = 10;  // length of a refreshed list (as precompute's k)
  // Which events count for an explicit model: those with a value, read as a
  // rating. Implicit models take every event, strength = value or 1.
};

struct RealtimeStats {
  uint64_t events_accepted = 0;
  uint64_t events_rejected_queue_full = 0;
  uint64_t refreshes = 0;         // user lists written
  uint64_t refresh_failures = 0;  // solve or store write failed (logged)
  uint64_t queue_depth = 0;
  // Enqueue -> list written, in microseconds.
  double refresh_latency_p50_us = 0;
  double refresh_latency_p99_us = 0;
};

// EventSink + ModelAdmin over a registry, a store and an event log (all
// borrowed; they must outlive the engine).
class RealtimeEngine : public EventSink, public ModelAdmin {
 public:
  // Loads the store's active version from the registry, replays WAL events
  // after its events_through_seq into users' histories (refreshing the users
  // they touch), then starts the refresher threads.
  static Result<std::unique_ptr<RealtimeEngine>> Start(ModelRegistry* registry,
                                                       RecommendationStore* store, EventLog* log,
                                                       const RealtimeOptions& options);
  ~RealtimeEngine() override;  // drains the queue, joins the threads

  Result<uint64_t> Accept(std::span<const Event> events) override;
  Status ActivateModel(std::string_view version) override;
  Status Reload() override;
  std::string LiveVersion() const override;

  RealtimeStats stats() const;
  // Blocks until every event accepted so far has been refreshed (tests, shutdown).
  void WaitIdle();
};

}  // namespace reco
