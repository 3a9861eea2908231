#include "router.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "reco/ascii.h"
#include "reco/event_log.h"
#include "reco/ids.h"
#include "reco/ingest.h"
#include "reco/time_format.h"
#include "text_util.h"

namespace reco::serve {
namespace {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

std::string_view ErrorCodeFor(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    case 431:
      return "header_too_large";
    case 503:
      return "unavailable";
    default:
      return "internal";
  }
}

// Finds the k parameter of a query string. Returns false if it is present
// more than once; *raw is empty if absent.
bool FindK(std::string_view query, std::string_view* raw, bool* present) {
  *present = false;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    if (name != "k") continue;
    if (*present) return false;
    *present = true;
    *raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return true;
}

// The origin-form of a target: absolute-form ("http://host/path", RFC 9112
// 3.2.2) must be accepted too.
std::string_view OriginForm(std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    const size_t authority = target.find("//") + 2;
    const size_t path = target.find('/', authority);
    return path == std::string_view::npos ? std::string_view("/") : target.substr(path);
  }
  return target;
}

std::string_view PathOf(std::string_view target) {
  target = OriginForm(target);
  return target.substr(0, target.find('?'));
}

constexpr std::string_view kAdminModels = "/v1/admin/models/";
constexpr std::string_view kActivate = "/activate";
constexpr std::string_view kBearerChallenge = "Bearer realm=\"reco\"";
constexpr std::string_view kInvalidTokenChallenge =
    "Bearer realm=\"reco\", error=\"invalid_token\"";

}  // namespace

uint64_t NanosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
}

bool IsEventsTarget(std::string_view target) { return PathOf(target) == "/v1/events"; }

bool IsWriteTarget(std::string_view target) {
  const std::string_view path = PathOf(target);
  return path == "/v1/events" || path.starts_with("/v1/admin/");
}

Router::Router(const ServerOptions& options, RecommendationSource* source, ServerMetrics* metrics,
               int shard, const WriteBackends* writes)
    : options_(options), source_(source), metrics_(metrics), shard_(shard), writes_(writes) {
  body_.reserve(4096);
  id_.reserve(options.max_id_bytes);
}

bool Router::Handle(const Request& request, std::string* out, WriteJob* job) {
  const auto start = std::chrono::steady_clock::now();
  body_.clear();
  Response r;
  Dispatch(request, &r, job);
  if (r.deferred) {
    job->route = r.route;
    job->http_minor = request.http_minor;
    job->keep_alive = request.keep_alive;
    job->start = start;
    return false;
  }
  AppendHead(r.status, r.json, request.keep_alive, request.http_minor, &r, 0, out);
  if (request.method != Method::kHead) out->append(body_);
  metrics_->RecordRequest(shard_, r.route, r.status, NanosSince(start));
  return true;
}

void Router::Handle(Method method, std::string_view target, int http_minor, bool keep_alive,
                    std::string* out) {
  Request request;
  request.method = method;
  request.target = target;
  request.http_minor = http_minor;
  request.keep_alive = keep_alive;
  WriteJob unused;
  Handle(request, out, &unused);
}

void Router::FinishWrite(const WriteJob& job, const WriteResult& result, std::string* out) {
  body_.assign(result.body);
  Response r;
  r.route = job.route;
  r.status = result.status;
  AppendHead(r.status, true, job.keep_alive, job.http_minor, &r, result.retry_after_s, out);
  out->append(body_);
  metrics_->RecordRequest(shard_, r.route, r.status, NanosSince(job.start));
  if (job.route == Route::kEvents) {
    if (result.accepted) {
      metrics_->RecordEventsAccepted(shard_, result.events, result.accept_nanos);
    } else {
      metrics_->RecordEventsRejected(shard_, result.rejection, result.accept_nanos);
    }
  }
}

void Router::Reject(int status, std::string_view message, std::string* out, Route route) {
  body_.clear();
  Response r;
  r.route = route;
  Error(&r, status, ErrorCodeFor(status), message);
  AppendHead(r.status, true, /*keep_alive=*/false, 1, &r, 0, out);
  out->append(body_);
  metrics_->RecordRequest(shard_, route, status, 0);
  if (route == Route::kEvents) {
    metrics_->RecordEventsRejected(
        shard_, status == 413 ? EventRejection::kTooLarge : EventRejection::kInvalid, 0);
  }
}

std::string_view Router::CheckKey(const Request& request) const {
  // Start() refuses keyed routes without keys unless writes were explicitly
  // left open, so no keys means open.
  if (writes_ == nullptr || writes_->keys.empty()) return {};
  if (request.authorization_headers == 0) return kBearerChallenge;
  if (request.authorization_headers > 1) return kInvalidTokenChallenge;
  std::string_view value = request.authorization;
  constexpr std::string_view kScheme = "bearer";
  if (value.size() <= kScheme.size() ||
      !EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme) || value[kScheme.size()] != ' ') {
    return kInvalidTokenChallenge;
  }
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return writes_->keys.Verify(value) ? std::string_view() : kInvalidTokenChallenge;
}

void Router::Dispatch(const Request& request, Response* r, WriteJob* job) {
  const Method method = request.method;
  const std::string_view target = OriginForm(request.target);
  const size_t qmark = target.find('?');
  const std::string_view path = target.substr(0, qmark);
  const std::string_view query =
      qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);

  Route route = Route::kOther;
  std::string_view raw_id;
  constexpr std::string_view kUsers = "/v1/users/";
  constexpr std::string_view kItems = "/v1/items/";
  if (path == "/healthz") {
    route = Route::kHealthz;
  } else if (path == "/readyz") {
    route = Route::kReadyz;
  } else if (path == "/metrics") {
    route = Route::kMetrics;
  } else if (path == "/v1/events") {
    route = Route::kEvents;
  } else if (path.starts_with(kAdminModels) && path.ends_with(kActivate) &&
             path.size() > kAdminModels.size() + kActivate.size()) {
    raw_id = path.substr(kAdminModels.size(), path.size() - kAdminModels.size() - kActivate.size());
    if (raw_id.find('/') == std::string_view::npos) route = Route::kAdminActivate;
  } else if (path.starts_with(kUsers) || path.starts_with(kItems)) {
    const bool users = path.starts_with(kUsers);
    const std::string_view rest = path.substr(kUsers.size());  // both prefixes are 10 bytes
    const size_t slash = rest.find('/');
    if (slash != std::string_view::npos) {
      const std::string_view tail = rest.substr(slash);
      if (users && tail == "/recommendations") route = Route::kUserRecommendations;
      if (!users && tail == "/similar") route = Route::kSimilarItems;
      raw_id = rest.substr(0, slash);
    }
  }
  r->route = route;
  if (route == Route::kOther) return Error(r, 404, "not_found", "no such route");
  const bool write = route == Route::kEvents || route == Route::kAdminActivate;
  if (write ? method != Method::kPost : method != Method::kGet && method != Method::kHead) {
    r->allow = write ? "POST" : "GET, HEAD";
    return Error(r, 405, "method_not_allowed",
                 write ? "only POST is allowed here" : "only GET and HEAD are allowed here");
  }
  if (write) {
    const bool events = route == Route::kEvents;
    if (writes_ == nullptr || (events ? writes_->events == nullptr : writes_->models == nullptr)) {
      return Error(r, 404, "not_found",
                   events ? "event ingestion is not enabled on this server"
                          : "model administration is not enabled on this server");
    }
  }
  if (write ||
      (options_.require_key_for_reads && route != Route::kHealthz && route != Route::kReadyz)) {
    if (const std::string_view challenge = CheckKey(request); !challenge.empty()) {
      r->www_authenticate = challenge;
      if (route == Route::kEvents) {
        metrics_->RecordEventsRejected(shard_, EventRejection::kUnauthorized, 0);
      }
      return Error(r, 401, "unauthorized",
                   challenge == kBearerChallenge
                       ? "an API key is required: Authorization: Bearer <key>"
                       : "invalid API key");
    }
  }
  switch (route) {
    case Route::kEvents:
      job->body.clear();
      if (request.body != nullptr) job->body.swap(*request.body);
      r->deferred = true;
      return;
    case Route::kAdminActivate:
      if (!PercentDecode(raw_id, &id_)) {
        return Error(r, 400, "bad_request", "version has invalid percent-encoding");
      }
      if (std::string reason = IdRuleViolation("version", id_, options_.max_id_bytes);
          !reason.empty()) {
        return Error(r, 400, "bad_request", reason);
      }
      job->version = id_;
      r->deferred = true;
      return;
    case Route::kHealthz:
      body_.append("{\"status\":\"ok\"}");
      return;
    case Route::kReadyz:
      return ServeReadyz(r);
    case Route::kMetrics:
      return ServeMetrics(r);
    default:
      return ServeList(route, raw_id, query, r);
  }
}

void Router::ServeList(Route route, std::string_view raw_id, std::string_view query, Response* r) {
  const bool users = route == Route::kUserRecommendations;
  const std::string_view what = users ? "user_id" : "item_id";
  // Checked before decoding so an oversized id costs nothing (the same
  // message IdRuleViolation gives after decoding).
  if (raw_id.size() > 3 * static_cast<size_t>(options_.max_id_bytes)) {
    return Error(
        r, 400, "bad_request",
        std::string(what) + " must be 1.." + std::to_string(options_.max_id_bytes) + " bytes");
  }
  if (!PercentDecode(raw_id, &id_)) {
    return Error(r, 400, "bad_request", std::string(what) + " has invalid percent-encoding");
  }
  // The rules every ID entered by (docs/api.md), so no stored list has an ID
  // this refuses.
  if (std::string reason = IdRuleViolation(what, id_, options_.max_id_bytes); !reason.empty()) {
    return Error(r, 400, "bad_request", reason);
  }

  std::string_view raw_k;
  bool k_present = false;
  if (!FindK(query, &raw_k, &k_present)) {
    return Error(r, 400, "bad_request", "k is given more than once");
  }
  int k = 0;
  if (k_present && (!PercentDecode(raw_k, &k_text_) || !ParsePositiveInt(k_text_, &k))) {
    return Error(r, 400, "bad_request", "k must be a positive integer");
  }

  std::string_view source_name = "model";
  Status st =
      users ? source_->GetUserRecommendations(id_, &list_) : source_->GetSimilarItems(id_, &list_);
  if (users && st.code() == Status::Code::kNotFound) {
    metrics_->RecordPopularFallback(shard_);
    source_name = "popular";
    st = source_->GetPopularItems(&list_);
    if (st.code() == Status::Code::kNotFound) {
      return Error(r, 404, "not_found", "unknown user and the model has no popular list");
    }
  }
  if (st.code() == Status::Code::kNotFound) return Error(r, 404, "not_found", "unknown item");
  if (!st.ok()) return StoreFailure(r, st);

  const int stored = static_cast<int>(list_.size());
  if (!k_present) {
    k = std::min(options_.default_k, stored);
  } else if (k > stored) {
    body_.clear();
    body_.append("k must be between 1 and ");
    AppendUint(&body_, static_cast<uint64_t>(stored));
    body_.append(" (the stored list length)");
    const std::string message = body_;  // error path only: a copy is fine
    body_.clear();
    return Error(r, 400, "bad_request", message);
  }
  RenderList(what, id_, users ? source_name : std::string_view(), k);
}

void Router::RenderList(std::string_view id_field, std::string_view id, std::string_view source,
                        int k) {
  body_.append("{\"");
  body_.append(id_field);
  body_.append("\":");
  AppendJsonString(&body_, id);
  body_.append(",\"model_version\":");
  AppendJsonString(&body_, list_.model_version);
  if (!source.empty()) {
    body_.append(",\"source\":\"");
    body_.append(source);
    body_.push_back('"');
  }
  body_.append(",\"items\":[");
  for (int i = 0; i < k; ++i) {
    if (i > 0) body_.push_back(',');
    body_.append("{\"item_id\":");
    AppendJsonString(&body_, list_.item_id(static_cast<size_t>(i)));
    body_.append(",\"score\":");
    AppendJsonFloat(&body_, list_.score(static_cast<size_t>(i)));
    body_.push_back('}');
  }
  body_.append("]}");
}

void Router::ServeReadyz(Response* r) {
  const Status st = source_->CheckReady();
  if (!st.ok()) {
    // The detail (hosts, paths) goes to the log, not to the client.
    spdlog::debug("readyz: {}", st.ToString());
    return Error(r, 503, "unavailable",
                 st.code() == Status::Code::kFailedPrecondition ? "no active model version"
                                                                : "store unavailable");
  }
  if (writes_ != nullptr && writes_->event_log != nullptr) {
    if (const Status log = writes_->event_log->health(); !log.ok()) {
      spdlog::debug("readyz: {}", log.ToString());
      return Error(r, 503, "unavailable",
                   "event log not writable: events cannot be made durable; restart once the "
                   "event log directory is usable");
    }
  }
  body_.append("{\"status\":\"ready\",\"model_version\":");
  AppendJsonString(&body_, source_->ActiveVersion());
  if (writes_ != nullptr && writes_->models != nullptr) {
    body_.append(",\"live_model_version\":");
    AppendJsonString(&body_, writes_->models->LiveVersion());
  }
  body_.push_back('}');
}

void Router::ServeMetrics(Response* r) {
  r->json = false;
  metrics_->Render(source_->ActiveVersion(), &body_);
  if (writes_ != nullptr && writes_->event_log != nullptr) {
    ServerMetrics::RenderEventLogHealth(writes_->event_log->health().ok(), &body_);
  }
  if (writes_ != nullptr && writes_->extra_metrics) body_.append(writes_->extra_metrics());
}

void Router::StoreFailure(Response* r, const Status& status) {
  metrics_->RecordStoreError(shard_);
  spdlog::debug("store read failed: {}", status.ToString());
  switch (status.code()) {
    case Status::Code::kFailedPrecondition:
      return Error(r, 503, "unavailable", "no active model version");
    case Status::Code::kUnavailable:
    case Status::Code::kIOError:
      return Error(r, 503, "unavailable", "store unavailable");
    default:
      return Error(r, 500, "internal", "internal error");
  }
}

void Router::Error(Response* r, int status, std::string_view code, std::string_view message) {
  r->status = status;
  r->json = true;
  body_.clear();
  AppendErrorJson(&body_, code, message);
}

std::string_view Router::DateHeader() {
  const std::time_t now = std::time(nullptr);
  if (now != date_second_ || date_.empty()) {
    date_second_ = now;
    date_ = "Date: " + FormatHttpDate(static_cast<int64_t>(now)) + "\r\n";
  }
  return date_;
}

void Router::AppendHead(int status, bool json, bool keep_alive, int http_minor, const Response* r,
                        int retry_after_s, std::string* out) {
  out->append("HTTP/1.1 ");
  AppendUint(out, static_cast<uint64_t>(status));
  out->push_back(' ');
  out->append(ReasonPhrase(status));
  out->append("\r\nServer: reco\r\n");
  out->append(DateHeader());
  out->append(json ? "Content-Type: application/json\r\n"
                   : "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
  out->append("Content-Length: ");
  AppendUint(out, body_.size());
  out->append("\r\n");
  if (!r->allow.empty()) out->append("Allow: ").append(r->allow).append("\r\n");
  if (!r->www_authenticate.empty()) {
    out->append("WWW-Authenticate: ").append(r->www_authenticate).append("\r\n");
  }
  if (retry_after_s > 0) {
    out->append("Retry-After: ");
    AppendUint(out, static_cast<uint64_t>(retry_after_s));
    out->append("\r\n");
  }
  if (!keep_alive) {
    out->append("Connection: close\r\n");
  } else if (http_minor == 0) {
    out->append("Connection: keep-alive\r\n");
  }
  out->append("\r\n");
}

}  // namespace reco::serve
