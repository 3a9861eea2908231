#include "reco/topk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <vector>

namespace reco {
namespace {

// Small integer factors and half-integer biases keep every dot product exact
// in float, whatever order sgemm sums in, so results compare bit for bit with
// the naive loop and ties are real ties.
std::vector<float> IntegerMatrix(uint32_t rows, uint32_t dim, std::mt19937& rng) {
  std::uniform_int_distribution<int> value(-3, 3);
  std::vector<float> m(uint64_t{rows} * dim);
  for (float& x : m) x = static_cast<float>(value(rng));
  return m;
}

CsrMatrix RandomExclusions(uint32_t rows, uint32_t cols, double density, std::mt19937& rng) {
  std::bernoulli_distribution take(density);
  std::vector<Interaction> records;
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t c = 0; c < cols; ++c) {
      if (take(rng)) records.push_back({r, c, 1.0f, 0});
    }
  }
  return CsrMatrix::FromInteractions(records, rows, cols);
}

// The obvious double loop: every (user, item) dot product, full sort.
RankedLists NaiveTopK(const std::vector<float>& users, const std::vector<float>& items,
                      uint32_t dim, const std::vector<uint32_t>& ids, uint32_t k,
                      const std::vector<float>& bias, const CsrMatrix* exclude) {
  const uint32_t n_items = static_cast<uint32_t>(items.size() / dim);
  RankedLists lists;
  for (uint32_t u : ids) {
    std::vector<std::pair<float, uint32_t>> scored;
    for (uint32_t i = 0; i < n_items; ++i) {
      if (exclude) {
        auto row = exclude->indices.begin();
        if (std::binary_search(row + exclude->indptr[u], row + exclude->indptr[u + 1], i)) continue;
      }
      float s = 0;
      for (uint32_t d = 0; d < dim; ++d) s += users[u * dim + d] * items[i * dim + d];
      if (!bias.empty()) s += bias[i];
      scored.push_back({s, i});
    }
    std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    scored.resize(std::min<size_t>(scored.size(), k));
    std::vector<uint32_t> row_items;
    std::vector<float> row_scores;
    for (auto [s, i] : scored) {
      row_items.push_back(i);
      row_scores.push_back(s);
    }
    lists.AppendRow(row_items, row_scores);
  }
  return lists;
}

void ExpectSameLists(const RankedLists& got, const RankedLists& want) {
  ASSERT_EQ(got.rows(), want.rows());
  for (uint32_t r = 0; r < want.rows(); ++r) {
    ASSERT_EQ(got.RowLength(r), want.RowLength(r)) << "row " << r;
    for (uint32_t i = 0; i < want.RowLength(r); ++i) {
      EXPECT_EQ(got.Items(r)[i], want.Items(r)[i]) << "row " << r << " rank " << i;
      EXPECT_EQ(got.Scores(r)[i], want.Scores(r)[i]) << "row " << r << " rank " << i;
    }
  }
}

std::vector<uint32_t> AllIds(uint32_t n) {
  std::vector<uint32_t> ids(n);
  for (uint32_t i = 0; i < n; ++i) ids[i] = i;
  return ids;
}

TEST(TopKItemsTest, MatchesNaiveLoopWithExclusionsBiasesAndTies) {
  std::mt19937 rng(7);
  const uint32_t n_users = 300, n_items = 517, dim = 8;
  std::vector<float> users = IntegerMatrix(n_users, dim, rng);
  std::vector<float> items = IntegerMatrix(n_items, dim, rng);
  std::vector<float> bias(n_items);
  std::uniform_int_distribution<int> half_steps(-4, 4);
  for (float& b : bias) b = 0.5f * static_cast<float>(half_steps(rng));
  // Duplicate rows (same factors and bias) score equal for every user: the
  // lower index must come first.
  for (uint32_t i = 0; i < 40; ++i) {
    uint32_t copy = n_items - 1 - i;
    std::copy_n(items.begin() + i * dim, dim, items.begin() + copy * dim);
    bias[copy] = bias[i];
  }
  CsrMatrix exclude = RandomExclusions(n_users, n_items, 0.1, rng);

  TopKOptions options;
  options.k = 20;
  options.threads = 2;
  options.item_bias = bias;
  options.exclude = &exclude;
  options.query_block = 64;  // blocks that do not divide the sizes
  options.item_block = 128;
  auto got = TopKItems({users.data(), n_users, dim}, {items.data(), n_items, dim}, {}, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ExpectSameLists(*got, NaiveTopK(users, items, dim, AllIds(n_users), 20, bias, &exclude));

  // Default block sizes and one item block holding every item agree too.
  options.query_block = TopKOptions{}.query_block;
  options.item_block = TopKOptions{}.item_block;
  auto got_default =
      TopKItems({users.data(), n_users, dim}, {items.data(), n_items, dim}, {}, options);
  ASSERT_TRUE(got_default.ok());
  ExpectSameLists(*got_default, *got);
  options.item_block = 4096;
  auto got_one_block =
      TopKItems({users.data(), n_users, dim}, {items.data(), n_items, dim}, {}, options);
  ASSERT_TRUE(got_one_block.ok());
  ExpectSameLists(*got_one_block, *got);
}

TEST(TopKItemsTest, WithoutBiasOrExclusionsMatchesNaiveLoop) {
  std::mt19937 rng(11);
  const uint32_t n_users = 50, n_items = 200, dim = 5;
  std::vector<float> users = IntegerMatrix(n_users, dim, rng);
  std::vector<float> items = IntegerMatrix(n_items, dim, rng);
  TopKOptions options;
  options.k = 7;
  options.threads = 1;
  auto got = TopKItems({users.data(), n_users, dim}, {items.data(), n_items, dim}, {}, options);
  ASSERT_TRUE(got.ok());
  ExpectSameLists(*got, NaiveTopK(users, items, dim, AllIds(n_users), 7, {}, nullptr));
}

TEST(TopKItemsTest, OneAndTwoThreadsGiveIdenticalResults) {
  std::mt19937 rng(3);
  const uint32_t n_users = 1000, n_items = 300, dim = 16;
  std::vector<float> users = IntegerMatrix(n_users, dim, rng);
  std::vector<float> items = IntegerMatrix(n_items, dim, rng);
  CsrMatrix exclude = RandomExclusions(n_users, n_items, 0.05, rng);
  TopKOptions options;
  options.k = 10;
  options.exclude = &exclude;
  options.query_block = 32;
  options.threads = 1;
  auto one = TopKItems({users.data(), n_users, dim}, {items.data(), n_items, dim}, {}, options);
  options.threads = 2;
  auto two = TopKItems({users.data(), n_users, dim}, {items.data(), n_items, dim}, {}, options);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->indptr, two->indptr);
  EXPECT_EQ(one->items, two->items);
  EXPECT_EQ(one->scores, two->scores);
}

TEST(TopKItemsTest, FewerCandidatesThanKGivesShortRows) {
  // 4 items, user 0 has seen 2 of them, user 1 all of them, k = 10.
  const std::vector<float> users = {1, 0, 0, 1};
  const std::vector<float> items = {1, 0, 2, 0, 0, 3, 3, 3};
  CsrMatrix exclude = CsrMatrix::FromInteractions(
      {{0, 1, 1, 0}, {0, 3, 1, 0}, {1, 0, 1, 0}, {1, 1, 1, 0}, {1, 2, 1, 0}, {1, 3, 1, 0}}, 2, 4);
  TopKOptions options;
  options.k = 10;
  options.exclude = &exclude;
  auto got = TopKItems({users.data(), 2, 2}, {items.data(), 4, 2}, {}, options);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->rows(), 2u);
  // User 0 = (1,0) scores items 0 and 2: 1 and 0.
  ASSERT_EQ(got->RowLength(0), 2u);
  EXPECT_EQ(got->Items(0)[0], 0u);
  EXPECT_EQ(got->Scores(0)[0], 1.0f);
  EXPECT_EQ(got->Items(0)[1], 2u);
  EXPECT_EQ(got->Scores(0)[1], 0.0f);
  EXPECT_EQ(got->RowLength(1), 0u);
}

TEST(TopKItemsTest, RequestedUsersInRequestOrderWithRepeats) {
  const std::vector<float> users = {1, 0, 0, 1, -1, 0};  // 3 users, dim 2
  const std::vector<float> items = {1, 0, 0, 1, 1, 1};   // 3 items
  TopKOptions options;
  options.k = 2;
  const std::vector<uint32_t> ids = {2, 0, 2};
  auto got = TopKItems({users.data(), 3, 2}, {items.data(), 3, 2}, ids, options);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->rows(), 3u);
  // User 2 = (-1,0): item 1 scores 0, items 0 and 2 score -1 (tie: item 0 first).
  EXPECT_EQ(std::vector<uint32_t>(got->Items(0).begin(), got->Items(0).end()),
            (std::vector<uint32_t>{1, 0}));
  // User 0 = (1,0): items 0 and 2 tie at 1, lower index first.
  EXPECT_EQ(std::vector<uint32_t>(got->Items(1).begin(), got->Items(1).end()),
            (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(got->items[4], 1u);
}

TEST(TopKItemsTest, BiasOnlyModelRanksByBias) {
  // Zero-dimensional factors: the score is the item bias (a popularity model).
  const std::vector<float> bias = {0.5f, 2.0f, -1.0f, 2.0f};
  TopKOptions options;
  options.k = 3;
  options.item_bias = bias;
  const float dummy = 0;
  auto got = TopKItems({&dummy, 2, 0}, {&dummy, 4, 0}, {}, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->items, (std::vector<uint32_t>{1, 3, 0, 1, 3, 0}));
  EXPECT_EQ(got->scores, (std::vector<float>{2.0f, 2.0f, 0.5f, 2.0f, 2.0f, 0.5f}));
}

TEST(TopKItemsTest, NanScoresAreNeverReturned) {
  const std::vector<float> users = {1};
  const std::vector<float> items = {1, NAN, 3, NAN};
  TopKOptions options;
  options.k = 4;
  auto got = TopKItems({users.data(), 1, 1}, {items.data(), 4, 1}, {}, options);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->items, (std::vector<uint32_t>{2, 0}));
}

TEST(TopKItemsTest, RejectsBadInput) {
  const std::vector<float> f = {1, 2, 3, 4, 5, 6};
  TopKOptions options;
  EXPECT_EQ(TopKItems({f.data(), 2, 3}, {f.data(), 3, 2}, {}, options).status().code(),
            Status::Code::kInvalidArgument);
  const std::vector<uint32_t> bad_id = {5};
  EXPECT_EQ(TopKItems({f.data(), 2, 3}, {f.data(), 2, 3}, bad_id, options).status().code(),
            Status::Code::kInvalidArgument);
  const std::vector<float> short_bias = {1};
  options.item_bias = short_bias;
  EXPECT_EQ(TopKItems({f.data(), 2, 3}, {f.data(), 2, 3}, {}, options).status().code(),
            Status::Code::kInvalidArgument);
  options.item_bias = {};
  CsrMatrix wrong_shape = CsrMatrix::FromInteractions({}, 3, 2);
  options.exclude = &wrong_shape;
  EXPECT_EQ(TopKItems({f.data(), 2, 3}, {f.data(), 2, 3}, {}, options).status().code(),
            Status::Code::kInvalidArgument);
  CsrMatrix unsorted = CsrMatrix::FromInteractions({}, 2, 2);
  unsorted.indptr = {0, 2, 2};
  unsorted.indices = {1, 0};
  unsorted.values = {1, 1};
  options.exclude = &unsorted;
  auto status = TopKItems({f.data(), 2, 3}, {f.data(), 2, 3}, {}, options).status();
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(status.message().find("row 0"), std::string::npos) << status.message();
}

TEST(SimilarItemsTest, HandMadeVectors) {
  // item 0 (1,0); 1 (1,1); 2 (0,1); 3 (-1,0); 4 (2,0) points like item 0; 5 is zero.
  const std::vector<float> items = {1, 0, 1, 1, 0, 1, -1, 0, 2, 0, 0, 0};
  TopKOptions options;
  options.k = 5;
  const std::vector<uint32_t> ids = {0, 5};
  auto got = SimilarItems({items.data(), 6, 2}, ids, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->rows(), 2u);
  // Item 0: 4 (cos 1), 1 (1/sqrt 2), then 2 and 5 tie at 0 (lower first), never itself.
  EXPECT_EQ(std::vector<uint32_t>(got->Items(0).begin(), got->Items(0).end()),
            (std::vector<uint32_t>{4, 1, 2, 5, 3}));
  EXPECT_NEAR(got->Scores(0)[0], 1.0, 1e-6);
  EXPECT_NEAR(got->Scores(0)[1], 1.0 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(got->Scores(0)[2], 0.0, 1e-6);
  EXPECT_NEAR(got->Scores(0)[4], -1.0, 1e-6);
  // The zero vector is similar to nothing: every other item at 0, by index.
  EXPECT_EQ(std::vector<uint32_t>(got->Items(1).begin(), got->Items(1).end()),
            (std::vector<uint32_t>{0, 1, 2, 3, 4}));
  for (float s : got->Scores(1)) EXPECT_EQ(s, 0.0f);
}

TEST(SimilarItemsTest, MatchesNaiveCosineOnRandomData) {
  std::mt19937 rng(5);
  const uint32_t n_items = 333, dim = 12;
  std::normal_distribution<float> normal;
  std::vector<float> items(n_items * dim);
  for (float& x : items) x = normal(rng);
  TopKOptions options;
  options.k = 15;
  options.threads = 2;
  options.query_block = 50;
  options.item_block = 100;
  auto got = SimilarItems({items.data(), n_items, dim}, {}, options);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->rows(), n_items);
  for (uint32_t q = 0; q < n_items; ++q) {
    std::vector<std::pair<double, uint32_t>> scored;
    for (uint32_t i = 0; i < n_items; ++i) {
      if (i == q) continue;
      double dot = 0, nq = 0, ni = 0;
      for (uint32_t d = 0; d < dim; ++d) {
        dot += double(items[q * dim + d]) * items[i * dim + d];
        nq += double(items[q * dim + d]) * items[q * dim + d];
        ni += double(items[i * dim + d]) * items[i * dim + d];
      }
      scored.push_back({dot / std::sqrt(nq * ni), i});
    }
    std::sort(scored.begin(), scored.end(), [](auto& a, auto& b) { return a.first > b.first; });
    ASSERT_EQ(got->RowLength(q), 15u);
    for (uint32_t r = 0; r < 15; ++r) {
      // Random normals have no near-ties at float precision in practice; the
      // score check is the real one.
      EXPECT_NEAR(got->Scores(q)[r], scored[r].first, 1e-5) << "item " << q << " rank " << r;
      EXPECT_EQ(got->Items(q)[r], scored[r].second) << "item " << q << " rank " << r;
    }
  }
}

TEST(RankedListsTest, AppendAndRead) {
  RankedLists lists = RankedLists::FromRows({{3, 1}, {}, {7}});
  ASSERT_EQ(lists.rows(), 3u);
  EXPECT_EQ(lists.indptr, (std::vector<uint64_t>{0, 2, 2, 3}));
  EXPECT_EQ(lists.Items(0)[1], 1u);
  EXPECT_EQ(lists.RowLength(1), 0u);
  EXPECT_TRUE(lists.Scores(2).empty());
}

// ---- TopKFromScoreBlocks ----------------------------------------------------

// A scorer that copies from a dense rows x items matrix, recording the widest
// block it was asked for (to check the scratch bound).
struct DenseScorer {
  const std::vector<float>* matrix;
  uint32_t num_items;
  std::atomic<uint64_t>* widest = nullptr;

  void operator()(const ScoreBlock& b) const {
    if (widest != nullptr) {
      uint64_t size = uint64_t{b.rows} * b.items, seen = widest->load();
      while (size > seen && !widest->compare_exchange_weak(seen, size)) {
      }
    }
    for (uint32_t r = 0; r < b.rows; ++r) {
      for (uint32_t j = 0; j < b.items; ++j) {
        b.scores[uint64_t{r} * b.items + j] =
            (*matrix)[uint64_t{b.first_row + r} * num_items + b.first_item + j];
      }
    }
  }
};

// Full sort of each row with the exclusion applied: the reference.
RankedLists NaiveSelect(const std::vector<float>& m, uint32_t rows, uint32_t cols, uint32_t k,
                        const CsrMatrix* exclude, const std::vector<uint32_t>& exclude_rows) {
  RankedLists lists;
  for (uint32_t r = 0; r < rows; ++r) {
    std::vector<std::pair<float, uint32_t>> scored;
    for (uint32_t i = 0; i < cols; ++i) {
      if (exclude) {
        const uint32_t er = exclude_rows.empty() ? r : exclude_rows[r];
        auto row = exclude->indices.begin();
        if (std::binary_search(row + exclude->indptr[er], row + exclude->indptr[er + 1], i)) {
          continue;
        }
      }
      if (std::isnan(m[uint64_t{r} * cols + i])) continue;
      scored.push_back({m[uint64_t{r} * cols + i], i});
    }
    std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    scored.resize(std::min<size_t>(scored.size(), k));
    std::vector<uint32_t> row_items;
    std::vector<float> row_scores;
    for (auto [score, i] : scored) {
      row_items.push_back(i);
      row_scores.push_back(score);
    }
    lists.AppendRow(row_items, row_scores);
  }
  return lists;
}

TEST(TopKFromScoreBlocksTest, KnownAnswerWithExclusionAndTies) {
  // 3 rows x 5 items. Row 0 has a tie (items 1 and 3 at 4) broken by the
  // lower index; row 1 excludes its best item; row 2 is all ties.
  const std::vector<float> m = {
      1, 4, 2, 4, 0,  //
      9, 1, 8, 7, 3,  //
      5, 5, 5, 5, 5,  //
  };
  const CsrMatrix exclude = CsrMatrix::FromInteractions({{1, 0, 1, 0}, {2, 1, 1, 0}}, 3, 5);
  BlockTopKOptions o;
  o.k = 3;
  o.threads = 1;
  o.exclude = &exclude;
  auto got = TopKFromScoreBlocks(3, 5, DenseScorer{&m, 5}, o);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->rows(), 3u);
  EXPECT_EQ(std::vector<uint32_t>(got->Items(0).begin(), got->Items(0).end()),
            (std::vector<uint32_t>{1, 3, 2}));
  EXPECT_EQ(std::vector<float>(got->Scores(0).begin(), got->Scores(0).end()),
            (std::vector<float>{4, 4, 2}));
  EXPECT_EQ(std::vector<uint32_t>(got->Items(1).begin(), got->Items(1).end()),
            (std::vector<uint32_t>{2, 3, 4}));
  EXPECT_EQ(std::vector<uint32_t>(got->Items(2).begin(), got->Items(2).end()),
            (std::vector<uint32_t>{0, 2, 3}));
}

TEST(TopKFromScoreBlocksTest, KBeyondRemainingItemsAndNanRows) {
  const std::vector<float> m = {
      3,   1,   2,    //
      NAN, NAN, NAN,  // a row the scorer could not score
      NAN, 2,   -1,   //
  };
  const CsrMatrix exclude = CsrMatrix::FromInteractions({{0, 2, 1, 0}}, 3, 3);
  BlockTopKOptions o;
  o.k = 10;
  o.exclude = &exclude;
  auto got = TopKFromScoreBlocks(3, 3, DenseScorer{&m, 3}, o);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->indptr, (std::vector<uint64_t>{0, 2, 2, 4}));
  EXPECT_EQ(got->items, (std::vector<uint32_t>{0, 1, 1, 2}));
  EXPECT_EQ(got->scores, (std::vector<float>{3, 1, 2, -1}));
}

TEST(TopKFromScoreBlocksTest, ExclusionRowsMapQueriesToMatrixRows) {
  // Queries 0 and 1 read exclusion rows 2 and 0.
  const std::vector<float> m = {4, 3, 2, 1, 4, 3, 2, 1};
  const CsrMatrix exclude = CsrMatrix::FromInteractions({{0, 1, 1, 0}, {2, 0, 1, 0}}, 3, 4);
  const std::vector<uint32_t> rows = {2, 0};
  BlockTopKOptions o;
  o.k = 2;
  o.exclude = &exclude;
  o.exclude_rows = rows;
  auto got = TopKFromScoreBlocks(2, 4, DenseScorer{&m, 4}, o);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->items, (std::vector<uint32_t>{1, 2, 0, 2}));
}

TEST(TopKFromScoreBlocksTest, SameResultForAnyThreadCountAndBlockShape) {
  // Small integer scores make ties common; sizes cross the 256-row block.
  std::mt19937 rng(5);
  const uint32_t rows = 700, cols = 97;
  std::uniform_int_distribution<int> value(-4, 4);
  std::vector<float> m(uint64_t{rows} * cols);
  for (float& x : m) x = static_cast<float>(value(rng));
  const CsrMatrix exclude = RandomExclusions(rows, cols, 0.2, rng);
  for (uint32_t k : {1u, 7u, 96u, 97u, 200u}) {
    const RankedLists want = NaiveSelect(m, rows, cols, k, &exclude, {});
    for (int threads : {1, 2, 3}) {
      // 64 bytes: 16 floats, so 8 rows of 2 items per block; 4 MiB: whole rows.
      for (uint64_t scratch : {uint64_t{64}, uint64_t{1000}, uint64_t{4} << 20}) {
        std::atomic<uint64_t> widest{0};
        BlockTopKOptions o;
        o.k = k;
        o.threads = threads;
        o.exclude = &exclude;
        o.scratch_bytes = scratch;
        auto got = TopKFromScoreBlocks(rows, cols, DenseScorer{&m, cols, &widest}, o);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        SCOPED_TRACE("k " + std::to_string(k) + " threads " + std::to_string(threads) +
                     " scratch " + std::to_string(scratch));
        ExpectSameLists(*got, want);
        EXPECT_LE(widest.load() * sizeof(float), std::max<uint64_t>(scratch, 8 * sizeof(float)));
      }
    }
  }
}

TEST(TopKFromScoreBlocksTest, RejectsBadExclusions) {
  const std::vector<float> m(6, 1.0f);
  BlockTopKOptions o;
  const CsrMatrix wrong_cols = CsrMatrix::FromInteractions({}, 2, 4);
  o.exclude = &wrong_cols;
  EXPECT_EQ(TopKFromScoreBlocks(2, 3, DenseScorer{&m, 3}, o).status().code(),
            Status::Code::kInvalidArgument);
  const CsrMatrix wrong_rows = CsrMatrix::FromInteractions({}, 3, 3);
  o.exclude = &wrong_rows;
  EXPECT_EQ(TopKFromScoreBlocks(2, 3, DenseScorer{&m, 3}, o).status().code(),
            Status::Code::kInvalidArgument);
  const std::vector<uint32_t> out_of_range = {0, 3};
  o.exclude_rows = out_of_range;
  EXPECT_EQ(TopKFromScoreBlocks(2, 3, DenseScorer{&m, 3}, o).status().code(),
            Status::Code::kInvalidArgument);
  o.exclude = nullptr;
  EXPECT_EQ(TopKFromScoreBlocks(2, 3, DenseScorer{&m, 3}, o).status().code(),
            Status::Code::kInvalidArgument);
  o.exclude_rows = {};
  EXPECT_EQ(TopKFromScoreBlocks(2, 3, BlockScorer{}, o).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace reco
