#include "reco/interactions.h"

#include <xxhash.h>

#include <algorithm>
#include <numeric>

namespace reco {

size_t IdMap::Hash::operator()(std::string_view s) const noexcept {
  return static_cast<size_t>(XXH3_64bits(s.data(), s.size()));
}

uint32_t IdMap::GetOrAdd(std::string_view external) {
  auto it = index_.find(external);
  if (it != index_.end()) return it->second;
  uint32_t idx = size();
  externals_.emplace_back(external);
  index_.emplace(externals_.back(), idx);
  return idx;
}

std::optional<uint32_t> IdMap::Find(std::string_view external) const {
  auto it = index_.find(external);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void IdMap::Reserve(size_t n) {
  externals_.reserve(n);
  index_.reserve(n);
}

CsrMatrix CsrMatrix::FromInteractions(const std::vector<Interaction>& records, uint32_t rows,
                                      uint32_t cols) {
  CsrMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.indptr.assign(static_cast<size_t>(rows) + 1, 0);
  for (const Interaction& r : records) ++m.indptr[r.user + 1];
  std::partial_sum(m.indptr.begin(), m.indptr.end(), m.indptr.begin());
  m.indices.resize(records.size());
  m.values.resize(records.size());
  std::vector<uint64_t> next(m.indptr.begin(), m.indptr.end() - 1);
  for (const Interaction& r : records) {
    uint64_t pos = next[r.user]++;
    m.indices[pos] = r.item;
    m.values[pos] = r.value;
  }
  // Sort each row by column so lookups can binary-search and output is stable.
  std::vector<std::pair<uint32_t, float>> row;
  for (uint32_t r = 0; r < rows; ++r) {
    uint64_t b = m.indptr[r], e = m.indptr[r + 1];
    if (std::is_sorted(m.indices.begin() + b, m.indices.begin() + e)) continue;
    row.clear();
    for (uint64_t k = b; k < e; ++k) row.emplace_back(m.indices[k], m.values[k]);
    std::sort(row.begin(), row.end(),
              [](const auto& a, const auto& b2) { return a.first < b2.first; });
    for (uint64_t k = b; k < e; ++k) {
      m.indices[k] = row[k - b].first;
      m.values[k] = row[k - b].second;
    }
  }
  return m;
}

CsrMatrix CsrMatrix::Transposed() const {
  CsrMatrix t;
  t.rows = cols;
  t.cols = rows;
  t.indptr.assign(static_cast<size_t>(cols) + 1, 0);
  for (uint32_t c : indices) ++t.indptr[c + 1];
  std::partial_sum(t.indptr.begin(), t.indptr.end(), t.indptr.begin());
  t.indices.resize(nnz());
  t.values.resize(nnz());
  std::vector<uint64_t> next(t.indptr.begin(), t.indptr.end() - 1);
  // Walking rows in order leaves every transposed row sorted by column.
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint64_t k = indptr[r]; k < indptr[r + 1]; ++k) {
      uint64_t pos = next[indices[k]]++;
      t.indices[pos] = r;
      t.values[pos] = values[k];
    }
  }
  return t;
}

}  // namespace reco
