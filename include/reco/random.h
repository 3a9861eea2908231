// The one pseudo-random generator reco uses wherever a seed must name the
// same result on every platform: splits, initial factors, synthetic data,
// load-test user picks. std:: distributions (and std::shuffle) are
// implementation-defined, so they are never used for that.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

namespace reco {

// Vigna's SplitMix64 (Steele, Lea, Flood 2014): tiny state, passes BigCrush,
// defined by 64-bit integer arithmetic only, hence the same stream everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), bound > 0. Draws below 2^64 mod bound are rejected
  // so that every residue is equally likely (plain `Next() % bound` is not).
  uint64_t Below(uint64_t bound) {
    const uint64_t reject_below = (0 - bound) % bound;
    for (;;) {
      uint64_t r = Next();
      if (r >= reject_below) return r % bound;
    }
  }
  // Uniform in [0, 1) with 24 random bits: exactly representable as float.
  float NextFloat() { return static_cast<float>(Next() >> 40) * 0x1.0p-24f; }

 private:
  uint64_t state_;
};

// Fisher-Yates (Durstenfeld): for i = n-1 .. 1 swap v[i] with v[Below(i+1)].
template <typename T>
void Shuffle(std::span<T> v, SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(rng.Below(i));
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace reco
