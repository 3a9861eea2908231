// Small text helpers shared by every module: trimming, UTF-8 validation and
// writing JSON strings and numbers straight into an output buffer. For
// ASCII-only case-insensitive comparison see reco/ascii.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace reco {

// Without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
// Locale-independent, unlike std::isspace.
std::string_view Trim(std::string_view s);

// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Any C0 control character or DEL.
bool HasControlChars(std::string_view s);

// What a log line may quote of outside input (a request body, a parser's
// message that repeats it): `s` when it has at most max_bytes bytes, else
// its first max_bytes bytes (cut back to a UTF-8 boundary) and "…". One
// request must never add its whole body to the log.
inline constexpr size_t kMaxLoggedInputBytes = 128;
std::string CapForLog(std::string_view s, size_t max_bytes = kMaxLoggedInputBytes);

// Appends s as a quoted JSON string (RFC 8259): '"', '\\' and control
// characters escaped, well-formed UTF-8 copied as is, and every byte that is
// not part of well-formed UTF-8 replaced by U+FFFD (as "\ufffd"), so the
// document stays valid whatever bytes the caller holds.
void AppendJsonString(std::string* out, std::string_view s);

// Shortest decimal that round-trips the float; non-finite values become null.
void AppendJsonFloat(std::string* out, float value);

// Decimal digits of value.
void AppendUint(std::string* out, uint64_t value);

// Untrusted bytes (a key, an ID) quoted for a message or log line: in double
// quotes, '"' and '\\' backslash-escaped, bytes outside printable ASCII as
// \xNN, at most `max_shown` input bytes followed by "..." when longer, so
// binary data can neither garble nor flood the output.
std::string QuoteBytes(std::string_view s, size_t max_shown = 64);

}  // namespace reco
