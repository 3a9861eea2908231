// HashInteractions identifies training data by content: the order of records
// and the dense indices the loader happened to assign do not change it; any
// ID or value does.
#include <gtest/gtest.h>

#include "reco/pipeline.h"

namespace reco {
namespace {

struct Record {
  const char* user;
  const char* item;
  float value;
};

Dataset Make(std::initializer_list<Record> records) {
  Dataset d;
  for (const Record& r : records) {
    d.interactions.push_back({d.users.GetOrAdd(r.user), d.items.GetOrAdd(r.item), r.value, 0});
  }
  return d;
}

TEST(HashInteractionsTest, IndependentOfOrderAndIndices) {
  const uint64_t h = HashInteractions(Make({{"u1", "a", 5}, {"u2", "b", 3}, {"u1", "b", 1}}));
  // Same records, other order: u2 and b now get index 0.
  EXPECT_EQ(HashInteractions(Make({{"u2", "b", 3}, {"u1", "b", 1}, {"u1", "a", 5}})), h);
}

TEST(HashInteractionsTest, ChangesWithAnyIdOrValue) {
  const uint64_t h = HashInteractions(Make({{"u1", "a", 5}, {"u2", "b", 3}}));
  EXPECT_NE(HashInteractions(Make({{"u1", "a", 4}, {"u2", "b", 3}})), h);
  EXPECT_NE(HashInteractions(Make({{"u1", "c", 5}, {"u2", "b", 3}})), h);
  EXPECT_NE(HashInteractions(Make({{"u3", "a", 5}, {"u2", "b", 3}})), h);
  EXPECT_NE(HashInteractions(Make({{"u1", "a", 5}})), h);
  // Separators keep ("u1","a") apart from ("u","1a").
  EXPECT_NE(HashInteractions(Make({{"u", "1a", 5}, {"u2", "b", 3}})), h);
  EXPECT_NE(HashInteractions(Make({})), h);
}

}  // namespace
}  // namespace reco
