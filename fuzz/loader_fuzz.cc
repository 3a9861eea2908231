// The interaction-file loader (src/data/loader.cc) for every input format. The
// first byte picks the format, duplicate policy and skip mode; the rest is the
// file, written to a scratch path since the loader streams from a file.
#include "fuzz_util.h"
#include "reco/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  reco::LoadOptions opts;
  constexpr reco::InputFormat kFormats[] = {
      reco::InputFormat::kAuto, reco::InputFormat::kUData, reco::InputFormat::kRatingsDat,
      reco::InputFormat::kRatingsCsv, reco::InputFormat::kDelimited};
  opts.format = kFormats[mode % 5];
  constexpr reco::DuplicatePolicy kPolicies[] = {
      reco::DuplicatePolicy::kKeepLast, reco::DuplicatePolicy::kKeepFirst,
      reco::DuplicatePolicy::kSum, reco::DuplicatePolicy::kMax, reco::DuplicatePolicy::kError};
  opts.duplicates = kPolicies[(mode / 5) % 5];
  opts.skip_bad_lines = (mode & 0x40) != 0;
  if (opts.format == reco::InputFormat::kDelimited) {
    opts.has_header = (mode & 0x80) != 0;
    if (opts.has_header) opts.value_column = reco::ColumnRef::Named("rating");
  }
  opts.max_line_bytes = 4096;
  const std::string path = reco::fuzz::ScratchDir() + "/input";
  reco::fuzz::WriteFileOrDie(path, data + 1, size - 1);
  reco::LoadReport report;
  (void)reco::LoadInteractions(path, opts, &report);
  return 0;
}
