// interactions.rcsr: docs/formats.md, section "Model registry", is the spec;
// keep the two in step. All integers and floats are little-endian.
#include "interactions_file.h"

#include <xxhash.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "reco/coding.h"
#include "reco/file_util.h"
#include "reco/model_registry.h"

namespace reco {
namespace registry_internal {
namespace {

constexpr char kMagic[4] = {'R', 'C', 'S', 'R'};  // "reco sparse rows"
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 24;
constexpr size_t kChecksumBytes = 8;

}  // namespace

Status CheckCsr(const CsrMatrix& m) {
  if (m.indptr.size() != uint64_t{m.rows} + 1) {
    return Status::InvalidArgument("indptr has " + std::to_string(m.indptr.size()) +
                                   " entries, rows + 1 = " + std::to_string(uint64_t{m.rows} + 1));
  }
  const uint64_t nnz = m.indices.size();
  if (m.values.size() != nnz) {
    return Status::InvalidArgument("values has " + std::to_string(m.values.size()) +
                                   " entries, indices " + std::to_string(nnz));
  }
  if (m.indptr.front() != 0 || m.indptr.back() != nnz) {
    return Status::InvalidArgument("indptr must run from 0 to nnz = " + std::to_string(nnz));
  }
  for (uint32_t r = 0; r < m.rows; ++r) {
    const uint64_t begin = m.indptr[r], end = m.indptr[r + 1];
    if (end < begin || end > nnz) {
      return Status::InvalidArgument("indptr decreases or overruns at row " + std::to_string(r));
    }
    for (uint64_t j = begin; j < end; ++j) {
      if (m.indices[j] >= m.cols) {
        return Status::InvalidArgument("row " + std::to_string(r) + ": column " +
                                       std::to_string(m.indices[j]) + " >= cols " +
                                       std::to_string(m.cols));
      }
      if (j > begin && m.indices[j] <= m.indices[j - 1]) {
        return Status::InvalidArgument("row " + std::to_string(r) +
                                       ": column indices not strictly increasing");
      }
      if (!std::isfinite(m.values[j])) {
        return Status::InvalidArgument("row " + std::to_string(r) + ": non-finite value");
      }
    }
  }
  return Status::Ok();
}

std::string EncodeInteractions(const CsrMatrix& m) {
  const uint64_t nnz = m.indices.size();
  const size_t size = kHeaderBytes + 8 * (size_t{m.rows} + 1) + 8 * nnz + kChecksumBytes;
  std::string out(size, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  std::memcpy(p, kMagic, sizeof(kMagic));
  EncodeFixed32(p + 4, kFormatVersion);
  EncodeFixed32(p + 8, m.rows);
  EncodeFixed32(p + 12, m.cols);
  EncodeFixed64(p + 16, nnz);
  size_t pos = kHeaderBytes;
  for (uint64_t v : m.indptr) {
    EncodeFixed64(p + pos, v);
    pos += 8;
  }
  for (uint32_t v : m.indices) {
    EncodeFixed32(p + pos, v);
    pos += 4;
  }
  for (float v : m.values) {
    EncodeFixed32(p + pos, std::bit_cast<uint32_t>(v));
    pos += 4;
  }
  EncodeFixed64(p + pos, XXH3_64bits(p, pos));
  return out;
}

Result<CsrMatrix> DecodeInteractions(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const uint64_t size = bytes.size();
  if (size < sizeof(kMagic) || std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not an interactions file (bad magic, expected \"RCSR\")");
  }
  if (size < kHeaderBytes) {
    return Status::Corruption("truncated inside the header (" + std::to_string(size) + " bytes)");
  }
  const uint32_t version = DecodeFixed32(p + 4);
  if (version != kFormatVersion) {
    return Status::Corruption("unsupported interactions format version " + std::to_string(version));
  }
  CsrMatrix m;
  m.rows = DecodeFixed32(p + 8);
  m.cols = DecodeFixed32(p + 12);
  const uint64_t nnz = DecodeFixed64(p + 16);
  // rows < 2^32, so the indptr term cannot overflow; nnz is bounded by the
  // file size before it is multiplied.
  const uint64_t fixed = kHeaderBytes + 8 * (uint64_t{m.rows} + 1) + kChecksumBytes;
  if (nnz > size / 8 || fixed + 8 * nnz != size) {
    return Status::Corruption(
        "file has " + std::to_string(size) + " bytes but its header (rows " +
        std::to_string(m.rows) + ", nnz " + std::to_string(nnz) +
        ") describes a different size (truncated, trailing data or corrupted header)");
  }
  const uint64_t stored = DecodeFixed64(p + size - kChecksumBytes);
  const uint64_t computed = XXH3_64bits(p, size - kChecksumBytes);
  if (stored != computed) {
    char text[96];
    std::snprintf(text, sizeof(text), "checksum mismatch (stored %016llx, computed %016llx)",
                  static_cast<unsigned long long>(stored),
                  static_cast<unsigned long long>(computed));
    return Status::Corruption(text);
  }
  m.indptr.resize(uint64_t{m.rows} + 1);
  m.indices.resize(nnz);
  m.values.resize(nnz);
  size_t pos = kHeaderBytes;
  for (uint64_t& v : m.indptr) {
    v = DecodeFixed64(p + pos);
    pos += 8;
  }
  for (uint32_t& v : m.indices) {
    v = DecodeFixed32(p + pos);
    pos += 4;
  }
  for (float& v : m.values) {
    v = std::bit_cast<float>(DecodeFixed32(p + pos));
    pos += 4;
  }
  Status valid = CheckCsr(m);
  if (!valid.ok()) return Status::Corruption(valid.message());
  return m;
}

}  // namespace registry_internal

Status SaveInteractions(const CsrMatrix& matrix, const std::string& path) {
  Status valid = registry_internal::CheckCsr(matrix);
  if (!valid.ok()) return valid.WithContext("cannot save interactions to " + path);
  return WriteFileAtomically(path, registry_internal::EncodeInteractions(matrix));
}

Result<CsrMatrix> LoadInteractions(const std::string& path) {
  RECO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  Result<CsrMatrix> m = registry_internal::DecodeInteractions(bytes);
  if (!m.ok()) return Status::Corruption(path + ": " + m.status().message());
  return m;
}

}  // namespace reco
