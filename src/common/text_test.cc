#include "reco/text.h"

#include <gtest/gtest.h>

#include <limits>

namespace reco {
namespace {

TEST(TrimTest, StripsAsciiWhitespaceOnBothEnds) {
  EXPECT_EQ(Trim("  a b \t"), "a b");
  EXPECT_EQ(Trim("\r\n\v\fx\r\n"), "x");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim(" \t\r\n"), "");
  EXPECT_EQ(Trim("inner  space"), "inner  space");
  // Not whitespace: NUL, NBSP (U+00A0 in UTF-8) and other non-ASCII bytes.
  EXPECT_EQ(Trim(std::string_view(" \0 ", 3)), std::string_view("\0", 1));
  EXPECT_EQ(Trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");
}

TEST(Utf8Test, AcceptsWellFormedAndRejectsMalformed) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));        // é
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));   // U+1F600
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF, the last code point
  EXPECT_FALSE(IsValidUtf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xFF"));              // never valid
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
}

TEST(CapForLogTest, KeepsShortTextAndCutsLongTextAtACharacter) {
  EXPECT_EQ(CapForLog("short"), "short");
  EXPECT_EQ(CapForLog(std::string(128, 'a')), std::string(128, 'a'));
  EXPECT_EQ(CapForLog(std::string(1 << 20, '9')), std::string(128, '9') + "\u2026");
  // "é" is two bytes: cutting after 4 bytes of "aaaé" would split it.
  EXPECT_EQ(CapForLog("aaa\xc3\xa9zz", 4), "aaa\u2026");
  EXPECT_EQ(CapForLog("aaa\xc3\xa9zz", 5), "aaa\xc3\xa9\u2026");
}

TEST(ControlCharsTest, FindsC0AndDel) {
  EXPECT_FALSE(HasControlChars("abc \xC3\xA9"));
  EXPECT_TRUE(HasControlChars(std::string_view("a\0b", 3)));
  EXPECT_TRUE(HasControlChars("a\nb"));
  EXPECT_TRUE(HasControlChars("a\x7F"));
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControls) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\n\x01 caf\xC3\xA9");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001 caf\xC3\xA9\"");
  out.clear();
  AppendJsonString(&out, std::string_view("\t\r\0\x1f", 4));
  EXPECT_EQ(out, "\"\\t\\r\\u0000\\u001f\"");
  out.clear();
  AppendJsonString(&out, "");
  EXPECT_EQ(out, "\"\"");
}

TEST(JsonStringTest, EveryInvalidUtf8ByteBecomesOneReplacementCharacter) {
  std::string out;
  AppendJsonString(&out, "x\xFFy\xE2\x82");  // invalid bytes cannot reach the document
  EXPECT_EQ(out, "\"x\\ufffdy\\ufffd\\ufffd\"");
  out.clear();
  AppendJsonString(&out, "\xED\xA0\x80");  // a surrogate: three bytes, three U+FFFD
  EXPECT_EQ(out, "\"\\ufffd\\ufffd\\ufffd\"");
}

TEST(JsonStringTest, AppendsAfterExistingText) {
  std::string out = "{\"k\":";
  AppendJsonString(&out, "v");
  EXPECT_EQ(out, "{\"k\":\"v\"");
}

TEST(JsonNumberTest, FloatsAreShortestRoundTripAndNonFiniteIsNull) {
  std::string out;
  for (float f : {0.5f, 0.1f, 3.0f, -2.25f, std::numeric_limits<float>::quiet_NaN(),
                  std::numeric_limits<float>::infinity()}) {
    if (!out.empty()) out.push_back(' ');
    AppendJsonFloat(&out, f);
  }
  EXPECT_EQ(out, "0.5 0.1 3 -2.25 null null");
}

TEST(JsonNumberTest, UnsignedIntegersInDecimal) {
  std::string out;
  AppendUint(&out, 0);
  out.push_back(' ');
  AppendUint(&out, 18446744073709551615u);
  EXPECT_EQ(out, "0 18446744073709551615");
}

TEST(QuoteBytesTest, EscapesAndCaps) {
  EXPECT_EQ(QuoteBytes("reco/v/v1/u/alice"), "\"reco/v/v1/u/alice\"");
  EXPECT_EQ(QuoteBytes(std::string_view("a\"b\\c\n\x00\xff", 8)), "\"a\\\"b\\\\c\\x0a\\x00\\xff\"");
  EXPECT_EQ(QuoteBytes("abcdef", 3), "\"abc...\"");
  EXPECT_EQ(QuoteBytes("abc", 3), "\"abc\"");
}

}  // namespace
}  // namespace reco
