// Little-endian encoding of the fixed-width integers, floats and varints in
// reco's binary formats (model file, event log, list values, registry files;
// docs/formats.md and docs/store.md describe each byte). The result is the
// same on every host, whatever its byte order. As in leveldb's util/coding.h:
// Encode*/Decode* work on a buffer the caller has sized, Put* append to a
// string, and ByteReader walks untrusted bytes without ever reading past them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace reco {

// ---- fixed width, into a buffer of at least 2/4/8 bytes ----

inline void EncodeFixed16(void* dst, uint16_t v) {
  auto* p = static_cast<uint8_t*>(dst);
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void EncodeFixed32(void* dst, uint32_t v) {
  auto* p = static_cast<uint8_t*>(dst);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void EncodeFixed64(void* dst, uint64_t v) {
  auto* p = static_cast<uint8_t*>(dst);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
// IEEE-754 binary32, as its bit pattern in little-endian order.
inline void EncodeFloat(void* dst, float v) { EncodeFixed32(dst, std::bit_cast<uint32_t>(v)); }

inline uint16_t DecodeFixed16(const void* src) {
  const auto* p = static_cast<const uint8_t*>(src);
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
inline uint32_t DecodeFixed32(const void* src) {
  const auto* p = static_cast<const uint8_t*>(src);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}
inline uint64_t DecodeFixed64(const void* src) {
  const auto* p = static_cast<const uint8_t*>(src);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
inline float DecodeFloat(const void* src) { return std::bit_cast<float>(DecodeFixed32(src)); }

// n floats to/from 4n little-endian bytes; one memcpy on little-endian hosts.
inline void EncodeFloats(void* dst, const float* values, size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n != 0) std::memcpy(dst, values, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i) EncodeFloat(static_cast<uint8_t*>(dst) + 4 * i, values[i]);
  }
}
inline void DecodeFloats(const void* src, size_t n, float* values) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n != 0) std::memcpy(values, src, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i)
      values[i] = DecodeFloat(static_cast<const uint8_t*>(src) + 4 * i);
  }
}

// ---- appending to a string ----

inline void PutFixed16(std::string* dst, uint16_t v) {
  char buf[2];
  EncodeFixed16(buf, v);
  dst->append(buf, sizeof(buf));
}
inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  EncodeFixed32(buf, v);
  dst->append(buf, sizeof(buf));
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  dst->append(buf, sizeof(buf));
}
inline void PutFloat(std::string* dst, float v) { PutFixed32(dst, std::bit_cast<uint32_t>(v)); }

// Base-128 varint, low group first, at most 5 bytes (as protobuf and leveldb).
inline void PutVarint32(std::string* dst, uint32_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

// ---- reading untrusted bytes ----

// A cursor over a byte span. Every Read* checks the bytes that remain first
// and returns false (consuming nothing) when there are too few, so a parser
// built on it cannot overrun a truncated or hostile buffer. The bytes must
// outlive the reader.
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  explicit ByteReader(std::string_view bytes)
      : bytes_(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) {}
  // A reader is a view: reading a temporary string would read freed memory.
  explicit ByteReader(std::string&&) = delete;

  size_t position() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool empty() const { return remaining() == 0; }

  bool Skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  // Points *out at the next n bytes and moves past them.
  bool ReadBytes(size_t n, const uint8_t** out) {
    if (n > remaining()) return false;
    *out = bytes_.data() + pos_;
    pos_ += n;
    return true;
  }
  bool ReadBytes(size_t n, std::string_view* out) {
    const uint8_t* p = nullptr;
    if (!ReadBytes(n, &p)) return false;
    *out = std::string_view(reinterpret_cast<const char*>(p), n);
    return true;
  }
  bool ReadU8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = bytes_[pos_++];
    return true;
  }
  bool ReadFixed16(uint16_t* v) { return ReadWith<2>(v, DecodeFixed16); }
  bool ReadFixed32(uint32_t* v) { return ReadWith<4>(v, DecodeFixed32); }
  bool ReadFixed64(uint64_t* v) { return ReadWith<8>(v, DecodeFixed64); }
  bool ReadFloat(float* v) { return ReadWith<4>(v, DecodeFloat); }
  // False when truncated or when the value needs more than 32 bits.
  bool ReadVarint32(uint32_t* v) {
    uint32_t result = 0;
    size_t p = pos_;
    for (int shift = 0; shift <= 28 && p < bytes_.size(); shift += 7) {
      const uint32_t byte = bytes_[p++];
      if (shift == 28 && byte > 0x0f) return false;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        pos_ = p;
        return true;
      }
    }
    return false;
  }

 private:
  template <size_t N, typename T, typename Decode>
  bool ReadWith(T* v, Decode decode) {
    if (remaining() < N) return false;
    *v = decode(bytes_.data() + pos_);
    pos_ += N;
    return true;
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace reco
