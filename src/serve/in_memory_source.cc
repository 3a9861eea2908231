#include <mutex>

#include "reco/server.h"

namespace reco {

void InMemoryRecommendationSource::SetUserRecommendations(std::string user_id, Items items) {
  std::unique_lock lock(mu_);
  users_[std::move(user_id)] = std::move(items);
}

void InMemoryRecommendationSource::SetSimilarItems(std::string item_id, Items items) {
  std::unique_lock lock(mu_);
  similar_[std::move(item_id)] = std::move(items);
}

void InMemoryRecommendationSource::SetPopularItems(Items items) {
  std::unique_lock lock(mu_);
  popular_ = std::move(items);
  has_popular_ = true;
}

void InMemoryRecommendationSource::SetActiveVersion(std::string version) {
  std::unique_lock lock(mu_);
  version_ = std::move(version);
}

void InMemoryRecommendationSource::SetStoreStatus(Status status) {
  std::unique_lock lock(mu_);
  store_status_ = std::move(status);
}

Status InMemoryRecommendationSource::ReadLocked(const Items* items, ScoredItemList* out) const {
  out->Clear();
  if (!store_status_.ok()) return store_status_;
  if (version_.empty()) return Status::FailedPrecondition("no active model version");
  if (items == nullptr) return Status::NotFound("no such list");
  for (const auto& [id, score] : *items) out->Add(id, score);
  out->model_version = version_;
  return Status::Ok();
}

Status InMemoryRecommendationSource::GetUserRecommendations(std::string_view user_id,
                                                            ScoredItemList* out) {
  std::shared_lock lock(mu_);
  const auto it = users_.find(user_id);
  return ReadLocked(it == users_.end() ? nullptr : &it->second, out);
}

Status InMemoryRecommendationSource::GetSimilarItems(std::string_view item_id,
                                                     ScoredItemList* out) {
  std::shared_lock lock(mu_);
  const auto it = similar_.find(item_id);
  return ReadLocked(it == similar_.end() ? nullptr : &it->second, out);
}

Status InMemoryRecommendationSource::GetPopularItems(ScoredItemList* out) {
  std::shared_lock lock(mu_);
  return ReadLocked(has_popular_ ? &popular_ : nullptr, out);
}

std::string InMemoryRecommendationSource::ActiveVersion() {
  std::shared_lock lock(mu_);
  return version_;
}

Status InMemoryRecommendationSource::CheckReady() {
  std::shared_lock lock(mu_);
  if (!store_status_.ok()) return store_status_;
  if (version_.empty()) return Status::FailedPrecondition("no active model version");
  return Status::Ok();
}

}  // namespace reco
