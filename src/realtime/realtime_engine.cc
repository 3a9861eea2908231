// RealtimeEngine: durable intake, live histories, batched refreshers, and
// model activation without losing an event between two models.
//
// Locks, in the order they may nest:
//   admin_mu_   one activation / reload at a time
//   IntakeGate  Accept holds it shared across append + apply; an activation
//               pauses it (writer-preferring, so a steady stream of Accepts
//               cannot starve an activation) for the last WAL catch-up and
//               the swap, so every event lands in exactly one model's
//               histories and is re-applied to the next one by replay
//   write_mu_   the store's single-writer rule (refresh batches, activation)
//   state_mu_   the live state pointer
//   LiveState::mu  a state's histories
//   q_mu_       the refresh queue
//   commit_mu_  requests waiting for the committer (taken inside q_mu_ by
//               AcceptAsync, so none is queued after shutdown began)
#include <fmt/format.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "reco/coding.h"
#include "reco/errno_text.h"
#include "reco/event_folding.h"
#include "reco/latency_histogram.h"
#include "reco/realtime.h"
#include "reco/recommender.h"

namespace reco {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// A registry version ready to fold users in: immutable once built, shared by
// every refresh that started on it.
struct LiveModel {
  explicit LiveModel(RegisteredModel registered)
      : version(std::move(registered.version)),
        events_through_seq(registered.events_through_seq),
        model(std::move(registered.model)),
        interactions(std::move(registered.interactions)) {}

  FoldRule fold_rule() const { return FoldRuleFor(model->family() == ModelFamily::kExplicitAls); }

  std::string version;
  uint64_t events_through_seq;
  std::shared_ptr<const Recommender> model;  // any family
  CsrMatrix interactions;                    // num_users x num_items, what the model was trained on
};

// One item of a user's live history: the events on it since the model's
// training, folded by the one rule retrain also uses (reco/event_folding.h).
struct LiveRating {
  uint32_t item;
  FoldedEvents events;
};
using LiveHistory = std::vector<LiveRating>;  // sorted by item

// A user's history in memory, and their place in the activity order.
struct LiveUser {
  LiveHistory history;
  std::list<const std::string*>::iterator lru;  // into LiveState::lru
};

// A live model plus the events applied to it since its training.
//
// Memory budget (RealtimeOptions::live_memory_bytes): `bytes` estimates what
// the histories hold (LiveUserBytes). Past the budget the committer spills
// the least recently active users' histories to the store
// (RecommendationStore::PutLiveStates, one Write) and drops them from
// memory; from then on (`spilled`) a user missing from memory is looked up
// in the store: by the committer before applying their next event (the
// history comes back into memory), by readers for a row (it does not). A
// spill is written before the users leave the map, both under mu, so a
// reader sees every history in one place or the other.
struct LiveState {
  std::shared_ptr<const LiveModel> model;  // null: no model yet, events are only logged
  mutable std::mutex mu;
  std::unordered_map<std::string, LiveUser, StringHash, std::equal_to<>> histories;  // mu
  std::list<const std::string*> lru;  // mu: histories' keys, least recently active first
  size_t bytes = 0;                   // mu: LiveUserBytes summed over histories
  std::atomic<bool> spilled{false};   // some history of this state is in the store
};

// What one user in memory costs, estimated from above: the hash node (key,
// history vector, list iterator, next pointer, cached hash) and its bucket,
// the list node, each heap block's allocator header, a key too long for the
// string's inline buffer and the history's capacity.
size_t LiveUserBytes(const std::string& key, const LiveHistory& history) {
  constexpr size_t kMallocHeader = 16;
  constexpr size_t kNode = sizeof(void*) + sizeof(std::string) + sizeof(LiveUser) + sizeof(size_t) +
                           kMallocHeader + sizeof(void*);
  constexpr size_t kListNode = 3 * sizeof(void*) + kMallocHeader;
  size_t bytes = kNode + kListNode;
  if (key.capacity() > 15) bytes += key.capacity() + 1 + kMallocHeader;
  if (history.capacity() > 0) bytes += history.capacity() * sizeof(LiveRating) + kMallocHeader;
  return bytes;
}

// A spilled history's payload (docs/store.md, "Live-state value"): u32
// count, then per item, ascending: u32 item, u64 count, u64 latest_seq,
// f32 latest, f64 sum (FoldedEvents), all little-endian.
void EncodeLiveHistory(const LiveHistory& history, std::string* out) {
  out->clear();
  PutFixed32(out, static_cast<uint32_t>(history.size()));
  for (const LiveRating& r : history) {
    PutFixed32(out, r.item);
    PutFixed64(out, r.events.count);
    PutFixed64(out, r.events.latest_seq);
    PutFloat(out, r.events.latest);
    PutFixed64(out, std::bit_cast<uint64_t>(r.events.sum));
  }
}

Status DecodeLiveHistory(std::string_view payload, uint32_t num_items, LiveHistory* history) {
  constexpr size_t kEntryBytes = 4 + 8 + 8 + 4 + 8;
  history->clear();
  ByteReader in(payload);
  uint32_t count = 0;
  if (!in.ReadFixed32(&count) || count > in.remaining() / kEntryBytes ||
      in.remaining() != size_t{count} * kEntryBytes) {
    return Status::Corruption("spilled live history: bad length");
  }
  history->reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    LiveRating r{};
    uint64_t sum_bits = 0;
    (void)(in.ReadFixed32(&r.item) && in.ReadFixed64(&r.events.count) &&
           in.ReadFixed64(&r.events.latest_seq) && in.ReadFloat(&r.events.latest) &&
           in.ReadFixed64(&sum_bits));
    r.events.sum = std::bit_cast<double>(sum_bits);
    if (r.item >= num_items || (!history->empty() && history->back().item >= r.item)) {
      return Status::Corruption("spilled live history: items out of order or range");
    }
    history->push_back(r);
  }
  return Status::Ok();
}

enum class Applied { kApplied, kUnknownItem, kWithoutValue, kAlreadyTrained, kNoModel };

// The user's fold-in row: training row merged with the live history by the
// folding rule, sorted by item.
void MergedRow(const LiveModel& live, std::string_view user_id, const LiveHistory& history,
               std::vector<uint32_t>* items, std::vector<float>* values) {
  items->clear();
  values->clear();
  std::span<const uint32_t> train_items;
  std::span<const float> train_values;
  if (std::optional<uint32_t> u = live.model->users().Find(user_id)) {
    const CsrMatrix& m = live.interactions;
    const uint64_t b = m.indptr[*u], e = m.indptr[*u + 1];
    train_items = {m.indices.data() + b, static_cast<size_t>(e - b)};
    train_values = {m.values.data() + b, static_cast<size_t>(e - b)};
  }
  const FoldRule rule = live.fold_rule();
  size_t t = 0, h = 0;
  while (t < train_items.size() || h < history.size()) {
    if (h == history.size() || (t < train_items.size() && train_items[t] < history[h].item)) {
      items->push_back(train_items[t]);
      values->push_back(train_values[t]);
      ++t;
    } else if (t == train_items.size() || history[h].item < train_items[t]) {
      items->push_back(history[h].item);
      values->push_back(FoldedValue(rule, std::nullopt, history[h].events));
      ++h;
    } else {
      items->push_back(history[h].item);
      values->push_back(FoldedValue(rule, train_values[t], history[h].events));
      ++t;
      ++h;
    }
  }
}

// Whether `model` can score row r of `rows` on its own.
bool RowScores(const Recommender& model, const CsrMatrix& rows, uint32_t r) {
  CsrMatrix one;
  one.rows = 1;
  one.cols = rows.cols;
  one.indptr = {0, rows.indptr[r + 1] - rows.indptr[r]};
  one.indices.assign(rows.indices.begin() + rows.indptr[r],
                     rows.indices.begin() + rows.indptr[r + 1]);
  one.values.assign(rows.values.begin() + rows.indptr[r], rows.values.begin() + rows.indptr[r + 1]);
  uint32_t failed = 0;
  return model.RecommendHistories(one, nullptr, 1, 1, &failed).ok() && failed == 0;
}

// Blocks Accepts while an activation switches models. Writer-preferring:
// once a pause is requested no new Accept enters.
class IntakeGate {
 public:
  void Enter() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !paused_; });
    ++inside_;
  }
  void Exit() {
    std::lock_guard lock(mu_);
    if (--inside_ == 0) cv_.notify_all();
  }
  void Pause() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !paused_; });  // one pauser at a time
    paused_ = true;
    cv_.wait(lock, [&] { return inside_ == 0; });
  }
  void Resume() {
    std::lock_guard lock(mu_);
    paused_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int inside_ = 0;
  bool paused_ = false;
};

class RegistryModelSource : public ModelSource {
 public:
  explicit RegistryModelSource(ModelRegistry* registry) : registry_(registry) {}
  Result<RegisteredModel> Load(std::string_view version) const override {
    return registry_->Load(version);
  }
  Status RecordActivation(std::string_view version) override {
    return registry_->RecordActivation(version);
  }

 private:
  ModelRegistry* registry_;
};

// Asks the scheduler for a short time slice for the calling thread (Linux
// 6.12+: sched_attr.sched_runtime of a fair task; no privilege needed; older
// kernels ignore it). A thread that mostly sleeps on the disk and runs
// briefly, like the committer, then preempts the CPU-bound event-loop
// threads as soon as it wakes instead of queueing behind their slices. On
// the realtime benchmark: event-to-fresh p50 -0.4 ms on average over three
// paired runs, inside the machine's run-to-run noise (bench/README.md).
void RequestShortSlice(std::chrono::microseconds slice) {
  if (slice.count() <= 0) return;
  // struct sched_attr, first version (48 bytes); the uapi header clashes
  // with glibc's <sched.h>.
  struct {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
  } attr{};
  static_assert(sizeof(attr) == 48);
  attr.size = sizeof(attr);
  attr.sched_policy = SCHED_OTHER;
  attr.sched_runtime = static_cast<uint64_t>(slice.count()) * 1000;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
    spdlog::debug("real-time: sched_setattr slice {} us: {}", slice.count(), ErrnoText(errno));
  }
}

// ingest.h: a full queue is ResourceExhausted (a 503 with Retry-After).
Status QueueFull(size_t capacity) {
  return Status::ResourceExhausted(
      fmt::format("refresh queue is full ({} users waiting); retry later", capacity));
}

}  // namespace

struct RealtimeEngine::Impl {
  Impl(std::unique_ptr<ModelSource> models_in, RecommendationStore* store_in, EventLog* log_in,
       const RealtimeOptions& options_in)
      : models(std::move(models_in)), store(store_in), log(log_in), options(options_in) {
    state = std::make_shared<LiveState>();
  }

  std::shared_ptr<LiveState> CurrentState() const {
    std::lock_guard lock(state_mu);
    return state;
  }

  // One AcceptAsync request waiting for the committer.
  struct PendingAccept {
    std::vector<Event> events;
    AcceptDone done;
    size_t reserved;  // refresh-queue slots held for its distinct users
  };
  Result<uint64_t> Accept(std::span<const Event> events);
  void AcceptAsync(std::vector<Event> events, AcceptDone done);
  // The committer thread: takes every pending request, commits them as one
  // group, answers them; exits once stopped and drained.
  void CommitLoop();
  void CommitGroup(std::vector<PendingAccept>* group);
  Status SwitchTo(std::string_view version, bool record_activation);
  // Folds one event into the user's history, bringing a spilled history
  // back first (caller holds state.mu).
  Applied ApplyEvent(LiveState& state, uint64_t seq, const Event& event);
  // The user's fold-in row (MergedRow) from their history in memory or, once
  // the state has spilled, in the store. Takes state.mu.
  void UserRowOf(const LiveState& state, std::string_view user_id, std::vector<uint32_t>* items,
                 std::vector<float>* values);
  // Reads a spilled history; false when there is none (or it is unreadable:
  // counted and logged, the user then starts from their training row).
  bool ReadSpilled(const LiveState& state, std::string_view user_id, LiveHistory* history);
  // Spills the least recently active histories when the state is over the
  // memory budget, towards 90% of it. Takes write_mu, then state.mu.
  void MaybeSpill(LiveState& state);
  // Solves, ranks and writes the lists of `users` under the state's model
  // version in batches of max_batch_users. `enqueued_ns` (empty, or one per
  // user) feeds the latency histogram. Failing solves are counted and
  // skipped; a failing store write is returned.
  Status RefreshUsers(const LiveState& live_state, std::span<const std::string> users,
                      std::span<const int64_t> enqueued_ns);
  Status RefreshBatch(const LiveState& live_state, std::span<const std::string> users,
                      std::span<const int64_t> enqueued_ns);
  // Queues users for refresh (ignoring capacity when `reserved` is 0: work
  // an activation owes). Releases `reserved` slots.
  void Enqueue(std::span<const std::string> users, size_t reserved);
  // Refreshes `users` on the calling thread (the committer), except those a
  // refresher holds or has queued, which are queued as Enqueue does.
  // Releases `reserved` slots.
  void RefreshInline(const LiveState& live_state, std::span<const std::string> users,
                     size_t reserved);
  // A batch is done (q_mu): release its users, wake whoever can go on.
  void FinishBatchLocked(std::span<const std::string> users);
  void WorkerLoop();
  // Writes the pending (write-behind) lists when flush_interval has passed
  // since the last flush, or now when `force`. Returns the flush's status.
  Status MaybeFlush(bool force);
  // True when a queued user is not being refreshed by another worker (q_mu).
  bool HasRunnableLocked() const;
  void WaitIdle();

  std::unique_ptr<ModelSource> models;
  RecommendationStore* store;
  EventLog* log;
  RealtimeOptions options;

  std::mutex admin_mu;
  IntakeGate gate;
  std::mutex write_mu;
  mutable std::mutex state_mu;
  std::shared_ptr<LiveState> state;  // guarded by state_mu; swapped whole

  std::mutex q_mu;
  std::condition_variable work_cv;
  std::condition_variable idle_cv;
  std::deque<std::string> queue;                                                  // q_mu
  std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>> pending;  // q_mu
  // Users a worker is refreshing now (q_mu). A user is never refreshed by two
  // workers at once: the one that read the older history could write last
  // and leave a stale list. Queued again meanwhile, they wait their turn.
  std::unordered_set<std::string, StringHash, std::equal_to<>> in_flight;
  size_t reserved = 0;    // q_mu: slots held by Accepts between check and enqueue
  size_t busy = 0;        // q_mu: batches being refreshed
  bool accepting = true;  // q_mu
  bool stop = false;      // q_mu: workers exit once the queue is empty
  std::vector<std::thread> workers;

  std::mutex commit_mu;
  std::condition_variable commit_cv;
  std::vector<PendingAccept> commit_queue;  // commit_mu
  bool commit_stop = false;                 // commit_mu
  std::thread committer;

  std::atomic<uint64_t> events_accepted{0};
  std::atomic<uint64_t> events_rejected{0};
  std::atomic<uint64_t> events_unknown_item{0};
  std::atomic<uint64_t> events_without_value{0};
  std::atomic<uint64_t> refreshes{0};
  std::atomic<uint64_t> refresh_failures{0};
  std::atomic<uint64_t> refresh_batches{0};
  std::atomic<uint64_t> flushes{0};
  std::atomic<uint64_t> flush_failures{0};
  int64_t last_flush_ns = 0;  // write_mu
  std::atomic<uint64_t> activations{0};
  std::atomic<uint64_t> live_spilled{0};
  std::atomic<uint64_t> live_restored{0};
  std::atomic<uint64_t> live_spill_failures{0};
  std::atomic<uint64_t> live_restore_failures{0};
  int64_t spill_retry_ns = 0;          // write_mu: after a failed spill, the next try
  ConcurrentLatencyHistogram latency;  // nanoseconds
};

Applied RealtimeEngine::Impl::ApplyEvent(LiveState& state, uint64_t seq, const Event& event) {
  if (state.model == nullptr) return Applied::kNoModel;
  const LiveModel& live = *state.model;
  if (seq <= live.events_through_seq) return Applied::kAlreadyTrained;
  std::optional<uint32_t> item = live.model->items().Find(event.item_id);
  if (!item) return Applied::kUnknownItem;
  const FoldRule rule = live.fold_rule();
  if (!EventFolds(rule, event)) return Applied::kWithoutValue;

  auto it = state.histories.find(event.user_id);
  size_t before = 0;
  if (it == state.histories.end()) {
    LiveHistory restored;
    if (state.spilled.load(std::memory_order_relaxed) &&
        ReadSpilled(state, event.user_id, &restored)) {
      live_restored.fetch_add(1, std::memory_order_relaxed);
    }
    it = state.histories.emplace(event.user_id, LiveUser{std::move(restored), {}}).first;
    it->second.lru = state.lru.insert(state.lru.end(), &it->first);
  } else {
    before = LiveUserBytes(it->first, it->second.history);
    state.lru.splice(state.lru.end(), state.lru, it->second.lru);
  }
  LiveHistory& history = it->second.history;
  auto pos = std::lower_bound(history.begin(), history.end(), *item,
                              [](const LiveRating& r, uint32_t i) { return r.item < i; });
  if (pos == history.end() || pos->item != *item) pos = history.insert(pos, LiveRating{*item, {}});
  // Concurrent Accepts may apply out of order; FoldEvent does not depend on it.
  FoldEvent(rule, seq, event, &pos->events);
  state.bytes += LiveUserBytes(it->first, history) - before;
  return Applied::kApplied;
}

bool RealtimeEngine::Impl::ReadSpilled(const LiveState& state, std::string_view user_id,
                                       LiveHistory* history) {
  std::string payload;
  Status st = store->GetLiveState(state.model->version, user_id, &payload);
  if (st.ok()) {
    st = DecodeLiveHistory(payload, state.model->model->num_items(), history);
    if (st.ok()) return true;
  }
  if (st.code() == Status::Code::kNotFound) return false;
  history->clear();
  live_restore_failures.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn(
      "real-time: reading the spilled history of user '{}': {} (their events since the "
      "model's training are left out until a restart replays the log)",
      user_id, st.ToString());
  return false;
}

void RealtimeEngine::Impl::UserRowOf(const LiveState& state, std::string_view user_id,
                                     std::vector<uint32_t>* items, std::vector<float>* values) {
  const LiveModel& live = *state.model;
  {
    std::lock_guard lock(state.mu);
    auto it = state.histories.find(user_id);
    if (it != state.histories.end() || !state.spilled.load(std::memory_order_relaxed)) {
      static const LiveHistory kNone;
      MergedRow(live, user_id, it == state.histories.end() ? kNone : it->second.history, items,
                values);
      return;
    }
  }
  // Not in memory: spilled, or no live events at all. A history the
  // committer brings back meanwhile only differs by an event that queued
  // this user for another refresh.
  LiveHistory spilled;
  ReadSpilled(state, user_id, &spilled);
  MergedRow(live, user_id, spilled, items, values);
}

void RealtimeEngine::Impl::MaybeSpill(LiveState& state) {
  const size_t budget = options.live_memory_bytes;
  if (budget == 0 || state.model == nullptr) return;
  {
    std::lock_guard lock(state.mu);
    if (state.bytes <= budget) return;
  }
  std::lock_guard write_lock(write_mu);
  const int64_t now = NowNs();
  if (now < spill_retry_ns) return;
  std::lock_guard lock(state.mu);
  // Under the budget always; towards 90% of it by at most kSpillUsers more,
  // which keeps each spill's write (and the committer's pause) short.
  constexpr size_t kSpillUsers = 8192;
  const size_t target = budget / 10 * 9;
  std::vector<std::string> payloads;
  std::vector<LiveStateRecord> records;
  size_t freed = 0;
  for (auto victim = state.lru.begin();
       victim != state.lru.end() && state.bytes - freed > target &&
       (payloads.size() < kSpillUsers || state.bytes - freed > budget);
       ++victim) {
    const LiveUser& user = state.histories.find(**victim)->second;
    freed += LiveUserBytes(**victim, user.history);
    EncodeLiveHistory(user.history, &payloads.emplace_back());
  }
  records.reserve(payloads.size());
  auto victim = state.lru.begin();
  for (const std::string& payload : payloads) records.push_back({**victim++, payload});
  // Readers look in the store once `spilled` is set, so set it first; until
  // the users leave the map they are found there anyway.
  state.spilled.store(true, std::memory_order_relaxed);
  Status st = store->PutLiveStates(state.model->version, records);
  if (!st.ok()) {
    // They stay in memory, over the budget; retried in a second.
    live_spill_failures.fetch_add(1, std::memory_order_relaxed);
    spill_retry_ns = now + 1'000'000'000;
    spdlog::warn("real-time: spilling {} live histories to the store: {}", records.size(),
                 st.ToString());
    return;
  }
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string* key = state.lru.front();
    state.lru.pop_front();
    state.histories.erase(*key);
  }
  state.bytes -= freed;
  live_spilled.fetch_add(records.size(), std::memory_order_relaxed);
}

void RealtimeEngine::Impl::AcceptAsync(std::vector<Event> events, AcceptDone done) {
  if (events.empty()) return done(log->Append(events));
  // Validated here, not by the group's Append: one bad request must not fail
  // the others committed with it.
  for (size_t i = 0; i < events.size(); ++i) {
    if (Status st = ValidateEvent(events[i]); !st.ok()) {
      return done(events.size() == 1 ? st : st.WithContext(fmt::format("event {}", i)));
    }
  }
  std::unordered_set<std::string_view> distinct;
  for (const Event& e : events) distinct.insert(e.user_id);
  const size_t want = distinct.size();
  Status refused;
  {
    std::lock_guard lock(q_mu);
    if (!accepting) {
      refused = Status::Unavailable("real-time engine is shutting down");
    } else if (queue.size() + reserved + want > options.queue_capacity) {
      // Capacity is checked before anything is logged, so a refused request
      // leaves no trace and the client may simply retry it.
      events_rejected.fetch_add(events.size(), std::memory_order_relaxed);
      refused = QueueFull(options.queue_capacity);
    } else {
      reserved += want;
      // Queued under q_mu: once shutdown clears `accepting`, nothing new
      // reaches the committer, which answers everything queued before.
      std::lock_guard commit_lock(commit_mu);
      commit_queue.push_back({std::move(events), std::move(done), want});
    }
  }
  if (!refused.ok()) return done(refused);
  commit_cv.notify_one();
}

void RealtimeEngine::Impl::CommitLoop() {
  RequestShortSlice(options.committer_slice);
  std::vector<PendingAccept> group;
  for (;;) {
    {
      std::unique_lock lock(commit_mu);
      commit_cv.wait(lock, [&] { return !commit_queue.empty() || commit_stop; });
      if (commit_queue.empty()) return;
      group.swap(commit_queue);
    }
    CommitGroup(&group);
    group.clear();
  }
}

void RealtimeEngine::Impl::CommitGroup(std::vector<PendingAccept>* group) {
  size_t total_events = 0, total_reserved = 0;
  for (const PendingAccept& p : *group) {
    total_events += p.events.size();
    total_reserved += p.reserved;
  }
  std::vector<Event> events;
  events.reserve(total_events);
  for (PendingAccept& p : *group) {
    std::move(p.events.begin(), p.events.end(), std::back_inserter(events));
  }

  gate.Enter();
  Result<uint64_t> last = log->Append(events);
  std::vector<std::string> touched;
  // Stable while we are inside the gate: activations swap only when paused.
  std::shared_ptr<LiveState> live_state = CurrentState();
  if (last.ok()) {
    events_accepted.fetch_add(events.size(), std::memory_order_relaxed);
    std::lock_guard lock(live_state->mu);
    const uint64_t first = *last - events.size() + 1;
    std::unordered_set<std::string_view> seen;
    for (size_t i = 0; i < events.size(); ++i) {
      switch (ApplyEvent(*live_state, first + i, events[i])) {
        case Applied::kApplied:
          if (seen.insert(events[i].user_id).second) touched.push_back(events[i].user_id);
          break;
        case Applied::kUnknownItem:
          events_unknown_item.fetch_add(1, std::memory_order_relaxed);
          break;
        case Applied::kWithoutValue:
          events_without_value.fetch_add(1, std::memory_order_relaxed);
          break;
        case Applied::kAlreadyTrained:
        case Applied::kNoModel:
          break;
      }
    }
  }
  const bool inline_refresh = touched.size() <= options.inline_refresh_max_users;
  if (!inline_refresh) Enqueue(touched, total_reserved);
  gate.Exit();
  // A small group is refreshed right here, before its requests are answered:
  // no hand-off to a refresher thread (whose wake-up, on a busy machine, was
  // the tail of event-to-fresh latency), and a 202 means the list is fresh.
  // On the state the events were applied to: if an activation swapped models
  // meanwhile, it replays these events into the new one itself.
  if (inline_refresh) RefreshInline(*live_state, touched, total_reserved);

  // Before the answers: once Accept returns, the live state is within its
  // budget (a spill is one bounded store write, a few times per budget).
  MaybeSpill(*live_state);

  // Each request's events got consecutive sequence numbers, in group order.
  uint64_t seq = last.ok() ? *last - events.size() : 0;
  for (PendingAccept& p : *group) {
    seq += p.events.size();
    if (last.ok()) {
      p.done(seq);
    } else {
      p.done(last.status());
    }
  }
}

Result<uint64_t> RealtimeEngine::Impl::Accept(std::span<const Event> events) {
  std::promise<Result<uint64_t>> answer;
  std::future<Result<uint64_t>> result = answer.get_future();
  AcceptAsync(std::vector<Event>(events.begin(), events.end()),
              [&answer](Result<uint64_t> r) { answer.set_value(std::move(r)); });
  return result.get();
}

void RealtimeEngine::Impl::Enqueue(std::span<const std::string> users, size_t reserved_slots) {
  const int64_t now = NowNs();
  std::lock_guard lock(q_mu);
  reserved -= reserved_slots;
  for (const std::string& user : users) {
    // A user already waiting is refreshed once, timed from their first
    // unrefreshed event.
    if (pending.emplace(user, now).second) queue.push_back(user);
  }
  if (!queue.empty()) work_cv.notify_one();
}

void RealtimeEngine::Impl::RefreshInline(const LiveState& live_state,
                                         std::span<const std::string> users,
                                         size_t reserved_slots) {
  const int64_t now = NowNs();
  std::vector<std::string> mine;
  {
    std::lock_guard lock(q_mu);
    reserved -= reserved_slots;
    for (const std::string& user : users) {
      if (in_flight.contains(user) || pending.contains(user)) {
        // A refresher has them: after it, they go again with these events.
        if (pending.emplace(user, now).second) queue.push_back(user);
      } else {
        in_flight.insert(user);
        mine.push_back(user);
      }
    }
    if (!queue.empty()) work_cv.notify_one();
    if (mine.empty()) return;
    ++busy;
  }
  if (live_state.model != nullptr) {
    const std::vector<int64_t> enqueued(mine.size(), now);
    Status st = RefreshUsers(live_state, mine, enqueued);
    if (!st.ok()) spdlog::warn("real-time refresh: {}", st.ToString());
  }
  // No flush here: a store write (an fdatasync with LMDB) would stall the
  // next commit. The refresher threads flush on their timer.
  std::lock_guard lock(q_mu);
  FinishBatchLocked(mine);
}

void RealtimeEngine::Impl::FinishBatchLocked(std::span<const std::string> users) {
  --busy;
  for (const std::string& user : users) in_flight.erase(user);
  // Users deferred behind this batch may be runnable now.
  if (!queue.empty()) work_cv.notify_all();
  if (queue.empty() && busy == 0) idle_cv.notify_all();
}

bool RealtimeEngine::Impl::HasRunnableLocked() const {
  for (const std::string& user : queue) {
    if (!in_flight.contains(user)) return true;
  }
  return false;
}

void RealtimeEngine::Impl::WorkerLoop() {
  std::vector<std::string> batch;
  std::vector<int64_t> enqueued;
  std::vector<std::string> deferred;
  for (;;) {
    {
      std::unique_lock lock(q_mu);
      auto ready = [&] { return HasRunnableLocked() || (stop && queue.empty()); };
      if (options.flush_interval.count() > 0) {
        // Wakes at least once an interval to flush what the last batches left.
        if (!work_cv.wait_for(lock, options.flush_interval, ready)) {
          lock.unlock();
          (void)MaybeFlush(false);
          continue;
        }
      } else {
        work_cv.wait(lock, ready);
      }
      if (queue.empty()) {
        lock.unlock();
        (void)MaybeFlush(true);  // stopping: the store gets every list
        return;
      }
      batch.clear();
      enqueued.clear();
      deferred.clear();
      while (!queue.empty() && batch.size() < options.max_batch_users) {
        if (in_flight.contains(queue.front())) {
          deferred.push_back(std::move(queue.front()));
          queue.pop_front();
          continue;
        }
        auto node = pending.extract(queue.front());
        queue.pop_front();
        enqueued.push_back(node.mapped());
        in_flight.insert(node.key());
        batch.push_back(std::move(node.key()));
      }
      // Deferred users keep their place at the front (and their pending entry).
      queue.insert(queue.begin(), std::make_move_iterator(deferred.begin()),
                   std::make_move_iterator(deferred.end()));
      ++busy;
      // More work than one batch: let another refresher start on it.
      if (HasRunnableLocked()) work_cv.notify_one();
    }
    // A user queued for an older model is refreshed on the current one: its
    // histories were rebuilt from the log, so nothing is lost.
    std::shared_ptr<LiveState> live_state = CurrentState();
    if (live_state->model != nullptr) {
      Status st = RefreshUsers(*live_state, batch, enqueued);
      if (!st.ok()) spdlog::warn("real-time refresh: {}", st.ToString());
    }
    (void)MaybeFlush(false);
    {
      std::lock_guard lock(q_mu);
      FinishBatchLocked(batch);
    }
  }
}

void RealtimeEngine::Impl::WaitIdle() {
  {
    std::unique_lock lock(q_mu);
    idle_cv.wait(lock, [&] { return queue.empty() && busy == 0; });
  }
  (void)MaybeFlush(true);
}

Status RealtimeEngine::Impl::MaybeFlush(bool force) {
  if (store->pending_lists() == 0) return Status::Ok();
  std::lock_guard lock(write_mu);
  const int64_t now = NowNs();
  const int64_t interval_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options.flush_interval).count();
  if (!force && now - last_flush_ns < interval_ns) return Status::Ok();
  last_flush_ns = now;
  Status st = store->FlushPending();
  if (st.ok()) {
    flushes.fetch_add(1, std::memory_order_relaxed);
  } else {
    // They stay pending (and served from memory); the next flush retries.
    flush_failures.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("real-time: flushing refreshed lists: {}", st.ToString());
  }
  return st;
}

Status RealtimeEngine::Impl::RefreshUsers(const LiveState& live_state,
                                          std::span<const std::string> users,
                                          std::span<const int64_t> enqueued_ns) {
  const size_t step = std::max<size_t>(1, options.max_batch_users);
  Status first_error;
  for (size_t b = 0; b < users.size(); b += step) {
    const size_t n = std::min(step, users.size() - b);
    Status st = RefreshBatch(live_state, users.subspan(b, n),
                             enqueued_ns.empty() ? enqueued_ns : enqueued_ns.subspan(b, n));
    if (!st.ok() && first_error.ok()) first_error = st;
  }
  return first_error;
}

Status RealtimeEngine::Impl::RefreshBatch(const LiveState& live_state,
                                          std::span<const std::string> users,
                                          std::span<const int64_t> enqueued_ns) {
  const LiveModel& live = *live_state.model;
  const Recommender& model = *live.model;

  // Every user's merged row (training + live events); the model scores the
  // rows (fold-in for factor models, rescoring for item-item ones) and never
  // returns a row's own items, ranked as precompute ranks.
  CsrMatrix rows;
  rows.rows = static_cast<uint32_t>(users.size());
  rows.cols = model.num_items();
  rows.indptr.reserve(users.size() + 1);
  rows.indptr.push_back(0);
  std::vector<uint32_t> items;
  std::vector<float> values;
  for (size_t i = 0; i < users.size(); ++i) {
    UserRowOf(live_state, users[i], &items, &values);
    rows.indices.insert(rows.indices.end(), items.begin(), items.end());
    rows.values.insert(rows.values.end(), values.begin(), values.end());
    rows.indptr.push_back(rows.indices.size());
  }
  uint32_t failed = 0;
  Result<RankedLists> ranked =
      model.RecommendHistories(rows, nullptr, options.k, /*threads=*/1, &failed);
  if (!ranked.ok()) {
    refresh_failures.fetch_add(users.size(), std::memory_order_relaxed);
    return ranked.status().WithContext("real-time refresh on version " + live.version);
  }
  // A row that could not be scored came back empty; find which (rare: the
  // values are bounded where they enter) so their old lists are kept.
  std::vector<uint32_t> solved;  // batch positions that were scored, in order
  for (uint32_t r = 0; r < rows.rows; ++r) {
    if (failed > 0 && ranked->RowLength(r) == 0 && !RowScores(model, rows, r)) {
      refresh_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("real-time refresh of user '{}' on version {}: the row cannot be scored",
                   users[r], live.version);
      continue;
    }
    solved.push_back(r);
  }

  std::vector<RecItem> rec_items;
  rec_items.reserve(ranked->items.size());
  std::vector<UserRecs> lists;
  lists.reserve(solved.size());
  for (uint32_t r : solved) {
    auto ids = ranked->Items(r);
    auto scores = ranked->Scores(r);
    const size_t begin = rec_items.size();
    for (size_t p = 0; p < ids.size(); ++p) {
      rec_items.push_back({model.items().External(ids[p]), scores[p]});
    }
    lists.push_back({users[r], std::span<const RecItem>(rec_items).subspan(begin)});
  }
  Status st;
  if (options.flush_interval.count() > 0) {
    // Memory only (thread-safe without write_mu), so an inline refresh never
    // waits for a flush in progress.
    st = store->PutUserRecsPending(live.version, lists);
  } else {
    std::lock_guard lock(write_mu);
    st = store->PutUserRecsAt(live.version, lists);
  }
  if (!st.ok()) {
    refresh_failures.fetch_add(lists.size(), std::memory_order_relaxed);
    return st.WithContext("writing " + std::to_string(lists.size()) + " refreshed lists");
  }
  refreshes.fetch_add(lists.size(), std::memory_order_relaxed);
  refresh_batches.fetch_add(1, std::memory_order_relaxed);
  if (!enqueued_ns.empty()) {
    const int64_t now = NowNs();
    for (uint32_t r : solved) {
      latency.Record(static_cast<uint64_t>(std::max<int64_t>(0, now - enqueued_ns[r])));
    }
  }
  return Status::Ok();
}

Status RealtimeEngine::Impl::SwitchTo(std::string_view version, bool record_activation) {
  std::lock_guard admin(admin_mu);
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  const std::string context = "refusing to activate model version " + std::string(version);
  Result<RegisteredModel> loaded = models->Load(version);
  if (!loaded.ok()) return loaded.status().WithContext(context);
  RegisteredModel registered = std::move(loaded).value();
  if (registered.model == nullptr ||
      registered.interactions.rows != registered.model->num_users() ||
      registered.interactions.cols != registered.model->num_items()) {
    return Status::Corruption(fmt::format(
        "model version {}: interactions are {}x{} but the model has {} users and {} items", version,
        registered.interactions.rows, registered.interactions.cols,
        registered.model ? registered.model->num_users() : 0,
        registered.model ? registered.model->num_items() : 0));
  }
  auto next = std::make_shared<LiveState>();
  next->model = std::make_shared<const LiveModel>(std::move(registered));
  const LiveModel& live = *next->model;
  {
    // A model with a non-finite weight is never served; an unusable one
    // (implicit ALS with biases, say) fails every row, the empty one too.
    RECO_RETURN_IF_ERROR(live.model->CheckFinite().WithContext(context));
    CsrMatrix empty_row;
    empty_row.rows = 1;
    empty_row.cols = live.model->num_items();
    empty_row.indptr = {0, 0};
    uint32_t failed = 0;
    RECO_RETURN_IF_ERROR(live.model->RecommendHistories(empty_row, nullptr, 1, 1, &failed)
                             .status()
                             .WithContext(context));
    if (failed > 0) {
      return Status::FailedPrecondition(context + ": the model cannot score a user's row");
    }
  }
  Result<VersionMeta> meta = store->GetVersionMeta(version);
  if (!meta.ok()) {
    if (meta.status().code() == Status::Code::kNotFound) {
      return Status::FailedPrecondition(context + ": the store has no complete version " +
                                        std::string(version) + " (precompute its lists first)");
    }
    return meta.status().WithContext(context);
  }

  // Events the new model was not trained on, replayed while the old model
  // keeps serving; their users' lists are written into the new version
  // before it becomes active, so activation does not make them stale.
  //
  // Histories this version spilled in an earlier life (before a restart, or
  // before another version was activated) are stale: the replay rebuilds
  // every history, spilling again as the budget requires.
  {
    std::lock_guard lock(write_mu);
    RECO_RETURN_IF_ERROR(store->DeleteLiveStates(version).status().WithContext(context));
  }
  // A long log is refreshed in chunks of users as it replays, so neither the
  // list of touched users nor the pending lists outgrow the memory budget.
  constexpr size_t kReplayChunkUsers = size_t{1} << 16;
  uint64_t replayed_through = live.events_through_seq;
  size_t replayed_users = 0;
  std::vector<std::string> touched;
  auto replay = [&](std::vector<std::string>* out, bool refresh_chunks) {
    std::unordered_set<std::string> seen;
    return log->Replay(replayed_through + 1, [&](uint64_t seq, const Event& event) -> Status {
      replayed_through = seq;
      Applied applied;
      {
        std::lock_guard lock(next->mu);
        applied = ApplyEvent(*next, seq, event);
      }
      if (applied == Applied::kApplied && seen.insert(event.user_id).second) {
        out->push_back(event.user_id);
      }
      MaybeSpill(*next);
      if (refresh_chunks && out->size() >= kReplayChunkUsers) {
        RECO_RETURN_IF_ERROR(RefreshUsers(*next, *out, {}));
        RECO_RETURN_IF_ERROR(MaybeFlush(true));
        replayed_users += out->size();
        out->clear();
        seen.clear();
      }
      return Status::Ok();
    });
  };
  RECO_RETURN_IF_ERROR(replay(&touched, true).WithContext("replaying the event log"));
  replayed_users += touched.size();
  RECO_RETURN_IF_ERROR(RefreshUsers(*next, touched, {}));
  // In the store itself, not only in memory, before the version is active.
  RECO_RETURN_IF_ERROR(MaybeFlush(true).WithContext(context));

  // Catch up with what arrived meanwhile, flip and swap with intake paused.
  std::vector<std::string> late;
  gate.Pause();
  struct GateResume {
    IntakeGate* gate;
    ~GateResume() { gate->Resume(); }
  } resume{&gate};
  RECO_RETURN_IF_ERROR(replay(&late, false).WithContext("replaying the event log"));
  if (record_activation) {
    std::lock_guard lock(write_mu);
    Result<std::string> previous = store->RefreshActiveVersion();
    if (!previous.ok() && previous.status().code() != Status::Code::kFailedPrecondition) {
      return previous.status().WithContext(context);
    }
    RECO_RETURN_IF_ERROR(store->Activate(version));
    Status recorded = models->RecordActivation(version);
    if (!recorded.ok()) {
      // Nothing changes when a step fails: put the old pointer back.
      if (previous.ok()) {
        Status restored = store->Activate(*previous);
        if (!restored.ok()) spdlog::error("restoring active version: {}", restored.ToString());
      }
      return recorded.WithContext("recording the activation of " + std::string(version));
    }
  }
  {
    std::lock_guard lock(state_mu);
    state = next;
  }
  activations.fetch_add(1, std::memory_order_relaxed);
  spdlog::info("real-time: live model is now version {} ({} users with live events)", version,
               replayed_users);
  Enqueue(late, 0);
  return Status::Ok();
}

// ---- RealtimeEngine ---------------------------------------------------------

RealtimeEngine::RealtimeEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<RealtimeEngine>> RealtimeEngine::Start(ModelRegistry* registry,
                                                              RecommendationStore* store,
                                                              EventLog* log,
                                                              const RealtimeOptions& options) {
  if (registry == nullptr) return Status::InvalidArgument("real-time engine: no model registry");
  return Start(std::make_unique<RegistryModelSource>(registry), store, log, options);
}

Result<std::unique_ptr<RealtimeEngine>> RealtimeEngine::Start(std::unique_ptr<ModelSource> models,
                                                              RecommendationStore* store,
                                                              EventLog* log,
                                                              const RealtimeOptions& options) {
  if (models == nullptr || store == nullptr || log == nullptr) {
    return Status::InvalidArgument("real-time engine needs a model source, a store and a log");
  }
  if (options.k == 0) return Status::InvalidArgument("real-time engine: k must be at least 1");
  if (options.queue_capacity == 0) {
    return Status::InvalidArgument("real-time engine: queue_capacity must be at least 1");
  }
  if (options.refresh_threads < 1) {
    return Status::InvalidArgument("real-time engine: refresh_threads must be at least 1");
  }
  auto impl = std::make_unique<Impl>(std::move(models), store, log, options);
  Result<std::string> active = store->RefreshActiveVersion();
  if (active.ok()) {
    // Replays the log after the model's training and refreshes those users
    // now, before any thread runs, so a restart serves fresh lists at once.
    RECO_RETURN_IF_ERROR(impl->SwitchTo(*active, /*record_activation=*/false));
  } else if (active.status().code() != Status::Code::kFailedPrecondition) {
    return active.status();
  }
  for (int t = 0; t < options.refresh_threads; ++t) {
    impl->workers.emplace_back([p = impl.get()] { p->WorkerLoop(); });
  }
  impl->committer = std::thread([p = impl.get()] { p->CommitLoop(); });
  return std::unique_ptr<RealtimeEngine>(new RealtimeEngine(std::move(impl)));
}

RealtimeEngine::~RealtimeEngine() {
  std::lock_guard admin(impl_->admin_mu);
  {
    std::lock_guard lock(impl_->q_mu);
    impl_->accepting = false;
  }
  // The committer answers (and enqueues) every request taken before.
  {
    std::lock_guard lock(impl_->commit_mu);
    impl_->commit_stop = true;
  }
  impl_->commit_cv.notify_all();
  impl_->committer.join();
  {
    std::lock_guard lock(impl_->q_mu);
    impl_->stop = true;
  }
  impl_->work_cv.notify_all();
  for (std::thread& t : impl_->workers) t.join();
}

Result<uint64_t> RealtimeEngine::Accept(std::span<const Event> events) {
  return impl_->Accept(events);
}

void RealtimeEngine::AcceptAsync(std::vector<Event> events, AcceptDone done) {
  impl_->AcceptAsync(std::move(events), std::move(done));
}

Status RealtimeEngine::ActivateModel(std::string_view version) {
  return impl_->SwitchTo(version, /*record_activation=*/true);
}

Status RealtimeEngine::Reload() {
  RECO_ASSIGN_OR_RETURN(std::string active, impl_->store->RefreshActiveVersion());
  if (active == LiveVersion()) return Status::Ok();
  return impl_->SwitchTo(active, /*record_activation=*/false);
}

std::string RealtimeEngine::LiveVersion() const {
  std::shared_ptr<LiveState> live_state = impl_->CurrentState();
  return live_state->model == nullptr ? std::string() : live_state->model->version;
}

void RealtimeEngine::WaitIdle() { impl_->WaitIdle(); }

std::vector<std::pair<std::string, float>> RealtimeEngine::UserRow(std::string_view user_id) const {
  std::shared_ptr<LiveState> live_state = impl_->CurrentState();
  if (live_state->model == nullptr) return {};
  const LiveModel& live = *live_state->model;
  std::vector<uint32_t> items;
  std::vector<float> values;
  impl_->UserRowOf(*live_state, user_id, &items, &values);
  std::vector<std::pair<std::string, float>> row;
  row.reserve(items.size());
  for (size_t p = 0; p < items.size(); ++p) {
    row.emplace_back(live.model->items().External(items[p]), values[p]);
  }
  return row;
}

RealtimeStats RealtimeEngine::stats() const {
  const Impl& m = *impl_;
  RealtimeStats s;
  s.events_accepted = m.events_accepted.load(std::memory_order_relaxed);
  s.events_rejected_queue_full = m.events_rejected.load(std::memory_order_relaxed);
  s.events_unknown_item = m.events_unknown_item.load(std::memory_order_relaxed);
  s.events_without_value = m.events_without_value.load(std::memory_order_relaxed);
  s.refreshes = m.refreshes.load(std::memory_order_relaxed);
  s.refresh_failures = m.refresh_failures.load(std::memory_order_relaxed);
  s.refresh_batches = m.refresh_batches.load(std::memory_order_relaxed);
  s.flushes = m.flushes.load(std::memory_order_relaxed);
  s.flush_failures = m.flush_failures.load(std::memory_order_relaxed);
  s.unflushed_lists = m.store->pending_lists();
  s.activations = m.activations.load(std::memory_order_relaxed);
  s.live_spilled = m.live_spilled.load(std::memory_order_relaxed);
  s.live_restored = m.live_restored.load(std::memory_order_relaxed);
  s.live_spill_failures = m.live_spill_failures.load(std::memory_order_relaxed);
  s.live_restore_failures = m.live_restore_failures.load(std::memory_order_relaxed);
  s.live_budget_bytes = m.options.live_memory_bytes;
  {
    std::lock_guard lock(impl_->q_mu);
    s.queue_depth = m.queue.size();
  }
  {
    std::shared_ptr<LiveState> live_state = m.CurrentState();
    std::lock_guard lock(live_state->mu);
    s.live_users = live_state->histories.size();
    s.live_bytes = live_state->bytes;
  }
  const LatencyHistogram latency = m.latency.Snapshot();
  s.refresh_latency_p50_us = static_cast<double>(latency.ValueAtPercentile(50)) / 1e3;
  s.refresh_latency_p99_us = static_cast<double>(latency.ValueAtPercentile(99)) / 1e3;
  s.refresh_latency_max_us = static_cast<double>(latency.max()) / 1e3;
  return s;
}

std::string RealtimeEngine::PrometheusText() const {
  const RealtimeStats s = stats();
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
  };
  metric("reco_realtime_events_accepted_total", "counter",
         "Events made durable in the write-ahead log.", s.events_accepted);
  metric("reco_realtime_events_rejected_total", "counter",
         "Events refused because the refresh queue was full (503).", s.events_rejected_queue_full);
  metric("reco_realtime_events_unknown_item_total", "counter",
         "Logged events on items the live model does not know (not folded in).",
         s.events_unknown_item);
  metric("reco_realtime_events_without_value_total", "counter",
         "Logged events without a value on an explicit model (not folded in).",
         s.events_without_value);
  metric("reco_realtime_refreshes_total", "counter", "User lists re-solved and written.",
         s.refreshes);
  metric("reco_realtime_refresh_failures_total", "counter",
         "User refreshes that failed (solve or store write).", s.refresh_failures);
  metric("reco_realtime_refresh_batches_total", "counter", "Batches of users refreshed together.",
         s.refresh_batches);
  metric("reco_realtime_flushes_total", "counter",
         "Store writes of refreshed lists (write-behind flushes).", s.flushes);
  metric("reco_realtime_flush_failures_total", "counter",
         "Failed flushes (their lists stay pending and served from memory).", s.flush_failures);
  metric("reco_realtime_unflushed_lists", "gauge",
         "Refreshed lists served from memory, not yet written to the store.", s.unflushed_lists);
  metric("reco_realtime_activations_total", "counter", "Live model swaps.", s.activations);
  metric("reco_realtime_queue_depth", "gauge", "Users waiting for a refresh.", s.queue_depth);
  metric("reco_realtime_live_users", "gauge",
         "Users with events since the model's training whose history is in memory.", s.live_users);
  metric("reco_realtime_live_bytes", "gauge",
         "Estimated memory held by the live histories (bounded by the live memory budget).",
         s.live_bytes);
  metric("reco_realtime_live_budget_bytes", "gauge",
         "The live memory budget (--live-memory-mb); 0 means unbounded.", s.live_budget_bytes);
  metric("reco_realtime_live_spilled_total", "counter",
         "Live histories moved from memory to the store (least recently active first).",
         s.live_spilled);
  metric("reco_realtime_live_restored_total", "counter",
         "Spilled live histories read back into memory for a user's next event.", s.live_restored);
  metric("reco_realtime_live_spill_failures_total", "counter",
         "Failed spills (the histories stay in memory, over the budget; retried).",
         s.live_spill_failures);
  metric("reco_realtime_live_restore_failures_total", "counter",
         "Spilled histories that could not be read back (logged; a restart replays the log).",
         s.live_restore_failures);
  const LatencyHistogram h = impl_->latency.Snapshot();
  out +=
      "# HELP reco_realtime_refresh_latency_seconds Time from queueing a user to their list "
      "being written.\n# TYPE reco_realtime_refresh_latency_seconds summary\n";
  out += fmt::format("reco_realtime_refresh_latency_seconds{{quantile=\"0.5\"}} {}\n",
                     s.refresh_latency_p50_us / 1e6);
  out += fmt::format("reco_realtime_refresh_latency_seconds{{quantile=\"0.99\"}} {}\n",
                     s.refresh_latency_p99_us / 1e6);
  out += fmt::format("reco_realtime_refresh_latency_seconds_sum {}\n",
                     static_cast<double>(h.sum()) / 1e9);
  out += fmt::format("reco_realtime_refresh_latency_seconds_count {}\n", h.count());
  return out;
}

}  // namespace reco
