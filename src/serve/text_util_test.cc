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

TEST(Utf8Test, AcceptsWellFormedAndRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));        // é
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));   // U+1F600
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xFF"));              // never valid
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

TEST(ControlCharsTest, FindsC0AndDel) {
  EXPECT_FALSE(HasControlChars("abc \xC3\xA9"));
  EXPECT_TRUE(HasControlChars(std::string_view("a\0b", 3)));
  EXPECT_TRUE(HasControlChars("a\nb"));
  EXPECT_TRUE(HasControlChars("a\x7F"));
}

TEST(JsonTest, EscapesStrings) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\n\x01 caf\xC3\xA9");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001 caf\xC3\xA9\"");
  out.clear();
  AppendJsonString(&out, "x\xFFy\xE2\x82");  // invalid bytes cannot reach the document
  EXPECT_EQ(out, "\"x\\ufffdy\\ufffd\\ufffd\"");
}

TEST(JsonTest, FloatsAreShortestRoundTripAndNonFiniteIsNull) {
  std::string out;
  AppendJsonFloat(&out, 0.5f);
  out.push_back(' ');
  AppendJsonFloat(&out, 0.1f);
  out.push_back(' ');
  AppendJsonFloat(&out, 3.0f);
  out.push_back(' ');
  AppendJsonFloat(&out, -2.25f);
  out.push_back(' ');
  AppendJsonFloat(&out, std::numeric_limits<float>::quiet_NaN());
  out.push_back(' ');
  AppendJsonFloat(&out, std::numeric_limits<float>::infinity());
  EXPECT_EQ(out, "0.5 0.1 3 -2.25 null null");
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
