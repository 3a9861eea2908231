// The binary encoding of a recommendation list (docs/store.md, "List value"):
//
//   u8      format (0x01)
//   varint  count
//   count x { varint id_length; id bytes; f32 little-endian score }
//   u32     little-endian checksum: low 32 bits of XXH3_64bits(all bytes before it)
//
// Decoding checks every length against the bytes that remain before it
// allocates, so hostile or truncated values fail with Corruption.
#include <xxhash.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "reco/rec_store.h"

namespace reco {
namespace {

constexpr size_t kChecksumSize = 4;
constexpr size_t kMinEntrySize = 1 + 1 + 4;  // id length, 1-byte id, score

void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a varint of at most 5 bytes; false if truncated or over 32 bits.
bool GetVarint32(const uint8_t*& p, const uint8_t* end, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && p < end; shift += 7) {
    uint32_t byte = *p++;
    if (shift == 28 && byte > 0x0f) return false;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutFixed32(std::string* out, uint32_t v) {
  char buf[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                 static_cast<char>(v >> 24)};
  out->append(buf, 4);
}

uint32_t GetFixed32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

uint32_t Checksum(const void* data, size_t n) {
  return static_cast<uint32_t>(XXH3_64bits(data, n));
}

}  // namespace

Status EncodeRecList(std::span<const RecItem> items, std::string* out) {
  if (items.size() > kMaxRecListItems) {
    return Status::InvalidArgument("list of " + std::to_string(items.size()) +
                                   " items exceeds the limit of " +
                                   std::to_string(kMaxRecListItems));
  }
  out->clear();
  out->push_back(static_cast<char>(kRecListFormatV1));
  PutVarint32(out, static_cast<uint32_t>(items.size()));
  for (size_t i = 0; i < items.size(); ++i) {
    const RecItem& item = items[i];
    if (item.item_id.empty() || item.item_id.size() > kMaxExternalIdSize) {
      return Status::InvalidArgument("list item " + std::to_string(i) + ": item ID of " +
                                     std::to_string(item.item_id.size()) + " bytes (must be 1.." +
                                     std::to_string(kMaxExternalIdSize) + ")");
    }
    if (!std::isfinite(item.score)) {
      return Status::InvalidArgument("list item " + std::to_string(i) + " ('" +
                                     std::string(item.item_id) + "'): score is not finite");
    }
    PutVarint32(out, static_cast<uint32_t>(item.item_id.size()));
    out->append(item.item_id);
    PutFixed32(out, std::bit_cast<uint32_t>(item.score));
  }
  PutFixed32(out, Checksum(out->data(), out->size()));
  return Status::Ok();
}

Status DecodeRecList(std::string_view bytes, std::vector<RecItem>* items) {
  items->clear();
  const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 2 + kChecksumSize) {
    return Status::Corruption("list value of " + std::to_string(bytes.size()) +
                              " bytes is too short");
  }
  if (begin[0] != kRecListFormatV1) {
    return Status::Corruption("list value has unknown format byte " + std::to_string(begin[0]));
  }
  const uint8_t* end = begin + bytes.size() - kChecksumSize;
  if (GetFixed32(end) != Checksum(begin, bytes.size() - kChecksumSize)) {
    return Status::Corruption("list value checksum mismatch");
  }
  const uint8_t* p = begin + 1;
  uint32_t count = 0;
  if (!GetVarint32(p, end, &count)) return Status::Corruption("list value: bad item count");
  if (count > kMaxRecListItems || count > static_cast<size_t>(end - p) / kMinEntrySize) {
    return Status::Corruption("list value: item count " + std::to_string(count) +
                              " does not fit its " + std::to_string(bytes.size()) + " bytes");
  }
  items->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    if (!GetVarint32(p, end, &len) || len == 0 || len > kMaxExternalIdSize ||
        len + size_t{4} > static_cast<size_t>(end - p)) {
      items->clear();
      return Status::Corruption("list value: bad item " + std::to_string(i));
    }
    std::string_view id(reinterpret_cast<const char*>(p), len);
    p += len;
    float score = std::bit_cast<float>(GetFixed32(p));
    p += 4;
    if (!std::isfinite(score)) {
      items->clear();
      return Status::Corruption("list value: item " + std::to_string(i) +
                                " has a non-finite score");
    }
    items->push_back(RecItem{id, score});
  }
  if (p != end) {
    items->clear();
    return Status::Corruption("list value: " + std::to_string(end - p) + " trailing bytes");
  }
  return Status::Ok();
}

}  // namespace reco
