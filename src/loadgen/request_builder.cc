#include "request_builder.h"

#include <fmt/format.h>

namespace reco::loadgen_internal {

void AppendJsonString(std::string_view raw, std::string* out) {
  out->push_back('"');
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append(fmt::format("\\u{:04x}", c));
        } else {
          out->push_back(ch);  // UTF-8 passes through as is
        }
    }
  }
  out->push_back('"');
}

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
  AppendJsonString(writes.event_type, &type_field_);
}

void EventPostBuilder::Append(std::string_view user, std::string_view item,
                              std::optional<int> value, std::string* body, std::string* out) const {
  body->assign("{\"user_id\":");
  AppendJsonString(user, body);
  body->append(",\"item_id\":");
  AppendJsonString(item, body);
  body->append(type_field_);
  if (value) body->append(fmt::format(",\"value\":{}", *value));
  body->push_back('}');
  out->append(head_);
  out->append(std::to_string(body->size()));
  out->append("\r\n\r\n");
  out->append(*body);
}

}  // namespace reco::loadgen_internal
