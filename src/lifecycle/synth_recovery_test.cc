// Does ALS recover planted structure? Synthetic implicit data is drawn from a
// known low-rank model (reco/synth.h); implicit ALS is trained on it, and each
// user's recommended top-10 (seen items excluded) is compared with the
// planted model's top-10 over the same unseen items. A popularity ranking is
// the baseline: it knows the planted popularity term but no taste.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <string>

#include "../testing/temp_dir.h"
#include "reco/als.h"
#include "reco/loader.h"
#include "reco/synth.h"
#include "reco/topk.h"

namespace reco {
namespace {

namespace fs = std::filesystem;
constexpr uint32_t kK = 10;

// Mean over users of |a_u ∩ b_u| / k (users with fewer than k unseen items skipped).
double RecallAgainst(const RankedLists& planted, const RankedLists& got) {
  double sum = 0;
  uint32_t users = 0;
  for (uint32_t u = 0; u < planted.rows(); ++u) {
    auto want = planted.Items(u);
    if (want.size() < kK) continue;
    auto have = got.Items(u);
    uint32_t hits = 0;
    for (uint32_t item : have) hits += std::count(want.begin(), want.end(), item) > 0 ? 1 : 0;
    sum += static_cast<double>(hits) / kK;
    ++users;
  }
  return users == 0 ? 0.0 : sum / users;
}

class SynthRecoveryTest : public ::testing::Test {
 protected:
  testing_util::TempDir scratch_{"reco-synth-recovery"};
  const fs::path dir_ = scratch_.path();
};

TEST_F(SynthRecoveryTest, ImplicitAlsRecoversPlantedTopTen) {
  SynthOptions so;
  so.users = 2000;
  so.items = 500;
  so.interactions = 60000;
  so.rank = 8;
  so.seed = 20261125;
  so.implicit = true;
  so.progress = false;
  const std::string data_path = (dir_ / "synth.csv").string();
  const std::string factors_path = (dir_ / "planted.txt").string();
  ASSERT_TRUE(GenerateSynthetic(so, data_path, factors_path).ok());

  LoadOptions lo;
  lo.format = InputFormat::kRatingsCsv;
  Result<Dataset> ds = LoadInteractions(data_path, lo);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  Result<PlantedModel> planted = LoadPlantedModel(factors_path);
  ASSERT_TRUE(planted.ok()) << planted.status().ToString();
  const uint32_t users = ds->users.size(), items = ds->items.size();
  ASSERT_EQ(users, so.users);
  const CsrMatrix seen = CsrMatrix::FromInteractions(ds->interactions, users, items);

  // The planted model in the data set's index space: user index = user ID
  // (users are written in ID order); items are re-ordered by first sighting.
  const uint32_t r = planted->rank;
  std::vector<float> planted_items(static_cast<size_t>(items) * r), planted_bias(items);
  for (uint32_t j = 0; j < items; ++j) {
    const uint32_t id = static_cast<uint32_t>(std::stoul(ds->items.External(j)));
    std::copy_n(planted->item_factors.begin() + static_cast<size_t>(id) * r, r,
                planted_items.begin() + static_cast<size_t>(j) * r);
    planted_bias[j] = planted->item_bias[id];
  }
  TopKOptions to;
  to.k = kK;
  to.exclude = &seen;
  to.item_bias = planted_bias;
  Result<RankedLists> planted_top =
      TopKItems({planted->user_factors.data(), users, r}, {planted_items.data(), items, r}, {}, to);
  ASSERT_TRUE(planted_top.ok()) << planted_top.status().ToString();

  AlsOptions ao;
  ao.implicit = true;
  ao.factors = 16;
  ao.iterations = 10;
  ao.regularization = 1.0f;
  ao.alpha = 3.0f;
  ao.seed = 7;
  Result<FactorModel> model = TrainAls(seen, ds->users, ds->items, ao);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  to.item_bias = {};
  Result<RankedLists> als_top =
      TopKItems({model->user_factors.data(), users, model->factors()},
                {model->item_factors.data(), items, model->factors()}, {}, to);
  ASSERT_TRUE(als_top.ok()) << als_top.status().ToString();

  // Popularity: the same ranking of items (by training count) for everyone.
  std::vector<float> count(items, 0.0f);
  for (const Interaction& rec : ds->interactions) count[rec.item] += 1.0f;
  std::vector<float> no_user_taste(users, 0.0f), no_item_taste(items, 0.0f);
  to.item_bias = count;
  Result<RankedLists> popular_top =
      TopKItems({no_user_taste.data(), users, 1}, {no_item_taste.data(), items, 1}, {}, to);
  ASSERT_TRUE(popular_top.ok()) << popular_top.status().ToString();

  const double als_recall = RecallAgainst(*planted_top, *als_top);
  const double popular_recall = RecallAgainst(*planted_top, *popular_top);
  RecordProperty("als_recall", std::to_string(als_recall));
  RecordProperty("popularity_recall", std::to_string(popular_recall));
  std::printf("recall@10 against the planted top-10: ALS %.4f, popularity %.4f\n", als_recall,
              popular_recall);
  // Measured: ALS 0.453, popularity 0.158 (deterministic for these seeds).
  EXPECT_GE(als_recall, 2.0 * popular_recall);
  EXPECT_GE(als_recall, 0.35);
}

}  // namespace
}  // namespace reco
