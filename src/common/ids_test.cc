#include "reco/ids.h"

#include <gtest/gtest.h>

namespace reco {
namespace {

TEST(IdRules, AcceptsTextIds) {
  EXPECT_EQ(IdRuleViolation("user_id", "42"), "");
  EXPECT_EQ(IdRuleViolation("user_id", "alice smith"), "");
  EXPECT_EQ(IdRuleViolation("item_id", "caf\xc3\xa9/\xe2\x82\xac"), "");  // café/€
  EXPECT_EQ(IdRuleViolation("item_id", std::string(256, 'a')), "");
}

TEST(IdRules, NamesTheFieldAndTheRule) {
  EXPECT_EQ(IdRuleViolation("user_id", ""), "user_id must be 1..256 bytes, got 0");
  EXPECT_EQ(IdRuleViolation("item_id", std::string(257, 'a')),
            "item_id must be 1..256 bytes, got 257");
  EXPECT_EQ(IdRuleViolation("type", "abcd", 3), "type must be 1..3 bytes, got 4");
  EXPECT_EQ(IdRuleViolation("user_id", "caf\xe9"), "user_id is not valid UTF-8");
  const std::string bad_chars = "user_id contains a control character, ',' or '\"'";
  EXPECT_EQ(IdRuleViolation("user_id", std::string("a\0b", 3)), bad_chars);
  EXPECT_EQ(IdRuleViolation("user_id", "a\nb"), bad_chars);
  EXPECT_EQ(IdRuleViolation("user_id", "a\tb"), bad_chars);
  EXPECT_EQ(IdRuleViolation("user_id", "a\x7f"), bad_chars);
  EXPECT_EQ(IdRuleViolation("user_id", "a,b"), bad_chars);
  EXPECT_EQ(IdRuleViolation("user_id", "a\"b"), bad_chars);
  EXPECT_EQ(IdRuleViolation("user_id", " a"), "user_id has a leading or trailing blank");
  EXPECT_EQ(IdRuleViolation("user_id", " "), "user_id has a leading or trailing blank");
}

TEST(IdRules, AnyBytesSkipsOnlyTheUtf8Rule) {
  EXPECT_EQ(IdRuleViolation("user_id", "caf\xe9", kMaxIdBytes, IdEncoding::kAnyBytes), "");
  EXPECT_NE(IdRuleViolation("user_id", "a\nb", kMaxIdBytes, IdEncoding::kAnyBytes), "");
}

}  // namespace
}  // namespace reco
