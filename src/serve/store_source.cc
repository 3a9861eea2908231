// The RecommendationSource over a RecommendationStore. The store already
// caches the active version (re-reading its pointer once per
// refresh_interval), so a request costs one list Get and no version lookup.
#include <memory>

#include "reco/rec_store.h"
#include "reco/server.h"

namespace reco {
namespace {

class StoreRecommendationSource final : public RecommendationSource {
 public:
  explicit StoreRecommendationSource(RecommendationStore* store) : store_(store) {}

  Status GetUserRecommendations(std::string_view user_id, ScoredItemList* out) override {
    return Read([&](RecList* list) { return store_->GetUserRecs(user_id, list); }, out);
  }
  Status GetSimilarItems(std::string_view item_id, ScoredItemList* out) override {
    return Read([&](RecList* list) { return store_->GetSimilarItems(item_id, list); }, out);
  }
  Status GetPopularItems(ScoredItemList* out) override {
    return Read([&](RecList* list) { return store_->GetPopular(list); }, out);
  }
  std::string ActiveVersion() override {
    Result<std::string> version = store_->ActiveVersion();
    return version.ok() ? *version : std::string();
  }
  Status CheckReady() override { return store_->CheckReady(); }

 private:
  template <typename ReadFn>
  static Status Read(ReadFn read, ScoredItemList* out) {
    // One decode buffer per server thread, reused across requests.
    thread_local RecList scratch;
    out->Clear();
    RECO_RETURN_IF_ERROR(read(&scratch));
    for (const RecItem& item : scratch) out->Add(item.item_id, item.score);
    out->model_version = scratch.version();
    return Status::Ok();
  }

  RecommendationStore* store_;
};

}  // namespace

std::unique_ptr<RecommendationSource> MakeStoreSource(RecommendationStore* store) {
  return std::make_unique<StoreRecommendationSource>(store);
}

}  // namespace reco
