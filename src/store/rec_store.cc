// RecommendationStore: versions, the active pointer and the cached reader.
//
// Key layout (docs/store.md):
//   <ns>/active                   id of the active version
//   <ns>/meta/<version>           metadata JSON; written last, marks the version complete
//   <ns>/v/<version>/u/<user_id>  a user's recommendations (list value)
//   <ns>/v/<version>/i/<item_id>  an item's similar items (list value)
//   <ns>/v/<version>/popular      the popular list (list value)
//   <ns>/v/<version>/h/<user_id>  a user's spilled live state (live-state value)
//
// Read protocol: resolve the active version (cached), then read the list under
// that version's prefix. A version's lists are immutable once committed and
// are only deleted after another version was activated, so a reader holding a
// stale version still reads a complete, consistent version. If a read misses,
// the version may just have been deleted: the reader re-reads the pointer and
// retries once if it changed.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>

#include "reco/rec_store.h"
#include "reco/text.h"
#include "reco/time_format.h"

namespace reco {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status ValidateExternalId(std::string_view id, const char* what) {
  if (id.empty() || id.size() > kMaxExternalIdSize) {
    return Status::InvalidArgument(std::string(what) + " ID of " + std::to_string(id.size()) +
                                   " bytes (must be 1.." + std::to_string(kMaxExternalIdSize) +
                                   ")");
  }
  return Status::Ok();
}

std::string EncodeMeta(const VersionMeta& meta) {
  nlohmann::json j = {{"format", 1},
                      {"version", meta.version},
                      {"created_unix_ms", meta.created_unix_ms},
                      {"user_lists", meta.user_lists},
                      {"item_lists", meta.item_lists},
                      {"popular_items", meta.popular_items},
                      {"description", meta.description}};
  return j.dump();
}

Result<VersionMeta> DecodeMeta(std::string_view key, std::string_view bytes) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption("version metadata " + std::string(key) + ": " + why);
  };
  nlohmann::json j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not a JSON object");
  VersionMeta meta;
  auto get_string = [&](const char* name, std::string* out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  auto get_uint = [&](const char* name, uint64_t* out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_unsigned()) return false;
    *out = it->get<uint64_t>();
    return true;
  };
  uint64_t format = 0, created = 0;
  if (!get_uint("format", &format) || format != 1) return corrupt("unknown format");
  if (!get_string("version", &meta.version) || !ValidateVersionId(meta.version).ok()) {
    return corrupt("bad version");
  }
  if (!get_uint("created_unix_ms", &created) || !get_uint("user_lists", &meta.user_lists) ||
      !get_uint("item_lists", &meta.item_lists) ||
      !get_uint("popular_items", &meta.popular_items) ||
      !get_string("description", &meta.description)) {
    return corrupt("missing or mistyped field");
  }
  meta.created_unix_ms = static_cast<int64_t>(created);
  return meta;
}

}  // namespace

Status ValidateVersionId(std::string_view version) {
  if (version.empty() || version.size() > 64) {
    return Status::InvalidArgument("version id '" + std::string(version.substr(0, 80)) +
                                   "' must have 1..64 characters");
  }
  for (char c : version) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument("version id '" + std::string(version) +
                                     "' may only contain A-Z a-z 0-9 . _ -");
    }
  }
  return Status::Ok();
}

std::string NewVersionId() { return FormatCompactUtcMillis(UnixMillisNow()); }

// ---- VersionWriter ----------------------------------------------------------

VersionWriter::VersionWriter(KvStore* kv, const RecStoreOptions* options, VersionMeta meta)
    : kv_(kv), options_(options), meta_(std::move(meta)) {
  data_prefix_ = options_->ns + "/v/" + meta_.version + "/";
  user_prefix_ = data_prefix_ + "u/";
  item_prefix_ = data_prefix_ + "i/";
}

VersionWriter::~VersionWriter() {
  if (!committed_ && !joined_) {
    // Best effort: leftovers are also cleared by the next BeginVersion of
    // this id and are never visible (no metadata record).
    (void)kv_->DeletePrefix(data_prefix_);
  }
}

Status VersionWriter::PutUserRecs(std::string_view user_id, std::span<const RecItem> items) {
  RECO_RETURN_IF_ERROR(ValidateExternalId(user_id, "user"));
  RECO_RETURN_IF_ERROR(PutList(user_prefix_, user_id, items));
  ++meta_.user_lists;
  return Status::Ok();
}

Status VersionWriter::PutSimilarItems(std::string_view item_id, std::span<const RecItem> items) {
  RECO_RETURN_IF_ERROR(ValidateExternalId(item_id, "item"));
  RECO_RETURN_IF_ERROR(PutList(item_prefix_, item_id, items));
  ++meta_.item_lists;
  return Status::Ok();
}

Status VersionWriter::PutPopular(std::span<const RecItem> items) {
  RECO_RETURN_IF_ERROR(PutList(data_prefix_, "popular", items));
  meta_.popular_items = items.size();
  return Status::Ok();
}

Status VersionWriter::PutList(const std::string& prefix, std::string_view id,
                              std::span<const RecItem> items) {
  if (committed_) return Status::FailedPrecondition("version " + version() + " is committed");
  if (failed_) return Status::FailedPrecondition("version " + version() + ": earlier write failed");
  RECO_RETURN_IF_ERROR(EncodeRecList(items, &encoded_).WithContext(std::string(id)));
  key_.assign(prefix).append(id);
  batch_.Put(key_, encoded_);
  if (batch_.size() >= options_->batch_max_ops ||
      batch_.ApproximateBytes() >= options_->batch_max_bytes) {
    return Flush();
  }
  return Status::Ok();
}

Status VersionWriter::Flush() {
  if (batch_.empty()) return Status::Ok();
  Status st = kv_->Write(batch_);
  batch_.Clear();
  if (!st.ok()) {
    failed_ = true;
    return st.WithContext("publishing version " + version());
  }
  return Status::Ok();
}

Result<VersionMeta> VersionWriter::Commit() {
  if (committed_) return Status::FailedPrecondition("version " + version() + " is committed");
  if (joined_) {
    return Status::FailedPrecondition("version " + version() + ": a joined writer cannot commit");
  }
  if (failed_) return Status::FailedPrecondition("version " + version() + ": earlier write failed");
  RECO_RETURN_IF_ERROR(Flush());
  meta_.created_unix_ms = UnixMillisNow();
  Status st = kv_->Put(options_->ns + "/meta/" + meta_.version, EncodeMeta(meta_));
  if (!st.ok()) {
    failed_ = true;
    return st.WithContext("committing version " + version());
  }
  committed_ = true;
  return meta_;
}

Result<VersionMeta> VersionWriter::FinishPart() {
  if (!joined_) return Status::FailedPrecondition("version " + version() + ": not a joined writer");
  if (failed_) return Status::FailedPrecondition("version " + version() + ": earlier write failed");
  RECO_RETURN_IF_ERROR(Flush());
  return meta_;
}

void VersionWriter::AddPartCounts(const VersionMeta& part) {
  meta_.user_lists += part.user_lists;
  meta_.item_lists += part.item_lists;
  meta_.popular_items += part.popular_items;
}

// ---- RecommendationStore ----------------------------------------------------

struct RecommendationStore::ActiveState {
  std::string version;
  std::string user_prefix;
  std::string item_prefix;
  bool has_popular = false;
  std::string popular_bytes;
};

RecommendationStore::RecommendationStore(std::unique_ptr<KvStore> kv, RecStoreOptions options)
    : kv_(std::move(kv)), options_(std::move(options)) {}

RecommendationStore::~RecommendationStore() = default;

Result<std::unique_ptr<RecommendationStore>> RecommendationStore::Open(const std::string& uri,
                                                                       RecStoreOptions options) {
  RECO_ASSIGN_OR_RETURN(std::unique_ptr<KvStore> kv, OpenKvStore(uri));
  return Create(std::move(kv), std::move(options));
}

Result<std::unique_ptr<RecommendationStore>> RecommendationStore::Create(
    std::unique_ptr<KvStore> kv, RecStoreOptions options) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(options.ns).WithContext("store namespace"));
  if (options.refresh_interval.count() < 0) {
    return Status::InvalidArgument("refresh_interval must not be negative");
  }
  if (options.batch_max_ops == 0) options.batch_max_ops = 1;
  return std::unique_ptr<RecommendationStore>(
      new RecommendationStore(std::move(kv), std::move(options)));
}

std::string RecommendationStore::ActiveKey() const { return options_.ns + "/active"; }
std::string RecommendationStore::MetaPrefix() const { return options_.ns + "/meta/"; }
std::string RecommendationStore::DataPrefix(std::string_view version) const {
  return options_.ns + "/v/" + std::string(version) + "/";
}

Result<std::string> RecommendationStore::ReadActivePointer() {
  std::string version;
  Status st = kv_->Get(ActiveKey(), &version);
  if (!st.ok()) {
    if (st.code() == Status::Code::kNotFound) {
      return Status::NotFound("no active model version in " + kv_->uri());
    }
    return st;
  }
  if (!ValidateVersionId(version).ok()) {
    return Status::Corruption("active version pointer " + ActiveKey() + " holds a bad id");
  }
  return version;
}

const RecommendationStore::ActiveState* RecommendationStore::CurrentState() {
  int64_t now = NowNs();
  if (now >= next_refresh_ns_.load(std::memory_order_relaxed)) {
    // One thread refreshes; the others keep serving the cached version.
    std::unique_lock lock(refresh_mu_, std::try_to_lock);
    if (lock.owns_lock() && now >= next_refresh_ns_.load(std::memory_order_relaxed)) {
      (void)RefreshLocked(now);
    }
  }
  return active_.load(std::memory_order_acquire);
}

Result<const RecommendationStore::ActiveState*> RecommendationStore::RefreshState(
    int64_t not_before_ns) {
  std::lock_guard lock(refresh_mu_);
  // Coalesce: a refresh that started after the caller's read began has
  // already observed any switch the caller could have missed.
  if (last_refresh_start_ns_ >= not_before_ns && last_refresh_status_.ok()) {
    return active_.load(std::memory_order_acquire);
  }
  return RefreshLocked(NowNs());
}

Result<const RecommendationStore::ActiveState*> RecommendationStore::RefreshLocked(int64_t now_ns) {
  last_refresh_start_ns_ = now_ns;
  next_refresh_ns_.store(
      now_ns +
          std::chrono::duration_cast<std::chrono::nanoseconds>(options_.refresh_interval).count(),
      std::memory_order_relaxed);
  Result<std::string> version = ReadActivePointer();
  if (!version.ok()) {
    if (version.status().code() == Status::Code::kNotFound) {
      active_.store(nullptr, std::memory_order_release);
      last_refresh_status_ = Status::Ok();
      return static_cast<const ActiveState*>(nullptr);
    }
    last_refresh_status_ = version.status();
    return version.status();
  }
  const ActiveState* current = active_.load(std::memory_order_acquire);
  if (current != nullptr && current->version == *version) {
    last_refresh_status_ = Status::Ok();
    return current;
  }
  auto state = std::make_unique<ActiveState>();
  state->version = *version;
  std::string prefix = DataPrefix(state->version);
  state->user_prefix = prefix + "u/";
  state->item_prefix = prefix + "i/";
  Status st = kv_->Get(prefix + "popular", &state->popular_bytes);
  if (st.ok()) {
    state->has_popular = true;
  } else if (st.code() != Status::Code::kNotFound) {
    last_refresh_status_ = st;
    return st;
  }
  const ActiveState* fresh = state.get();
  states_.push_back(std::move(state));
  active_.store(fresh, std::memory_order_release);
  last_refresh_status_ = Status::Ok();
  return fresh;
}

Status RecommendationStore::ReadList(std::string_view key, std::string_view version, RecList* out) {
  out->items_.clear();
  bool pending = false;
  if (pending_count_.load(std::memory_order_acquire) != 0) {
    std::shared_lock lock(pending_mu_);
    if (auto it = pending_.find(key); it != pending_.end()) {
      out->bytes_.assign(it->second.bytes);
      pending = true;
    }
  }
  // A list is dropped from pending_ only once its Write has committed, so a
  // miss here reads it from the store.
  Status st = pending ? Status::Ok() : kv_->Get(key, &out->bytes_);
  if (!st.ok()) return st;
  out->version_.assign(version);
  st = DecodeRecList(out->bytes_, &out->items_);
  if (!st.ok()) return st.WithContext(std::string(key));
  return Status::Ok();
}

Status RecommendationStore::ReadActive(ListKind kind, std::string_view id, RecList* out) {
  RECO_RETURN_IF_ERROR(ValidateExternalId(id, kind == ListKind::kUser ? "user" : "item"));
  const int64_t start = NowNs();
  const ActiveState* state = CurrentState();
  if (state == nullptr) {
    RECO_ASSIGN_OR_RETURN(state, RefreshState(start));
    if (state == nullptr) return Status::FailedPrecondition("no active model version");
  }
  for (int attempt = 0;; ++attempt) {
    out->key_.assign(kind == ListKind::kUser ? state->user_prefix : state->item_prefix);
    out->key_.append(id);
    Status st = ReadList(out->key_, state->version, out);
    if (st.code() != Status::Code::kNotFound) return st;
    if (attempt == 0) {
      // The version may have been replaced and deleted since we resolved it.
      Result<const ActiveState*> fresh = RefreshState(start);
      if (fresh.ok() && *fresh != nullptr && *fresh != state) {
        state = *fresh;
        continue;
      }
    }
    return Status::NotFound(std::string(kind == ListKind::kUser ? "user" : "item") + " '" +
                            std::string(id) + "' not in version " + state->version);
  }
}

Status RecommendationStore::GetUserRecs(std::string_view user_id, RecList* out) {
  return ReadActive(ListKind::kUser, user_id, out);
}

Status RecommendationStore::GetSimilarItems(std::string_view item_id, RecList* out) {
  return ReadActive(ListKind::kItem, item_id, out);
}

Status RecommendationStore::GetPopular(RecList* out) {
  const ActiveState* state = CurrentState();
  if (state == nullptr) {
    RECO_ASSIGN_OR_RETURN(state, RefreshState(NowNs()));
    if (state == nullptr) return Status::FailedPrecondition("no active model version");
  }
  out->items_.clear();
  if (!state->has_popular) {
    return Status::NotFound("version " + state->version + " has no popular list");
  }
  out->bytes_.assign(state->popular_bytes);
  out->version_.assign(state->version);
  Status st = DecodeRecList(out->bytes_, &out->items_);
  if (!st.ok()) return st.WithContext(DataPrefix(state->version) + "popular");
  return Status::Ok();
}

Result<std::string> RecommendationStore::ActiveVersion() {
  const ActiveState* state = CurrentState();
  if (state == nullptr) {
    RECO_ASSIGN_OR_RETURN(state, RefreshState(NowNs()));
    if (state == nullptr) return Status::FailedPrecondition("no active model version");
  }
  return state->version;
}

Result<std::string> RecommendationStore::RefreshActiveVersion() {
  RECO_ASSIGN_OR_RETURN(const ActiveState* state, RefreshState(NowNs()));
  if (state == nullptr) return Status::FailedPrecondition("no active model version");
  return state->version;
}

Status RecommendationStore::CheckReady() {
  RECO_RETURN_IF_ERROR(kv_->Ping());
  return ActiveVersion().status();
}

Status RecommendationStore::GetUserRecsAt(std::string_view version, std::string_view user_id,
                                          RecList* out) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  RECO_RETURN_IF_ERROR(ValidateExternalId(user_id, "user"));
  out->key_.assign(DataPrefix(version)).append("u/").append(user_id);
  Status st = ReadList(out->key_, version, out);
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound("user '" + std::string(user_id) + "' not in version " +
                            std::string(version));
  }
  return st;
}

Status RecommendationStore::GetSimilarItemsAt(std::string_view version, std::string_view item_id,
                                              RecList* out) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  RECO_RETURN_IF_ERROR(ValidateExternalId(item_id, "item"));
  out->key_.assign(DataPrefix(version)).append("i/").append(item_id);
  Status st = ReadList(out->key_, version, out);
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound("item '" + std::string(item_id) + "' not in version " +
                            std::string(version));
  }
  return st;
}

Status RecommendationStore::GetPopularAt(std::string_view version, RecList* out) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  out->key_.assign(DataPrefix(version)).append("popular");
  Status st = ReadList(out->key_, version, out);
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound("no popular list in version " + std::string(version));
  }
  return st;
}

Result<std::unique_ptr<VersionWriter>> RecommendationStore::BeginVersion(
    std::string_view version, std::string_view description) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  std::string existing;
  Status st = kv_->Get(MetaPrefix() + std::string(version), &existing);
  if (st.ok()) {
    return Status::FailedPrecondition("version " + std::string(version) + " already exists in " +
                                      kv_->uri());
  }
  if (st.code() != Status::Code::kNotFound) return st;
  // Leftovers of an interrupted publish of this id (never visible: no meta).
  DropPending(DataPrefix(version));
  RECO_RETURN_IF_ERROR(kv_->DeletePrefix(DataPrefix(version)).status());
  VersionMeta meta;
  meta.version = std::string(version);
  meta.description = std::string(description);
  return std::unique_ptr<VersionWriter>(new VersionWriter(kv_.get(), &options_, std::move(meta)));
}

Result<std::unique_ptr<VersionWriter>> RecommendationStore::JoinVersion(std::string_view version) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  std::string existing;
  Status st = kv_->Get(MetaPrefix() + std::string(version), &existing);
  if (st.ok()) {
    return Status::FailedPrecondition("version " + std::string(version) + " is already committed");
  }
  if (st.code() != Status::Code::kNotFound) return st;
  VersionMeta meta;
  meta.version = std::string(version);
  auto writer =
      std::unique_ptr<VersionWriter>(new VersionWriter(kv_.get(), &options_, std::move(meta)));
  writer->joined_ = true;
  return writer;
}

Status RecommendationStore::Activate(std::string_view version) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  std::string meta;
  Status st = kv_->Get(MetaPrefix() + std::string(version), &meta);
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound("version " + std::string(version) +
                            " does not exist or was never committed");
  }
  RECO_RETURN_IF_ERROR(st);
  RECO_RETURN_IF_ERROR(kv_->Put(ActiveKey(), version));
  // Our own readers see the switch at once; others within refresh_interval.
  (void)RefreshState(NowNs());
  return Status::Ok();
}

Status RecommendationStore::EncodeUserLists(std::string_view version,
                                            std::span<const UserRecs> lists, WriteBatch* batch) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  std::string key = DataPrefix(version) + "u/";
  const size_t prefix_size = key.size();
  std::string encoded;
  for (const UserRecs& list : lists) {
    RECO_RETURN_IF_ERROR(ValidateExternalId(list.user_id, "user"));
    RECO_RETURN_IF_ERROR(
        EncodeRecList(list.items, &encoded).WithContext(std::string(list.user_id)));
    key.resize(prefix_size);
    key.append(list.user_id);
    batch->Put(key, encoded);
  }
  if (batch->empty()) return Status::Ok();
  // Writing into a deleted or unpublished version would leave keys nothing
  // points at (and that a later BeginVersion of the id would clear anyway).
  std::string meta;
  Status st = kv_->Get(MetaPrefix() + std::string(version), &meta);
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound("version " + std::string(version) +
                            " does not exist or was never committed");
  }
  return st;
}

Status RecommendationStore::PutUserRecsAt(std::string_view version,
                                          std::span<const UserRecs> lists) {
  WriteBatch batch;
  RECO_RETURN_IF_ERROR(EncodeUserLists(version, lists, &batch));
  if (batch.empty()) return Status::Ok();
  RECO_RETURN_IF_ERROR(kv_->Write(batch));
  // Older pending copies of these lists must not be flushed over them.
  DropPending({}, &batch);
  return Status::Ok();
}

Status RecommendationStore::PutUserRecsPending(std::string_view version,
                                               std::span<const UserRecs> lists) {
  WriteBatch batch;
  RECO_RETURN_IF_ERROR(EncodeUserLists(version, lists, &batch));
  if (batch.empty()) return Status::Ok();
  std::unique_lock lock(pending_mu_);
  const uint64_t generation = ++pending_generation_;
  for (const WriteBatch::Op& op : batch.ops()) {
    PendingList& list = pending_[op.key];
    list.bytes = op.value;
    list.generation = generation;
  }
  pending_count_.store(pending_.size(), std::memory_order_release);
  return Status::Ok();
}

Status RecommendationStore::FlushPending() {
  WriteBatch batch;
  uint64_t generation = 0;
  {
    std::shared_lock lock(pending_mu_);
    if (pending_.empty()) return Status::Ok();
    for (const auto& [key, list] : pending_) batch.Put(key, list.bytes);
    generation = pending_generation_;
  }
  RECO_RETURN_IF_ERROR(
      kv_->Write(batch).WithContext("writing " + std::to_string(batch.size()) + " pending lists"));
  // Lists replaced while the Write ran stay for the next flush.
  std::unique_lock lock(pending_mu_);
  std::erase_if(pending_, [&](const auto& entry) { return entry.second.generation <= generation; });
  pending_count_.store(pending_.size(), std::memory_order_release);
  return Status::Ok();
}

void RecommendationStore::DropPending(std::string_view prefix, const WriteBatch* batch) {
  if (pending_count_.load(std::memory_order_acquire) == 0) return;
  std::unique_lock lock(pending_mu_);
  if (batch != nullptr) {
    for (const WriteBatch::Op& op : batch->ops()) pending_.erase(op.key);
  } else {
    std::erase_if(pending_, [&](const auto& entry) { return entry.first.starts_with(prefix); });
  }
  pending_count_.store(pending_.size(), std::memory_order_release);
}

Result<std::vector<VersionMeta>> RecommendationStore::ListVersions() {
  std::vector<VersionMeta> versions;
  Status decode_error;
  RECO_RETURN_IF_ERROR(kv_->Scan(MetaPrefix(), [&](std::string_view key, std::string_view value) {
    Result<VersionMeta> meta = DecodeMeta(key, value);
    if (!meta.ok()) {
      decode_error = meta.status();
      return false;
    }
    versions.push_back(std::move(*meta));
    return true;
  }));
  RECO_RETURN_IF_ERROR(decode_error);
  std::sort(versions.begin(), versions.end(), [](const VersionMeta& a, const VersionMeta& b) {
    return std::tie(a.created_unix_ms, a.version) < std::tie(b.created_unix_ms, b.version);
  });
  return versions;
}

Result<VersionMeta> RecommendationStore::GetVersionMeta(std::string_view version) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  std::string key = MetaPrefix() + std::string(version);
  std::string bytes;
  Status st = kv_->Get(key, &bytes);
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound("version " + std::string(version) + " does not exist");
  }
  RECO_RETURN_IF_ERROR(st);
  return DecodeMeta(key, bytes);
}

Status RecommendationStore::PutLiveStates(std::string_view version,
                                          std::span<const LiveStateRecord> records) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  if (records.empty()) return Status::Ok();
  std::string meta;
  Status st = kv_->Get(MetaPrefix() + std::string(version), &meta);
  if (st.code() == Status::Code::kNotFound) {
    return Status::NotFound("version " + std::string(version) +
                            " does not exist or was never committed");
  }
  RECO_RETURN_IF_ERROR(st);
  WriteBatch batch;
  std::string key = DataPrefix(version) + "h/";
  const size_t prefix_size = key.size();
  std::string encoded;
  for (const LiveStateRecord& record : records) {
    RECO_RETURN_IF_ERROR(ValidateExternalId(record.user_id, "user"));
    key.resize(prefix_size);
    key.append(record.user_id);
    EncodeLiveState(record.payload, &encoded);
    batch.Put(key, encoded);
  }
  return kv_->Write(batch);
}

Status RecommendationStore::GetLiveState(std::string_view version, std::string_view user_id,
                                         std::string* payload) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  RECO_RETURN_IF_ERROR(ValidateExternalId(user_id, "user"));
  const std::string key = DataPrefix(version) + "h/" + std::string(user_id);
  std::string value;
  RECO_RETURN_IF_ERROR(kv_->Get(key, &value));
  std::string_view body;
  RECO_RETURN_IF_ERROR(DecodeLiveState(value, &body).WithContext(key));
  payload->assign(body);
  return Status::Ok();
}

Result<uint64_t> RecommendationStore::DeleteLiveStates(std::string_view version) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  return kv_->DeletePrefix(DataPrefix(version) + "h/");
}

Status RecommendationStore::DeleteVersion(std::string_view version) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  Result<std::string> active = ReadActivePointer();
  if (active.ok() && *active == version) {
    return Status::FailedPrecondition("version " + std::string(version) +
                                      " is active; activate another version first");
  }
  if (!active.ok() && active.status().code() != Status::Code::kNotFound) return active.status();
  std::string meta_key = MetaPrefix() + std::string(version);
  std::string meta;
  Status st = kv_->Get(meta_key, &meta);
  if (!st.ok() && st.code() != Status::Code::kNotFound) return st;
  const bool had_meta = st.ok();
  // Metadata first, so the version stops being listed or activatable before
  // its lists disappear.
  if (had_meta) RECO_RETURN_IF_ERROR(kv_->Delete(meta_key));
  DropPending(DataPrefix(version));
  RECO_ASSIGN_OR_RETURN(uint64_t deleted, kv_->DeletePrefix(DataPrefix(version)));
  if (!had_meta && deleted == 0) {
    return Status::NotFound("version " + std::string(version) + " does not exist");
  }
  return Status::Ok();
}

}  // namespace reco

namespace reco {

StoreVerifyReport RecommendationStore::Verify(size_t max_examples) {
  StoreVerifyReport report;
  const std::string ns_prefix = options_.ns + "/";
  const std::string active_key = ActiveKey();
  const std::string meta_prefix = MetaPrefix();
  const std::string data_prefix = options_.ns + "/v/";
  std::set<std::string, std::less<>> committed;            // versions with metadata
  std::map<std::string, uint64_t, std::less<>> data_keys;  // per version
  std::string active;
  std::vector<RecItem> items;
  auto damage = [&](std::string_view key, const std::string& why) {
    ++report.damaged;
    if (report.examples.size() < max_examples) {
      report.examples.push_back(QuoteBytes(key, 120) + ": " + why);
    }
  };

  report.walk = kv_->Scan(ns_prefix, [&](std::string_view key, std::string_view value) {
    ++report.keys;
    if (key == active_key) {
      if (!ValidateVersionId(value).ok()) {
        damage(key, "the active pointer holds a bad version id");
      } else {
        active.assign(value);
      }
      return true;
    }
    if (key.starts_with(meta_prefix)) {
      const std::string_view version = key.substr(meta_prefix.size());
      Result<VersionMeta> meta = DecodeMeta(key, value);
      if (!meta.ok()) {
        damage(key, meta.status().message());
      } else if (meta->version != version) {
        damage(key, "metadata names version " + QuoteBytes(meta->version));
      } else {
        ++report.versions;
        committed.emplace(version);
      }
      return true;
    }
    if (key.starts_with(data_prefix)) {
      // <ns>/v/<version>/{u/<id>, i/<id>, h/<id>, popular}
      const std::string_view rest = key.substr(data_prefix.size());
      const size_t slash = rest.find('/');
      const std::string_view version = rest.substr(0, slash);
      const std::string_view kind =
          slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      const bool id_key = kind.size() > 2 && kind.size() - 2 <= kMaxExternalIdSize;
      const bool live_key = id_key && kind.starts_with("h/");
      const bool list_key =
          kind == "popular" || (id_key && (kind.starts_with("u/") || kind.starts_with("i/")));
      if (slash == std::string_view::npos || !ValidateVersionId(version).ok() ||
          !(list_key || live_key)) {
        damage(key, "not a key of the layout");
        return true;
      }
      ++data_keys[std::string(version)];
      if (live_key) {
        std::string_view payload;
        Status st = DecodeLiveState(value, &payload);
        if (!st.ok()) {
          damage(key, st.message());
        } else {
          ++report.live_states;
        }
        return true;
      }
      Status st = DecodeRecList(value, &items);
      if (!st.ok()) {
        damage(key, st.message());
      } else {
        ++report.lists;
      }
      return true;
    }
    damage(key, "not a key of the layout");
    return true;
  });
  for (const auto& [version, count] : data_keys) {
    if (!committed.contains(version)) report.orphan_keys += count;
  }
  if (report.walk.ok() && !active.empty() && !committed.contains(active)) {
    damage(active_key, "the active version " + QuoteBytes(active) + " has no metadata");
  }
  return report;
}

}  // namespace reco
