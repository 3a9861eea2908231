// RecommendationStore: versioned, precomputed recommendation lists on top of
// a KvStore. A writer publishes a complete model version (every user's top-k,
// every item's similar items, a popular list for cold start, metadata) under
// a per-version key prefix, then activates it by overwriting one pointer key.
// Readers resolve the pointer (cached, refreshed every refresh_interval) and
// read each list from that version's prefix, so a list is always entirely
// from one version and a switch is atomic. Key layout and value encoding are
// documented byte by byte in docs/store.md.
//
// Threading: reads (Get*, ActiveVersion, CheckReady) are safe from any number
// of threads; writes (BeginVersion, Activate, DeleteVersion) expect a single
// writer per namespace at a time, in any process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reco/kv_store.h"
#include "reco/status.h"

namespace reco {

// One recommended item. When decoded from the store, item_id points into the
// buffer of the RecList (or string) it was decoded from.
struct RecItem {
  std::string_view item_id;
  float score;
};

// ---- List value encoding (docs/store.md, "List value") ----------------------

inline constexpr uint8_t kRecListFormatV1 = 0x01;
// Limits checked before allocating, when encoding and decoding.
inline constexpr size_t kMaxRecListItems = 100000;
inline constexpr size_t kMaxExternalIdSize = 256;  // user and item IDs, bytes

// Encodes items into *out (replacing its contents). InvalidArgument for an
// empty or oversized ID, a non-finite score or too many items.
Status EncodeRecList(std::span<const RecItem> items, std::string* out);

// Decodes `bytes` into *items (replacing its contents); item IDs are views
// into `bytes`. Corruption for anything that is not a well-formed list.
Status DecodeRecList(std::string_view bytes, std::vector<RecItem>* items);

// ---- Live-state value encoding (docs/store.md, "Live-state value") --------
// What the real-time engine spills of a user's live history when its memory
// budget is reached (reco/realtime.h). The store does not interpret the
// payload; it frames it with a format byte and a checksum so that damage is
// found (Corruption) instead of folded into a user's row.

inline constexpr uint8_t kLiveStateFormatV1 = 0x01;

void EncodeLiveState(std::string_view payload, std::string* out);
// *payload views into `bytes`. Corruption for a short value, an unknown
// format byte or a checksum mismatch.
Status DecodeLiveState(std::string_view bytes, std::string_view* payload);

// One user's spilled live state, for RecommendationStore::PutLiveStates.
struct LiveStateRecord {
  std::string_view user_id;
  std::string_view payload;
};

// A decoded list plus the version it came from. Reuse one per thread or
// connection: its buffers keep their capacity, so steady-state reads do not
// allocate. Not copyable or movable because items() points into it.
class RecList {
 public:
  RecList() = default;
  RecList(const RecList&) = delete;
  RecList& operator=(const RecList&) = delete;

  const std::string& version() const { return version_; }
  std::span<const RecItem> items() const { return items_; }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const RecItem& operator[](size_t i) const { return items_[i]; }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  // The encoded value as stored.
  std::string_view bytes() const { return bytes_; }

 private:
  friend class RecommendationStore;
  std::string version_;
  std::string bytes_;
  std::string key_;  // scratch for building the key
  std::vector<RecItem> items_;
};

// One user's list, for RecommendationStore::PutUserRecsAt.
struct UserRecs {
  std::string_view user_id;
  std::span<const RecItem> items;
};

// ---- Versions ---------------------------------------------------------------

// A version id: 1..64 characters from [A-Za-z0-9._-]. The namespace obeys
// the same rule.
Status ValidateVersionId(std::string_view version);
// A fresh id from the UTC clock, e.g. "20250125T145300.123Z".
std::string NewVersionId();

struct VersionMeta {
  std::string version;
  int64_t created_unix_ms = 0;
  uint64_t user_lists = 0;
  uint64_t item_lists = 0;
  uint64_t popular_items = 0;
  std::string description;  // free text from the publisher (model, params)
};

struct RecStoreOptions {
  // Key namespace, so several models can share one store.
  std::string ns = "reco";
  // How long a reader trusts its cached active version before re-reading the
  // pointer (one store Get). A switch is visible to readers within this time.
  std::chrono::milliseconds refresh_interval{1000};
  // The writer flushes a WriteBatch when either limit is reached.
  size_t batch_max_ops = 1000;
  size_t batch_max_bytes = size_t{4} << 20;
};

class RecommendationStore;

// What RecommendationStore::Verify found.
struct StoreVerifyReport {
  uint64_t keys = 0;         // keys read under the namespace
  uint64_t lists = 0;        // list values that decoded
  uint64_t live_states = 0;  // spilled live-state values that decoded
  uint64_t versions = 0;     // metadata records that decoded (complete versions)
  // Keys of versions with no metadata: an interrupted publish leaves them
  // (the next BeginVersion of that id deletes them), so they are not damage.
  uint64_t orphan_keys = 0;
  // Keys whose value (or name) the layout does not allow, and the first
  // few of them as `"key": reason`.
  uint64_t damaged = 0;
  std::vector<std::string> examples;
  // Not OK when the walk itself failed (the store cannot be read past some
  // point, e.g. a damaged LMDB page) and stopped early.
  Status walk;
  bool ok() const { return damaged == 0 && walk.ok(); }
};

// Writes one version's lists. Nothing is visible to ListVersions/Activate
// until Commit(); a writer destroyed without Commit() deletes what it wrote.
// Each user and item ID should be written once per version.
class VersionWriter {
 public:
  ~VersionWriter();
  VersionWriter(const VersionWriter&) = delete;
  VersionWriter& operator=(const VersionWriter&) = delete;

  const std::string& version() const { return meta_.version; }

  Status PutUserRecs(std::string_view user_id, std::span<const RecItem> items);
  Status PutSimilarItems(std::string_view item_id, std::span<const RecItem> items);
  Status PutPopular(std::span<const RecItem> items);

  // Flushes, then writes the metadata record that marks the version
  // complete. Does not activate it.
  Result<VersionMeta> Commit();

  // Several processes publishing one version (distributed precompute): the
  // others write their share through RecommendationStore::JoinVersion
  // writers and call FinishPart; the committer adds each part's counts with
  // AddPartCounts, then Commits. A joined writer never commits and never
  // deletes (the committer's writer cleans up an abandoned version).
  Result<VersionMeta> FinishPart();  // flushes; the counts this writer wrote
  void AddPartCounts(const VersionMeta& part);

 private:
  friend class RecommendationStore;
  VersionWriter(KvStore* kv, const RecStoreOptions* options, VersionMeta meta);
  Status PutList(const std::string& prefix, std::string_view id, std::span<const RecItem> items);
  Status Flush();

  KvStore* kv_;
  const RecStoreOptions* options_;
  VersionMeta meta_;
  std::string data_prefix_;  // "<ns>/v/<version>/"
  std::string user_prefix_;
  std::string item_prefix_;
  WriteBatch batch_;
  std::string encoded_;
  std::string key_;
  bool committed_ = false;
  bool failed_ = false;
  bool joined_ = false;  // a JoinVersion writer: FinishPart, never Commit
};

class RecommendationStore {
 public:
  static Result<std::unique_ptr<RecommendationStore>> Open(const std::string& uri,
                                                           RecStoreOptions options = {});
  // InvalidArgument for a bad namespace.
  static Result<std::unique_ptr<RecommendationStore>> Create(std::unique_ptr<KvStore> kv,
                                                             RecStoreOptions options = {});
  ~RecommendationStore();

  // ---- Reading the active version (thread-safe) ----
  // NotFound for an unknown ID (callers fall back to GetPopular),
  // FailedPrecondition when no version is active, Unavailable when the store
  // cannot be reached, Corruption for an undecodable value.
  Status GetUserRecs(std::string_view user_id, RecList* out);
  Status GetSimilarItems(std::string_view item_id, RecList* out);
  // Served from memory: loaded with the active version.
  Status GetPopular(RecList* out);

  // The cached active version (re-read when older than refresh_interval).
  // FailedPrecondition when none is active.
  Result<std::string> ActiveVersion();
  // Re-reads the active pointer now and updates the cache.
  Result<std::string> RefreshActiveVersion();
  // OK when the store answers and a version is active (readiness probe).
  Status CheckReady();

  // ---- Reading a given version ----
  Status GetUserRecsAt(std::string_view version, std::string_view user_id, RecList* out);
  Status GetSimilarItemsAt(std::string_view version, std::string_view item_id, RecList* out);
  Status GetPopularAt(std::string_view version, RecList* out);

  // ---- Managing versions (one writer) ----
  // FailedPrecondition if `version` already exists. Clears leftovers of an
  // interrupted earlier publish of the same id.
  Result<std::unique_ptr<VersionWriter>> BeginVersion(std::string_view version,
                                                      std::string_view description = {});
  // A writer for a version that another process began with BeginVersion and
  // will commit (see VersionWriter::FinishPart). FailedPrecondition if the
  // version is already committed.
  Result<std::unique_ptr<VersionWriter>> JoinVersion(std::string_view version);
  // Makes a complete version the active one (also to roll back). NotFound if
  // it does not exist or was never committed.
  Status Activate(std::string_view version);
  // Overwrites (or adds) the lists of `lists` inside the complete `version`
  // in ONE KvStore::Write, so a batch costs one durable commit whatever its
  // size. This is the online refresher's write (reco/realtime.h): each list
  // is one key, so a reader still sees a whole list from one version. The
  // version's metadata counts are not updated. NotFound if `version` was
  // never committed (or was deleted); InvalidArgument, with nothing written,
  // for a bad ID or list. Same single-writer rule as the other writes.
  Status PutUserRecsAt(std::string_view version, std::span<const UserRecs> lists);
  // Write-behind for the online refresher: the checks of PutUserRecsAt, but
  // the lists are held in memory, readable through THIS object at once
  // (GetUserRecs, GetUserRecsAt), and reach the KvStore with the next
  // FlushPending, every pending list in one Write. Other processes and other
  // RecommendationStore objects see them after that flush. A later
  // PutUserRecsAt or DeleteVersion of the same keys supersedes them. Why:
  // with LMDB a Write is an fdatasync, and refreshed lists are derived from
  // the durable event log (rebuilt from it at start), so they need not pay
  // one per refresh batch. Writes memory only, so it may run concurrently
  // with FlushPending (and reads); against PutUserRecsAt or DeleteVersion of
  // the same keys the caller orders the calls.
  Status PutUserRecsPending(std::string_view version, std::span<const UserRecs> lists);
  // Writes the pending lists with one KvStore::Write; they stay readable from
  // memory until it has committed (and stay pending if it fails). Same
  // single-writer rule.
  Status FlushPending();
  // Spilled live state (above), one key per user under the version's prefix:
  // <ns>/v/<version>/h/<user_id>. Deleted with the version. Put writes every
  // record in one Write and needs the version to be complete (NotFound
  // otherwise); the single-writer rule of the other writes applies.
  Status PutLiveStates(std::string_view version, std::span<const LiveStateRecord> records);
  // *payload gets the user's spilled state. NotFound when none was spilled;
  // Corruption when the value fails its checksum.
  Status GetLiveState(std::string_view version, std::string_view user_id, std::string* payload);
  // Deletes every spilled state of `version`; how many.
  Result<uint64_t> DeleteLiveStates(std::string_view version);

  // Lists waiting for FlushPending.
  size_t pending_lists() const { return pending_count_.load(std::memory_order_relaxed); }
  // Complete versions, oldest first.
  Result<std::vector<VersionMeta>> ListVersions();
  Result<VersionMeta> GetVersionMeta(std::string_view version);
  // Deletes a version's lists and metadata. FailedPrecondition for the
  // active version; NotFound if nothing of it exists.
  Status DeleteVersion(std::string_view version);

  // Reads every key of the namespace and checks it against the key layout
  // (docs/store.md): every list value decodes (checksum included), every
  // metadata record parses and names its own version, the active pointer
  // names a complete version, and no other key exists. Keeps going past
  // damaged keys; records up to `max_examples` of them.
  StoreVerifyReport Verify(size_t max_examples = 10);

  KvStore& kv() { return *kv_; }
  const RecStoreOptions& options() const { return options_; }

 private:
  struct ActiveState;
  enum class ListKind { kUser, kItem };
  RecommendationStore(std::unique_ptr<KvStore> kv, RecStoreOptions options);

  const ActiveState* CurrentState();
  // Re-reads the pointer unless a refresh that started after `not_before_ns`
  // already did; returns the state afterwards.
  Result<const ActiveState*> RefreshState(int64_t not_before_ns);
  Result<const ActiveState*> RefreshLocked(int64_t now_ns);
  Status ReadActive(ListKind kind, std::string_view id, RecList* out);
  Status ReadList(std::string_view key, std::string_view version, RecList* out);
  Result<std::string> ReadActivePointer();

  std::string ActiveKey() const;
  std::string MetaPrefix() const;
  std::string DataPrefix(std::string_view version) const;

  std::unique_ptr<KvStore> kv_;
  RecStoreOptions options_;

  // The cached active version. States are immutable and kept until the store
  // is destroyed (one per version switch seen), so readers use them lock-free.
  std::atomic<const ActiveState*> active_{nullptr};
  std::atomic<int64_t> next_refresh_ns_{0};
  std::atomic<bool> loaded_{false};
  std::mutex refresh_mu_;
  int64_t last_refresh_start_ns_ = -1;                // guarded by refresh_mu_
  Status last_refresh_status_;                        // guarded by refresh_mu_
  std::vector<std::unique_ptr<ActiveState>> states_;  // guarded by refresh_mu_

  // PutUserRecsPending's lists by key, encoded as stored. `generation` tells
  // FlushPending whether a list was replaced while its Write ran.
  struct PendingList {
    std::string bytes;
    uint64_t generation = 0;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  // Builds the batch of PutUserRecsAt / PutUserRecsPending.
  Status EncodeUserLists(std::string_view version, std::span<const UserRecs> lists,
                         WriteBatch* batch);
  // Drops pending lists under `prefix` (all of a version's, or the keys of
  // `batch` when given).
  void DropPending(std::string_view prefix, const WriteBatch* batch = nullptr);

  mutable std::shared_mutex pending_mu_;
  std::unordered_map<std::string, PendingList, KeyHash, std::equal_to<>> pending_;  // pending_mu_
  uint64_t pending_generation_ = 0;                                                 // pending_mu_
  // pending_.size(); readers skip the lock while it is 0 (the usual case).
  std::atomic<size_t> pending_count_{0};
};

}  // namespace reco
