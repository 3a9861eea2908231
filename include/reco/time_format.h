// Wall-clock time and the forms in which reco writes it. Machine output (JSON
// fields, `reco models list`, `reco store versions`, reports) uses one form:
// ISO-8601 UTC with milliseconds, "2026-12-01T23:42:29.123Z". Version ids use
// a compact form of the same instant because they name directories and store
// keys that already exist on disk: never change it.
#pragma once

#include <cstdint>
#include <string>

namespace reco {

// Milliseconds since the Unix epoch, from the system (wall) clock.
int64_t UnixMillisNow();

// "2026-12-01T23:42:29.123Z". Times before 1970 are exact too (floor, not
// truncation, of the milliseconds).
std::string FormatUtcMillis(int64_t unix_ms);

// "20261201T234229.123Z": the version id form (see NewVersionId).
std::string FormatCompactUtcMillis(int64_t unix_ms);

// "Tue, 01 Dec 2026 23:42:29 GMT": the HTTP Date header (RFC 9110 IMF-fixdate).
std::string FormatHttpDate(int64_t unix_seconds);

}  // namespace reco
