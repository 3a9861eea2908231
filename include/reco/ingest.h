// What the HTTP server hands writes to. The server (reco/server.h) parses,
// authenticates and validates `POST /v1/events` and
// `POST /v1/admin/models/{version}/activate`; the work behind them (the
// write-ahead log, the online refresher, loading a model) lives behind these
// two interfaces so that the server stays a thin, testable shell and the
// real-time engine (reco/realtime.h) is testable without sockets.
//
// Accept and the admin calls block (an fdatasync, a model load), so the
// server never makes them on its event-loop threads: it runs them on a small
// pool of its own and answers the connection when they return. A sink that
// overrides AcceptAsync (and says so with async_accept) is called from the
// event loop instead: no thread hop per request, and the sink commits
// whatever is pending as one group.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reco/event_log.h"
#include "reco/status.h"

namespace reco {

class EventSink {
 public:
  virtual ~EventSink() = default;

  // Takes validated events (ValidateEvent passed for each). Returns the
  // sequence number of the last one once every event is durable in the
  // write-ahead log; the refresh of the users' lists is queued, not awaited.
  // Errors map to HTTP as: ResourceExhausted (the refresh queue is full;
  // nothing was written) -> 503 with Retry-After; InvalidArgument -> 400;
  // Unavailable / IOError (log not writable) -> 503; anything else -> 500.
  // Thread-safe.
  virtual Result<uint64_t> Accept(std::span<const Event> events) = 0;

  // What Accept returns, delivered once.
  using AcceptDone = std::function<void(Result<uint64_t>)>;
  // Accept without waiting: `done` runs exactly once with what Accept would
  // have returned, on a thread of the sink's choosing -- the caller's, before
  // AcceptAsync returns, for an answer known at once (a refusal). It must
  // not block. The default runs Accept on the caller's thread (so it blocks).
  virtual void AcceptAsync(std::vector<Event> events, AcceptDone done) { done(Accept(events)); }
  // True when AcceptAsync never blocks the caller, so the server may call it
  // from an event-loop thread.
  virtual bool async_accept() const { return false; }

  // Seconds a client should wait after a ResourceExhausted (Retry-After).
  virtual int RetryAfterSeconds() const { return 1; }
};

class ModelAdmin {
 public:
  virtual ~ModelAdmin() = default;

  // Makes `version` the serving model: loads and verifies it, checks that its
  // precomputed lists are complete in the store, swaps it in atomically
  // (requests in flight finish on the old one) and activates its lists.
  // NotFound: no such version (-> 404); Corruption / FailedPrecondition: the
  // model is unusable or its lists are incomplete, and the old model keeps
  // serving (-> 409); anything else -> 500. Thread-safe (serialised inside).
  virtual Status ActivateModel(std::string_view version) = 0;

  // Re-reads which version should serve (the store's active pointer) and
  // loads it if it changed; what SIGHUP does.
  virtual Status Reload() = 0;

  // The version the live model serves, "" when none.
  virtual std::string LiveVersion() const = 0;
};

}  // namespace reco
