// The body of POST /v1/events: JSON to validated Events (docs/api.md, "Events").
//
// Accepted shapes: one event object, or {"events": [event, ...]}. An event has
// user_id and item_id (a string, or an integer taken as its decimal string),
// type (string), and optionally value (number) and timestamp (integer Unix
// seconds below 1e11, else milliseconds; default now). Any other field, a
// duplicated field, or nesting deeper than the shapes above is an error: a
// typo must not silently drop data. A batch is all-or-nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reco/event_log.h"

namespace reco::serve {

// Timestamps below this are seconds, at or above it milliseconds: 1e11 s is
// the year 5138, 1e11 ms is March 1973, so no plausible time is ambiguous.
inline constexpr int64_t kTimestampMillisThreshold = 100'000'000'000;
// 9999-12-31T23:59:59.999Z.
inline constexpr int64_t kMaxTimestampMs = 253'402'300'799'999;

struct EventBodyError {
  int status = 400;     // 413 when the batch holds too many events
  std::string field;    // "" when the body as a whole is wrong
  int64_t index = -1;   // the offending event's position; -1 when not about one event
  std::string message;  // complete, e.g. "events[3].item_id must be a string or an integer"
};

// Parses and validates (ValidateEvent) every event of `body` into *events.
// Returns false with *error set on the first problem; *events is then
// unspecified.
bool ParseEventsBody(std::string_view body, uint32_t max_events, int64_t now_ms,
                     std::vector<Event>* events, EventBodyError* error);

}  // namespace reco::serve
