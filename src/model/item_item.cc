#include "item_item.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "family.h"

namespace reco {
namespace {

// Fills a score block from history rows: row r of the block is
// sum over (i, v) in history(first_row + r) of t(v) W(i, .), or NaN (an empty
// result row) when the history cannot be scored. The summation order is the
// history's, whatever the block: scores do not depend on the thread count.
BlockScorer HistoryScorer(const CsrMatrix& m, std::span<const uint32_t> rows,
                          const ValueOptions& values, const AddItemRow& add) {
  return [&m, rows, &values, &add](const ScoreBlock& b) {
    for (uint32_t r = 0; r < b.rows; ++r) {
      float* out = b.scores + uint64_t{r} * b.items;
      const uint32_t q = b.first_row + r;
      const uint32_t row = rows.empty() ? q : rows[q];
      if (!HistoryRowUsable(m, row)) {
        std::fill_n(out, b.items, std::numeric_limits<float>::quiet_NaN());
        continue;
      }
      std::fill_n(out, b.items, 0.0f);
      for (uint64_t p = m.indptr[row]; p < m.indptr[row + 1]; ++p) {
        const float w = values.Apply(m.values[p]);
        if (w != 0.0f) add(m.indices[p], w, b.first_item, b.items, out);
      }
    }
  };
}

// The rows a batch will score are well formed (offsets in order, columns in
// range): checked per call for those rows only, as precompute calls this once
// per batch of users on the same matrix.
Status CheckScoredRows(const CsrMatrix& m, std::span<const uint32_t> rows) {
  if (m.indptr.size() != uint64_t{m.rows} + 1 || m.indptr.front() != 0 ||
      m.indptr.back() != m.indices.size() || m.values.size() != m.indices.size()) {
    return Status::InvalidArgument(
        "interaction matrix: indptr/indices/values sizes do not "
        "describe " +
        std::to_string(m.rows) + " rows");
  }
  const uint64_t n = rows.empty() ? m.rows : rows.size();
  for (uint64_t q = 0; q < n; ++q) {
    const uint32_t r = rows.empty() ? static_cast<uint32_t>(q) : rows[q];
    if (m.indptr[r] > m.indptr[r + 1] || m.indptr[r + 1] > m.indices.size()) {
      return Status::InvalidArgument("interaction matrix: row " + std::to_string(r) +
                                     " offsets are out of order");
    }
    for (uint64_t p = m.indptr[r]; p < m.indptr[r + 1]; ++p) {
      if (m.indices[p] >= m.cols) {
        return Status::InvalidArgument("interaction matrix: row " + std::to_string(r) + " column " +
                                       std::to_string(m.indices[p]) + " is out of range (" +
                                       std::to_string(m.cols) + ")");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<RankedLists> RankUsersByItemRows(std::span<const uint32_t> users,
                                        const CsrMatrix& interactions, const CsrMatrix* exclude,
                                        uint32_t k, int threads, uint32_t num_users,
                                        uint32_t num_items, const ValueOptions& values,
                                        const AddItemRow& add) {
  if (interactions.rows != num_users || interactions.cols != num_items) {
    return Status::InvalidArgument("interaction matrix is " + std::to_string(interactions.rows) +
                                   "x" + std::to_string(interactions.cols) + " but the model has " +
                                   std::to_string(num_users) + " users and " +
                                   std::to_string(num_items) + " items");
  }
  RECO_RETURN_IF_ERROR(CheckIndices(users, num_users, "user"));
  RECO_RETURN_IF_ERROR(CheckScoredRows(interactions, users));
  BlockTopKOptions opts;
  opts.k = k;
  opts.threads = threads;
  opts.exclude = exclude;
  if (exclude != nullptr) opts.exclude_rows = users;
  const uint32_t queries = users.empty() ? num_users : static_cast<uint32_t>(users.size());
  return TopKFromScoreBlocks(queries, num_items, HistoryScorer(interactions, users, values, add),
                             opts);
}

Result<RankedLists> RankHistoriesByItemRows(const CsrMatrix& histories,
                                            const CsrMatrix* extra_exclude, uint32_t k, int threads,
                                            uint32_t* failed_rows, uint32_t num_items,
                                            const ValueOptions& values, const AddItemRow& add) {
  RECO_RETURN_IF_ERROR(ValidateHistories(histories, extra_exclude, num_items));
  const CsrMatrix seen = UnionRows(histories, extra_exclude);
  BlockTopKOptions opts;
  opts.k = k;
  opts.threads = threads;
  opts.exclude = &seen;
  RECO_ASSIGN_OR_RETURN(RankedLists lists,
                        TopKFromScoreBlocks(histories.rows, num_items,
                                            HistoryScorer(histories, {}, values, add), opts));
  if (failed_rows != nullptr) {
    *failed_rows = 0;
    for (uint32_t r = 0; r < histories.rows; ++r) {
      if (!HistoryRowUsable(histories, r)) ++*failed_rows;
    }
  }
  return lists;
}

Result<RankedLists> RankItemRows(std::span<const uint32_t> items, uint32_t k, int threads,
                                 uint32_t num_items, const AddItemRow& add) {
  RECO_RETURN_IF_ERROR(CheckIndices(items, num_items, "item"));
  const uint32_t queries = items.empty() ? num_items : static_cast<uint32_t>(items.size());
  // Row q excludes its own item.
  CsrMatrix self;
  self.rows = queries;
  self.cols = num_items;
  self.indptr.resize(uint64_t{queries} + 1);
  self.indices.resize(queries);
  self.values.assign(queries, 1.0f);
  for (uint32_t q = 0; q < queries; ++q) {
    self.indptr[q + 1] = q + 1;
    self.indices[q] = items.empty() ? q : items[q];
  }
  BlockTopKOptions opts;
  opts.k = k;
  opts.threads = threads;
  opts.exclude = &self;
  auto scorer = [&](const ScoreBlock& b) {
    for (uint32_t r = 0; r < b.rows; ++r) {
      float* out = b.scores + uint64_t{r} * b.items;
      std::fill_n(out, b.items, 0.0f);
      add(self.indices[b.first_row + r], 1.0f, b.first_item, b.items, out);
    }
  };
  return TopKFromScoreBlocks(queries, num_items, scorer, opts);
}

uint64_t DefaultFitMemoryLimit() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return uint64_t{4} << 30;  // unknown: assume 8 GiB of RAM
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 2;
}

}  // namespace reco
