// DecodeRecList over arbitrary bytes. The trailing checksum is recomputed over
// the mutated bytes (docs/store.md, "List value") so that inputs reach the
// decoder behind it instead of all stopping at "checksum mismatch"; the raw
// bytes are decoded too, to fuzz the checksum path itself.
#include <xxhash.h>

#include <cstring>
#include <string>
#include <vector>

#include "reco/coding.h"
#include "reco/rec_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  std::vector<reco::RecItem> items;
  (void)reco::DecodeRecList(raw, &items);
  if (size >= 4) {
    std::string fixed(raw.substr(0, size - 4));
    reco::PutFixed32(&fixed, static_cast<uint32_t>(XXH3_64bits(fixed.data(), fixed.size())));
    if (reco::DecodeRecList(fixed, &items).ok()) {
      // What the decoder accepts, the encoder must be able to write (ID
      // lengths, finite scores). Bytes may differ: varints need not be minimal.
      std::string again;
      if (!reco::EncodeRecList(items, &again).ok()) __builtin_trap();
    }
  }
  return 0;
}
