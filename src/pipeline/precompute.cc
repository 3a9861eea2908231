#include "reco/precompute.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "reco/evaluation.h"
#include "reco/progress.h"
#include "reco/topk.h"
#include "write_lists.h"

namespace reco {

using pipeline_internal::WriteLists;

Result<PrecomputeResult> PrecomputeToStore(const FactorModel& model, const CsrMatrix& seen,
                                           RecommendationStore* store,
                                           const PrecomputeOptions& options) {
  if (options.k == 0) return Status::InvalidArgument("k must be at least 1");
  if (seen.rows != model.num_users() || seen.cols != model.num_items()) {
    return Status::InvalidArgument("seen-items matrix does not match the model's shape");
  }
  auto start = std::chrono::steady_clock::now();
  std::string version = options.version.empty() ? NewVersionId() : options.version;
  RECO_ASSIGN_OR_RETURN(auto writer, store->BeginVersion(version, options.description));
  std::vector<RecItem> scratch;

  // Users, in blocks so memory stays bounded whatever the user count.
  const uint32_t n = model.num_users();
  const uint32_t block = std::max<uint32_t>(1, options.users_per_block);
  std::vector<uint32_t> ids;
  {
    std::optional<ProgressBar> bar;
    if (options.show_progress) bar.emplace("precompute users", n);
    for (uint32_t b = 0; b < n; b += block) {
      uint32_t e = std::min(n, b + block);
      ids.resize(e - b);
      std::iota(ids.begin(), ids.end(), b);
      RECO_ASSIGN_OR_RETURN(RankedLists lists,
                            RecommendUnseen(model, seen, ids, options.k, options.threads));
      RECO_RETURN_IF_ERROR(WriteLists(
          lists, model.items, [&](uint32_t r) { return model.users.External(ids[r]); },
          [&](const std::string& id, const std::vector<RecItem>& l) {
            return writer->PutUserRecs(id, l);
          },
          &scratch));
      if (bar) bar->Update(e);
    }
    if (bar) bar->Finish();
  }

  if (options.similar_k > 0 && model.num_items() > 1) {
    TopKOptions so;
    so.k = options.similar_k;
    so.threads = options.threads;
    FactorView items{model.item_factors.data(), model.num_items(), model.factors()};
    RECO_ASSIGN_OR_RETURN(RankedLists similar, SimilarItems(items, {}, so));
    RECO_RETURN_IF_ERROR(WriteLists(
        similar, model.items, [&](uint32_t r) { return model.items.External(r); },
        [&](const std::string& id, const std::vector<RecItem>& l) {
          return writer->PutSimilarItems(id, l);
        },
        &scratch));
  }

  // Popular: items by number of users who interacted, ties by lower index.
  std::vector<uint64_t> counts(model.num_items(), 0);
  for (uint32_t c : seen.indices) ++counts[c];
  std::vector<uint32_t> order(model.num_items());
  std::iota(order.begin(), order.end(), 0);
  uint32_t popular_k =
      std::min<uint32_t>(std::max(options.popular_k, options.k), model.num_items());
  std::partial_sort(order.begin(), order.begin() + popular_k, order.end(),
                    [&](uint32_t a, uint32_t b) {
                      return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
                    });
  scratch.clear();
  for (uint32_t p = 0; p < popular_k; ++p) {
    scratch.push_back({model.items.External(order[p]), static_cast<float>(counts[order[p]])});
  }
  RECO_RETURN_IF_ERROR(writer->PutPopular(scratch));

  PrecomputeResult result;
  RECO_ASSIGN_OR_RETURN(result.meta, writer->Commit());
  if (options.activate) RECO_RETURN_IF_ERROR(store->Activate(version));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.users_per_second = result.seconds > 0 ? n / result.seconds : 0;
  return result;
}

}  // namespace reco
