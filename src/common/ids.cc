#include "reco/ids.h"

#include <fmt/format.h>

#include "reco/text.h"

namespace reco {

namespace {

bool IsBadIdByte(unsigned char c) { return c < 0x20 || c == 0x7f || c == ',' || c == '"'; }

}  // namespace

std::string IdRuleViolation(std::string_view field, std::string_view id, size_t max_bytes,
                            IdEncoding encoding) {
  if (id.empty() || id.size() > max_bytes) {
    return fmt::format("{} must be 1..{} bytes, got {}", field, max_bytes, id.size());
  }
  if (encoding == IdEncoding::kUtf8 && !IsValidUtf8(id)) {
    return fmt::format("{} is not valid UTF-8", field);
  }
  for (char c : id) {
    if (IsBadIdByte(static_cast<unsigned char>(c))) {
      return fmt::format("{} contains a control character, ',' or '\"'", field);
    }
  }
  // With control characters refused, a blank here is a space.
  if (id.front() == ' ' || id.back() == ' ') {
    return fmt::format("{} has a leading or trailing blank", field);
  }
  return "";
}

}  // namespace reco
