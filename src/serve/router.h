// Routing and response rendering for one worker thread.
//
// The Router knows nothing of sockets: it takes a parsed request line and
// appends a complete HTTP/1.1 response to the connection's output buffer, so
// pipelined responses of one read are written with a single send. All scratch
// (decoded ids, lists, the JSON body) is owned here and reused, one Router per
// worker thread; its metrics shard is that thread's.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "metrics.h"
#include "reco/server.h"

namespace reco::serve {

enum class Method : uint8_t { kGet, kHead, kOther };

class Router {
 public:
  Router(const ServerOptions& options, RecommendationSource* source, ServerMetrics* metrics,
         int shard);

  // Answers one request. keep_alive is what the connection will do after this
  // response (it decides the Connection header); http_minor is 0 or 1.
  void Handle(Method method, std::string_view target, int http_minor, bool keep_alive,
              std::string* out);

  ServerMetrics* metrics() const { return metrics_; }
  int shard() const { return shard_; }

  // Answers a request that could not be parsed (400, 413, 414, 431); the
  // connection closes after it.
  void Reject(int status, std::string_view message, std::string* out);

 private:
  struct Response {
    Route route = Route::kOther;
    int status = 200;
    bool json = true;
    bool allow_get = false;  // add "Allow: GET, HEAD" (405)
  };

  void Dispatch(Method method, std::string_view target, Response* r);
  void ServeList(Route route, std::string_view raw_id, std::string_view query, Response* r);
  void ServeReadyz(Response* r);
  void ServeMetrics(Response* r);
  void Error(Response* r, int status, std::string_view code, std::string_view message);
  void StoreFailure(Response* r, const Status& status);
  void RenderList(std::string_view id_field, std::string_view id, std::string_view source, int k);
  void AppendHead(int status, bool json, bool keep_alive, int http_minor, bool allow_get,
                  std::string* out);
  std::string_view DateHeader();

  const ServerOptions& options_;
  RecommendationSource* source_;
  ServerMetrics* metrics_;
  int shard_;

  std::string id_;      // decoded path id
  std::string k_text_;  // decoded k value
  std::string body_;    // response body, copied after the head once its length is known
  ScoredItemList list_;
  std::time_t date_second_ = 0;
  std::string date_;  // "Date: Tue, 25 Nov 2025 14:53:00 GMT\r\n"
};

}  // namespace reco::serve
