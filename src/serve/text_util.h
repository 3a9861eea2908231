// Byte-level helpers of the HTTP layer: decoding request targets and writing
// JSON and numbers straight into an output buffer (no temporaries).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace reco::serve {

// Decodes %XX escapes of a path segment or query value into *out (which is
// overwritten). Returns false on a truncated or non-hex escape. '+' is kept:
// it only means space in HTML form bodies.
bool PercentDecode(std::string_view in, std::string* out);

// Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Any C0 control character or DEL.
bool HasControlChars(std::string_view s);

// Appends s as a quoted JSON string. Bytes that are not valid UTF-8 become
// U+FFFD so the document stays valid whatever the store holds.
void AppendJsonString(std::string* out, std::string_view s);

// Shortest decimal that round-trips the float; non-finite values become null.
void AppendJsonFloat(std::string* out, float value);

void AppendUint(std::string* out, uint64_t value);

// {"error":{"code":...,"message":...[,"field":...][,"index":n]}}: the body of
// every error response. field is omitted when empty, index when negative.
void AppendErrorJson(std::string* out, std::string_view code, std::string_view message,
                     std::string_view field = {}, int64_t index = -1);

// Parses a decimal integer in [1, 2^31); false for anything else.
bool ParsePositiveInt(std::string_view s, int* value);

}  // namespace reco::serve
