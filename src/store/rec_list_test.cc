// The list value encoding: known bytes, round trips, and hostile input
// (every truncation, every bit flip, random bytes) failing cleanly.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "reco/coding.h"
#include "reco/rec_store.h"

namespace reco {
namespace {

// A string from a literal that may contain NUL bytes.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

std::string WithChecksum(std::string body) {
  PutFixed32(&body, static_cast<uint32_t>(XXH3_64bits(body.data(), body.size())));
  return body;
}

TEST(RecListCodecTest, KnownBytes) {
  std::vector<RecItem> items = {{"a", 1.0f}, {"bc", -2.5f}};
  std::string bytes;
  ASSERT_TRUE(EncodeRecList(items, &bytes).ok());
  // format, count, {len, id, f32 LE} x 2, checksum (pinned: format changes
  // must be deliberate and bump the format byte).
  const std::string expected(
      "\x01\x02"
      "\x01"
      "a\x00\x00\x80\x3f"
      "\x02"
      "bc\x00\x00\x20\xc0"
      "\xbf\xf3\x7a\x9b",
      19);
  EXPECT_EQ(bytes, expected);
  std::vector<RecItem> decoded;
  ASSERT_TRUE(DecodeRecList(bytes, &decoded).ok());
  ASSERT_EQ(decoded.size(), 2u);
  EXPECT_EQ(decoded[0].item_id, "a");
  EXPECT_EQ(decoded[0].score, 1.0f);
  EXPECT_EQ(decoded[1].item_id, "bc");
  EXPECT_EQ(decoded[1].score, -2.5f);
}

TEST(RecListCodecTest, EmptyList) {
  std::string bytes;
  ASSERT_TRUE(EncodeRecList({}, &bytes).ok());
  EXPECT_EQ(bytes, std::string("\x01\x00\xc0\x76\x72\xce", 6));
  std::vector<RecItem> decoded = {{"stale", 1}};
  ASSERT_TRUE(DecodeRecList(bytes, &decoded).ok());
  EXPECT_TRUE(decoded.empty());
}

TEST(RecListCodecTest, RoundTripsVariedItems) {
  std::string long_id(kMaxExternalIdSize, 'x');  // needs a 2-byte length varint
  std::vector<RecItem> items = {{long_id, 0.0f},
                                {"tt0114709", 4.75f},
                                {std::string_view("\0bin\xff", 5), -1e30f},
                                {"tiny", std::numeric_limits<float>::denorm_min()},
                                {"max", std::numeric_limits<float>::max()}};
  std::string bytes;
  ASSERT_TRUE(EncodeRecList(items, &bytes).ok());
  std::vector<RecItem> decoded;
  ASSERT_TRUE(DecodeRecList(bytes, &decoded).ok());
  ASSERT_EQ(decoded.size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(decoded[i].item_id, items[i].item_id) << i;
    EXPECT_EQ(decoded[i].score, items[i].score) << i;
  }
}

TEST(RecListCodecTest, EncodeRejectsBadItems) {
  std::string bytes;
  std::string too_long(kMaxExternalIdSize + 1, 'x');
  for (const RecItem& bad :
       {RecItem{"", 1.0f}, RecItem{too_long, 1.0f}, RecItem{"nan", std::nanf("")},
        RecItem{"inf", std::numeric_limits<float>::infinity()}}) {
    std::vector<RecItem> items = {{"ok", 1.0f}, bad};
    EXPECT_EQ(EncodeRecList(items, &bytes).code(), Status::Code::kInvalidArgument) << bad.item_id;
  }
  std::vector<RecItem> many(kMaxRecListItems + 1, RecItem{"i", 1.0f});
  EXPECT_EQ(EncodeRecList(many, &bytes).code(), Status::Code::kInvalidArgument);
}

TEST(RecListCodecTest, EveryTruncationAndBitFlipIsCorruption) {
  std::vector<RecItem> items = {{"a", 1.0f}, {"item-two", 2.0f}, {"3", -3.0f}};
  std::string bytes;
  ASSERT_TRUE(EncodeRecList(items, &bytes).ok());
  std::vector<RecItem> decoded;
  for (size_t n = 0; n < bytes.size(); ++n) {
    Status st = DecodeRecList(std::string_view(bytes).substr(0, n), &decoded);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << "length " << n;
    EXPECT_TRUE(decoded.empty());
  }
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_EQ(DecodeRecList(flipped, &decoded).code(), Status::Code::kCorruption) << bit;
  }
  EXPECT_EQ(DecodeRecList(bytes + "x", &decoded).code(), Status::Code::kCorruption);
}

// Not only single bits: every other value of every byte (format byte, count,
// lengths, IDs, scores, checksum) is Corruption, so a damaged value never
// decodes to a different list. The checksum covers every byte before it; a
// changed checksum byte no longer matches them.
TEST(RecListCodecTest, EveryChangedByteValueIsCorruption) {
  const std::vector<RecItem> items = {{"a", 1.0f}, {"item-two", 2.0f}, {"3", -3.0f}};
  std::string bytes;
  ASSERT_TRUE(EncodeRecList(items, &bytes).ok());
  std::vector<RecItem> decoded;
  int checksum_mismatches = 0;
  for (size_t at = 0; at < bytes.size(); ++at) {
    for (int delta = 1; delta < 256; ++delta) {
      std::string changed = bytes;
      changed[at] = static_cast<char>(static_cast<uint8_t>(changed[at]) ^ delta);
      const Status st = DecodeRecList(changed, &decoded);
      ASSERT_EQ(st.code(), Status::Code::kCorruption) << "byte " << at << " ^ " << delta;
      EXPECT_TRUE(decoded.empty());
      if (st.message() == "list value checksum mismatch") ++checksum_mismatches;
    }
  }
  // Only the format byte's changes are caught before the checksum.
  EXPECT_EQ(checksum_mismatches, static_cast<int>((bytes.size() - 1) * 255));
}

// Bodies with a valid checksum, so the structural checks themselves are hit.
TEST(RecListCodecTest, StructurallyBadBodiesAreCorruption) {
  const std::vector<std::string> bodies = {
      Bytes("\x02\x00"),                      // unknown format
      Bytes("\x01\xff\xff\xff\xff\x0f"),      // count larger than the bytes
      Bytes("\x01\xff\xff\xff\xff\xff"),      // varint longer than 32 bits
      Bytes("\x01\x01\x00\x00\x00\x80\x3f"),  // empty item ID
      Bytes("\x01\x01\x05"
            "ab\x00\x00\x80\x3f"),  // ID longer than the bytes
      Bytes("\x01\x01\x01"
            "a\x00\x00\xc0\x7f"),  // NaN score
      Bytes("\x01\x01\x01"
            "a\x00\x00\x80\x3f"
            "z"),  // trailing byte
      Bytes("\x01\x02\x01"
            "a\x00\x00\x80\x3f"),  // one item short
      Bytes("\x01\x01\x81\x02") + std::string(257, 'x') +
          Bytes("\x00\x00\x80\x3f"),  // ID over the limit
  };
  std::vector<RecItem> decoded;
  for (size_t i = 0; i < bodies.size(); ++i) {
    Status st = DecodeRecList(WithChecksum(bodies[i]), &decoded);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << "body " << i << ": " << st.ToString();
    EXPECT_TRUE(decoded.empty());
  }
}

TEST(RecListCodecTest, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  std::vector<RecItem> decoded;
  int ok = 0;
  for (int round = 0; round < 50000; ++round) {
    std::string body(rng() % 48, '\0');
    for (char& c : body) c = static_cast<char>(rng() % 4 == 0 ? rng() % 4 : rng());
    if (!body.empty() && rng() % 2 == 0) body[0] = static_cast<char>(kRecListFormatV1);
    std::string bytes = rng() % 2 == 0 ? WithChecksum(body) : body;
    Status st = DecodeRecList(bytes, &decoded);
    if (st.ok()) {
      ++ok;
      // Whatever decodes is a valid list: it re-encodes and decodes the same.
      std::string again;
      ASSERT_TRUE(EncodeRecList(decoded, &again).ok());
      std::vector<RecItem> twice;
      ASSERT_TRUE(DecodeRecList(again, &twice).ok());
      ASSERT_EQ(twice.size(), decoded.size());
      for (size_t i = 0; i < twice.size(); ++i) {
        EXPECT_EQ(twice[i].item_id, decoded[i].item_id);
        EXPECT_EQ(twice[i].score, decoded[i].score);
      }
    } else {
      EXPECT_EQ(st.code(), Status::Code::kCorruption);
    }
  }
  EXPECT_GT(ok, 0);  // the generator does reach valid lists
}

}  // namespace
}  // namespace reco
