// Pieces shared by the two model file versions (model_file.cc: version 1,
// SaveModel/LoadModel; recommender_file.cc: version 2, every family), so
// both encode, checksum, bound and write files the same way. docs/formats.md
// "Model file" is the spec. Internal to the library.
//
// TODO(common): little-endian coding and the atomic write move to src/common
// once it has them; these are the only copies in src/model.
#pragma once

#include <xxhash.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reco/interactions.h"
#include "reco/model.h"
#include "reco/status.h"

namespace reco::model_file {

inline constexpr char kMagic[4] = {'R', 'C', 'F', 'M'};  // "reco factor model"
inline constexpr size_t kChecksumBytes = 8;

// ---- little-endian encoding, independent of the host's byte order ----

inline void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}
inline float GetF32(const uint8_t* p) { return std::bit_cast<float>(GetU32(p)); }

// n little-endian floats from src (which need not be aligned) into dst.
inline void ReadFloats(const uint8_t* src, size_t n, float* dst) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n > 0) std::memcpy(dst, src, n * sizeof(float));
  } else {
    for (size_t i = 0; i < n; ++i) dst[i] = GetF32(src + 4 * i);
  }
}

// Writes through stdio while hashing every byte, so the checksum costs no
// second pass and no in-memory copy of the model.
class HashingWriter {
 public:
  explicit HashingWriter(std::FILE* file) : file_(file), state_(XXH64_createState()) {
    if (state_ == nullptr || XXH64_reset(state_.get(), 0) != XXH_OK) ok_ = false;
  }
  bool ok() const { return ok_; }
  uint64_t digest() const { return XXH64_digest(state_.get()); }
  // Bytes written so far (writers check their section sizes against it).
  uint64_t written() const { return written_; }

  void Bytes(const void* data, size_t n) {
    if (!ok_ || n == 0) return;
    XXH64_update(state_.get(), data, n);
    if (std::fwrite(data, 1, n, file_) != n) ok_ = false;
    written_ += n;
  }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U32(uint32_t v) {
    uint8_t b[4];
    PutU32(b, v);
    Bytes(b, 4);
  }
  void U64(uint64_t v) {
    uint8_t b[8];
    PutU64(b, v);
    Bytes(b, 8);
  }
  void F32(float v) { U32(std::bit_cast<uint32_t>(v)); }
  void Floats(const float* data, size_t n) {
    if constexpr (std::endian::native == std::endian::little) {
      Bytes(data, n * sizeof(float));
    } else {
      for (size_t i = 0; i < n; ++i) F32(data[i]);
    }
  }
  void U32s(const uint32_t* data, size_t n) {
    if constexpr (std::endian::native == std::endian::little) {
      Bytes(data, n * sizeof(uint32_t));
    } else {
      for (size_t i = 0; i < n; ++i) U32(data[i]);
    }
  }
  void U64s(const uint64_t* data, size_t n) {
    if constexpr (std::endian::native == std::endian::little) {
      Bytes(data, n * sizeof(uint64_t));
    } else {
      for (size_t i = 0; i < n; ++i) U64(data[i]);
    }
  }

 private:
  struct StateDeleter {
    void operator()(XXH64_state_t* s) const { XXH64_freeState(s); }
  };
  std::FILE* file_;
  std::unique_ptr<XXH64_state_t, StateDeleter> state_;
  bool ok_ = true;
  uint64_t written_ = 0;
};

// Bounds-checked cursor over loaded bytes. The loaders validate section
// sizes before parsing, so these checks only fire on a bug, but they keep
// every read provably in range.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t remaining() const { return size_ - pos_; }
  size_t position() const { return pos_; }
  bool Skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  const uint8_t* Take(size_t n) {
    if (n > remaining()) return nullptr;
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// ID sections: `count` records of u32 length + bytes.
uint64_t IdSectionBytes(const IdMap& ids);
void WriteIds(HashingWriter& w, const IdMap& ids);
// Parses `count` length-prefixed IDs filling exactly `bytes` bytes of `cursor`.
Status ReadIds(Cursor& cursor, uint32_t count, uint64_t bytes, const char* what, IdMap* ids);
// InvalidArgument when an ID is too long for its u32 length prefix.
Status CheckIdLengths(const IdMap& ids, const std::string& path);

// Writes `path` atomically: `body` writes every byte but the checksum into a
// temporary file beside it (returning false if it gave up), then the XXH64
// of those bytes is appended, the file flushed and fsync'ed, renamed over
// `path` and the directory fsync'ed. IOError naming the file on failure; the
// temporary file never outlives a failure.
Status WriteFileAtomically(const std::string& path,
                           const std::function<bool(HashingWriter&)>& body);

// The whole file, in a buffer sized by the file (never by a field inside it).
// NotFound when it does not exist, IOError when it cannot be read.
Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path);

// Corruption (without the path) unless the trailing XXH64 matches.
Status CheckChecksum(const std::vector<uint8_t>& bytes);

// Parses a version-1 file (docs/formats.md); messages do not name the path.
Status ParseModelV1(const std::vector<uint8_t>& bytes, FactorModel* model);

}  // namespace reco::model_file
