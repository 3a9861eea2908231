#include "reco/coding.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>

namespace reco {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(CodingTest, FixedWidthIsLittleEndian) {
  std::string out;
  PutFixed16(&out, 0x0102);
  PutFixed32(&out, 0x01020304);
  PutFixed64(&out, 0x0102030405060708);
  EXPECT_EQ(out, Bytes({0x02, 0x01, 0x04, 0x03, 0x02, 0x01, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03,
                        0x02, 0x01}));
  EXPECT_EQ(DecodeFixed16(out.data()), 0x0102);
  EXPECT_EQ(DecodeFixed32(out.data() + 2), 0x01020304u);
  EXPECT_EQ(DecodeFixed64(out.data() + 6), 0x0102030405060708u);
}

TEST(CodingTest, EncodeIntoABufferMatchesPut) {
  uint8_t buf[8];
  EncodeFixed32(buf, 0xdeadbeef);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 4), Bytes({0xef, 0xbe, 0xad, 0xde}));
  EncodeFixed64(buf, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(DecodeFixed64(buf), std::numeric_limits<uint64_t>::max());
  EncodeFixed16(buf, 0xffff);
  EXPECT_EQ(DecodeFixed16(buf), 0xffff);
}

TEST(CodingTest, FloatsAreTheirIeeeBitPattern) {
  std::string out;
  PutFloat(&out, 1.0f);  // 0x3f800000
  PutFloat(&out, -2.5f);
  EXPECT_EQ(out.substr(0, 4), Bytes({0x00, 0x00, 0x80, 0x3f}));
  EXPECT_EQ(DecodeFloat(out.data()), 1.0f);
  EXPECT_EQ(DecodeFloat(out.data() + 4), -2.5f);
  const float values[3] = {0.5f, -0.0f, 3.25f};
  uint8_t buf[12];
  EncodeFloats(buf, values, 3);
  float back[3];
  DecodeFloats(buf, 3, back);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(std::bit_cast<uint32_t>(back[i]), std::bit_cast<uint32_t>(values[i]));
  EXPECT_EQ(DecodeFixed32(buf + 8), std::bit_cast<uint32_t>(3.25f));
}

TEST(CodingTest, VarintKnownAnswers) {
  std::string out;
  PutVarint32(&out, 0);
  PutVarint32(&out, 127);
  PutVarint32(&out, 128);
  PutVarint32(&out, 300);
  PutVarint32(&out, 0xffffffff);
  EXPECT_EQ(out, Bytes({0x00, 0x7f, 0x80, 0x01, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f}));
  ByteReader r(out);
  uint32_t v = 1;
  for (uint32_t want : {0u, 127u, 128u, 300u, 0xffffffffu}) {
    ASSERT_TRUE(r.ReadVarint32(&v));
    EXPECT_EQ(v, want);
  }
  EXPECT_TRUE(r.empty());
}

TEST(CodingTest, VarintRejectsTruncationAndOverflow) {
  uint32_t v = 7;
  // ByteReader is a view: each buffer must outlive its reader.
  const std::string truncated_bytes = Bytes({0x80, 0x80});
  ByteReader truncated(truncated_bytes);
  EXPECT_FALSE(truncated.ReadVarint32(&v));
  EXPECT_EQ(truncated.position(), 0u);  // nothing consumed
  const std::string over_32_bits_bytes = Bytes({0xff, 0xff, 0xff, 0xff, 0x1f});
  ByteReader over_32_bits(over_32_bits_bytes);
  EXPECT_FALSE(over_32_bits.ReadVarint32(&v));
  const std::string six_bytes_bytes = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00});
  ByteReader six_bytes(six_bytes_bytes);
  EXPECT_FALSE(six_bytes.ReadVarint32(&v));
  EXPECT_EQ(v, 7u);
}

TEST(ByteReaderTest, ReadsInOrderAndNeverPastTheEnd) {
  std::string bytes;
  bytes.push_back('\x09');
  PutFixed16(&bytes, 513);
  PutFixed32(&bytes, 70000);
  PutFixed64(&bytes, uint64_t{1} << 40);
  PutFloat(&bytes, 0.25f);
  bytes += "abc";
  ByteReader r(bytes);
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  float f = 0;
  std::string_view s;
  ASSERT_TRUE(r.ReadU8(&u8));
  ASSERT_TRUE(r.ReadFixed16(&u16));
  ASSERT_TRUE(r.ReadFixed32(&u32));
  ASSERT_TRUE(r.ReadFixed64(&u64));
  ASSERT_TRUE(r.ReadFloat(&f));
  EXPECT_EQ(u8, 9);
  EXPECT_EQ(u16, 513);
  EXPECT_EQ(u32, 70000u);
  EXPECT_EQ(u64, uint64_t{1} << 40);
  EXPECT_EQ(f, 0.25f);
  EXPECT_EQ(r.remaining(), 3u);
  EXPECT_FALSE(r.ReadFixed32(&u32));  // 3 bytes left: refused, nothing consumed
  EXPECT_FALSE(r.ReadBytes(4, &s));
  EXPECT_FALSE(r.Skip(4));
  EXPECT_EQ(r.remaining(), 3u);
  ASSERT_TRUE(r.ReadBytes(3, &s));
  EXPECT_EQ(s, "abc");
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.ReadU8(&u8));
  EXPECT_EQ(u32, 70000u);  // failed reads leave the output alone
}

TEST(ByteReaderTest, EveryTruncationOfARecordIsRefused) {
  std::string record;
  PutFixed32(&record, 42);
  PutVarint32(&record, 300);
  PutFixed64(&record, 7);
  for (size_t cut = 0; cut < record.size(); ++cut) {
    ByteReader r(std::string_view(record).substr(0, cut));
    uint32_t a = 0, b = 0;
    uint64_t c = 0;
    const bool whole = r.ReadFixed32(&a) && r.ReadVarint32(&b) && r.ReadFixed64(&c);
    EXPECT_FALSE(whole) << "cut at " << cut;
  }
  ByteReader r(record);
  uint32_t a = 0, b = 0;
  uint64_t c = 0;
  EXPECT_TRUE(r.ReadFixed32(&a) && r.ReadVarint32(&b) && r.ReadFixed64(&c));
  EXPECT_EQ(a, 42u);
  EXPECT_EQ(b, 300u);
  EXPECT_EQ(c, 7u);
}

TEST(ByteReaderTest, SpanOfBytes) {
  const std::array<uint8_t, 5> raw = {1, 0, 0, 0, 0xff};
  ByteReader r(raw);
  uint32_t v = 0;
  const uint8_t* rest = nullptr;
  ASSERT_TRUE(r.ReadFixed32(&v));
  EXPECT_EQ(v, 1u);
  ASSERT_TRUE(r.ReadBytes(1, &rest));
  EXPECT_EQ(rest, raw.data() + 4);
}

}  // namespace
}  // namespace reco
