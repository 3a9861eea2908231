// Top-k scoring: the hot path of precompute and of ranking evaluation.
//
// As in faiss, scoring is split from selection. A block of query rows times a
// block of item rows is scored by one cblas_sgemm into a per-worker scratch
// buffer; each scored row is then folded into that query's bounded heap of
// the k best (item, score) pairs. There is never one dot product call per
// (user, item). Workers take query blocks from reco::ParallelFor.
//
// OpenBLAS threading: these functions call openblas_set_num_threads(1),
// which is process-wide and is left that way. We already run one GEMM per
// core on independent query blocks; letting OpenBLAS also fan out each GEMM
// would oversubscribe the cores (threads x OpenBLAS threads) and its shared
// thread pool would serialise our workers.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "reco/interactions.h"
#include "reco/status.h"

namespace reco {

// Per-query ranked results in CSR layout: row r holds entries
// [indptr[r], indptr[r+1]), best first. The top-k scorers produce it, and the
// ranking metrics (reco/metrics.h) read recommendations in this shape.
struct RankedLists {
  std::vector<uint64_t> indptr = {0};  // rows() + 1 entries
  std::vector<uint32_t> items;         // item (column) indices
  std::vector<float> scores;           // parallel to items, or empty when only order matters

  uint32_t rows() const { return static_cast<uint32_t>(indptr.size() - 1); }
  uint32_t RowLength(uint32_t r) const { return static_cast<uint32_t>(indptr[r + 1] - indptr[r]); }
  std::span<const uint32_t> Items(uint32_t r) const {
    return {items.data() + indptr[r], RowLength(r)};
  }
  // Empty when the lists carry no scores.
  std::span<const float> Scores(uint32_t r) const {
    if (scores.empty()) return {};
    return {scores.data() + indptr[r], RowLength(r)};
  }
  // Appends one row; `row_scores` is empty or as long as `row_items`, and
  // must be given for every row or for none.
  void AppendRow(std::span<const uint32_t> row_items, std::span<const float> row_scores = {});
  // Convenience for tests and small inputs: one row per inner vector, no scores.
  static RankedLists FromRows(const std::vector<std::vector<uint32_t>>& rows);
};

// A borrowed row-major float matrix: rows x dim, contiguous (row stride = dim).
struct FactorView {
  const float* data = nullptr;
  uint32_t rows = 0;
  uint32_t dim = 0;
};

struct TopKOptions {
  uint32_t k = 10;
  // Worker threads; <= 0 means all hardware threads.
  int threads = 0;
  // Optional per-item additive bias (length = item rows), so explicit models
  // with item biases rank by their full prediction. User bias and the global
  // mean do not change a user's ranking and are not needed.
  std::span<const float> item_bias = {};
  // Optional users x items matrix of items each user already saw; those are
  // never returned. Row index = user index (not request position).
  const CsrMatrix* exclude = nullptr;
  // Query rows x item rows scored per GEMM. The product is the per-worker
  // scratch; 256 x 512 floats (512 KiB) stays in L2 between sgemm writing it
  // and selection reading it, and measured fastest among 128..512 x 512..4096.
  uint32_t query_block = 256;
  uint32_t item_block = 512;
};

// For each user in `user_ids` (all users 0..users.rows-1 when empty), the k
// items with the highest score = dot(user, item) + item_bias[item], excluding
// the user's row of `exclude`. Row r of the result belongs to user_ids[r].
// Sorted by score descending, ties broken by the lower item index, so results
// are identical for any thread count. A row has fewer than k entries when
// fewer than k items remain after exclusion. Rejects mismatched shapes,
// out-of-range ids and non-finite factors or biases with InvalidArgument.
Result<RankedLists> TopKItems(FactorView users, FactorView items,
                              std::span<const uint32_t> user_ids, const TopKOptions& options);

// For each item in `item_ids` (all items when empty), the k most similar
// other items by cosine similarity of their factor rows (rows are normalised,
// then scored by a blocked item x item GEMM). The item itself is never
// returned; a zero vector has similarity 0 to everything. Same ordering and
// tie rules as TopKItems. `options.item_bias` must be empty; `exclude`, if
// set, is items x items.
Result<RankedLists> SimilarItems(FactorView items, std::span<const uint32_t> item_ids,
                                 const TopKOptions& options);

}  // namespace reco
