// Locale-independent ASCII helpers for protocol text (HTTP header names,
// URL schemes), where case-insensitivity is ASCII-only by definition.
#pragma once

#include <string_view>

namespace reco {

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

}  // namespace reco
