#include "reco/time_format.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace reco {
namespace {

struct UtcParts {
  std::tm tm{};
  int millis = 0;
};

UtcParts SplitUtc(int64_t unix_ms) {
  // Floor division: -1 ms is 23:59:59.999 of the day before, not 00:00:00.-001.
  int64_t secs = unix_ms / 1000;
  int64_t millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  UtcParts parts;
  const auto t = static_cast<std::time_t>(secs);
  gmtime_r(&t, &parts.tm);
  parts.millis = static_cast<int>(millis);
  return parts;
}

}  // namespace

int64_t UnixMillisNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatUtcMillis(int64_t unix_ms) {
  const UtcParts p = SplitUtc(unix_ms);
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", p.tm.tm_year + 1900,
                p.tm.tm_mon + 1, p.tm.tm_mday, p.tm.tm_hour, p.tm.tm_min, p.tm.tm_sec, p.millis);
  return buf;
}

std::string FormatCompactUtcMillis(int64_t unix_ms) {
  const UtcParts p = SplitUtc(unix_ms);
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof(buf), "%04d%02d%02dT%02d%02d%02d.%03dZ", p.tm.tm_year + 1900,
                p.tm.tm_mon + 1, p.tm.tm_mday, p.tm.tm_hour, p.tm.tm_min, p.tm.tm_sec, p.millis);
  return buf;
}

std::string FormatHttpDate(int64_t unix_seconds) {
  const UtcParts p = SplitUtc(unix_seconds * 1000);
  // strftime's %a and %b follow the locale; HTTP wants these English names.
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[96];  // room for any int the format could print
  std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[p.tm.tm_wday],
                p.tm.tm_mday, kMonths[p.tm.tm_mon], p.tm.tm_year + 1900, p.tm.tm_hour, p.tm.tm_min,
                p.tm.tm_sec);
  return buf;
}

}  // namespace reco
