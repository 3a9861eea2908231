#include "text_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace reco::serve {
namespace {

TEST(PercentDecodeTest, DecodesEscapesAndKeepsEverythingElse) {
  std::string out;
  ASSERT_TRUE(PercentDecode("a%20b%2Fc+d", &out));
  EXPECT_EQ(out, "a b/c+d");
  ASSERT_TRUE(PercentDecode("%e2%82%ac", &out));  // lower-case hex too
  EXPECT_EQ(out, "\xE2\x82\xAC");
  ASSERT_TRUE(PercentDecode("", &out));
  EXPECT_EQ(out, "");
}

TEST(PercentDecodeTest, RejectsTruncatedAndNonHexEscapes) {
  std::string out;
  EXPECT_FALSE(PercentDecode("%", &out));
  EXPECT_FALSE(PercentDecode("ab%2", &out));
  EXPECT_FALSE(PercentDecode("%zz", &out));
  EXPECT_FALSE(PercentDecode("%2g", &out));
}

TEST(ParsePositiveIntTest, AcceptsOnlyPlainPositiveDecimals) {
  int v = 0;
  EXPECT_TRUE(ParsePositiveInt("10", &v));
  EXPECT_EQ(v, 10);
  EXPECT_TRUE(ParsePositiveInt("2147483647", &v));
  EXPECT_EQ(v, 2147483647);
  for (const char* bad :
       {"", "0", "-1", "+1", "1x", " 1", "1.5", "abc", "2147483648", "99999999999"}) {
    EXPECT_FALSE(ParsePositiveInt(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace reco::serve
