// The blocking half of the write routes, run on the server's ingest pool:
// parse and validate an events body, hand it to the EventSink, or activate a
// model through the ModelAdmin, and turn the outcome into a response.
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <vector>

#include "event_json.h"
#include "reco/ingest.h"
#include "reco/text.h"
#include "router.h"
#include "text_util.h"

namespace reco::serve {
namespace {

// ingest.h: ResourceExhausted means the refresh queue is full (503 with
// Retry-After, counted as queue_full).
bool IsQueueFull(const Status& status) { return status.code() == Status::Code::kResourceExhausted; }

void Fail(WriteResult* r, int status, std::string_view code, std::string_view message,
          std::string_view field = {}, int64_t index = -1) {
  r->status = status;
  r->body.clear();
  AppendErrorJson(&r->body, code, message, field, index);
}

void RunEvents(const WriteJob& job, const WriteBackends& backends, const ServerOptions& options,
               WriteResult* r) {
  std::vector<Event> events;
  if (!ParseEventsJob(job, options, &events, r)) return;
  EventSink* sink = backends.events;
  const auto start = std::chrono::steady_clock::now();
  Result<uint64_t> seq = sink->Accept(events);
  r->accept_nanos = NanosSince(start);
  FinishEventsJob(seq, events.size(), *sink, r);
}

void RunActivate(const WriteJob& job, const WriteBackends& backends, WriteResult* r) {
  const Status st = backends.models->ActivateModel(job.version);
  if (st.ok()) {
    spdlog::info("admin: model version {} activated", job.version);
    r->status = 200;
    r->body = "{\"active\":";
    AppendJsonString(&r->body, job.version);
    r->body.push_back('}');
    return;
  }
  // The log gets the detail (paths, checksums, sizes); the client a short,
  // specific reason that leaks nothing about the server's files.
  spdlog::warn("admin: activating model version {} failed: {}", CapForLog(job.version),
               CapForLog(st.ToString(), 1024));
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      return Fail(r, 400, "bad_request",
                  "version must be 1..64 characters from [A-Za-z0-9._-], not starting with '.'");
    case Status::Code::kNotFound:
      return Fail(r, 404, "not_found", "no such model version");
    case Status::Code::kCorruption:
      return Fail(r, 409, "conflict",
                  "refused, the previous model keeps serving: the version's files are damaged "
                  "(the server log has the detail)");
    case Status::Code::kFailedPrecondition:
      return Fail(r, 409, "conflict",
                  "refused, the previous model keeps serving: the version cannot serve (its "
                  "lists are incomplete or its model is unusable; the server log has the detail)");
    default:
      return Fail(r, 500, "internal", "internal error");
  }
}

}  // namespace

bool ParseEventsJob(const WriteJob& job, const ServerOptions& options, std::vector<Event>* events,
                    WriteResult* r) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  EventBodyError error;
  if (ParseEventsBody(job.body, options.max_events_per_request, now_ms, events, &error)) {
    return true;
  }
  r->rejection = error.status == 413 ? EventRejection::kTooLarge : EventRejection::kInvalid;
  Fail(r, error.status, error.status == 413 ? "payload_too_large" : "bad_request", error.message,
       error.field, error.index);
  return false;
}

void FinishEventsJob(const Result<uint64_t>& seq, size_t events, const EventSink& sink,
                     WriteResult* r) {
  if (seq.ok()) {
    r->accepted = true;
    r->events = events;
    r->status = 202;
    r->body = "{\"accepted\":";
    AppendUint(&r->body, events);
    r->body.append(",\"last_seq\":");
    AppendUint(&r->body, seq.value());
    r->body.push_back('}');
    return;
  }
  const Status& st = seq.status();
  if (IsQueueFull(st)) {
    r->rejection = EventRejection::kQueueFull;
    r->retry_after_s = std::max(1, sink.RetryAfterSeconds());
    return Fail(r, 503, "unavailable", "the refresh queue is full; retry later");
  }
  switch (st.code()) {
    case Status::Code::kInvalidArgument:
      r->rejection = EventRejection::kInvalid;
      return Fail(r, 400, "bad_request", st.message());
    case Status::Code::kUnavailable:
    case Status::Code::kIOError:
      spdlog::warn("events not accepted: {}", st.ToString());
      r->rejection = EventRejection::kUnavailable;
      r->retry_after_s = std::max(1, sink.RetryAfterSeconds());
      return Fail(r, 503, "unavailable", "events cannot be recorded now; retry later");
    default:
      spdlog::error("events not accepted: {}", st.ToString());
      r->rejection = EventRejection::kError;
      return Fail(r, 500, "internal", "internal error");
  }
}

WriteResult RunWriteJob(const WriteJob& job, const WriteBackends& backends,
                        const ServerOptions& options) {
  WriteResult r;
  try {
    if (job.route == Route::kEvents) {
      RunEvents(job, backends, options, &r);
    } else {
      RunActivate(job, backends, &r);
    }
  } catch (const std::exception& e) {
    // bad_alloc, or a backend that broke the no-exceptions rule: the request
    // fails, the server does not.
    spdlog::error("write request failed: {}", CapForLog(e.what()));
    r = InternalErrorResult();
  }
  return r;
}

WriteResult InternalErrorResult() {
  WriteResult r;
  Fail(&r, 500, "internal", "internal error");
  return r;
}

}  // namespace reco::serve
