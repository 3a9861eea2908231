#include "reco/topk.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "reco/parallel.h"

namespace reco {

void RankedLists::AppendRow(std::span<const uint32_t> row_items,
                            std::span<const float> row_scores) {
  items.insert(items.end(), row_items.begin(), row_items.end());
  scores.insert(scores.end(), row_scores.begin(), row_scores.end());
  indptr.push_back(items.size());
}

RankedLists RankedLists::FromRows(const std::vector<std::vector<uint32_t>>& rows) {
  RankedLists lists;
  lists.indptr.reserve(rows.size() + 1);
  for (const auto& row : rows) lists.AppendRow(row);
  return lists;
}

namespace {

struct Candidate {
  float score;
  uint32_t item;
};

// The result order: higher score first, then lower item index. As a heap
// comparator it keeps the worst kept candidate at the front.
inline bool Better(const Candidate& a, const Candidate& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

// GCC/Clang vector extensions: SIMD compares where the target has them,
// plain scalar code where it does not, no intrinsics to port.
using Float8 = float __attribute__((vector_size(32)));
using Int8 = int32_t __attribute__((vector_size(32)));

// Whether any of p[0..16) is greater than `threshold` (NaN is not).
inline bool AnyAbove16(const float* p, float threshold) {
  Float8 lo, hi;
  std::memcpy(&lo, p, sizeof(lo));
  std::memcpy(&hi, p + 8, sizeof(hi));
  const Int8 above = (lo > threshold) | (hi > threshold);
  uint64_t words[4];
  std::memcpy(words, &above, sizeof(words));
  return (words[0] | words[1] | words[2] | words[3]) != 0;
}

// The k best candidates seen so far for one query. Items are offered in
// increasing index order, so once the heap is full a candidate that merely
// ties the worst score has a higher index and loses: `score > threshold` is
// the exact admission test, and the common case is one compare per item.
class BoundedHeap {
 public:
  void Reset(Candidate* storage, uint32_t capacity) {
    heap_ = storage;
    capacity_ = capacity;
    size_ = 0;
  }

  // Offers items [first, last) whose scores are scores[0 .. last-first).
  void Offer(const float* scores, uint32_t first, uint32_t last) {
    uint32_t j = first;
    for (; j < last && size_ < capacity_; ++j) {
      const float s = scores[j - first];
      if (std::isnan(s)) continue;  // NaN has no place in an order; never returned
      heap_[size_++] = {s, j};
      std::push_heap(heap_, heap_ + size_, Better);
    }
    if (j == last || capacity_ == 0) return;
    float threshold = heap_[0].score;
    // Once the heap holds good candidates almost nothing gets in, so test a
    // chunk at a time with a branch-free (vectorisable) compare and skip it
    // whole when nothing in it beats the threshold.
    constexpr uint32_t kChunk = 16;
    for (; last - j >= kChunk; j += kChunk) {
      const float* chunk = scores + (j - first);
      if (!AnyAbove16(chunk, threshold)) continue;
      for (uint32_t t = 0; t < kChunk; ++t) {
        if (chunk[t] > threshold) threshold = Replace({chunk[t], j + t});
      }
    }
    for (; j < last; ++j) {
      const float s = scores[j - first];
      if (s > threshold) threshold = Replace({s, j});
    }
  }

  // Sorts best first and returns the number of entries.
  uint32_t Finish() {
    std::sort(heap_, heap_ + size_, Better);
    return size_;
  }

 private:
  float Replace(Candidate c) {
    std::pop_heap(heap_, heap_ + size_, Better);
    heap_[size_ - 1] = c;
    std::push_heap(heap_, heap_ + size_, Better);
    return heap_[0].score;
  }

  Candidate* heap_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
};

// Per-worker buffers, sized once on first use.
struct Scratch {
  std::vector<float> queries;  // query_block x dim, gathered query rows
  std::vector<float> scores;   // query_block x item_block, one GEMM's output
  std::vector<Candidate> heaps;
  std::vector<BoundedHeap> heap_of;
};

constexpr uint32_t kNoItem = UINT32_MAX;

// Offers one scored row (items [i0, i0 + ni), scores row[0 .. ni)) to `heap`,
// skipping the items of row `exclude_row` of `exclude` (may be null) and
// `self` (kNoItem for none): the sorted skip points inside the range are
// walked and the runs between them offered, so items reach the heap in
// increasing index order, as BoundedHeap requires.
void OfferRow(const float* row, uint32_t i0, uint32_t ni, const CsrMatrix* exclude,
              uint32_t exclude_row, uint32_t self, BoundedHeap* heap) {
  const uint32_t* ex = nullptr;
  const uint32_t* ex_end = nullptr;
  if (exclude) {
    const uint32_t* rb = exclude->indices.data() + exclude->indptr[exclude_row];
    const uint32_t* re = exclude->indices.data() + exclude->indptr[exclude_row + 1];
    ex = std::lower_bound(rb, re, i0);
    ex_end = std::lower_bound(ex, re, i0 + ni);
  }
  bool self_pending = self != kNoItem && self >= i0 && self < i0 + ni;
  uint32_t from = i0;
  for (;;) {
    uint32_t skip = i0 + ni;
    if (ex != ex_end) skip = *ex;
    if (self_pending && self <= skip) skip = self;
    heap->Offer(row + (from - i0), from, skip);
    if (skip == i0 + ni) break;
    if (ex != ex_end && *ex == skip) ++ex;
    if (self_pending && self == skip) self_pending = false;
    from = skip + 1;
  }
}

// Results of every query at a fixed stride of k, filled by the workers in any
// order, then compacted into RankedLists.
class FixedRows {
 public:
  FixedRows(uint32_t rows, uint32_t k)
      : k_(k), items_(uint64_t{rows} * k), scores_(uint64_t{rows} * k), counts_(rows, 0) {}

  // Sorts `heap` (whose storage is `best`) and stores it as row `row`.
  void Finish(uint64_t row, BoundedHeap* heap, const Candidate* best) {
    const uint64_t out = row * k_;
    const uint32_t n = k_ > 0 ? heap->Finish() : 0;
    for (uint32_t i = 0; i < n; ++i) {
      items_[out + i] = best[i].item;
      scores_[out + i] = best[i].score;
    }
    counts_[row] = n;
  }

  // Compacts the fixed-stride rows into CSR; rows only move left, so in place.
  RankedLists ToLists() && {
    const uint64_t n_rows = counts_.size();
    RankedLists lists;
    // assign, not resize: resize trips a GCC 12 -O3 -Warray-bounds false positive.
    lists.indptr.assign(n_rows + 1, 0);
    uint64_t filled = 0;
    for (uint64_t r = 0; r < n_rows; ++r) {
      const uint64_t src = r * k_;
      std::memmove(items_.data() + filled, items_.data() + src, sizeof(uint32_t) * counts_[r]);
      std::memmove(scores_.data() + filled, scores_.data() + src, sizeof(float) * counts_[r]);
      filled += counts_[r];
      lists.indptr[r + 1] = filled;
    }
    items_.resize(filled);
    scores_.resize(filled);
    lists.items = std::move(items_);
    lists.scores = std::move(scores_);
    return lists;
  }

 private:
  uint64_t k_;
  std::vector<uint32_t> items_;
  std::vector<float> scores_;
  std::vector<uint32_t> counts_;
};

Status CheckView(const FactorView& view, const char* what) {
  if (view.data == nullptr && uint64_t{view.rows} * view.dim > 0) {
    return Status::InvalidArgument(std::string(what) + " factors: null data for " +
                                   std::to_string(view.rows) + " x " + std::to_string(view.dim));
  }
  return Status::Ok();
}

// Checks the shape of `exclude` and the rows that will be read (the requested
// ones), so a single-user call does not pay for validating every row.
Status CheckExclude(const CsrMatrix& exclude, uint32_t rows, uint32_t cols,
                    std::span<const uint32_t> ids, uint32_t n_requested) {
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("exclusion matrix: " + why);
  };
  if (exclude.rows != rows || exclude.cols != cols) {
    return bad("shape " + std::to_string(exclude.rows) + " x " + std::to_string(exclude.cols) +
               ", expected " + std::to_string(rows) + " x " + std::to_string(cols));
  }
  if (exclude.indptr.size() != uint64_t{rows} + 1 || exclude.indptr.back() != exclude.nnz() ||
      exclude.indptr.front() != 0) {
    return bad("indptr does not describe " + std::to_string(rows) + " rows of " +
               std::to_string(exclude.nnz()) + " entries");
  }
  for (uint32_t r = 0; r < n_requested; ++r) {
    uint32_t row = ids.empty() ? r : ids[r];
    uint64_t begin = exclude.indptr[row], end = exclude.indptr[row + 1];
    if (begin > end || end > exclude.nnz()) {
      return bad("row " + std::to_string(row) + " has a decreasing or out-of-range indptr");
    }
    for (uint64_t p = begin; p < end; ++p) {
      if (exclude.indices[p] >= cols ||
          (p > begin && exclude.indices[p] <= exclude.indices[p - 1])) {
        return bad("row " + std::to_string(row) +
                   " has column indices out of range or not strictly increasing");
      }
    }
  }
  return Status::Ok();
}

struct TopKJob {
  FactorView queries;
  FactorView items;
  std::span<const uint32_t> ids;  // empty = all query rows
  const float* bias = nullptr;
  const CsrMatrix* exclude = nullptr;
  bool exclude_self = false;  // similar items: the query row is item `id`
};

RankedLists RunTopK(const TopKJob& job, const TopKOptions& options) {
  const uint32_t n_queries = job.ids.empty() ? job.queries.rows : uint32_t(job.ids.size());
  const uint32_t n_items = job.items.rows;
  const uint32_t dim = job.queries.dim;
  const uint32_t k = std::min(options.k, n_items);
  const uint32_t query_block = options.query_block ? options.query_block : 256;
  const uint32_t item_block = std::min(options.item_block ? options.item_block : 512, n_items);
  const int threads = ResolveThreads(options.threads);

  // One GEMM per worker at a time; see the header for why OpenBLAS itself
  // must not fan out as well.
  openblas_set_num_threads(1);

  FixedRows out(n_queries, k);
  std::vector<Scratch> scratch(static_cast<size_t>(threads));

  // Scores queries [begin, end), at most query_block of them, on `worker`.
  auto score_block = [&](uint64_t begin, uint64_t end, int worker) {
    Scratch& s = scratch[static_cast<size_t>(worker)];
    const uint32_t nq = static_cast<uint32_t>(end - begin);
    if (s.heap_of.empty()) {
      s.queries.resize(uint64_t{query_block} * dim);
      s.scores.resize(uint64_t{query_block} * item_block);
      s.heaps.resize(uint64_t{query_block} * k);
      s.heap_of.resize(query_block);
    }
    for (uint32_t r = 0; r < nq; ++r) {
      uint32_t q = job.ids.empty() ? uint32_t(begin + r) : job.ids[begin + r];
      if (dim > 0) {  // with no factors there is nothing to gather (and no buffer)
        std::memcpy(s.queries.data() + uint64_t{r} * dim, job.queries.data + uint64_t{q} * dim,
                    sizeof(float) * dim);
      }
      s.heap_of[r].Reset(s.heaps.data() + uint64_t{r} * k, k);
    }
    for (uint32_t i0 = 0; i0 < n_items && k > 0; i0 += item_block) {
      const uint32_t ni = std::min(item_block, n_items - i0);
      if (dim == 0) {
        std::fill_n(s.scores.data(), uint64_t{nq} * ni, 0.0f);
      } else {
        // scores[nq x ni] = queries[nq x dim] * items[i0 .. i0+ni)^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(nq), int(ni), int(dim), 1.0f,
                    s.queries.data(), int(dim), job.items.data + uint64_t{i0} * dim, int(dim), 0.0f,
                    s.scores.data(), int(ni));
      }
      for (uint32_t r = 0; r < nq; ++r) {
        const uint32_t q = job.ids.empty() ? uint32_t(begin + r) : job.ids[begin + r];
        float* row = s.scores.data() + uint64_t{r} * ni;
        if (job.bias) {
          const float* bias = job.bias + i0;
          for (uint32_t j = 0; j < ni; ++j) row[j] += bias[j];
        }
        OfferRow(row, i0, ni, job.exclude, q, job.exclude_self ? q : kNoItem, &s.heap_of[r]);
      }
    }
    for (uint32_t r = 0; r < nq; ++r) {
      out.Finish(begin + r, &s.heap_of[r], s.heaps.data() + uint64_t{r} * k);
    }
  };
  // ParallelFor hands out chunks of query_block, except that with one thread
  // it passes the whole range at once: split it again here.
  ParallelFor(n_queries, threads, query_block, [&](uint64_t begin, uint64_t end, int worker) {
    for (uint64_t b = begin; b < end; b += query_block) {
      score_block(b, std::min<uint64_t>(end, b + query_block), worker);
    }
  });

  return std::move(out).ToLists();
}

Status CheckIds(std::span<const uint32_t> ids, uint32_t rows, const char* what) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] >= rows) {
      return Status::InvalidArgument(std::string(what) + " id " + std::to_string(ids[i]) +
                                     " at position " + std::to_string(i) + " is out of range (" +
                                     std::to_string(rows) + " rows)");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<RankedLists> TopKItems(FactorView users, FactorView items,
                              std::span<const uint32_t> user_ids, const TopKOptions& options) {
  RECO_RETURN_IF_ERROR(CheckView(users, "user"));
  RECO_RETURN_IF_ERROR(CheckView(items, "item"));
  if (users.dim != items.dim) {
    return Status::InvalidArgument("user factors have " + std::to_string(users.dim) +
                                   " dimensions but item factors have " +
                                   std::to_string(items.dim));
  }
  RECO_RETURN_IF_ERROR(CheckIds(user_ids, users.rows, "user"));
  if (!options.item_bias.empty() && options.item_bias.size() != items.rows) {
    return Status::InvalidArgument("item bias has " + std::to_string(options.item_bias.size()) +
                                   " entries for " + std::to_string(items.rows) + " items");
  }
  const uint32_t n_queries = user_ids.empty() ? users.rows : uint32_t(user_ids.size());
  if (options.exclude) {
    RECO_RETURN_IF_ERROR(
        CheckExclude(*options.exclude, users.rows, items.rows, user_ids, n_queries));
  }
  TopKJob job;
  job.queries = users;
  job.items = items;
  job.ids = user_ids;
  job.bias = options.item_bias.empty() ? nullptr : options.item_bias.data();
  job.exclude = options.exclude;
  return RunTopK(job, options);
}

Result<RankedLists> SimilarItems(FactorView items, std::span<const uint32_t> item_ids,
                                 const TopKOptions& options) {
  RECO_RETURN_IF_ERROR(CheckView(items, "item"));
  RECO_RETURN_IF_ERROR(CheckIds(item_ids, items.rows, "item"));
  if (!options.item_bias.empty()) {
    return Status::InvalidArgument("similar items takes no item bias (cosine ignores it)");
  }
  const uint32_t n_queries = item_ids.empty() ? items.rows : uint32_t(item_ids.size());
  if (options.exclude) {
    RECO_RETURN_IF_ERROR(
        CheckExclude(*options.exclude, items.rows, items.rows, item_ids, n_queries));
  }
  // Unit rows make the dot product the cosine. Norms in double: float
  // squares of large factors would overflow before the square root.
  std::vector<float> unit(uint64_t{items.rows} * items.dim);
  for (uint32_t i = 0; i < items.rows; ++i) {
    const float* src = items.data + uint64_t{i} * items.dim;
    double norm2 = 0;
    for (uint32_t d = 0; d < items.dim; ++d) norm2 += double(src[d]) * src[d];
    const double inv = norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0;
    float* dst = unit.data() + uint64_t{i} * items.dim;
    for (uint32_t d = 0; d < items.dim; ++d) dst[d] = static_cast<float>(src[d] * inv);
  }
  TopKJob job;
  job.queries = {unit.data(), items.rows, items.dim};
  job.items = job.queries;
  job.ids = item_ids;
  job.exclude = options.exclude;
  job.exclude_self = true;
  return RunTopK(job, options);
}

Result<RankedLists> TopKFromScoreBlocks(uint32_t num_queries, uint32_t num_items,
                                        const BlockScorer& scorer,
                                        const BlockTopKOptions& options) {
  if (!scorer) return Status::InvalidArgument("score-block selection: no scorer");
  const CsrMatrix* exclude = options.exclude;
  if (exclude != nullptr) {
    if (options.exclude_rows.empty()) {
      if (exclude->rows != num_queries) {
        return Status::InvalidArgument("exclusion matrix has " + std::to_string(exclude->rows) +
                                       " rows for " + std::to_string(num_queries) + " queries");
      }
    } else if (options.exclude_rows.size() != num_queries) {
      return Status::InvalidArgument(
          "exclusion rows: " + std::to_string(options.exclude_rows.size()) + " entries for " +
          std::to_string(num_queries) + " queries");
    }
    RECO_RETURN_IF_ERROR(CheckIds(options.exclude_rows, exclude->rows, "exclusion row"));
    RECO_RETURN_IF_ERROR(
        CheckExclude(*exclude, exclude->rows, num_items, options.exclude_rows, num_queries));
  } else if (!options.exclude_rows.empty()) {
    return Status::InvalidArgument("exclusion rows given without an exclusion matrix");
  }

  const uint32_t k = std::min(options.k, num_items);
  const int threads = ResolveThreads(options.threads);
  // Whole rows when at least kMinRows of them fit the budget, else item
  // ranges of the budget's width over kMinRows rows. The block shape only
  // changes which scorer call computes a score, never the score or the
  // order items are offered in, so it cannot change the result.
  constexpr uint64_t kMinRows = 8;
  constexpr uint64_t kMaxRows = 256;
  const uint64_t budget = std::max<uint64_t>(options.scratch_bytes / sizeof(float), kMinRows);
  const uint32_t item_block =
      static_cast<uint32_t>(std::clamp<uint64_t>(budget / kMinRows, 1, std::max(num_items, 1u)));
  const uint32_t row_block =
      static_cast<uint32_t>(std::clamp<uint64_t>(budget / item_block, 1, kMaxRows));

  FixedRows out(num_queries, k);
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  auto select_block = [&](uint64_t begin, uint64_t end, int worker) {
    Scratch& s = scratch[static_cast<size_t>(worker)];
    const uint32_t nq = static_cast<uint32_t>(end - begin);
    if (s.heap_of.empty()) {
      s.scores.resize(uint64_t{row_block} * item_block);
      s.heaps.resize(uint64_t{row_block} * k);
      s.heap_of.resize(row_block);
    }
    for (uint32_t r = 0; r < nq; ++r) s.heap_of[r].Reset(s.heaps.data() + uint64_t{r} * k, k);
    for (uint32_t i0 = 0; i0 < num_items && k > 0; i0 += item_block) {
      ScoreBlock block;
      block.first_row = static_cast<uint32_t>(begin);
      block.rows = nq;
      block.first_item = i0;
      block.items = std::min(item_block, num_items - i0);
      block.scores = s.scores.data();
      block.worker = worker;
      scorer(block);
      for (uint32_t r = 0; r < nq; ++r) {
        const uint32_t q = static_cast<uint32_t>(begin + r);
        const uint32_t ex_row = options.exclude_rows.empty() ? q : options.exclude_rows[q];
        OfferRow(s.scores.data() + uint64_t{r} * block.items, i0, block.items, exclude, ex_row,
                 kNoItem, &s.heap_of[r]);
      }
    }
    for (uint32_t r = 0; r < nq; ++r) {
      out.Finish(begin + r, &s.heap_of[r], s.heaps.data() + uint64_t{r} * k);
    }
  };
  ParallelFor(num_queries, threads, row_block, [&](uint64_t begin, uint64_t end, int worker) {
    for (uint64_t b = begin; b < end; b += row_block) {
      select_block(b, std::min<uint64_t>(end, b + row_block), worker);
    }
  });
  return std::move(out).ToLists();
}

}  // namespace reco
