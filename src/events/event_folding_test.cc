#include "reco/event_folding.h"

#include <gtest/gtest.h>

#include <optional>

#include "reco/interactions.h"

namespace reco {
namespace {

Event E(std::optional<float> value) { return Event{"u", "i", "view", value, 0}; }

float Fold(FoldRule rule, std::optional<float> base,
           std::initializer_list<std::pair<uint64_t, std::optional<float>>> events) {
  FoldedEvents folded;
  for (const auto& [seq, value] : events) {
    const Event e = E(value);
    if (EventFolds(rule, e)) FoldEvent(rule, seq, e, &folded);
  }
  return FoldedValue(rule, base, folded);
}

TEST(EventFoldingTest, ImplicitStrengthsAddToTheBase) {
  // The example: base strength 2 and three clicks give 5, both in
  // the live engine and after a retrain.
  EXPECT_EQ(Fold(FoldRule::kAdd, 2.0f, {{1, std::nullopt}, {2, std::nullopt}, {3, std::nullopt}}),
            5.0f);
  EXPECT_EQ(Fold(FoldRule::kAdd, std::nullopt, {{7, 0.5f}, {8, 2.0f}}), 2.5f);
  EXPECT_EQ(Fold(FoldRule::kAdd, 1.5f, {}), 1.5f);
  EXPECT_EQ(Fold(FoldRule::kAdd, 4.0f, {{9, -1.0f}}), 3.0f);
}

TEST(EventFoldingTest, ExplicitLatestEventWinsOverEarlierEventsAndTheBase) {
  EXPECT_EQ(Fold(FoldRule::kLatestWins, 2.0f, {{5, 4.0f}, {9, 1.0f}, {7, 3.0f}}), 1.0f);
  EXPECT_EQ(Fold(FoldRule::kLatestWins, std::nullopt, {{3, 4.5f}}), 4.5f);
  EXPECT_EQ(Fold(FoldRule::kLatestWins, 3.0f, {}), 3.0f);
}

TEST(EventFoldingTest, ExplicitIgnoresEventsWithoutAValue) {
  EXPECT_FALSE(EventFolds(FoldRule::kLatestWins, E(std::nullopt)));
  EXPECT_TRUE(EventFolds(FoldRule::kLatestWins, E(2.0f)));
  EXPECT_TRUE(EventFolds(FoldRule::kAdd, E(std::nullopt)));
  EXPECT_EQ(Fold(FoldRule::kLatestWins, 2.0f, {{5, std::nullopt}}), 2.0f);
}

TEST(EventFoldingTest, OrderOfArrivalDoesNotMatter) {
  EXPECT_EQ(Fold(FoldRule::kLatestWins, 1.0f, {{9, 5.0f}, {2, 3.0f}}),
            Fold(FoldRule::kLatestWins, 1.0f, {{2, 3.0f}, {9, 5.0f}}));
  // Near the cap: the sum is clamped once at the end, not after each event.
  const float big = kMaxInteractionValue;
  EXPECT_EQ(Fold(FoldRule::kAdd, big, {{1, 10.0f}, {2, -30.0f}}), big - 20.0f);
  EXPECT_EQ(Fold(FoldRule::kAdd, big, {{2, -30.0f}, {1, 10.0f}}), big - 20.0f);
}

TEST(EventFoldingTest, SumsAreClampedToTheValueBound) {
  const float big = kMaxInteractionValue;
  EXPECT_EQ(Fold(FoldRule::kAdd, big, {{1, big}, {2, big}}), big);
  EXPECT_EQ(Fold(FoldRule::kAdd, -big, {{1, -big}}), -big);
}

}  // namespace
}  // namespace reco
