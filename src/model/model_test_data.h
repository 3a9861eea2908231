// Test data for the model library's tests, one copy each: numbered ID maps,
// a reproducible random matrix (the ALS and fold-in tests), and tiny
// hand-made data sets for the item-item families' known-answer tests
// (ease_test.cc, knn_test.cc): users "u0".., items "i0".., as FitData.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reco/interactions.h"
#include "reco/recommender.h"

namespace reco::model_test {

// prefix + "0", prefix + "1", ..., n of them.
inline IdMap SequentialIds(uint32_t n, const std::string& prefix) {
  IdMap ids;
  for (uint32_t i = 0; i < n; ++i) ids.GetOrAdd(prefix + std::to_string(i));
  return ids;
}

// A reproducible sparse matrix: about `density` of the cells, values 1..5
// (a 64-bit LCG, so the same on every platform and standard library).
inline CsrMatrix RandomMatrix(uint32_t rows, uint32_t cols, double density, uint64_t seed) {
  std::vector<Interaction> cells;
  uint64_t state = seed;
  auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (uint32_t u = 0; u < rows; ++u) {
    for (uint32_t i = 0; i < cols; ++i) {
      if (static_cast<double>(next() % 10000) < density * 10000) {
        cells.push_back({u, i, static_cast<float>(1 + next() % 5), 0});
      }
    }
  }
  return CsrMatrix::FromInteractions(cells, rows, cols);
}

struct Data {
  CsrMatrix m;
  IdMap users, items;
  std::vector<int64_t> times;  // parallel to m's values; empty: none
  FitData fit() const { return {&m, &users, &items, times}; }
};

// A dense users x items matrix; zero cells are absent. No timestamps.
inline Data FromDense(const std::vector<std::vector<float>>& dense) {
  Data d;
  std::vector<Interaction> cells;
  for (uint32_t u = 0; u < dense.size(); ++u) {
    for (uint32_t i = 0; i < dense[u].size(); ++i) {
      if (dense[u][i] != 0) cells.push_back({u, i, dense[u][i], 0});
    }
  }
  d.users = SequentialIds(static_cast<uint32_t>(dense.size()), "u");
  d.items = SequentialIds(static_cast<uint32_t>(dense[0].size()), "i");
  d.m = CsrMatrix::FromInteractions(cells, d.users.size(), d.items.size());
  return d;
}

// Cells as {user, item, time}, each of value 1, with their timestamps.
inline Data FromCells(uint32_t users, uint32_t items,
                      const std::vector<std::vector<int64_t>>& cells) {
  Data d;
  std::vector<Interaction> records;
  for (const auto& c : cells) {
    records.push_back({static_cast<uint32_t>(c[0]), static_cast<uint32_t>(c[1]), 1.0f, c[2]});
  }
  d.users = SequentialIds(users, "u");
  d.items = SequentialIds(items, "i");
  d.m = CsrMatrix::FromInteractions(records, users, items);
  // Timestamps parallel to the CSR values (rows, then increasing columns).
  for (uint32_t u = 0; u < users; ++u) {
    for (uint64_t p = d.m.indptr[u]; p < d.m.indptr[u + 1]; ++p) {
      for (const auto& c : cells) {
        if (c[0] == u && c[1] == d.m.indices[p]) d.times.push_back(c[2]);
      }
    }
  }
  return d;
}

}  // namespace reco::model_test
