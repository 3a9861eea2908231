// The model file reader (src/model/model_file.cc, recommender_file.cc: version
// 1 and version 2 of every family) via LoadRecommender on a scratch file. The
// trailing XXH64 (docs/formats.md) is recomputed over the mutated bytes so that
// inputs reach the parsers behind it; the raw bytes are loaded too.
#include <xxhash.h>

#include <cstring>
#include <vector>

#include "fuzz_util.h"
#include "reco/recommender.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reco::fuzz::ScratchDir() + "/model.rcfm";
  reco::fuzz::WriteFileOrDie(path, data, size);
  (void)reco::LoadRecommender(path);
  if (size >= 8) {
    std::vector<uint8_t> fixed(data, data + size);
    const uint64_t sum = XXH64(fixed.data(), size - 8, 0);
    std::memcpy(fixed.data() + size - 8, &sum, 8);  // little-endian host (asserted by the codec)
    reco::fuzz::WriteFileOrDie(path, fixed.data(), size);
    (void)reco::LoadRecommender(path);
  }
  return 0;
}
