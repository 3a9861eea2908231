#include "reco/interactions.h"

#include <gtest/gtest.h>

namespace reco {
namespace {

TEST(IdMapTest, DenseFirstSeenOrder) {
  IdMap m;
  EXPECT_EQ(m.GetOrAdd("196"), 0u);
  EXPECT_EQ(m.GetOrAdd("tt0114709"), 1u);
  EXPECT_EQ(m.GetOrAdd("196"), 0u);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.External(1), "tt0114709");
  EXPECT_EQ(m.Find("tt0114709"), 1u);
  EXPECT_FALSE(m.Find("nope").has_value());
}

// 3x4 matrix, records given out of order:
//   row 0: (2, 5) (0, 1)      row 1: empty      row 2: (3, 2) (1, 4)
TEST(CsrMatrixTest, FromInteractionsSortsRowsAndTransposes) {
  std::vector<Interaction> recs = {{2, 3, 2.f, 0}, {0, 2, 5.f, 0}, {2, 1, 4.f, 0}, {0, 0, 1.f, 0}};
  CsrMatrix m = CsrMatrix::FromInteractions(recs, 3, 4);
  EXPECT_EQ(m.nnz(), 4u);
  EXPECT_EQ(m.indptr, (std::vector<uint64_t>{0, 2, 2, 4}));
  EXPECT_EQ(m.indices, (std::vector<uint32_t>{0, 2, 1, 3}));
  EXPECT_EQ(m.values, (std::vector<float>{1.f, 5.f, 4.f, 2.f}));
  EXPECT_EQ(m.RowLength(1), 0u);

  CsrMatrix t = m.Transposed();
  EXPECT_EQ(t.rows, 4u);
  EXPECT_EQ(t.cols, 3u);
  EXPECT_EQ(t.indptr, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(t.indices, (std::vector<uint32_t>{0, 2, 0, 2}));
  EXPECT_EQ(t.values, (std::vector<float>{1.f, 4.f, 5.f, 2.f}));
  CsrMatrix back = t.Transposed();
  EXPECT_EQ(back.indptr, m.indptr);
  EXPECT_EQ(back.indices, m.indices);
  EXPECT_EQ(back.values, m.values);
}

}  // namespace
}  // namespace reco
