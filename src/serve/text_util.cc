#include "text_util.h"

#include <charconv>

namespace reco::serve {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

bool ParsePositiveInt(std::string_view s, int* value) {
  if (s.empty() || s.size() > 10) return false;
  int v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size() || v < 1) return false;
  *value = v;
  return true;
}

void AppendErrorJson(std::string* out, std::string_view code, std::string_view message,
                     std::string_view field, int64_t index) {
  out->append("{\"error\":{\"code\":");
  AppendJsonString(out, code);
  out->append(",\"message\":");
  AppendJsonString(out, message);
  if (!field.empty()) {
    out->append(",\"field\":");
    AppendJsonString(out, field);
  }
  if (index >= 0) {
    out->append(",\"index\":");
    AppendUint(out, static_cast<uint64_t>(index));
  }
  out->append("}}");
}

}  // namespace reco::serve
