#include "reco/evaluation.h"

#include <fmt/format.h>

#include <iterator>
#include <memory>

#include "reco/file_util.h"

namespace reco {

Dataset SubsetDataset(const Dataset& source, const std::vector<Interaction>& records) {
  Dataset out;
  out.has_values = source.has_values;
  out.has_timestamps = source.has_timestamps;
  out.interactions.reserve(records.size());
  for (const Interaction& r : records) {
    out.interactions.push_back({out.users.GetOrAdd(source.users.External(r.user)),
                                out.items.GetOrAdd(source.items.External(r.item)), r.value,
                                r.timestamp});
  }
  return out;
}

MappedRecords MapToModel(const Recommender& model, const Dataset& data) {
  MappedRecords out;
  out.records.reserve(data.interactions.size());
  // Resolve each distinct ID once rather than once per record.
  constexpr uint32_t kUnknown = UINT32_MAX;
  std::vector<uint32_t> user_map(data.users.size()), item_map(data.items.size());
  for (uint32_t u = 0; u < data.users.size(); ++u) {
    user_map[u] = model.users().Find(data.users.External(u)).value_or(kUnknown);
  }
  for (uint32_t i = 0; i < data.items.size(); ++i) {
    item_map[i] = model.items().Find(data.items.External(i)).value_or(kUnknown);
  }
  for (const Interaction& r : data.interactions) {
    uint32_t u = user_map[r.user], i = item_map[r.item];
    if (u == kUnknown) {
      ++out.unknown_user_records;
    } else if (i == kUnknown) {
      ++out.unknown_item_records;
    } else {
      out.records.push_back({u, i, r.value, r.timestamp});
    }
  }
  return out;
}

Result<RankedLists> RecommendUnseen(const Recommender& model, const CsrMatrix& seen,
                                    const std::vector<uint32_t>& users, uint32_t k, int threads) {
  if (seen.rows != model.num_users() || seen.cols != model.num_items()) {
    return Status::InvalidArgument(
        fmt::format("seen-items matrix is {}x{} but the model has {} users and {} items", seen.rows,
                    seen.cols, model.num_users(), model.num_items()));
  }
  return model.RecommendUsers(users, seen, &seen, k, threads);
}

Result<EvalResult> EvaluateModel(const Recommender& model, const CsrMatrix& train,
                                 const Dataset& test, const EvalOptions& options) {
  if (test.interactions.empty()) return Status::InvalidArgument("test set is empty");
  const bool rating_metrics = options.rating_metrics && model.predicts_ratings();
  EvalResult result;
  result.test_records = test.interactions.size();

  // Ground truth in an extended index space: the model's users/items first,
  // then test-only ones, so cold test items still count as relevant.
  const uint32_t nu = model.num_users(), ni = model.num_items();
  IdMap extra_users, extra_items;
  std::vector<Interaction> truth_records;
  truth_records.reserve(test.interactions.size());
  std::vector<float> truth_values;
  std::vector<uint32_t> predict_users, predict_items;
  for (const Interaction& r : test.interactions) {
    const std::string& ue = test.users.External(r.user);
    const std::string& ie = test.items.External(r.item);
    auto mu = model.users().Find(ue);
    auto mi = model.items().Find(ie);
    uint32_t u = mu ? *mu : nu + extra_users.GetOrAdd(ue);
    uint32_t i = mi ? *mi : ni + extra_items.GetOrAdd(ie);
    truth_records.push_back({u, i, r.value, r.timestamp});
    if (!mu || !mi) {
      ++result.cold_test_records;
    } else if (rating_metrics) {
      truth_values.push_back(r.value);
      predict_users.push_back(u);
      predict_items.push_back(i);
    }
  }
  if (rating_metrics && !truth_values.empty()) {
    std::vector<float> predictions(truth_values.size());
    RECO_RETURN_IF_ERROR(model.PredictRatings(predict_users, predict_items, predictions));
    RECO_ASSIGN_OR_RETURN(result.rating, ComputeRatingMetrics(truth_values, predictions));
    result.has_rating_metrics = true;
  }
  CsrMatrix truth =
      CsrMatrix::FromInteractions(truth_records, nu + extra_users.size(), ni + extra_items.size());
  for (uint32_t u = 0; u < truth.rows; ++u) result.test_users += truth.RowLength(u) > 0;

  RECO_ASSIGN_OR_RETURN(RankedLists lists,
                        RecommendUnseen(model, train, {}, options.k, options.threads));
  RankingOptions ranking;
  ranking.k = options.k;
  RECO_ASSIGN_OR_RETURN(result.ranking, ComputeRankingMetrics(truth, lists, ranking));
  RECO_ASSIGN_OR_RETURN(result.coverage, ComputeCoverage(train, lists));
  return result;
}

Status WriteRecommendationsCsv(const std::string& path, const Recommender& model,
                               const std::vector<uint32_t>& users, const RankedLists& lists) {
  AtomicFileWriter out;
  RECO_RETURN_IF_ERROR(out.Open(path));
  std::string buf = "user_id,item_id,score,rank\n";
  for (uint32_t r = 0; r < lists.rows(); ++r) {
    const std::string& user = model.users().External(users.empty() ? r : users[r]);
    auto items = lists.Items(r);
    auto scores = lists.Scores(r);
    for (size_t p = 0; p < items.size(); ++p) {
      fmt::format_to(std::back_inserter(buf), "{},{},{:.6g},{}\n", user,
                     model.items().External(items[p]), scores.empty() ? 0.f : scores[p], p + 1);
    }
    if (buf.size() > (1 << 20)) {
      RECO_RETURN_IF_ERROR(out.Append(buf));
      buf.clear();
    }
  }
  RECO_RETURN_IF_ERROR(out.Append(buf));
  return out.Commit();
}

}  // namespace reco
