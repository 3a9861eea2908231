#include "reco/precompute.h"

#include <gtest/gtest.h>

#include <string>

#include "../store/faulty_kv_store.h"

namespace reco {
namespace {

// A hand-made rank-1 model: users u1 (factor 1), u2 (factor -1); items
// a, b, c with factors 3, 2, 1. Scores: u1 -> a 3, b 2, c 1; u2 -> c -1,
// b -2, a -3.
FactorModel TinyModel() {
  FactorModel m;
  m.kind = ModelKind::kExplicit;
  m.params.factors = 1;
  m.users.GetOrAdd("u1");
  m.users.GetOrAdd("u2");
  for (const char* id : {"a", "b", "c"}) m.items.GetOrAdd(id);
  m.user_factors.resize(2, 1);
  m.user_factors << 1, -1;
  m.item_factors.resize(3, 1);
  m.item_factors << 3, 2, 1;
  return m;
}

// Lists of 2, 1 similar item, the whole popular list, no progress bar.
PrecomputeOptions TinyOptions(const std::string& version) {
  PrecomputeOptions opts;
  opts.k = 2;
  opts.similar_k = 1;
  opts.popular_k = 3;
  opts.version = version;
  opts.show_progress = false;
  return opts;
}

// Precompute into an in-memory store, then read back what a server would.
TEST(PrecomputeTest, WritesUserSimilarAndPopularLists) {
  FactorModel m = TinyModel();
  // u1 saw a and b; u2 saw a. Popularity: a 2, b 1, c 0.
  CsrMatrix seen = CsrMatrix::FromInteractions({{0, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 1, 0}}, 2, 3);
  auto store = RecommendationStore::Open("memory://");
  ASSERT_TRUE(store.ok());
  PrecomputeOptions opts = TinyOptions("v1");
  auto r = PrecomputeToStore(*MakeAlsRecommender(m), seen, store->get(), opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->meta.user_lists, 2u);
  EXPECT_EQ(r->meta.item_lists, 3u);

  RecList list;
  ASSERT_TRUE((*store)->GetUserRecs("u1", &list).ok());
  EXPECT_EQ(list.version(), "v1");
  ASSERT_EQ(list.size(), 1u);  // only c is unseen
  EXPECT_EQ(list[0].item_id, "c");
  EXPECT_FLOAT_EQ(list[0].score, 1);
  ASSERT_TRUE((*store)->GetUserRecs("u2", &list).ok());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].item_id, "c");  // -1 beats -2
  EXPECT_EQ(list[1].item_id, "b");
  // All item factors are positive multiples of each other: cosine 1 for every
  // pair, so ties go to the lower index.
  ASSERT_TRUE((*store)->GetSimilarItems("a", &list).ok());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].item_id, "b");
  ASSERT_TRUE((*store)->GetPopular(&list).ok());
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].item_id, "a");
  EXPECT_FLOAT_EQ(list[0].score, 2);
  EXPECT_EQ(list[1].item_id, "b");
  EXPECT_EQ(list[2].item_id, "c");
  EXPECT_EQ((*store)->GetUserRecs("nobody", &list).code(), Status::Code::kNotFound);
}

// A store that stops taking writes part-way through a version (a full disk)
// fails the precompute with the store's error; the lists that landed stay
// invisible, the version that was active stays active and whole, and the same
// precompute succeeds once the store takes writes.
TEST(PrecomputeTest, AFailedStoreWriteLeavesTheActiveVersionServing) {
  const FactorModel m = TinyModel();
  const CsrMatrix seen =
      CsrMatrix::FromInteractions({{0, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 1, 0}}, 2, 3);
  auto owned = testing_util::FaultyKvStore::OverMemory();
  testing_util::FaultyKvStore* faulty = owned.get();
  RecStoreOptions one_list_per_write;
  one_list_per_write.batch_max_ops = 1;
  auto store = RecommendationStore::Create(std::move(owned), one_list_per_write);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  PrecomputeOptions opts = TinyOptions("v1");
  ASSERT_TRUE(PrecomputeToStore(*MakeAlsRecommender(m), seen, store->get(), opts).ok());

  opts.version = "v2";
  // BeginVersion's clean-up and the first two lists land, then the disk is full.
  faulty->writes_until_failure = 3;
  auto failed = PrecomputeToStore(*MakeAlsRecommender(m), seen, store->get(), opts);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Status::Code::kIOError) << failed.status().ToString();
  EXPECT_NE(failed.status().message().find("No space left on device"), std::string::npos)
      << failed.status().ToString();
  EXPECT_GT(faulty->injected_failures(), 0u);
  std::string landed;
  EXPECT_TRUE(faulty->base().Get("reco/v/v2/u/u1", &landed).ok());  // written, not visible
  auto active = (*store)->ActiveVersion();
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_EQ(*active, "v1");
  RecList list;
  ASSERT_TRUE((*store)->GetUserRecs("u2", &list).ok());
  EXPECT_EQ(list.version(), "v1");
  EXPECT_EQ(list.size(), 2u);
  EXPECT_FALSE((*store)->GetVersionMeta("v2").ok());  // no version record: never listed

  faulty->writes_until_failure = -1;
  auto healed = PrecomputeToStore(*MakeAlsRecommender(m), seen, store->get(), opts);
  ASSERT_TRUE(healed.ok()) << healed.status().ToString();
  active = (*store)->ActiveVersion();
  ASSERT_TRUE(active.ok());
  EXPECT_EQ(*active, "v2");
  ASSERT_TRUE((*store)->GetUserRecs("u2", &list).ok());
  EXPECT_EQ(list.version(), "v2");
}

}  // namespace
}  // namespace reco
