// TopKPrecomputer: turns a trained model into a store version — every user's
// top-k unseen items, every item's top-k most similar items and a popular
// list for cold-start users — and activates it atomically.
#pragma once

#include <cstdint>
#include <string>

#include "reco/interactions.h"
#include "reco/model.h"
#include "reco/rec_store.h"
#include "reco/status.h"

namespace reco {

struct PrecomputeOptions {
  uint32_t k = 10;           // items per user list
  uint32_t similar_k = 10;   // items per similar-items list (0: skip)
  uint32_t popular_k = 100;  // length of the cold-start list (at least k)
  int threads = 0;
  uint32_t users_per_block = 8192;  // scored at once; bounds memory for huge catalogues
  std::string version;              // empty: a fresh id from the clock
  std::string description;
  bool activate = true;
  bool show_progress = true;
};

struct PrecomputeResult {
  VersionMeta meta;
  double seconds = 0;
  double users_per_second = 0;
};

// `seen` is users x items in the model's index space: those items are never
// recommended to that user, and their column counts rank the popular list.
Result<PrecomputeResult> PrecomputeToStore(const FactorModel& model, const CsrMatrix& seen,
                                           RecommendationStore* store,
                                           const PrecomputeOptions& options);

}  // namespace reco
