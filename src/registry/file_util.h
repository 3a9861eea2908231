// Small POSIX file helpers for the registry: whole-file reads sized by the
// file, durable writes (write + fsync), directory fsyncs and content hashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "reco/status.h"

namespace reco::registry_internal {

// NotFound when `path` does not exist, IOError for any other failure.
Result<std::string> ReadFileBytes(const std::string& path);

// Creates `path` (which must not exist), writes `bytes`, fsyncs and closes it.
Status WriteFileSynced(const std::string& path, std::string_view bytes);

// fsync of a directory, so that a rename or a new entry in it is durable.
Status SyncDirectory(const std::string& dir);

// XXH3-128 as 32 lowercase hex digits (high 64 bits first, as xxhsum prints).
std::string Xxh128Hex(std::string_view bytes);

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

}  // namespace reco::registry_internal
