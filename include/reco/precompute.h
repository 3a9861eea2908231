// TopKPrecomputer: turns a trained model into a store version — every user's
// top-k unseen items, every item's top-k most similar items and a popular
// list for cold-start users — and activates it atomically.
#pragma once

#include <cstdint>
#include <string>

#include "reco/interactions.h"
#include "reco/rec_store.h"
#include "reco/recommender.h"
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
Result<PrecomputeResult> PrecomputeToStore(const Recommender& model, const CsrMatrix& seen,
                                           RecommendationStore* store,
                                           const PrecomputeOptions& options);

// The two halves of a precompute run, shared by PrecomputeToStore and the MPI
// precompute (reco/distributed.h), which gives each process a user range.
//
// Users [begin, end): their top options.k unseen items, scored in blocks of
// options.users_per_block, with a progress bar named `progress_label` when
// options.show_progress.
Status WriteUserLists(const Recommender& model, const CsrMatrix& seen, uint32_t begin, uint32_t end,
                      const PrecomputeOptions& options, int threads, const char* progress_label,
                      VersionWriter* writer);
// Every item's options.similar_k most similar items (none when 0) and the
// popular list: items by the number of users who interacted, ties by lower
// index, max(popular_k, k) long.
Status WriteItemLists(const Recommender& model, const CsrMatrix& seen,
                      const PrecomputeOptions& options, int threads, VersionWriter* writer);

}  // namespace reco
