#include "reco/eval_metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace reco {
namespace {

// sklearn's _assemble_r2_explained_variance with force_finite=True.
double ForceFiniteScore(double numerator, double denominator) {
  if (numerator == 0) return 1.0;
  if (denominator == 0) return 0.0;
  return 1.0 - numerator / denominator;
}

Status CheckCsr(const CsrMatrix& m, const char* what) {
  auto bad = [what](const std::string& why) {
    return Status::InvalidArgument(std::string(what) + ": " + why);
  };
  if (m.indptr.size() != uint64_t{m.rows} + 1 || m.indptr.front() != 0 ||
      m.indptr.back() != m.nnz()) {
    return bad("indptr does not describe " + std::to_string(m.rows) + " rows of " +
               std::to_string(m.nnz()) + " entries");
  }
  if (m.values.size() != m.nnz()) {
    return bad(std::to_string(m.values.size()) + " values for " + std::to_string(m.nnz()) +
               " entries");
  }
  for (uint32_t r = 0; r < m.rows; ++r) {
    if (m.indptr[r] > m.indptr[r + 1]) return bad("indptr decreases at row " + std::to_string(r));
    for (uint64_t p = m.indptr[r]; p < m.indptr[r + 1]; ++p) {
      if (m.indices[p] >= m.cols) {
        return bad("row " + std::to_string(r) + " has column " + std::to_string(m.indices[p]) +
                   " >= " + std::to_string(m.cols) + " columns");
      }
      if (p > m.indptr[r] && m.indices[p] <= m.indices[p - 1]) {
        return bad("row " + std::to_string(r) + " has columns not strictly increasing");
      }
    }
  }
  return Status::Ok();
}

// Checks list structure, item range and that no item repeats within the
// first `prefix` entries of a row (all entries when prefix is max).
Status CheckLists(const RankedLists& lists, uint32_t n_items, uint32_t prefix) {
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("recommendation lists: " + why);
  };
  if (lists.indptr.empty() || lists.indptr.front() != 0 ||
      lists.indptr.back() != lists.items.size()) {
    return bad("indptr does not describe " + std::to_string(lists.items.size()) + " entries");
  }
  // Last row each item was seen in: duplicate detection without sorting.
  std::vector<uint32_t> seen_in_row(n_items, std::numeric_limits<uint32_t>::max());
  for (uint32_t r = 0; r < lists.rows(); ++r) {
    if (lists.indptr[r] > lists.indptr[r + 1]) {
      return bad("indptr decreases at row " + std::to_string(r));
    }
    const uint64_t end = lists.indptr[r] + std::min<uint64_t>(lists.RowLength(r), prefix);
    for (uint64_t p = lists.indptr[r]; p < end; ++p) {
      const uint32_t item = lists.items[p];
      if (item >= n_items) {
        return bad("row " + std::to_string(r) + " names item " + std::to_string(item) +
                   " but there are " + std::to_string(n_items) + " items");
      }
      if (seen_in_row[item] == r) {
        return bad("row " + std::to_string(r) + " repeats item " + std::to_string(item));
      }
      seen_in_row[item] = r;
    }
  }
  return Status::Ok();
}

uint32_t RowLengthOrZero(const CsrMatrix& m, uint32_t r) { return r < m.rows ? m.RowLength(r) : 0; }
uint32_t RowLengthOrZero(const RankedLists& l, uint32_t r) {
  return r < l.rows() ? l.RowLength(r) : 0;
}

}  // namespace

Result<RatingMetrics> ComputeRatingMetrics(std::span<const float> truth,
                                           std::span<const float> prediction) {
  if (truth.size() != prediction.size()) {
    return Status::InvalidArgument("rating metrics: " + std::to_string(truth.size()) +
                                   " true values but " + std::to_string(prediction.size()) +
                                   " predictions");
  }
  if (truth.empty()) return Status::InvalidArgument("rating metrics: no (truth, prediction) pairs");
  const size_t n = truth.size();
  double sum_truth = 0, sum_residual = 0, sum_sq = 0, sum_abs = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(truth[i]) || !std::isfinite(prediction[i])) {
      return Status::InvalidArgument("rating metrics: pair " + std::to_string(i) +
                                     " is not finite (truth " + std::to_string(truth[i]) +
                                     ", prediction " + std::to_string(prediction[i]) + ")");
    }
    const double residual = double(truth[i]) - double(prediction[i]);
    sum_truth += truth[i];
    sum_residual += residual;
    sum_sq += residual * residual;
    sum_abs += std::fabs(residual);
  }
  // Second pass for centred sums: the one-pass E[x^2] - E[x]^2 loses digits.
  const double mean_truth = sum_truth / double(n);
  const double mean_residual = sum_residual / double(n);
  double ss_truth = 0, ss_residual_centred = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dt = double(truth[i]) - mean_truth;
    const double dr = double(truth[i]) - double(prediction[i]) - mean_residual;
    ss_truth += dt * dt;
    ss_residual_centred += dr * dr;
  }
  RatingMetrics m;
  m.rmse = std::sqrt(sum_sq / double(n));
  m.mae = sum_abs / double(n);
  m.r2 = n < 2 ? std::numeric_limits<double>::quiet_NaN() : ForceFiniteScore(sum_sq, ss_truth);
  // explained_variance_score works with averages; the 1/n cancels except in
  // the zero tests, which it does not change.
  m.explained_variance = ForceFiniteScore(ss_residual_centred, ss_truth);
  return m;
}

Result<RankingMetrics> ComputeRankingMetrics(const CsrMatrix& truth,
                                             const RankedLists& recommendations,
                                             const RankingOptions& options) {
  if (options.k == 0) return Status::InvalidArgument("ranking metrics: k must be at least 1");
  RECO_RETURN_IF_ERROR(CheckCsr(truth, "ground truth"));
  RECO_RETURN_IF_ERROR(CheckLists(recommendations, truth.cols, options.k));
  const uint32_t k = options.k;

  std::function<double(double)> discount;
  if (options.discount == NdcgDiscount::kNaturalLog) {
    discount = [](double x) { return std::log(x); };
  } else {
    discount = [](double x) { return std::log2(x); };
  }
  auto relevance = [&](float rating) -> double {
    switch (options.relevance) {
      case NdcgRelevance::kBinary:
        return 1.0;
      case NdcgRelevance::kRaw:
        return rating;
      case NdcgRelevance::kExp:
        return std::exp2(double(rating)) - 1.0;
    }
    return 1.0;
  };
  // 1 / disc(1 + rank) for rank 1..k.
  std::vector<double> inv_discount(k + 1, 0.0);
  for (uint32_t rank = 1; rank <= k; ++rank) inv_discount[rank] = 1.0 / discount(1.0 + rank);
  // Binary IDCG for min(k, actual) relevant items.
  std::vector<double> binary_idcg(k + 1, 0.0);
  for (uint32_t j = 1; j <= k; ++j) binary_idcg[j] = binary_idcg[j - 1] + inv_discount[j];

  double precision_sum = 0, recall_sum = 0, map_sum = 0, map_at_k_sum = 0, ndcg_sum = 0;
  uint64_t total_hits = 0;
  RankingMetrics out;
  std::vector<float> ratings;  // scratch for graded IDCG
  const uint32_t rows = std::max(truth.rows, recommendations.rows());
  for (uint32_t u = 0; u < rows; ++u) {
    const uint32_t actual = RowLengthOrZero(truth, u);
    if (actual == 0) continue;
    ++out.ndcg_users;
    const uint32_t n_recs = RowLengthOrZero(recommendations, u);
    if (n_recs == 0) continue;  // in T (NDCG 0) but not in U
    ++out.users_evaluated;

    const uint32_t* truth_begin = truth.indices.data() + truth.indptr[u];
    const uint32_t* truth_end = truth_begin + actual;
    const std::span<const uint32_t> list = recommendations.Items(u);
    const uint32_t top = std::min(k, n_recs);
    uint32_t hits = 0;
    double reciprocal_sum = 0, dcg = 0;
    for (uint32_t p = 0; p < top; ++p) {
      const uint32_t* found = std::lower_bound(truth_begin, truth_end, list[p]);
      if (found == truth_end || *found != list[p]) continue;
      ++hits;
      const uint32_t rank = p + 1;
      reciprocal_sum += double(hits) / rank;
      dcg += relevance(truth.values[truth.indptr[u] + (found - truth_begin)]) * inv_discount[rank];
    }
    total_hits += hits;
    if (hits == 0) continue;  // contributes 0 to every sum

    double idcg;
    if (options.relevance == NdcgRelevance::kBinary) {
      idcg = binary_idcg[std::min(k, actual)];
    } else {
      ratings.assign(truth.values.begin() + truth.indptr[u],
                     truth.values.begin() + truth.indptr[u] + actual);
      const uint32_t ideal = std::min(k, actual);
      std::partial_sort(ratings.begin(), ratings.begin() + ideal, ratings.end(),
                        std::greater<float>());
      idcg = 0;
      for (uint32_t j = 0; j < ideal; ++j) idcg += relevance(ratings[j]) * inv_discount[j + 1];
    }
    precision_sum += double(hits) / k;
    recall_sum += double(hits) / actual;
    map_sum += reciprocal_sum / actual;
    map_at_k_sum += reciprocal_sum / std::min(actual, k);
    ndcg_sum += dcg / idcg;  // 0/0 = NaN for all-zero raw ratings, as in the reference
  }
  if (total_hits == 0) return out;  // the reference's "df_hit is empty -> 0.0"
  const double n = out.users_evaluated;
  out.precision_at_k = precision_sum / n;
  out.recall_at_k = recall_sum / n;
  out.map = map_sum / n;
  out.map_at_k = map_at_k_sum / n;
  out.ndcg_at_k = ndcg_sum / out.ndcg_users;
  return out;
}

Result<CoverageMetrics> ComputeCoverage(const CsrMatrix& train,
                                        const RankedLists& recommendations) {
  RECO_RETURN_IF_ERROR(CheckCsr(train, "train"));
  RECO_RETURN_IF_ERROR(
      CheckLists(recommendations, train.cols, std::numeric_limits<uint32_t>::max()));
  std::vector<uint8_t> in_train(train.cols, 0);
  uint64_t distinct_train = 0;
  for (uint32_t item : train.indices) {
    distinct_train += in_train[item] == 0;
    in_train[item] = 1;
  }
  if (distinct_train == 0) {
    return Status::InvalidArgument("coverage: train has no items (catalog coverage is 0/0)");
  }
  std::vector<uint64_t> times_recommended(train.cols, 0);
  for (uint32_t u = 0; u < recommendations.rows(); ++u) {
    const uint32_t* seen_begin = u < train.rows ? train.indices.data() + train.indptr[u] : nullptr;
    const uint32_t* seen_end = seen_begin ? seen_begin + train.RowLength(u) : nullptr;
    for (uint32_t item : recommendations.Items(u)) {
      if (seen_begin && std::binary_search(seen_begin, seen_end, item)) {
        return Status::InvalidArgument("coverage: user " + std::to_string(u) +
                                       " is recommended item " + std::to_string(item) +
                                       " which they have in train");
      }
      ++times_recommended[item];
    }
  }
  const double total = double(recommendations.items.size());
  CoverageMetrics out;
  uint64_t distinct_recommended = 0;
  double entropy = 0;
  for (uint64_t count : times_recommended) {
    if (count == 0) continue;
    ++distinct_recommended;
    const double p = double(count) / total;
    entropy -= p * std::log2(p);
  }
  out.catalog = double(distinct_recommended) / double(distinct_train);
  out.distributional = entropy;
  return out;
}

}  // namespace reco
