#include "reco/time_format.h"

#include <gtest/gtest.h>

#include <regex>

namespace reco {
namespace {

// 2026-12-01T23:42:29.123Z, computed with `date -u -d @1796168549`.
constexpr int64_t kKnownMs = int64_t{1796168549} * 1000 + 123;

TEST(TimeFormatTest, IsoUtcWithMilliseconds) {
  EXPECT_EQ(FormatUtcMillis(kKnownMs), "2026-12-01T23:42:29.123Z");
  EXPECT_EQ(FormatUtcMillis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatUtcMillis(951782400007), "2000-02-29T00:00:00.007Z");  // leap day
}

TEST(TimeFormatTest, BeforeTheEpochFloorsTheMilliseconds) {
  EXPECT_EQ(FormatUtcMillis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatUtcMillis(-1000), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(FormatUtcMillis(-1001), "1969-12-31T23:59:58.999Z");
}

TEST(TimeFormatTest, CompactFormIsTheVersionIdForm) {
  EXPECT_EQ(FormatCompactUtcMillis(kKnownMs), "20261201T234229.123Z");
  EXPECT_EQ(FormatCompactUtcMillis(0), "19700101T000000.000Z");
}

TEST(TimeFormatTest, HttpDate) {
  EXPECT_EQ(FormatHttpDate(kKnownMs / 1000), "Tue, 01 Dec 2026 23:42:29 GMT");
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(TimeFormatTest, NowIsAfterThisCodeWasWritten) {
  const int64_t now = UnixMillisNow();
  EXPECT_GT(now, int64_t{1764547200} * 1000);  // 2025-12-01
  EXPECT_TRUE(std::regex_match(FormatUtcMillis(now),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
}

}  // namespace
}  // namespace reco
