// Top-k scoring: the hot path of precompute and of ranking evaluation.
//
// As in faiss, scoring is split from selection. A block of query rows times a
// block of item rows is scored by one cblas_sgemm into a per-worker scratch
// buffer; each scored row is then folded into that query's bounded heap of
// the k best (item, score) pairs. There is never one dot product call per
// (user, item). Workers take query blocks from reco::ParallelFor.
// TopKFromScoreBlocks is the same selection for models that are not a dot
// product (item-item families): they fill dense score blocks, it selects.
//
// OpenBLAS threading: these functions call openblas_set_num_threads(1),
// which is process-wide and is left that way. We already run one GEMM per
// core on independent query blocks; letting OpenBLAS also fan out each GEMM
// would oversubscribe the cores (threads x OpenBLAS threads) and its shared
// thread pool would serialise our workers.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "reco/interactions.h"
#include "reco/status.h"

namespace reco {

// Per-query ranked results in CSR layout: row r holds entries
// [indptr[r], indptr[r+1]), best first. The top-k scorers produce it, and the
// ranking metrics (reco/eval_metrics.h) read recommendations in this shape.
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

// ---- Shared selection from dense score blocks -------------------------------
//
// For models whose scores are not one dot product (item-item models: a
// history times a weight matrix), the family fills dense blocks of scores and
// this selection keeps the k best of each row, exactly as TopKItems does for
// its GEMM blocks: same heap, same exclusion walk, same order and tie rule.

// One block to fill: query rows [first_row, first_row + rows) against items
// [first_item, first_item + items). `scores` is rows x items, row-major
// (row stride = items), uninitialised on entry. `worker` is in [0, threads)
// so the scorer can keep per-worker scratch of its own.
struct ScoreBlock {
  uint32_t first_row = 0;
  uint32_t rows = 0;
  uint32_t first_item = 0;
  uint32_t items = 0;
  float* scores = nullptr;
  int worker = 0;
};

// Fills every entry of block.scores. Called concurrently for disjoint blocks,
// so it must be thread-safe; a score must depend only on its (row, item), not
// on the block that holds it, for results to be the same for any thread
// count. A NaN score is never returned (a row of NaN gives an empty row: how
// a scorer marks a row it cannot score).
using BlockScorer = std::function<void(const ScoreBlock& block)>;

struct BlockTopKOptions {
  uint32_t k = 10;
  int threads = 0;  // <= 0: all hardware threads
  // Optional exclusions: query row r never returns the items in row
  // exclude_rows[r] of `exclude` (row r when exclude_rows is empty).
  const CsrMatrix* exclude = nullptr;
  std::span<const uint32_t> exclude_rows = {};
  // Upper bound on one worker's score block, in bytes. Blocks hold whole rows
  // of items when a few rows fit (one scorer pass per row); wider catalogues
  // are cut into item ranges, so scratch stays bounded for any catalogue.
  uint64_t scratch_bytes = uint64_t{4} << 20;
};

// The k highest-scoring items of each of `num_queries` rows over `num_items`
// items, best first, ties by the lower item index; rows shorter than k when
// fewer items remain. The result does not depend on the thread count or on
// scratch_bytes. InvalidArgument for a malformed exclusion matrix or ids.
Result<RankedLists> TopKFromScoreBlocks(uint32_t num_queries, uint32_t num_items,
                                        const BlockScorer& scorer, const BlockTopKOptions& options);

}  // namespace reco
