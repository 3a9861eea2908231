// The binary encoding of a recommendation list (docs/store.md, "List value"):
//
//   u8      format (0x01)
//   varint  count
//   count x { varint id_length; id bytes; f32 little-endian score }
//   u32     little-endian checksum: low 32 bits of XXH3_64bits(all bytes before it)
//
// A live-state value (docs/store.md, "Live-state value") is
//   u8 format (0x01), the payload bytes, u32 checksum as above.
//
// Decoding checks every length against the bytes that remain before it
// allocates, so hostile or truncated values fail with Corruption.
#include <xxhash.h>

#include <cmath>
#include <string>

#include "reco/coding.h"
#include "reco/rec_store.h"

namespace reco {
namespace {

constexpr size_t kChecksumSize = 4;
constexpr size_t kMinEntrySize = 1 + 1 + 4;  // id length, 1-byte id, score

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
    PutFloat(out, item.score);
  }
  PutFixed32(out, Checksum(out->data(), out->size()));
  return Status::Ok();
}

Status DecodeRecList(std::string_view bytes, std::vector<RecItem>* items) {
  items->clear();
  if (bytes.size() < 2 + kChecksumSize) {
    return Status::Corruption("list value of " + std::to_string(bytes.size()) +
                              " bytes is too short");
  }
  if (static_cast<uint8_t>(bytes[0]) != kRecListFormatV1) {
    return Status::Corruption("list value has unknown format byte " +
                              std::to_string(static_cast<uint8_t>(bytes[0])));
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kChecksumSize);
  if (DecodeFixed32(bytes.data() + body.size()) != Checksum(body.data(), body.size())) {
    return Status::Corruption("list value checksum mismatch");
  }
  ByteReader in(body.substr(1));
  uint32_t count = 0;
  if (!in.ReadVarint32(&count)) return Status::Corruption("list value: bad item count");
  if (count > kMaxRecListItems || count > in.remaining() / kMinEntrySize) {
    return Status::Corruption("list value: item count " + std::to_string(count) +
                              " does not fit its " + std::to_string(bytes.size()) + " bytes");
  }
  items->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    std::string_view id;
    float score = 0;
    if (!in.ReadVarint32(&len) || len == 0 || len > kMaxExternalIdSize || !in.ReadBytes(len, &id) ||
        !in.ReadFloat(&score)) {
      items->clear();
      return Status::Corruption("list value: bad item " + std::to_string(i));
    }
    if (!std::isfinite(score)) {
      items->clear();
      return Status::Corruption("list value: item " + std::to_string(i) +
                                " has a non-finite score");
    }
    items->push_back(RecItem{id, score});
  }
  if (!in.empty()) {
    items->clear();
    return Status::Corruption("list value: " + std::to_string(in.remaining()) + " trailing bytes");
  }
  return Status::Ok();
}

void EncodeLiveState(std::string_view payload, std::string* out) {
  out->clear();
  out->reserve(1 + payload.size() + kChecksumSize);
  out->push_back(static_cast<char>(kLiveStateFormatV1));
  out->append(payload);
  PutFixed32(out, Checksum(out->data(), out->size()));
}

Status DecodeLiveState(std::string_view bytes, std::string_view* payload) {
  if (bytes.size() < 1 + kChecksumSize) {
    return Status::Corruption("live-state value of " + std::to_string(bytes.size()) +
                              " bytes is too short");
  }
  if (static_cast<uint8_t>(bytes[0]) != kLiveStateFormatV1) {
    return Status::Corruption("live-state value has unknown format byte " +
                              std::to_string(static_cast<uint8_t>(bytes[0])));
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kChecksumSize);
  if (DecodeFixed32(bytes.data() + body.size()) != Checksum(body.data(), body.size())) {
    return Status::Corruption("live-state value checksum mismatch");
  }
  *payload = body.substr(1);
  return Status::Ok();
}

}  // namespace reco
