#include <filesystem>
#include <unordered_map>
#include <vector>

#include "reco/event_log.h"
#include "reco/lifecycle.h"

namespace reco {
namespace {

// Whole seconds, rounded down also before 1970.
int64_t FloorSeconds(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

bool HasSegments(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("events-") && name.ends_with(".log")) return true;
  }
  // An unreadable directory is reported by the replay itself.
  return static_cast<bool>(ec);
}

}  // namespace

Status MergeLoggedEvents(const std::string& dir, FoldRule rule, Dataset* data,
                         EventMergeReport* report) {
  *report = {};
  if (!HasSegments(dir)) return Status::Ok();
  auto key = [](uint32_t u, uint32_t i) { return (uint64_t{u} << 32) | i; };
  std::unordered_map<uint64_t, size_t> base_position;
  base_position.reserve(data->interactions.size());
  for (size_t p = 0; p < data->interactions.size(); ++p) {
    base_position[key(data->interactions[p].user, data->interactions[p].item)] = p;
  }
  struct Pair {
    uint32_t user, item;
    FoldedEvents events;
    int64_t latest_ms;  // timestamp of the pair's latest event
  };
  std::vector<Pair> pairs;  // in order of first event, so new records keep log order
  std::unordered_map<uint64_t, size_t> pair_index;
  RECO_RETURN_IF_ERROR(EventLog::ReplayDirectory(dir, 1, [&](uint64_t seq, const Event& e) {
    ++report->events;
    report->last_seq = seq;
    if (!EventFolds(rule, e)) {
      ++report->skipped_no_value;
      return Status::Ok();
    }
    const uint32_t u = data->users.GetOrAdd(e.user_id);
    const uint32_t i = data->items.GetOrAdd(e.item_id);
    auto [it, inserted] = pair_index.try_emplace(key(u, i), pairs.size());
    if (inserted) pairs.push_back({u, i, {}, e.timestamp_ms});
    Pair& pair = pairs[it->second];
    FoldEvent(rule, seq, e, &pair.events);
    pair.latest_ms = e.timestamp_ms;  // the replay is in sequence order
    return Status::Ok();
  }));
  for (const Pair& pair : pairs) {
    auto base = base_position.find(key(pair.user, pair.item));
    if (base == base_position.end()) {
      data->interactions.push_back({pair.user, pair.item,
                                    FoldedValue(rule, std::nullopt, pair.events),
                                    FloorSeconds(pair.latest_ms)});
      ++report->added;
    } else {
      Interaction& record = data->interactions[base->second];
      record.value = FoldedValue(rule, record.value, pair.events);
      record.timestamp = FloorSeconds(pair.latest_ms);
      ++report->updated;
    }
  }
  return Status::Ok();
}

}  // namespace reco
