// The bytes of the requests the load generator sends: the GET of the URL
// template and the POST of one event. Shared by the load connections and the
// freshness probes so both send exactly the same requests.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "reco/loadgen.h"

namespace reco::loadgen_internal {

// "GET <target for user> HTTP/1.1" with a Host header.
void AppendGetRequest(const UrlTemplate& url, std::string_view encoded_user, std::string* out);

// The parts of an event POST that do not change between requests.
class EventPostBuilder {
 public:
  EventPostBuilder(const UrlTemplate& url, const WriteWorkload& writes);

  // Appends the whole request for one event; `value` is omitted when empty.
  // `body` is the caller's scratch space (thread-safe: the builder is const).
  void Append(std::string_view user, std::string_view item, std::optional<int> value,
              std::string* body, std::string* out) const;

 private:
  std::string head_;        // request line and fixed headers, up to Content-Length
  std::string type_field_;  // ,"type":"..."
};

}  // namespace reco::loadgen_internal
