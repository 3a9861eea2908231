// The model lifecycle as a library: what `reco retrain` (and, through it,
// scripts/main.sh and the Kubernetes CronJob) does, with the CLI reduced to
// flag parsing and printing.
#pragma once

#include <cstdint>
#include <string>

#include "reco/event_folding.h"
#include "reco/interactions.h"
#include "reco/status.h"

namespace reco {

// What folding a write-ahead log into base data did.
struct EventMergeReport {
  uint64_t events = 0;            // replayed
  uint64_t added = 0;             // (user, item) pairs the base data did not have
  uint64_t updated = 0;           // base pairs whose value events changed
  uint64_t skipped_no_value = 0;  // explicit rule: events without a rating
  uint64_t last_seq = 0;          // 0 when the log is empty
};

// Folds every event of the log in `dir` into `data` by `rule`
// (reco/event_folding.h), the rule the real-time engine folds live events
// with: a pair's value becomes FoldedValue(rule, base value, its events) and
// its timestamp that of its latest event (whole seconds). New users and items
// are added to the ID maps. A directory without segments holds no events.
Status MergeLoggedEvents(const std::string& dir, FoldRule rule, Dataset* data,
                         EventMergeReport* report);

}  // namespace reco
