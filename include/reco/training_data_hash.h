// Identifies training data by content, for model metadata and the registry's
// meta.json: a hash of the multiset of (external user ID, external item ID,
// value) records. It depends on neither the order of the records nor the
// dense indices the loader assigned, so the same data loaded twice, or base
// data plus events however they arrived, hashes the same; any ID or value
// changes it.
//
// Each record is hashed on its own with XXH3-128 over `u32 length, user ID
// bytes, u32 length, item ID bytes, f32 value` (little-endian); the hashes'
// halves and their squares are summed modulo 2^64, and XXH3-128 of those four
// sums and the record count is the result, as 32 lowercase hex digits (high
// half first). One pass, no sort: 50M records hash in seconds.
#pragma once

#include <string>

#include "reco/interactions.h"

namespace reco {

inline constexpr const char* kTrainingDataHashAlgorithm =
    "xxh3-128 multiset of (user, item, value)";

std::string TrainingDataHash(const Dataset& data);
// The same hash of a users x items matrix whose rows and columns `users` and
// `items` name.
std::string TrainingDataHash(const CsrMatrix& interactions, const IdMap& users, const IdMap& items);

}  // namespace reco
