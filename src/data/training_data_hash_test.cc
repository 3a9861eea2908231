// TrainingDataHash identifies training data by content: the order of records
// and the dense indices the loader happened to assign do not change it; any
// ID or value does.
#include "reco/training_data_hash.h"

#include <gtest/gtest.h>

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

std::string HashOfMatrix(const Dataset& d) {
  return TrainingDataHash(
      CsrMatrix::FromInteractions(d.interactions, d.users.size(), d.items.size()), d.users,
      d.items);
}

TEST(TrainingDataHashTest, IndependentOfOrderAndIndices) {
  const std::string h = TrainingDataHash(Make({{"u1", "a", 5}, {"u2", "b", 3}, {"u1", "b", 1}}));
  EXPECT_EQ(h.size(), 32u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  // Same records, other order: u2 and b now get index 0.
  EXPECT_EQ(TrainingDataHash(Make({{"u2", "b", 3}, {"u1", "b", 1}, {"u1", "a", 5}})), h);
}

TEST(TrainingDataHashTest, DatasetAndMatrixHashAlike) {
  const Dataset d = Make({{"u2", "b", 3}, {"u1", "b", 1}, {"u1", "a", 5}});
  EXPECT_EQ(HashOfMatrix(d), TrainingDataHash(d));
}

TEST(TrainingDataHashTest, ChangesWithAnyIdOrValue) {
  const std::string h = TrainingDataHash(Make({{"u1", "a", 5}, {"u2", "b", 3}}));
  EXPECT_NE(TrainingDataHash(Make({{"u1", "a", 4}, {"u2", "b", 3}})), h);
  EXPECT_NE(TrainingDataHash(Make({{"u1", "c", 5}, {"u2", "b", 3}})), h);
  EXPECT_NE(TrainingDataHash(Make({{"u3", "a", 5}, {"u2", "b", 3}})), h);
  EXPECT_NE(TrainingDataHash(Make({{"u1", "a", 5}})), h);
  // Length prefixes keep ("u1","a") apart from ("u","1a").
  EXPECT_NE(TrainingDataHash(Make({{"u", "1a", 5}, {"u2", "b", 3}})), h);
  EXPECT_NE(TrainingDataHash(Make({})), h);
  // A record counted twice is a different multiset.
  EXPECT_NE(TrainingDataHash(Make({{"u1", "a", 5}, {"u2", "b", 3}, {"u2", "b", 3}})), h);
}

}  // namespace
}  // namespace reco
