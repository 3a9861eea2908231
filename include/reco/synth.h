// Synthetic interaction data drawn from a planted low-rank model, for scale
// benchmarks and for tests that check training recovers known structure.
//
// The planted model: every user u has a taste vector x_u, every item i a
// vector y_i (rank R, entries normal with variance 1/sqrt(R), so the affinity
// a = x_u . y_i has variance about 1) and a Zipf popularity w_i ~ rank^-s
// (popularity ranks are a seeded permutation of the items). A user picks its
// items, distinct, with probability proportional to w_i * exp(affinity *
// a(u, i)): the planted score of (u, i) is log w_i + affinity * a(u, i).
// Each user's number of items follows a power law over users (weights
// rank^-activity_exponent), at least min_per_user and at most max_per_user.
//
// Generation streams: users are produced in index order, a block at a time,
// and written as CSV (user_id,item_id,rating,timestamp; the loader's `csv`
// format) so state is O(users + items * rank) and independent of the number
// of interactions. Every user draws from its own SplitMix64 stream derived
// from (seed, user), so the bytes do not depend on the thread count.
// Details and the factors file format: docs/input-formats.md, "Synthetic data".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reco/status.h"

namespace reco {

struct SynthOptions {
  uint32_t users = 1000;
  uint32_t items = 500;
  uint64_t interactions = 20000;  // exactly this many records are written
  uint32_t rank = 8;              // of the planted model
  uint64_t seed = 42;
  // false: values are 1..5 stars, round(2.5 + 1.25 a + noise); true: values
  // are interaction counts 1 + floor(E * exp(a)), E ~ Exp(1), capped at 1000.
  bool implicit = false;
  double zipf_exponent = 1.0;      // item popularity w ~ rank^-zipf_exponent
  double activity_exponent = 0.5;  // user activity weight ~ rank^-activity_exponent
  uint32_t min_per_user = 5;
  uint32_t max_per_user = 0;  // 0: the number of items
  // How much taste outweighs popularity (0: popularity only). Larger values
  // make the planted structure easier to recover.
  double affinity = 2.0;
  // Candidates scored per pick: a user choosing n items draws about
  // candidates_per_pick * n distinct candidates by popularity and keeps the
  // n with the best affinity + Gumbel noise (an approximation of sampling
  // without replacement that tends to the exact one as this grows; users
  // whose candidates would cover much of the catalogue score every item and
  // are sampled exactly).
  uint32_t candidates_per_pick = 4;
  // Timestamps: each user's are sorted uniform draws in [start_time, end_time).
  int64_t start_time = 1577836800;  // 2020-01-01T00:00:00Z
  int64_t end_time = 1735689600;    // 2025-01-01T00:00:00Z
  int threads = 0;                  // 0: all hardware threads; never changes the output
  bool progress = true;             // a progress bar on stderr
};

struct SynthReport {
  uint64_t interactions = 0;
  uint64_t bytes = 0;  // of the interactions file
  uint32_t max_user_interactions = 0;
  uint32_t exact_users = 0;  // users sampled by scoring every item
  double seconds = 0;
};

// Validates options without generating anything (InvalidArgument naming the
// offending option).
Status CheckSynthOptions(const SynthOptions& options);

// Writes the interactions CSV to `out_path` and, unless `factors_path` is
// empty, the planted model to `factors_path`. Both are written to `path.tmp`
// and renamed into place. User IDs are "0".."users-1" (users appear in that
// order, each with at least min_per_user records), item IDs "0".."items-1"
// (an item nobody picked does not appear).
Status GenerateSynthetic(const SynthOptions& options, const std::string& out_path,
                         const std::string& factors_path, SynthReport* report = nullptr);

// The planted model as read back from a factors file: score(u, i) =
// item_bias[i] + dot(user row u, item row i), where user u and item i are the
// external IDs std::to_string(u) and std::to_string(i). item_bias holds
// log w_i and the item rows are already multiplied by the affinity, so a
// user's planted top items are those with the highest score.
struct PlantedModel {
  uint32_t users = 0;
  uint32_t items = 0;
  uint32_t rank = 0;
  std::vector<float> user_factors;  // users x rank, row-major
  std::vector<float> item_factors;  // items x rank, row-major
  std::vector<float> item_bias;     // items

  float Score(uint32_t user, uint32_t item) const;
};

// Reads a factors file written by GenerateSynthetic. Corruption naming the
// file and line for anything malformed.
Result<PlantedModel> LoadPlantedModel(const std::string& path);

}  // namespace reco
