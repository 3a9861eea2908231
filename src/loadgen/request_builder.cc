#include "request_builder.h"

#include <fmt/format.h>

#include "reco/text.h"

namespace reco::loadgen_internal {

void AppendGetRequest(const UrlTemplate& url, std::string_view encoded_user, std::string* out) {
  out->append("GET ");
  url.AppendTarget(encoded_user, out);
  out->append(" HTTP/1.1\r\nHost: ");
  out->append(url.host_header);
  out->append("\r\n\r\n");
}

EventPostBuilder::EventPostBuilder(const UrlTemplate& url, const WriteWorkload& writes) {
  // append() rather than operator+ chains: GCC 12 -O3 reports a false
  // -Wrestrict inside inlined string concatenation.
  head_.append("POST ").append(writes.path).append(" HTTP/1.1\r\nHost: ");
  head_.append(url.host_header).append("\r\nContent-Type: application/json\r\n");
  if (!writes.api_key.empty()) {
    head_.append("Authorization: Bearer ").append(writes.api_key).append("\r\n");
  }
  head_.append("Content-Length: ");
  type_field_ = ",\"type\":";
  AppendJsonString(&type_field_, writes.event_type);
}

void EventPostBuilder::Append(std::string_view user, std::string_view item,
                              std::optional<int> value, std::string* body, std::string* out) const {
  body->assign("{\"user_id\":");
  AppendJsonString(body, user);
  body->append(",\"item_id\":");
  AppendJsonString(body, item);
  body->append(type_field_);
  if (value) body->append(fmt::format(",\"value\":{}", *value));
  body->push_back('}');
  out->append(head_);
  out->append(std::to_string(body->size()));
  out->append("\r\n\r\n");
  out->append(*body);
}

}  // namespace reco::loadgen_internal
