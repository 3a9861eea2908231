// Getting MovieLens onto this machine: `reco data fetch ml-100k`.
//
// A fetch ends in one of two states: <dest>/<name>/ holds the complete, verified
// data set, or nothing new exists at that path and the returned Status says why.
// Everything is staged in hidden temporary entries inside <dest> (same file
// system, so the final step is a rename) and removed on every failure path.
//
// A fetched data set directory always carries a SHA256SUMS file (`sha256sum`
// format, the same convention as the shared MovieLens directory); a later
// fetch that finds the directory and verifies every listed file does nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "reco/status.h"

namespace reco {

// One official GroupLens archive. Checksums are of the .zip as served by
// https://files.grouplens.org/datasets/movielens/<name>.zip.
struct KnownDataset {
  std::string_view name;  // "ml-100k"; also the directory inside the archive
  std::string_view url;
  std::string_view sha256;  // lowercase hex
  uint64_t size_bytes;
};

// The catalogue: ml-100k, ml-1m, ml-latest-small.
std::span<const KnownDataset> KnownDatasets();
// nullptr if `name` is not in the catalogue.
const KnownDataset* FindKnownDataset(std::string_view name);

struct FetchOptions {
  std::string dataset;  // catalogue name, or any plain name with url/sha256 or from_dir
  std::string dest_dir = "data";
  // Use a local copy instead of the network: <from_dir>/<dataset>.zip (verified,
  // then unpacked) or <from_dir>/<dataset>/ (its SHA256SUMS verified, then copied).
  std::string from_dir;
  std::string url;     // overrides the catalogue URL (mirrors, tests)
  std::string sha256;  // overrides the catalogue checksum; required for unknown names
  bool force = false;  // replace an existing <dest>/<dataset>, verified or not

  long connect_timeout_seconds = 30;
  // The transfer is abandoned when it moves less than 1 byte/s for this long.
  long stall_timeout_seconds = 60;
  // 0 = the catalogue size when known (a longer body cannot match the
  // checksum anyway), else 2 GiB.
  uint64_t max_download_bytes = 0;
  // Refuse archives that unpack to more than this (zip bombs) or more entries.
  uint64_t max_unpacked_bytes = uint64_t{4} << 30;
  uint64_t max_archive_entries = 100000;
  bool show_progress = true;
};

// Fetches, verifies and unpacks one data set; returns the absolute path of
// <dest>/<dataset>. Errors name the file or URL and what went wrong, e.g.
// "sha256 mismatch for ml-100k.zip: expected 50d2…, got 9f86…".
Result<std::string> FetchDataset(const FetchOptions& options);

// --- Building blocks, public for tests and for other tools. ---

// Lowercase hex SHA-256 of a file's bytes / of a buffer.
Result<std::string> Sha256OfFile(const std::string& path);
std::string Sha256OfBytes(std::string_view bytes);

// Checks every file listed in <dir>/SHA256SUMS ("<hex>  <path>" or
// "<hex> *<path>" lines, paths relative to dir). NotFound if there is no
// SHA256SUMS, Corruption naming the first file whose hash differs.
Status VerifySha256Sums(const std::string& dir);

// Writes <dir>/SHA256SUMS listing every regular file below dir (sorted).
Status WriteSha256Sums(const std::string& dir);

struct UnpackLimits {
  uint64_t max_bytes = uint64_t{4} << 30;
  uint64_t max_entries = 100000;
};

// Unpacks a zip (or any archive libarchive reads) into the existing directory
// dest_dir. Refuses, before writing it, any entry with an absolute path or a
// `..` component, any symlink or hardlink that could point outside dest_dir,
// and device/fifo entries. On error, dest_dir may hold a partial tree: callers
// unpack into a staging directory they delete.
Status UnpackArchive(const std::string& archive_path, const std::string& dest_dir,
                     const UnpackLimits& limits = {});

}  // namespace reco
