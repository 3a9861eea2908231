// The one rule for how logged events change the interaction value a model is
// trained on (`reco retrain`) and scores a user with (the real-time engine).
// Both call these functions, so a user is served from the same row before
// and after the next retrain.
//
//  - Explicit ratings: the latest event wins. Per (user, item) the event with
//    the highest sequence number replaces earlier events and the base file's
//    rating (the log is newer than any base data). Events without a value are
//    not ratings (a click is not a rating of 1) and are ignored.
//  - Implicit strengths add up: the base file's strength plus the value of
//    every event (1 for an event without a value), clamped to
//    [-kMaxInteractionValue, kMaxInteractionValue] once, at the end, so the
//    result does not depend on the order in which events are folded.
//
// The accumulation is in double and order-independent, so a process that
// folds events as they arrive (possibly out of log order) and one that
// replays the log get the same value bit for bit.
#pragma once

#include <cstdint>
#include <optional>

#include "reco/event_log.h"

namespace reco {

enum class FoldRule : uint8_t {
  kLatestWins = 0,  // explicit ratings
  kAdd = 1,         // implicit strengths
};

inline FoldRule FoldRuleFor(bool explicit_ratings) {
  return explicit_ratings ? FoldRule::kLatestWins : FoldRule::kAdd;
}

// The events of one (user, item) folded so far.
struct FoldedEvents {
  uint64_t count = 0;       // events folded
  uint64_t latest_seq = 0;  // kLatestWins: sequence number of `latest`
  float latest = 0.0f;      // kLatestWins: value of the latest event
  double sum = 0.0;         // kAdd: sum of the event values
};

// Whether `event` changes a value under `rule` (explicit: it carries a value).
bool EventFolds(FoldRule rule, const Event& event);

// Folds one event (EventFolds must hold) with sequence number `seq`. Events
// may arrive in any order: kLatestWins keeps the highest seq, kAdd sums.
void FoldEvent(FoldRule rule, uint64_t seq, const Event& event, FoldedEvents* folded);

// The pair's value: `base` (its value in the training data, if any) combined
// with the folded events. With no events folded it is `base` itself.
// Precondition: base is present or folded.count > 0.
float FoldedValue(FoldRule rule, std::optional<float> base, const FoldedEvents& folded);

}  // namespace reco
