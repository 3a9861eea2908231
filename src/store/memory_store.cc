// MemoryStore: an ordered map behind a reader-writer lock. The reference
// backend for the conformance suite and for tests of the layers above.
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store_internal.h"

namespace reco::store_internal {
namespace {

struct MemoryData {
  std::shared_mutex mu;
  std::map<std::string, std::string, std::less<>> map;
};

// memory://NAME opens a process-wide store shared by every open of NAME (so a
// test can hand one URI to a writer and a server); memory:// is private.
std::shared_ptr<MemoryData> NamedData(const std::string& name) {
  if (name.empty()) return std::make_shared<MemoryData>();
  static std::mutex mu;
  static auto* named = new std::unordered_map<std::string, std::shared_ptr<MemoryData>>();
  std::lock_guard lock(mu);
  auto& slot = (*named)[name];
  if (!slot) slot = std::make_shared<MemoryData>();
  return slot;
}

class MemoryStore final : public KvStore {
 public:
  MemoryStore(std::string uri, std::shared_ptr<MemoryData> data)
      : uri_(std::move(uri)), data_(std::move(data)) {}

  Status Get(std::string_view key, std::string* value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    std::shared_lock lock(data_->mu);
    auto it = data_->map.find(key);
    if (it == data_->map.end()) return Status::NotFound("key not found");
    value->assign(it->second);
    return Status::Ok();
  }

  Status Put(std::string_view key, std::string_view value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    RECO_RETURN_IF_ERROR(ValidateValue(value));
    std::unique_lock lock(data_->mu);
    PutLocked(key, value);
    return Status::Ok();
  }

  Status Delete(std::string_view key) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    std::unique_lock lock(data_->mu);
    auto it = data_->map.find(key);
    if (it != data_->map.end()) data_->map.erase(it);
    return Status::Ok();
  }

  Status Write(const WriteBatch& batch) override {
    RECO_RETURN_IF_ERROR(ValidateBatch(batch));
    std::unique_lock lock(data_->mu);
    for (const WriteBatch::Op& op : batch.ops()) {
      if (op.kind == WriteBatch::OpKind::kPut) {
        PutLocked(op.key, op.value);
      } else {
        auto it = data_->map.find(op.key);
        if (it != data_->map.end()) data_->map.erase(it);
      }
    }
    return Status::Ok();
  }

  Status Scan(std::string_view prefix, const ScanFn& fn) override {
    // Copy matching entries first so fn may call back into the store.
    std::vector<std::pair<std::string, std::string>> entries;
    {
      std::shared_lock lock(data_->mu);
      for (auto it = data_->map.lower_bound(prefix);
           it != data_->map.end() && it->first.starts_with(prefix); ++it) {
        entries.emplace_back(it->first, it->second);
      }
    }
    for (const auto& [k, v] : entries) {
      if (!fn(k, v)) break;
    }
    return Status::Ok();
  }

  Result<uint64_t> DeletePrefix(std::string_view prefix) override {
    if (prefix.empty()) return Status::InvalidArgument("DeletePrefix refuses the empty prefix");
    std::unique_lock lock(data_->mu);
    uint64_t n = 0;
    auto it = data_->map.lower_bound(prefix);
    while (it != data_->map.end() && it->first.starts_with(prefix)) {
      it = data_->map.erase(it);
      ++n;
    }
    return n;
  }

  Status Ping() override { return Status::Ok(); }
  const std::string& uri() const override { return uri_; }

 private:
  void PutLocked(std::string_view key, std::string_view value) {
    auto it = data_->map.find(key);
    if (it == data_->map.end()) {
      data_->map.emplace(std::string(key), std::string(value));
    } else {
      it->second.assign(value);
    }
  }

  std::string uri_;
  std::shared_ptr<MemoryData> data_;
};

}  // namespace

std::unique_ptr<KvStore> NewMemoryStore(std::string uri, const std::string& name) {
  return std::make_unique<MemoryStore>(std::move(uri), NamedData(name));
}

}  // namespace reco::store_internal
