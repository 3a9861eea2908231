// POST /v1/events bodies: every accepted shape and every refusal, with the
// field and index the error names.
#include "event_json.h"

#include <gtest/gtest.h>

namespace reco::serve {
namespace {

constexpr int64_t kNow = 1'700'000'000'123;

struct Parsed {
  bool ok = false;
  std::vector<Event> events;
  EventBodyError error;
};

Parsed Parse(std::string_view body, uint32_t max_events = 5) {
  Parsed p;
  p.ok = ParseEventsBody(body, max_events, kNow, &p.events, &p.error);
  return p;
}

TEST(EventJsonTest, SingleEventWithDefaults) {
  const Parsed p = Parse(R"({"user_id":"u1","item_id":"i1","type":"click"})");
  ASSERT_TRUE(p.ok) << p.error.message;
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].user_id, "u1");
  EXPECT_EQ(p.events[0].item_id, "i1");
  EXPECT_EQ(p.events[0].type, "click");
  EXPECT_FALSE(p.events[0].value.has_value());
  EXPECT_EQ(p.events[0].timestamp_ms, kNow);
}

TEST(EventJsonTest, IntegerIdsSecondsAndMilliseconds) {
  const Parsed p = Parse(R"({"events":[
      {"user_id":196,"item_id":242,"type":"rating","value":3,"timestamp":881250949},
      {"user_id":-7,"item_id":"x","type":"view","value":0.5,"timestamp":1700000000456},
      {"user_id":"a","item_id":18446744073709551615,"type":"t","value":null,"timestamp":null}]})");
  ASSERT_TRUE(p.ok) << p.error.message;
  ASSERT_EQ(p.events.size(), 3u);
  EXPECT_EQ(p.events[0].user_id, "196");
  EXPECT_EQ(p.events[0].item_id, "242");
  EXPECT_EQ(p.events[0].value, 3.0f);
  EXPECT_EQ(p.events[0].timestamp_ms, 881'250'949'000);  // seconds below 1e11
  EXPECT_EQ(p.events[1].user_id, "-7");
  EXPECT_EQ(p.events[1].value, 0.5f);
  EXPECT_EQ(p.events[1].timestamp_ms, 1'700'000'000'456);  // milliseconds at or above 1e11
  EXPECT_EQ(p.events[2].item_id, "18446744073709551615");
  EXPECT_FALSE(p.events[2].value.has_value());
  EXPECT_EQ(p.events[2].timestamp_ms, kNow);
}

TEST(EventJsonTest, TimestampThreshold) {
  Parsed p = Parse(R"({"user_id":"u","item_id":"i","type":"t","timestamp":99999999999})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.events[0].timestamp_ms, 99'999'999'999'000);
  p = Parse(R"({"user_id":"u","item_id":"i","type":"t","timestamp":100000000000})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.events[0].timestamp_ms, 100'000'000'000);
  p = Parse(R"({"user_id":"u","item_id":"i","type":"t","timestamp":0})");
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.events[0].timestamp_ms, 0);
}

struct BadCase {
  std::string body;
  int status;
  std::string field;
  int64_t index;
  std::string message_part;
};

TEST(EventJsonTest, EveryRefusalNamesFieldAndIndex) {
  const std::string long_id(kMaxEventIdBytes + 1, 'x');
  const std::vector<BadCase> cases = {
      {"", 400, "", -1, "invalid JSON at byte 1"},
      {"{\"user_id\":", 400, "", -1, "invalid JSON"},
      {"{\"user_id\":\"\xff\"}", 400, "", -1, "invalid JSON"},
      {"[]", 400, "", -1, "body must be an event object"},
      {"\"text\"", 400, "", -1, "body must be an event object"},
      {R"({"user_id":"u","item_id":"i","type":"t","extra":1})", 400, "extra", 0,
       "extra is not a known field"},
      {R"({"user_id":"u","item_id":"i"})", 400, "type", 0, "type is required"},
      {R"({"item_id":"i","type":"t"})", 400, "user_id", 0, "user_id is required"},
      {R"({"user_id":true,"item_id":"i","type":"t"})", 400, "user_id", 0,
       "user_id must be a string or an integer"},
      {R"({"user_id":"u","item_id":1.5,"type":"t"})", 400, "item_id", 0, "must be a string"},
      {R"({"user_id":"u","item_id":"i","type":3})", 400, "type", 0, "type must be a string"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":"5"})", 400, "value", 0,
       "must be a number"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":1e39})", 400, "value", 0,
       "value must be a finite number in [-1000000, 1000000]"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":1e20})", 400, "value", 0,
       "value must be a finite number in [-1000000, 1000000]"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":-1000000.5})", 400, "value", 0,
       "[-1000000, 1000000]"},
      {R"({"user_id":"u","item_id":"i","type":"t","timestamp":1.5})", 400, "timestamp", 0,
       "must be an integer"},
      {R"({"user_id":"u","item_id":"i","type":"t","timestamp":-1})", 400, "timestamp", 0,
       "between 0 and"},
      {R"({"user_id":"u","item_id":"i","type":"t","timestamp":253402300800000})", 400, "timestamp",
       0, "between 0 and"},
      {R"({"user_id":")" + long_id + R"(","item_id":"i","type":"t"})", 400, "user_id", 0,
       "user_id must be 1..256 bytes"},
      {R"({"user_id":"","item_id":"i","type":"t"})", 400, "user_id", 0, "1..256 bytes"},
      {R"({"user_id":"a,b","item_id":"i","type":"t"})", 400, "user_id", 0, "','"},
      {R"({"user_id":"u","item_id":" i","type":"t"})", 400, "item_id", 0, "blank"},
      {R"({"user_id":"u","item_id":"i","type":""})", 400, "type", 0, "1..32 bytes"},
      {R"({"user_id":"u","user_id":"v","item_id":"i","type":"t"})", 400, "user_id", -1,
       "more than once"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":[1]})", 400, "value", 0,
       "must be a number"},
      {R"({"events":[{"user_id":"u","item_id":"i","type":"t","value":{"a":[1]}}]})", 400, "", -1,
       "nests too deeply"},
      {R"({"events":[]})", 400, "events", -1, "events is empty"},
      {R"({"events":{}})", 400, "events", -1, "must be an array"},
      {R"({"events":[],"user_id":"u"})", 400, "", -1, "only the field"},
      {R"({"events":[{"user_id":"u","item_id":"i","type":"t"},
                     {"user_id":"u","item_id":"i","type":"t"},
                     {"user_id":"u","item_id":1.25,"type":"t"}]})",
       400, "item_id", 2, "events[2].item_id must be a string or an integer"},
      {R"({"events":[{"user_id":"u","item_id":"i","type":"t"},5]})", 400, "", 1,
       "events[1] must be a JSON object"},
      {R"({"events":[1,2,3,4,5,6]})", 413, "events", -1, "at most 5 per request"},
  };
  for (const BadCase& c : cases) {
    const Parsed p = Parse(c.body);
    EXPECT_FALSE(p.ok) << c.body;
    EXPECT_EQ(p.error.status, c.status) << c.body;
    EXPECT_EQ(p.error.field, c.field) << c.body << " -> " << p.error.message;
    EXPECT_EQ(p.error.index, c.index) << c.body << " -> " << p.error.message;
    EXPECT_NE(p.error.message.find(c.message_part), std::string::npos)
        << c.body << " -> " << p.error.message;
  }
}

TEST(EventJsonTest, ValuesAtTheBoundAreAccepted) {
  const Parsed p = Parse(R"({"events":[{"user_id":"u","item_id":"i","type":"t","value":1000000},
      {"user_id":"u","item_id":"i","type":"t","value":-1e6},
      {"user_id":"u","item_id":"i","type":"t","value":1e-300}]})");
  ASSERT_TRUE(p.ok) << p.error.message;
  EXPECT_EQ(p.events[0].value, 1e6f);
  EXPECT_EQ(p.events[1].value, -1e6f);
  EXPECT_EQ(p.events[2].value, 0.0f);
}

TEST(EventJsonTest, NumbersBeyondDoubleRangeAre400NamingTheField) {
  // A megabyte of digits: the message must not repeat it.
  const std::string huge = "1" + std::string(1 << 20, '0');
  const std::vector<BadCase> cases = {
      {R"({"user_id":"u","item_id":"i","type":"t","value":1e400})", 400, "value", 0,
       "value is a number beyond the range of a double"},
      {R"({"user_id":"u","item_id":"i","type":"t","value":)" + huge + "}", 400, "value", 0,
       "value is a number beyond the range of a double"},
      {R"({"user_id":"u","item_id":"i","type":"t","timestamp":-1e999})", 400, "timestamp", 0,
       "timestamp is a number beyond"},
      {R"({"user_id":1e400,"item_id":"i","type":"t"})", 400, "user_id", 0, "user_id is a number"},
      {R"({"events":[{"user_id":"u","item_id":"i","type":"t"},
                     {"user_id":"u","item_id":"i","type":"t","value":1e400}]})",
       400, "value", 1, "events[1].value is a number beyond the range of a double"},
      {R"({"events":[1e400]})", 400, "events", -1, "an element of events is a number beyond"},
      {"1e400", 400, "", -1, "the body is a number beyond"},
  };
  for (const BadCase& c : cases) {
    const Parsed p = Parse(c.body);
    EXPECT_FALSE(p.ok) << c.body.substr(0, 80);
    EXPECT_EQ(p.error.status, c.status);
    EXPECT_EQ(p.error.field, c.field) << p.error.message;
    EXPECT_EQ(p.error.index, c.index) << p.error.message;
    EXPECT_NE(p.error.message.find(c.message_part), std::string::npos) << p.error.message;
    EXPECT_LT(p.error.message.size(), 100u);
  }
}

TEST(EventJsonTest, StringFieldsFollowTheIdRules) {
  const std::string type33(kMaxEventTypeBytes + 1, 't');
  const std::vector<BadCase> cases = {
      {R"({"user_id":"u","item_id":"i","type":"a\nb"})", 400, "type", 0,
       "type contains a control character"},
      {R"({"user_id":"u","item_id":"i","type":"a\tb"})", 400, "type", 0, "control character"},
      {R"({"user_id":"u","item_id":"i","type":"\u0000"})", 400, "type", 0, "control character"},
      {"{\"user_id\":\"u\",\"item_id\":\"i\",\"type\":\"a\x7f\"}", 400, "type", 0,
       "control character"},
      {R"({"user_id":"u","item_id":"i","type":"\u007f"})", 400, "type", 0, "control character"},
      {R"({"user_id":"u","item_id":"i","type":" "})", 400, "type", 0,
       "type has a leading or trailing blank"},
      {R"({"user_id":"u","item_id":"i","type":"click "})", 400, "type", 0, "blank"},
      {R"({"user_id":"u","item_id":"i","type":")" + type33 + R"("})", 400, "type", 0,
       "type must be 1..32 bytes, got 33"},
      {R"({"user_id":"u\u0000x","item_id":"i","type":"t"})", 400, "user_id", 0,
       "control character"},
      {R"({"user_id":"   ","item_id":"i","type":"t"})", 400, "user_id", 0, "blank"},
      {R"({"user_id":"u","item_id":"\r","type":"t"})", 400, "item_id", 0, "control character"},
      // A lone surrogate cannot become UTF-8: the parser refuses it.
      {R"({"user_id":"\ud800","item_id":"i","type":"t"})", 400, "", -1, "invalid JSON"},
  };
  for (const BadCase& c : cases) {
    const Parsed p = Parse(c.body);
    EXPECT_FALSE(p.ok) << c.body;
    EXPECT_EQ(p.error.status, c.status) << c.body;
    EXPECT_EQ(p.error.field, c.field) << c.body << " -> " << p.error.message;
    EXPECT_EQ(p.error.index, c.index) << c.body << " -> " << p.error.message;
    EXPECT_NE(p.error.message.find(c.message_part), std::string::npos)
        << c.body << " -> " << p.error.message;
  }
  // Inner blanks and non-ASCII UTF-8 are fine.
  const Parsed p =
      Parse(R"({"user_id":"ana maría","item_id":"\u00e9t\u00e9","type":"add to cart"})");
  ASSERT_TRUE(p.ok) << p.error.message;
  EXPECT_EQ(p.events[0].user_id,
            "ana mar\xc3\xad"
            "a");
  EXPECT_EQ(p.events[0].item_id, "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(p.events[0].type, "add to cart");
}

TEST(EventJsonTest, TheBodyIsExactlyOneDocument) {
  const std::string event = R"({"user_id":"u","item_id":"i","type":"t"})";
  const std::vector<std::string> bad = {
      event + std::string("\0garbage", 8),
      event + std::string(1, '\0'),
      std::string("\0", 1) + event,
      event + " x",
      event + event,
      event + "\n" + event,
      event + "]",
  };
  for (const std::string& body : bad) {
    const Parsed p = Parse(body);
    EXPECT_FALSE(p.ok) << body;
    EXPECT_EQ(p.error.status, 400);
    EXPECT_EQ(p.error.field, "");
    EXPECT_NE(p.error.message.find("invalid JSON at byte"), std::string::npos) << p.error.message;
  }
  // The NUL is the 41st byte: the byte count is 1-based, as the parser's.
  ASSERT_EQ(event.size(), 40u);
  EXPECT_EQ(Parse(event + std::string("\0garbage", 8)).error.message,
            "invalid JSON at byte 41: a NUL byte (the body must be exactly one JSON document)");
  // Whitespace around the document is not trailing data.
  EXPECT_TRUE(Parse(" \r\n" + event + " \n\t").ok);
}

TEST(EventJsonTest, DeepNestingIsRefusedWithoutRecursion) {
  // A megabyte of '[' must neither overflow the stack nor build a deep tree.
  const std::string deep(1 << 20, '[');
  const Parsed p = Parse(deep);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error.status, 400);
}

}  // namespace
}  // namespace reco::serve
