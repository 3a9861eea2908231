#include "reco/split.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace reco {
namespace {

Status CheckRatio(double train_ratio) {
  // Written so that NaN fails too.
  if (!(train_ratio > 0.0 && train_ratio < 1.0)) {
    return Status::InvalidArgument(
        fmt::format("train ratio must be strictly between 0 and 1, got {}", train_ratio));
  }
  return Status::Ok();
}

Status CheckSize(const std::vector<Interaction>& records) {
  if (records.size() >= std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument(
        fmt::format("{} records are more than a split supports", records.size()));
  }
  return Status::Ok();
}

// Record positions grouped by user (users in index order), input order
// within each user: group u is order[start[u] .. start[u+1]).
struct UserGroups {
  std::vector<uint32_t> start;
  std::vector<uint32_t> order;
};

UserGroups GroupByUser(const std::vector<Interaction>& records) {
  uint32_t users = 0;
  for (const Interaction& r : records) users = std::max(users, r.user + 1);
  UserGroups g;
  g.start.assign(static_cast<size_t>(users) + 1, 0);
  for (const Interaction& r : records) ++g.start[r.user + 1];
  for (size_t u = 1; u < g.start.size(); ++u) g.start[u] += g.start[u - 1];
  g.order.resize(records.size());
  std::vector<uint32_t> next(g.start.begin(), g.start.end() - 1);
  for (uint32_t i = 0; i < records.size(); ++i) g.order[next[records[i].user]++] = i;
  return g;
}

// Recommenders' per-group train size: numpy round (half to even) of the
// double product; nearbyint rounds half to even in the default FP mode.
size_t TrainCount(double train_ratio, size_t n) {
  return static_cast<size_t>(std::nearbyint(train_ratio * static_cast<double>(n)));
}

TrainTest Partition(const std::vector<Interaction>& records, const std::vector<uint8_t>& in_train,
                    size_t train_count) {
  TrainTest out;
  out.train.reserve(train_count);
  out.test.reserve(records.size() - train_count);
  for (size_t i = 0; i < records.size(); ++i) {
    (in_train[i] ? out.train : out.test).push_back(records[i]);
  }
  return out;
}

// Splits every user's group after ordering it with `arrange`, which gets the
// group's record positions (in input order) and may permute them.
template <typename Arrange>
TrainTest PerUserSplit(const std::vector<Interaction>& records, double train_ratio,
                       Arrange&& arrange) {
  UserGroups g = GroupByUser(records);
  std::vector<uint8_t> in_train(records.size(), 0);
  size_t train_count = 0;
  for (size_t u = 0; u + 1 < g.start.size(); ++u) {
    std::span<uint32_t> group(g.order.data() + g.start[u], g.start[u + 1] - g.start[u]);
    if (group.empty()) continue;
    arrange(group);
    size_t k = TrainCount(train_ratio, group.size());
    for (size_t j = 0; j < k; ++j) in_train[group[j]] = 1;
    train_count += k;
  }
  return Partition(records, in_train, train_count);
}

std::vector<uint32_t> CountBy(const std::vector<Interaction>& records, bool by_user) {
  std::vector<uint32_t> counts;
  for (const Interaction& r : records) {
    uint32_t key = by_user ? r.user : r.item;
    if (key >= counts.size()) counts.resize(static_cast<size_t>(key) + 1, 0);
    ++counts[key];
  }
  return counts;
}

// seen[i] says whether index i occurs in train; indices past the end are unseen.
struct Seen {
  std::vector<uint8_t> users, items;
  explicit Seen(const std::vector<Interaction>& train) {
    for (const Interaction& r : train) {
      if (r.user >= users.size()) users.resize(static_cast<size_t>(r.user) + 1, 0);
      if (r.item >= items.size()) items.resize(static_cast<size_t>(r.item) + 1, 0);
      users[r.user] = 1;
      items[r.item] = 1;
    }
  }
  bool Cold(const Interaction& r) const {
    return r.user >= users.size() || !users[r.user] || r.item >= items.size() || !items[r.item];
  }
};

}  // namespace

Result<TrainTest> RandomSplit(const std::vector<Interaction>& records, double train_ratio,
                              uint64_t seed) {
  RECO_RETURN_IF_ERROR(CheckRatio(train_ratio));
  RECO_RETURN_IF_ERROR(CheckSize(records));
  const size_t n = records.size();
  const auto n_train =
      static_cast<size_t>(std::floor(train_ratio * static_cast<double>(n)));  // sklearn's rule
  if (n_train == 0 || n_train == n) {
    return Status::InvalidArgument(fmt::format(
        "a random split of {} records with train ratio {} leaves the train or test set empty", n,
        train_ratio));
  }
  std::vector<uint32_t> perm(n);
  for (uint32_t i = 0; i < n; ++i) perm[i] = i;
  SplitMix64 rng(seed);
  Shuffle(std::span<uint32_t>(perm), rng);
  std::vector<uint8_t> in_train(n, 0);
  for (size_t j = 0; j < n_train; ++j) in_train[perm[j]] = 1;
  return Partition(records, in_train, n_train);
}

Result<TrainTest> ChronologicalSplit(const std::vector<Interaction>& records, double train_ratio) {
  RECO_RETURN_IF_ERROR(CheckRatio(train_ratio));
  RECO_RETURN_IF_ERROR(CheckSize(records));
  return PerUserSplit(records, train_ratio, [&](std::span<uint32_t> group) {
    std::stable_sort(group.begin(), group.end(), [&](uint32_t a, uint32_t b) {
      return records[a].timestamp < records[b].timestamp;
    });
  });
}

Result<TrainTest> StratifiedSplit(const std::vector<Interaction>& records, double train_ratio,
                                  uint64_t seed) {
  RECO_RETURN_IF_ERROR(CheckRatio(train_ratio));
  RECO_RETURN_IF_ERROR(CheckSize(records));
  SplitMix64 rng(seed);
  return PerUserSplit(records, train_ratio,
                      [&](std::span<uint32_t> group) { Shuffle(group, rng); });
}

std::vector<Interaction> FilterByMinCount(const std::vector<Interaction>& records,
                                          uint32_t min_user, uint32_t min_item, bool iterate) {
  std::vector<Interaction> kept = records;
  if (min_user <= 1 && min_item <= 1) return kept;
  for (;;) {
    std::vector<uint32_t> per_user = CountBy(kept, true);
    std::vector<uint32_t> per_item = CountBy(kept, false);
    size_t before = kept.size();
    std::erase_if(kept, [&](const Interaction& r) {
      return per_user[r.user] < min_user || per_item[r.item] < min_item;
    });
    if (!iterate || kept.size() == before) return kept;
  }
}

size_t CountColdTestRecords(const std::vector<Interaction>& train,
                            const std::vector<Interaction>& test) {
  Seen seen(train);
  return static_cast<size_t>(
      std::count_if(test.begin(), test.end(), [&](const Interaction& r) { return seen.Cold(r); }));
}

size_t RemoveColdTestRecords(const std::vector<Interaction>& train,
                             std::vector<Interaction>* test) {
  Seen seen(train);
  return static_cast<size_t>(
      std::erase_if(*test, [&](const Interaction& r) { return seen.Cold(r); }));
}

std::string_view SplitMethodName(SplitMethod method) {
  switch (method) {
    case SplitMethod::kRandom:
      return "random";
    case SplitMethod::kChronological:
      return "chrono";
    case SplitMethod::kStratified:
      return "stratified";
  }
  return "unknown";
}

Result<SplitMethod> ParseSplitMethod(std::string_view name) {
  if (name == "random") return SplitMethod::kRandom;
  if (name == "chrono" || name == "chronological") return SplitMethod::kChronological;
  if (name == "stratified") return SplitMethod::kStratified;
  return Status::InvalidArgument(
      fmt::format("unknown split method \"{}\" (expected random, chrono or stratified)", name));
}

Result<TrainTest> SplitDataset(const Dataset& ds, const SplitOptions& opts, SplitReport* report) {
  if (opts.method == SplitMethod::kChronological && !ds.has_timestamps) {
    return Status::FailedPrecondition(
        "a chronological split needs timestamps, and the input has no timestamp column");
  }
  RECO_RETURN_IF_ERROR(CheckRatio(opts.train_ratio));
  SplitReport local;
  SplitReport& rep = report ? *report : local;
  rep = SplitReport();
  rep.input_records = ds.interactions.size();
  std::vector<Interaction> records =
      FilterByMinCount(ds.interactions, opts.min_user, opts.min_item, opts.iterate_filter);
  rep.filtered_records = rep.input_records - records.size();
  if (records.empty()) {
    return Status::InvalidArgument(fmt::format(
        "no records left after the min-count filter (min_user={}, min_item={}, {} records in)",
        opts.min_user, opts.min_item, rep.input_records));
  }
  Result<TrainTest> split = Status::Internal("split method not handled");
  switch (opts.method) {
    case SplitMethod::kRandom:
      split = RandomSplit(records, opts.train_ratio, opts.seed);
      break;
    case SplitMethod::kChronological:
      split = ChronologicalSplit(records, opts.train_ratio);
      break;
    case SplitMethod::kStratified:
      split = StratifiedSplit(records, opts.train_ratio, opts.seed);
      break;
  }
  if (!split.ok()) return split.status();
  TrainTest& tt = split.value();
  if (opts.drop_cold_test) {
    rep.cold_test_records = RemoveColdTestRecords(tt.train, &tt.test);
    rep.cold_test_dropped = true;
  } else {
    rep.cold_test_records = CountColdTestRecords(tt.train, tt.test);
  }
  rep.train_records = tt.train.size();
  rep.test_records = tt.test.size();
  return split;
}

}  // namespace reco
