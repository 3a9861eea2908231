#include "reco/precompute.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "reco/evaluation.h"
#include "reco/progress.h"
#include "reco/topk.h"

namespace reco {

namespace {

// Writes lists[r] for rows r through put(owner(r), items), the items named by
// `items` (a row without scores gets 0).
template <typename OwnerFn, typename PutFn>
Status WriteLists(const RankedLists& lists, const IdMap& items, OwnerFn owner, PutFn put,
                  std::vector<RecItem>* scratch) {
  for (uint32_t r = 0; r < lists.rows(); ++r) {
    auto ids = lists.Items(r);
    auto scores = lists.Scores(r);
    scratch->clear();
    for (size_t p = 0; p < ids.size(); ++p) {
      scratch->push_back({items.External(ids[p]), scores.empty() ? 0.f : scores[p]});
    }
    RECO_RETURN_IF_ERROR(put(owner(r), *scratch));
  }
  return Status::Ok();
}

}  // namespace

Status WriteUserLists(const Recommender& model, const CsrMatrix& seen, uint32_t begin, uint32_t end,
                      const PrecomputeOptions& options, int threads, const char* progress_label,
                      VersionWriter* writer) {
  const uint32_t block = std::max<uint32_t>(1, options.users_per_block);
  std::optional<ProgressBar> bar;
  if (options.show_progress) bar.emplace(progress_label, end - begin);
  std::vector<RecItem> scratch;
  std::vector<uint32_t> ids;
  for (uint32_t b = begin; b < end; b += block) {
    const uint32_t e = std::min(end, b + block);
    ids.resize(e - b);
    std::iota(ids.begin(), ids.end(), b);
    RECO_ASSIGN_OR_RETURN(RankedLists lists, RecommendUnseen(model, seen, ids, options.k, threads));
    RECO_RETURN_IF_ERROR(WriteLists(
        lists, model.items(), [&](uint32_t r) { return model.users().External(ids[r]); },
        [&](const std::string& id, const std::vector<RecItem>& l) {
          return writer->PutUserRecs(id, l);
        },
        &scratch));
    if (bar) bar->Update(e - begin);
  }
  if (bar) bar->Finish();
  return Status::Ok();
}

Status WriteItemLists(const Recommender& model, const CsrMatrix& seen,
                      const PrecomputeOptions& options, int threads, VersionWriter* writer) {
  std::vector<RecItem> scratch;
  if (options.similar_k > 0 && model.num_items() > 1) {
    RECO_ASSIGN_OR_RETURN(RankedLists similar, model.SimilarItems({}, options.similar_k, threads));
    RECO_RETURN_IF_ERROR(WriteLists(
        similar, model.items(), [&](uint32_t r) { return model.items().External(r); },
        [&](const std::string& id, const std::vector<RecItem>& l) {
          return writer->PutSimilarItems(id, l);
        },
        &scratch));
  }
  std::vector<uint64_t> counts(model.num_items(), 0);
  for (uint32_t c : seen.indices) ++counts[c];
  std::vector<uint32_t> order(model.num_items());
  std::iota(order.begin(), order.end(), 0);
  const uint32_t popular_k =
      std::min<uint32_t>(std::max(options.popular_k, options.k), model.num_items());
  std::partial_sort(order.begin(), order.begin() + popular_k, order.end(),
                    [&](uint32_t a, uint32_t b) {
                      return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
                    });
  scratch.clear();
  for (uint32_t p = 0; p < popular_k; ++p) {
    scratch.push_back({model.items().External(order[p]), static_cast<float>(counts[order[p]])});
  }
  return writer->PutPopular(scratch);
}

Result<PrecomputeResult> PrecomputeToStore(const Recommender& model, const CsrMatrix& seen,
                                           RecommendationStore* store,
                                           const PrecomputeOptions& options) {
  if (options.k == 0) return Status::InvalidArgument("k must be at least 1");
  if (seen.rows != model.num_users() || seen.cols != model.num_items()) {
    return Status::InvalidArgument("seen-items matrix does not match the model's shape");
  }
  auto start = std::chrono::steady_clock::now();
  std::string version = options.version.empty() ? NewVersionId() : options.version;
  RECO_ASSIGN_OR_RETURN(auto writer, store->BeginVersion(version, options.description));
  RECO_RETURN_IF_ERROR(WriteUserLists(model, seen, 0, model.num_users(), options, options.threads,
                                      "precompute users", writer.get()));
  RECO_RETURN_IF_ERROR(WriteItemLists(model, seen, options, options.threads, writer.get()));
  PrecomputeResult result;
  RECO_ASSIGN_OR_RETURN(result.meta, writer->Commit());
  if (options.activate) RECO_RETURN_IF_ERROR(store->Activate(version));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.users_per_second = result.seconds > 0 ? model.num_users() / result.seconds : 0;
  return result;
}

}  // namespace reco
