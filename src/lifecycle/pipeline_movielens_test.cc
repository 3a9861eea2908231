// Acceptance on MovieLens 100k with the Microsoft Recommenders benchmark
// protocol: stratified 75/25 split per user, seed 42, k = 10, default
// hyper-parameters of `reco pipeline`. The thresholds are issue #2's
// (explicit RMSE <= 0.93; implicit precision@10 >= 0.33 and NDCG@10 >= 0.38,
// i.e. better than Recommenders' SAR row).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../testing/temp_dir.h"
#include "reco/data_dir.h"
#include "reco/pipeline.h"

namespace reco {
namespace {

TEST(PipelineMovieLensTest, MeetsBenchmarkTargetsOnMl100k) {
  std::string data = MovieLensDataDir() + "/ml-100k/u.data";
  if (!std::filesystem::exists(data)) GTEST_SKIP() << data << " not present";
  PipelineOptions o;
  o.data_path = data;
  o.split.method = SplitMethod::kStratified;
  o.split.train_ratio = 0.75;
  o.split.seed = 42;
  o.k = 10;
  const testing_util::TempDir scratch("reco-pipeline-ml100k");
  o.out_dir = scratch.path();
  auto r = RunPipeline(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->split.train_records, 74992u);
  EXPECT_EQ(r->split.test_records, 25008u);
  ASSERT_EQ(r->runs.size(), 2u);
  const EvalResult& ex = r->runs[0].eval;
  const EvalResult& im = r->runs[1].eval;
  ASSERT_TRUE(ex.has_rating_metrics);
  EXPECT_LE(ex.rating.rmse, 0.93);
  EXPECT_GE(im.ranking.precision_at_k, 0.33);
  EXPECT_GE(im.ranking.ndcg_at_k, 0.38);

  // The reports and models the README points users to.
  for (const char* f : {"report.json", "report.html", "train.csv", "test.csv", "explicit-als.model",
                        "implicit-als.model"}) {
    EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/" + f)) << f;
  }
  std::ifstream in(o.out_dir + "/report.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["models"][1]["curve"].size(), o.models[1].config.als.iterations);
  EXPECT_NEAR(j["models"][0]["eval"]["rating"]["rmse"].get<double>(), ex.rating.rmse, 1e-12);
}

// The item-item families with the pipeline's defaults, same protocol. Random
// ranking gives P@10 of about 0.06 here; Recommenders' SAR row is 0.33.
// (Measured values are in the README's family table, not asserted here.)
EvalResult RunDefault(ModelFamily family, const std::string& name) {
  PipelineOptions o;
  o.data_path = MovieLensDataDir() + "/ml-100k/u.data";
  o.split.method = SplitMethod::kStratified;
  o.split.train_ratio = 0.75;
  o.split.seed = 42;
  o.k = 10;
  o.models = {{name, DefaultModelConfig(family)}};
  o.write_split_files = false;
  const testing_util::TempDir scratch("reco-pipeline-" + name);
  o.out_dir = scratch.path();
  auto r = RunPipeline(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok() || r->runs.size() != 1) return {};
  const EvalResult& e = r->runs[0].eval;
  std::printf("%s ml-100k: P@10 %.4f R@10 %.4f nDCG@10 %.4f MAP %.4f coverage %.4f\n", name.c_str(),
              e.ranking.precision_at_k, e.ranking.recall_at_k, e.ranking.ndcg_at_k, e.ranking.map,
              e.coverage.catalog);
  return e;
}

TEST(PipelineMovieLensTest, EaseWellAboveRandomOnMl100k) {
  if (!std::filesystem::exists(MovieLensDataDir() + "/ml-100k/u.data")) GTEST_SKIP();
  const EvalResult e = RunDefault(ModelFamily::kEase, "ease");
  EXPECT_FALSE(e.has_rating_metrics);
  EXPECT_GT(e.ranking.precision_at_k, 0.3);
  EXPECT_GT(e.ranking.ndcg_at_k, 0.3);
}

TEST(PipelineMovieLensTest, ItemKnnWellAboveRandomOnMl100k) {
  if (!std::filesystem::exists(MovieLensDataDir() + "/ml-100k/u.data")) GTEST_SKIP();
  const EvalResult e = RunDefault(ModelFamily::kItemKnn, "item-knn");
  EXPECT_FALSE(e.has_rating_metrics);
  EXPECT_GT(e.ranking.precision_at_k, 0.25);
  EXPECT_GT(e.ranking.ndcg_at_k, 0.25);
}

// Bit-for-bit reproducibility: the same seed gives the same metrics on a
// second run (splits, initialisation and solves are all deterministic).
TEST(PipelineMovieLensTest, SameSeedSameMetrics) {
  std::string data = MovieLensDataDir() + "/ml-100k/u.data";
  if (!std::filesystem::exists(data)) GTEST_SKIP() << data << " not present";
  PipelineOptions o;
  o.data_path = data;
  o.models = {{"explicit-als", DefaultModelConfig(ModelFamily::kExplicitAls)}};
  o.models[0].config.als.iterations = 3;
  o.write_split_files = false;
  const testing_util::TempDir scratch("reco-pipeline-repro");
  o.out_dir = scratch.path();
  auto a = RunPipeline(o);
  o.threads = 1;
  auto b = RunPipeline(o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->runs[0].eval.rating.rmse, b->runs[0].eval.rating.rmse);
  EXPECT_EQ(a->runs[0].eval.ranking.ndcg_at_k, b->runs[0].eval.ranking.ndcg_at_k);
}

}  // namespace
}  // namespace reco
