// The in-memory shape of behaviour data: external IDs mapped to dense
// indices, one flat array of (user, item, value, timestamp) records, and the
// compressed sparse matrices the trainers and scorers read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace reco {

// Maps external IDs (any string: "196", "tt0114709", "user-7") to dense
// indices 0..size()-1 in first-seen order. Persisted with the model so that
// serving speaks the same IDs as the input files.
class IdMap {
 public:
  uint32_t GetOrAdd(std::string_view external);
  std::optional<uint32_t> Find(std::string_view external) const;
  const std::string& External(uint32_t index) const { return externals_[index]; }
  uint32_t size() const { return static_cast<uint32_t>(externals_.size()); }
  const std::vector<std::string>& externals() const { return externals_; }
  void Reserve(size_t n);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept;
  };
  std::vector<std::string> externals_;
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
};

// The largest magnitude an interaction value may have. Values are checked
// against it where they enter (files, the API), so that every solver works
// in a range where squares and sums of values cannot overflow a float.
inline constexpr float kMaxInteractionValue = 1e6f;

// One observed interaction. `value` is the rating for explicit data, or the
// interaction strength (count, weight; 1 when the input has no value column)
// for implicit data. `timestamp` is seconds since the epoch, 0 when unknown.
struct Interaction {
  uint32_t user;
  uint32_t item;
  float value;
  int64_t timestamp;
};

// Everything a loader produces: ID maps plus the records that refer to them.
struct Dataset {
  IdMap users;
  IdMap items;
  std::vector<Interaction> interactions;
  bool has_values = true;      // false: clicks only (implicit, value=1)
  bool has_timestamps = true;  // false: chronological splits are refused
};

// Compressed sparse rows, 0-based. Rows are users (or items, for the
// transposed/CSC view); within a row, column indices are strictly increasing.
struct CsrMatrix {
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<uint64_t> indptr;   // rows + 1 entries
  std::vector<uint32_t> indices;  // nnz
  std::vector<float> values;      // nnz

  uint64_t nnz() const { return indices.size(); }
  uint32_t RowLength(uint32_t r) const { return static_cast<uint32_t>(indptr[r + 1] - indptr[r]); }

  // Builds a CSR of shape rows x cols from records; duplicate (row, col)
  // pairs must already have been resolved (the loader does it).
  static CsrMatrix FromInteractions(const std::vector<Interaction>& records, uint32_t rows,
                                    uint32_t cols);
  // The same matrix with rows and columns swapped (CSC of this one).
  CsrMatrix Transposed() const;
};

}  // namespace reco
