// interactions.rcsr: docs/formats.md, section "Model registry", is the spec;
// keep the two in step. All integers and floats are little-endian.
#include "interactions_file.h"

#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "file_util.h"
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
  PutU32(p + 4, kFormatVersion);
  PutU32(p + 8, m.rows);
  PutU32(p + 12, m.cols);
  PutU64(p + 16, nnz);
  size_t pos = kHeaderBytes;
  for (uint64_t v : m.indptr) {
    PutU64(p + pos, v);
    pos += 8;
  }
  for (uint32_t v : m.indices) {
    PutU32(p + pos, v);
    pos += 4;
  }
  for (float v : m.values) {
    PutU32(p + pos, std::bit_cast<uint32_t>(v));
    pos += 4;
  }
  PutU64(p + pos, XXH3_64bits(p, pos));
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
  const uint32_t version = GetU32(p + 4);
  if (version != kFormatVersion) {
    return Status::Corruption("unsupported interactions format version " + std::to_string(version));
  }
  CsrMatrix m;
  m.rows = GetU32(p + 8);
  m.cols = GetU32(p + 12);
  const uint64_t nnz = GetU64(p + 16);
  // rows < 2^32, so the indptr term cannot overflow; nnz is bounded by the
  // file size before it is multiplied.
  const uint64_t fixed = kHeaderBytes + 8 * (uint64_t{m.rows} + 1) + kChecksumBytes;
  if (nnz > size / 8 || fixed + 8 * nnz != size) {
    return Status::Corruption(
        "file has " + std::to_string(size) + " bytes but its header (rows " +
        std::to_string(m.rows) + ", nnz " + std::to_string(nnz) +
        ") describes a different size (truncated, trailing data or corrupted header)");
  }
  const uint64_t stored = GetU64(p + size - kChecksumBytes);
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
    v = GetU64(p + pos);
    pos += 8;
  }
  for (uint32_t& v : m.indices) {
    v = GetU32(p + pos);
    pos += 4;
  }
  for (float& v : m.values) {
    v = std::bit_cast<float>(GetU32(p + pos));
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
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  RECO_RETURN_IF_ERROR(
      registry_internal::WriteFileSynced(tmp, registry_internal::EncodeInteractions(matrix)));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    std::remove(tmp.c_str());
    return Status::IOError("cannot rename " + tmp + " to " + path + ": " + err);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return registry_internal::SyncDirectory(dir.empty() ? "." : dir);
}

Result<CsrMatrix> LoadInteractions(const std::string& path) {
  RECO_ASSIGN_OR_RETURN(std::string bytes, registry_internal::ReadFileBytes(path));
  Result<CsrMatrix> m = registry_internal::DecodeInteractions(bytes);
  if (!m.ok()) return Status::Corruption(path + ": " + m.status().message());
  return m;
}

}  // namespace reco
