#include "reco/event_folding.h"

#include <algorithm>
#include <cassert>

#include "reco/interactions.h"

namespace reco {

bool EventFolds(FoldRule rule, const Event& event) {
  return rule == FoldRule::kAdd || event.value.has_value();
}

void FoldEvent(FoldRule rule, uint64_t seq, const Event& event, FoldedEvents* folded) {
  assert(EventFolds(rule, event));
  const float value = event.value.value_or(1.0f);
  if (rule == FoldRule::kLatestWins) {
    if (folded->count == 0 || seq > folded->latest_seq) {
      folded->latest_seq = seq;
      folded->latest = value;
    }
  } else {
    folded->sum += value;
  }
  ++folded->count;
}

float FoldedValue(FoldRule rule, std::optional<float> base, const FoldedEvents& folded) {
  assert(base.has_value() || folded.count > 0);
  if (folded.count == 0) return *base;
  if (rule == FoldRule::kLatestWins) return folded.latest;
  const double total = double{base.value_or(0.0f)} + folded.sum;
  const double cap = kMaxInteractionValue;
  return static_cast<float>(std::clamp(total, -cap, cap));
}

}  // namespace reco
