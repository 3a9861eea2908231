// Pieces shared by the two model file versions (model_file.cc: version 1,
// SaveModel/LoadModel; recommender_file.cc: version 2, every family), so
// both encode, checksum, bound and write files the same way. docs/formats.md
// "Model file" is the spec. Internal to the library.
// Byte order comes from reco/coding.h and the temp-fsync-rename dance from
// reco/file_util.h's AtomicFileWriter; this file only adds the checksum.
#pragma once

#include <xxhash.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reco/coding.h"
#include "reco/file_util.h"
#include "reco/interactions.h"
#include "reco/model.h"
#include "reco/status.h"

namespace reco::model_file {

inline constexpr char kMagic[4] = {'R', 'C', 'F', 'M'};  // "reco factor model"
inline constexpr size_t kChecksumBytes = 8;

// Writes into an AtomicFileWriter while hashing every byte, so the checksum
// costs no second pass and no in-memory copy of the model. The first failure
// sticks: later writes are skipped and status() reports it.
class HashingWriter {
 public:
  explicit HashingWriter(AtomicFileWriter* file) : file_(file), state_(XXH64_createState()) {
    if (state_ == nullptr || XXH64_reset(state_.get(), 0) != XXH_OK) {
      status_ = Status::Internal("cannot allocate the XXH64 state");
    }
  }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  uint64_t digest() const { return XXH64_digest(state_.get()); }
  // Bytes written so far (writers check their section sizes against it).
  uint64_t written() const { return written_; }

  void Bytes(const void* data, size_t n) {
    if (!status_.ok() || n == 0) return;
    XXH64_update(state_.get(), data, n);
    status_ = file_->Append(std::string_view(static_cast<const char*>(data), n));
    written_ += n;
  }
  void U8(uint8_t v) { Bytes(&v, 1); }
  void U32(uint32_t v) {
    uint8_t b[4];
    EncodeFixed32(b, v);
    Bytes(b, 4);
  }
  void U64(uint64_t v) {
    uint8_t b[8];
    EncodeFixed64(b, v);
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
  AtomicFileWriter* file_;
  std::unique_ptr<XXH64_state_t, StateDeleter> state_;
  Status status_;
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

// Writes `path` through AtomicFileWriter: `body` writes every byte but the
// checksum into a temporary file beside it (returning false if it gave up),
// then the XXH64 of those bytes is appended and the file committed (fsync,
// rename over `path`, fsync the directory; a stream target such as
// /dev/stdout is written in place). IOError naming the file on failure; the
// temporary file never outlives a failure.
Status WriteChecksummedFile(const std::string& path,
                            const std::function<bool(HashingWriter&)>& body);

// The whole file, in a buffer sized by the file (never by a field inside it).
// NotFound when it does not exist, IOError when it cannot be read.
Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path);

// Corruption (without the path) unless the trailing XXH64 matches.
Status CheckChecksum(const std::vector<uint8_t>& bytes);

// Parses a version-1 file (docs/formats.md); messages do not name the path.
Status ParseModelV1(const std::vector<uint8_t>& bytes, FactorModel* model);

}  // namespace reco::model_file
