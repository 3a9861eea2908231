// Byte-level helpers of the HTTP layer: decoding request targets, error
// bodies and query numbers. The JSON writers they build on are reco/text.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "reco/text.h"  // JSON strings and numbers, UTF-8 checks: shared with every module

namespace reco::serve {

// Decodes %XX escapes of a path segment or query value into *out (which is
// overwritten). Returns false on a truncated or non-hex escape. '+' is kept:
// it only means space in HTML form bodies.
bool PercentDecode(std::string_view in, std::string* out);

// {"error":{"code":...,"message":...[,"field":...][,"index":n]}}: the body of
// every error response. field is omitted when empty, index when negative.
void AppendErrorJson(std::string* out, std::string_view code, std::string_view message,
                     std::string_view field = {}, int64_t index = -1);

// Parses a decimal integer in [1, 2^31); false for anything else.
bool ParsePositiveInt(std::string_view s, int* value);

}  // namespace reco::serve
