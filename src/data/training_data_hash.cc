#include "reco/training_data_hash.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <bit>
#include <cstdint>

#include "reco/coding.h"

namespace reco {
namespace {

class MultisetHash {
 public:
  void Add(const std::string& user, const std::string& item, float value) {
    record_.clear();
    PutFixed32(&record_, static_cast<uint32_t>(user.size()));
    record_.append(user);
    PutFixed32(&record_, static_cast<uint32_t>(item.size()));
    record_.append(item);
    PutFixed32(&record_, std::bit_cast<uint32_t>(value));
    const XXH128_hash_t h = XXH3_128bits(record_.data(), record_.size());
    sums_[0] += h.low64;
    sums_[1] += h.high64;
    sums_[2] += h.low64 * h.low64;
    sums_[3] += h.high64 * h.high64;
    ++sums_[4];
  }
  std::string Finish() const {
    std::string bytes;
    for (uint64_t s : sums_) PutFixed64(&bytes, s);
    const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
    return fmt::format("{:016x}{:016x}", h.high64, h.low64);
  }

 private:
  std::string record_;
  uint64_t sums_[5] = {0, 0, 0, 0, 0};  // low, high, low^2, high^2, count
};

}  // namespace

std::string TrainingDataHash(const Dataset& data) {
  MultisetHash hash;
  for (const Interaction& r : data.interactions) {
    hash.Add(data.users.External(r.user), data.items.External(r.item), r.value);
  }
  return hash.Finish();
}

std::string TrainingDataHash(const CsrMatrix& m, const IdMap& users, const IdMap& items) {
  MultisetHash hash;
  for (uint32_t u = 0; u < m.rows; ++u) {
    for (uint64_t p = m.indptr[u]; p < m.indptr[u + 1]; ++p) {
      hash.Add(users.External(u), items.External(m.indices[p]), m.values[p]);
    }
  }
  return hash.Finish();
}

}  // namespace reco
