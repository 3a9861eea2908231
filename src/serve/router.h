// Routing and response rendering for one worker thread.
//
// The Router knows nothing of sockets: it takes a parsed request and appends a
// complete HTTP/1.1 response to the connection's output buffer, so pipelined
// responses of one read are written with a single send. All scratch (decoded
// ids, lists, the JSON body) is owned here and reused, one Router per worker
// thread; its metrics shard is that thread's.
//
// Writes are the exception: their work blocks (an fdatasync, a model load), so
// the Router only authenticates them and hands back a WriteJob; the server
// runs it on its ingest pool (RunWriteJob) and gives the result to
// FinishWrite on a worker thread, which renders it like any other response.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "metrics.h"
#include "reco/event_log.h"
#include "reco/ingest.h"
#include "reco/server.h"

namespace reco::serve {

enum class Method : uint8_t { kGet, kHead, kPost, kOther };

struct Request {
  Method method = Method::kGet;
  std::string_view target;
  int http_minor = 1;              // 0 or 1
  bool keep_alive = true;          // what the connection does after this response
  std::string_view authorization;  // the Authorization header's value
  int authorization_headers = 0;   // more than one is refused
  std::string* body = nullptr;     // write routes only; a WriteJob takes it
};

// True for the targets whose body is read (POST /v1/events, admin routes):
// the parser keeps their body, under max_event_body_bytes for /v1/events.
bool IsEventsTarget(std::string_view target);
bool IsWriteTarget(std::string_view target);

struct WriteJob {
  Route route = Route::kOther;
  std::string body;     // kEvents
  std::string version;  // kAdminActivate, decoded
  int http_minor = 1;
  bool keep_alive = true;
  std::chrono::steady_clock::time_point start;
};

struct WriteResult {
  int status = 500;
  std::string body;       // JSON
  int retry_after_s = 0;  // > 0 adds Retry-After
  // kEvents: what /metrics counts.
  bool accepted = false;
  EventRejection rejection = EventRejection::kError;
  uint64_t events = 0;
  uint64_t accept_nanos = 0;  // 0 when Accept was not called
};

// The blocking half of a write; runs on an ingest thread. Never throws.
WriteResult RunWriteJob(const WriteJob& job, const WriteBackends& backends,
                        const ServerOptions& options);

// POST /v1/events in halves, for a sink with async_accept: parse and
// validate the body (false: *r holds the 400/413 answer), then turn the
// sink's answer into *r.
bool ParseEventsJob(const WriteJob& job, const ServerOptions& options, std::vector<Event>* events,
                    WriteResult* r);
void FinishEventsJob(const Result<uint64_t>& seq, size_t events, const EventSink& sink,
                     WriteResult* r);
uint64_t NanosSince(std::chrono::steady_clock::time_point start);
// A 500 for a write that failed unexpectedly (bad_alloc).
WriteResult InternalErrorResult();

class Router {
 public:
  // `writes` may be null (no write routes, no keys).
  Router(const ServerOptions& options, RecommendationSource* source, ServerMetrics* metrics,
         int shard, const WriteBackends* writes = nullptr);

  // Answers one request into *out and returns true, or returns false having
  // filled *job: a write to run off the loop and finish with FinishWrite.
  bool Handle(const Request& request, std::string* out, WriteJob* job);
  // Reads only (tests): a GET/HEAD without headers or body.
  void Handle(Method method, std::string_view target, int http_minor, bool keep_alive,
              std::string* out);

  // Renders the answer of a write whose job has run.
  void FinishWrite(const WriteJob& job, const WriteResult& result, std::string* out);

  ServerMetrics* metrics() const { return metrics_; }
  int shard() const { return shard_; }

  // Answers a request that could not be parsed (400, 413, 414, 431); the
  // connection closes after it. `route` is known when the request line was.
  void Reject(int status, std::string_view message, std::string* out, Route route = Route::kOther);

 private:
  struct Response {
    Route route = Route::kOther;
    int status = 200;
    bool json = true;
    std::string_view allow;             // 405: the "Allow" header's value
    std::string_view www_authenticate;  // 401
    bool deferred = false;              // a WriteJob was filled
  };

  void Dispatch(const Request& request, Response* r, WriteJob* job);
  // Empty when the request carries a valid key; else the WWW-Authenticate value.
  std::string_view CheckKey(const Request& request) const;
  void ServeList(Route route, std::string_view raw_id, std::string_view query, Response* r);
  void ServeReadyz(Response* r);
  void ServeMetrics(Response* r);
  void Error(Response* r, int status, std::string_view code, std::string_view message);
  void StoreFailure(Response* r, const Status& status);
  void RenderList(std::string_view id_field, std::string_view id, std::string_view source, int k);
  void AppendHead(int status, bool json, bool keep_alive, int http_minor, const Response* r,
                  int retry_after_s, std::string* out);
  std::string_view DateHeader();

  const ServerOptions& options_;
  RecommendationSource* source_;
  ServerMetrics* metrics_;
  int shard_;
  const WriteBackends* writes_;

  std::string id_;      // decoded path id
  std::string k_text_;  // decoded k value
  std::string body_;    // response body, copied after the head once its length is known
  ScoredItemList list_;
  std::time_t date_second_ = 0;
  std::string date_;  // "Date: Tue, 25 Nov 2025 14:53:00 GMT\r\n"
};

}  // namespace reco::serve
