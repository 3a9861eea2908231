// Evaluation metrics, defined exactly as Microsoft Recommenders defines them
// in recommenders/evaluation/python_evaluation.py (recommenders-team/
// recommenders, read at commit b02c95e), so numbers are comparable with its
// notebooks and benchmarks. Where that code has a quirk we keep it and say so.
//
// Representation: dense user ids index rows.
//  - Ground truth is a CsrMatrix users x items (the test split); a row's
//    columns are the user's test items, its values their ratings (read only
//    by NDCG with raw/exp relevance).
//  - Recommendations are RankedLists (reco/topk.h): row u is user u's list,
//    best first; position p (0-based) has rank p + 1. The reference ranks
//    rating_pred by prediction with a stable sort (get_top_k_items), so lists
//    sorted by score with ties in a fixed order (TopKItems: lower item first)
//    are what it sees.
//  - A user "is in" a data set when their row is non-empty; rows past the
//    end of a matrix count as empty, so truth and lists may differ in rows.
#pragma once

#include <cstdint>
#include <span>

#include "reco/interactions.h"
#include "reco/status.h"
#include "reco/topk.h"

namespace reco {

// ---- Rating metrics over paired (truth, prediction) arrays -------------------
// The reference joins truth and predictions on (user, item) first
// (merge_rating_true_pred); callers pass the already paired values. n >= 1;
// lengths must match and values be finite (sklearn's check_array refuses
// NaN and inf too). Sums are taken in double.
struct RatingMetrics {
  // rmse(): sqrt(mean_squared_error) = sqrt( (1/n) sum (y_i - p_i)^2 )
  double rmse = 0;
  // mae(): mean_absolute_error = (1/n) sum |y_i - p_i|
  double mae = 0;
  // rsquared(): sklearn r2_score = 1 - sum (y_i - p_i)^2 / sum (y_i - mean(y))^2,
  // with sklearn's force_finite rule: numerator 0 -> 1; numerator != 0 and
  // denominator 0 (constant truth) -> 0. NaN when n < 2, as sklearn returns.
  double r2 = 0;
  // exp_var(): sklearn explained_variance_score = 1 - Var(y - p) / Var(y),
  // Var the population variance (1/n), same force_finite rule as r2.
  double explained_variance = 0;
};
Result<RatingMetrics> ComputeRatingMetrics(std::span<const float> truth,
                                           std::span<const float> prediction);

// ---- Ranking metrics at k ------------------------------------------------------
// All follow merge_ranking_true_pred with relevancy_method="top_k":
//   U       = users with >= 1 truth item AND >= 1 recommendation; n = |U|.
//             A user with recommendations but no truth, or truth but no
//             recommendations, is not in U (see NDCG for the exception).
//   top_u   = the first k entries of u's list (fewer if the list is shorter).
//   hit_u   = |top_u ∩ truth_u|;  actual_u = |truth_u| (all test items,
//             whatever their rating).
// If no user has any hit, every ranking metric is 0 (each reference function
// returns 0.0 when df_hit is empty).
//
// precision_at_k: (1/n) sum_{u in U} hit_u / k. Divides by k even when u has
//   fewer than k recommendations (Spark's definition; max may be < 1).
// recall_at_k:    (1/n) sum_{u in U} hit_u / actual_u.
// map:            (1/n) sum_{u in U} (1/actual_u) sum_{j-th hit of u, at rank r_j} j / r_j
//   (map(); the Spark MLlib MAP, restricted to the top k, normalised by the
//   number of relevant items rather than by k).
// map_at_k:       the same with min(actual_u, k) in place of actual_u (map_at_k()).
// ndcg_at_k:      (1/|T|) sum_{u in T} DCG_u / IDCG_u, where
//   DCG_u  = sum_{hits i of u} rel_i / disc(1 + rank_i),
//   IDCG_u = sum_{j=1..min(k, actual_u)} rel_(j) / disc(1 + j), rel_(j) the
//            relevances of u's truth items sorted by rating, descending,
//   rel    = 1 (binary, the default), the rating (raw) or 2^rating - 1 (exp),
//   disc   = natural log (default, "loge") or log2; NDCG does not depend on
//            the base, which cancels in the ratio.
//   Quirk kept: T is every user with >= 1 truth item, not U: ndcg_at_k()
//   outer-joins the hits with the whole rating_true, so a truth user without
//   recommendations counts as NDCG 0 and enlarges the denominator.
enum class NdcgRelevance { kBinary, kRaw, kExp };
enum class NdcgDiscount { kNaturalLog, kLog2 };

struct RankingOptions {
  uint32_t k = 10;  // DEFAULT_K in the reference
  NdcgRelevance relevance = NdcgRelevance::kBinary;
  NdcgDiscount discount = NdcgDiscount::kNaturalLog;
};

struct RankingMetrics {
  double precision_at_k = 0;
  double recall_at_k = 0;
  double ndcg_at_k = 0;
  double map = 0;
  double map_at_k = 0;
  uint32_t users_evaluated = 0;  // n = |U|
  uint32_t ndcg_users = 0;       // |T|
};

// One pass computing every ranking metric. InvalidArgument when k = 0, a
// matrix is malformed (indptr, unsorted or out-of-range columns), a list
// names an item outside truth.cols, or repeats an item within its top k (the
// reference assumes unique (user, item) pairs and would count it twice).
Result<RankingMetrics> ComputeRankingMetrics(const CsrMatrix& truth,
                                             const RankedLists& recommendations,
                                             const RankingOptions& options = {});

// ---- Coverage --------------------------------------------------------------
// Over every entry of every list (the whole reco_df, not cut at k):
// catalog:        catalog_coverage() = |distinct recommended items| /
//                 |distinct items in train| (Shani & Gunawardana 2010).
// distributional: distributional_coverage() = -sum_i p(i) log2 p(i),
//                 p(i) = times item i is recommended / total recommendations
//                 (their formula 21; 0 when there are no recommendations).
// Like the reference, refuses (InvalidArgument) recommendations of an item
// the user has in `train`, or a repeated item in a list; items must be below
// train.cols. Catalog coverage with an empty train is refused (0/0).
struct CoverageMetrics {
  double catalog = 0;
  double distributional = 0;
};
Result<CoverageMetrics> ComputeCoverage(const CsrMatrix& train, const RankedLists& recommendations);

}  // namespace reco
