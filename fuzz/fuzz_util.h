// Helpers shared by the fuzz targets: parsers that read files get the fuzzer's
// bytes through a private temporary directory (one per process, reused).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace reco::fuzz {

// A directory that lives as long as the fuzzing process.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    std::string pattern = std::filesystem::temp_directory_path().string() + "/reco-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  return dir;
}

inline void WriteFileOrDie(const std::string& path, const uint8_t* data, size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

}  // namespace reco::fuzz
