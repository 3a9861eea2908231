// What the item-item families (EASE, item-kNN) share behind
// reco::Recommender: both score a history h (a sparse row of transformed
// values) against the catalogue as s = h W, W their items x items weights
// (dense for EASE, sparse neighbour lists for kNN). These helpers do the
// batching, exclusion and selection once (TopKFromScoreBlocks: blocks of
// rows x items filled by one pass over each history, never one call per
// (user, item)); a family only adds weighted rows of its W. Internal.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <utility>

#include "family.h"
#include "reco/interactions.h"
#include "reco/recommender.h"
#include "reco/topk.h"

namespace reco {

// out[j - first_item] += weight * W(item, j) for j in [first_item,
// first_item + count). Called concurrently; must be thread-safe.
using AddItemRow = std::function<void(uint32_t item, float weight, uint32_t first_item,
                                      uint32_t count, float* out)>;

// Recommender::RecommendUsers for an item-item family: row r is scored from
// row users[r] of `interactions` (all rows when `users` is empty), its values
// read through `values`.
Result<RankedLists> RankUsersByItemRows(std::span<const uint32_t> users,
                                        const CsrMatrix& interactions, const CsrMatrix* exclude,
                                        uint32_t k, int threads, uint32_t num_users,
                                        uint32_t num_items, const ValueOptions& values,
                                        const AddItemRow& add);

// Recommender::RecommendHistories for an item-item family.
Result<RankedLists> RankHistoriesByItemRows(const CsrMatrix& histories,
                                            const CsrMatrix* extra_exclude, uint32_t k, int threads,
                                            uint32_t* failed_rows, uint32_t num_items,
                                            const ValueOptions& values, const AddItemRow& add);

// For each item q in `items` (all when empty), the k best other items by
// W(q, j): a one-item history of weight 1. The item itself is never returned.
Result<RankedLists> RankItemRows(std::span<const uint32_t> items, uint32_t k, int threads,
                                 uint32_t num_items, const AddItemRow& add);

// The Recommender half both item-item families share: their config and ID
// maps, and users and histories scored through RankUsersByItemRows /
// RankHistoriesByItemRows with the family's AddRow. A family adds AddRow,
// family(), SimilarItems, CheckFinite, memory_bytes and its payload.
class ItemItemRecommender : public FamilyRecommender {
 public:
  ItemItemRecommender(const ModelConfig& config, IdMap users, IdMap items)
      : config_(config), users_(std::move(users)), items_(std::move(items)) {}

  const ModelConfig& config() const override { return config_; }
  const IdMap& users() const override { return users_; }
  const IdMap& items() const override { return items_; }

  Result<RankedLists> RecommendUsers(std::span<const uint32_t> users, const CsrMatrix& interactions,
                                     const CsrMatrix* exclude, uint32_t k,
                                     int threads) const override {
    return RankUsersByItemRows(users, interactions, exclude, k, threads, num_users(), num_items(),
                               config_.values, Adder());
  }
  Result<RankedLists> RecommendHistories(const CsrMatrix& histories, const CsrMatrix* extra_exclude,
                                         uint32_t k, int threads,
                                         uint32_t* failed_rows) const override {
    return RankHistoriesByItemRows(histories, extra_exclude, k, threads, failed_rows, num_items(),
                                   config_.values, Adder());
  }

 protected:
  // The family's AddItemRow: out[j - first] += weight * W(item, j).
  virtual void AddRow(uint32_t item, float weight, uint32_t first, uint32_t count,
                      float* out) const = 0;
  AddItemRow Adder() const {
    return [this](uint32_t item, float weight, uint32_t first, uint32_t count, float* out) {
      AddRow(item, weight, first, count, out);
    };
  }

 private:
  ModelConfig config_;
  IdMap users_;
  IdMap items_;
};

// The default EASE memory limit: half of the machine's physical memory.
uint64_t DefaultFitMemoryLimit();

}  // namespace reco
