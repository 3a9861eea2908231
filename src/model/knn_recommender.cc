// Item-kNN / SAR-style co-occurrence (as in Microsoft Recommenders' SAR)
// behind reco::Recommender.
//
// With w_ui = t(r_ui) * 2^(-(T - time_ui) / half_life) (no decay factor when
// half_life_days = 0; T the latest training timestamp), the co-occurrence of
// items i and j is c_ij = sum_u w_ui w_uj, and their similarity
//   cosine   s_ij = c_ij / (sqrt(c_ii c_jj) + shrinkage)
//   jaccard  s_ij = c_ij / (c_ii + c_jj - c_ij + shrinkage)
//   lift     s_ij = c_ij / (c_ii c_jj + shrinkage).
// Each item keeps its `neighbors` most similar other items (largest s_ij,
// ties by lower j; only pairs that co-occur, c_ij != 0): a sparse items x
// items matrix S, so memory is O(items * neighbors), never O(items^2).
// A history h scores item j as sum_i h_i S_ij; item q's similar items are its
// own neighbour row.
//
// Fit builds one row of C at a time per worker (a dense accumulator over the
// users of item i and their items), so rows are independent and the result is
// the same for any thread count.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "family.h"
#include "item_item.h"
#include "reco/coding.h"
#include "reco/parallel.h"

namespace reco {
namespace {

constexpr double kSecondsPerDay = 86400.0;

class KnnRecommender final : public ItemItemRecommender {
 public:
  KnnRecommender(const ModelConfig& config, IdMap users, IdMap items, CsrMatrix neighbors)
      : ItemItemRecommender(config, std::move(users), std::move(items)),
        neighbors_(std::move(neighbors)) {}

  ModelFamily family() const override { return ModelFamily::kItemKnn; }

  // The neighbour row of each item, best first (ties by lower index), at most
  // k; an item that co-occurs with nothing has no similar items.
  Result<RankedLists> SimilarItems(std::span<const uint32_t> items, uint32_t k,
                                   int) const override {
    RECO_RETURN_IF_ERROR(CheckIndices(items, num_items(), "item"));
    const uint32_t queries = items.empty() ? num_items() : static_cast<uint32_t>(items.size());
    RankedLists out;
    std::vector<std::pair<float, uint32_t>> row;
    std::vector<uint32_t> ids;
    std::vector<float> scores;
    for (uint32_t q = 0; q < queries; ++q) {
      const uint32_t item = items.empty() ? q : items[q];
      row.clear();
      for (uint64_t p = neighbors_.indptr[item]; p < neighbors_.indptr[item + 1]; ++p) {
        row.emplace_back(neighbors_.values[p], neighbors_.indices[p]);
      }
      const size_t keep = std::min<size_t>(k, row.size());
      std::partial_sort(row.begin(), row.begin() + static_cast<ptrdiff_t>(keep), row.end(),
                        [](const auto& a, const auto& b) {
                          return a.first != b.first ? a.first > b.first : a.second < b.second;
                        });
      ids.clear();
      scores.clear();
      for (size_t n = 0; n < keep; ++n) {
        scores.push_back(row[n].first);
        ids.push_back(row[n].second);
      }
      out.AppendRow(ids, scores);
    }
    return out;
  }

  Status CheckFinite() const override {
    return CheckFiniteArray(neighbors_.values.data(), neighbors_.values.size(), 0,
                            "kNN similarity");
  }
  uint64_t memory_bytes() const override {
    return neighbors_.indptr.size() * sizeof(uint64_t) +
           neighbors_.nnz() * (sizeof(uint32_t) + sizeof(float));
  }

  // Payload (docs/formats.md, "Item-kNN payload"): u64 nnz, u64 indptr[I+1],
  // u32 indices[nnz], f32 similarities[nnz].
  uint64_t payload_bytes() const override {
    return 8 + 8 * neighbors_.indptr.size() + 8 * neighbors_.nnz();
  }
  void WritePayload(model_file::HashingWriter& w) const override {
    w.U64(neighbors_.nnz());
    w.U64s(neighbors_.indptr.data(), neighbors_.indptr.size());
    w.U32s(neighbors_.indices.data(), neighbors_.indices.size());
    w.Floats(neighbors_.values.data(), neighbors_.values.size());
  }

 private:
  void AddRow(uint32_t item, float weight, uint32_t first, uint32_t count,
              float* out) const override {
    const uint64_t end = neighbors_.indptr[item + 1];
    for (uint64_t p = neighbors_.indptr[item]; p < end; ++p) {
      const uint32_t j = neighbors_.indices[p] - first;  // wraps below `first`
      if (j < count) out[j] += weight * neighbors_.values[p];
    }
  }

  CsrMatrix neighbors_;  // items x items, columns increasing, no diagonal
};

double Similarity(KnnSimilarity s, double cij, double cii, double cjj, double shrinkage) {
  switch (s) {
    case KnnSimilarity::kCosine:
      return cij / (std::sqrt(cii * cjj) + shrinkage);
    case KnnSimilarity::kJaccard:
      return cij / (cii + cjj - cij + shrinkage);
    case KnnSimilarity::kLift:
      return cij / (cii * cjj + shrinkage);
  }
  return 0;
}

}  // namespace

FitCost KnnFitCost(uint32_t users, uint32_t items, uint64_t nnz, uint32_t neighbors) {
  // The weighted copy of X and its transpose (indices + values + indptr),
  // one dense accumulator, flag and touched list per worker (counted once), and
  // the neighbour lists; work is sum_u n_u^2, at least nnz^2 / U.
  const double n = static_cast<double>(nnz), u = users, i = items;
  FitCost cost;
  cost.peak_bytes = static_cast<uint64_t>(16.0 * n + 8.0 * (u + i + 2) + 13.0 * i +
                                          16.0 * i * std::min<double>(neighbors, i));
  cost.flops = (users == 0 ? 0 : 2.0 * n * n / u) + i * std::min<double>(neighbors, i) * 4;
  return cost;
}

std::unique_ptr<Recommender> MakeKnnRecommender(const ModelConfig& config, IdMap users, IdMap items,
                                                CsrMatrix neighbors) {
  return std::make_unique<KnnRecommender>(config, std::move(users), std::move(items),
                                          std::move(neighbors));
}

Result<std::unique_ptr<Recommender>> FitKnn(const ModelConfig& config, const FitData& data,
                                            const FitContext& context) {
  const KnnOptions& o = config.knn;
  if (o.half_life_days > 0 && data.timestamps.empty()) {
    return Status::InvalidArgument(
        "knn: half_life_days needs timestamps, and the training data has none");
  }
  // X with w_ui in place of the raw values.
  CsrMatrix x = TransformedValues(*data.interactions, config.values);
  if (o.half_life_days > 0) {
    const int64_t latest = *std::max_element(data.timestamps.begin(), data.timestamps.end());
    const double half_life_seconds = o.half_life_days * kSecondsPerDay;
    for (uint64_t p = 0; p < x.nnz(); ++p) {
      const double age = static_cast<double>(latest - data.timestamps[p]);
      x.values[p] = static_cast<float>(x.values[p] * std::exp2(-age / half_life_seconds));
    }
  }
  const CsrMatrix xt = x.Transposed();
  const uint32_t n_items = x.cols;
  std::vector<double> diag(n_items, 0.0);
  for (uint32_t i = 0; i < n_items; ++i) {
    for (uint64_t p = xt.indptr[i]; p < xt.indptr[i + 1]; ++p) {
      diag[i] += double{xt.values[p]} * xt.values[p];
    }
  }

  const int threads = ResolveThreads(context.threads);
  struct Scratch {
    std::vector<double> acc;      // row i of C, dense
    std::vector<uint8_t> listed;  // j is in `touched`
    std::vector<uint32_t> touched;
    std::vector<std::pair<float, uint32_t>> candidates;
  };
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  std::vector<std::vector<std::pair<uint32_t, float>>> rows(n_items);
  ParallelFor(n_items, threads, 16, [&](uint64_t begin, uint64_t end, int worker) {
    Scratch& s = scratch[static_cast<size_t>(worker)];
    if (s.acc.empty()) {
      s.acc.assign(n_items, 0.0);
      s.listed.assign(n_items, 0);
    }
    for (uint64_t i = begin; i < end; ++i) {
      s.touched.clear();
      for (uint64_t p = xt.indptr[i]; p < xt.indptr[i + 1]; ++p) {
        const uint32_t u = xt.indices[p];
        const double wui = xt.values[p];
        for (uint64_t q = x.indptr[u]; q < x.indptr[u + 1]; ++q) {
          const uint32_t j = x.indices[q];
          if (j == i) continue;
          if (!s.listed[j]) {
            s.listed[j] = 1;
            s.touched.push_back(j);
          }
          s.acc[j] += wui * x.values[q];
        }
      }
      s.candidates.clear();
      for (uint32_t j : s.touched) {
        const double cij = s.acc[j];
        s.acc[j] = 0.0;
        s.listed[j] = 0;
        if (cij == 0.0) continue;
        s.candidates.emplace_back(
            static_cast<float>(Similarity(o.similarity, cij, diag[i], diag[j], o.shrinkage)), j);
      }
      const size_t keep = std::min<size_t>(o.neighbors, s.candidates.size());
      std::partial_sort(s.candidates.begin(), s.candidates.begin() + static_cast<ptrdiff_t>(keep),
                        s.candidates.end(), [](const auto& a, const auto& b) {
                          return a.first != b.first ? a.first > b.first : a.second < b.second;
                        });
      auto& row = rows[i];
      row.reserve(keep);
      for (size_t n = 0; n < keep; ++n)
        row.emplace_back(s.candidates[n].second, s.candidates[n].first);
      std::sort(row.begin(), row.end());
    }
  });
  scratch.clear();

  CsrMatrix s;
  s.rows = n_items;
  s.cols = n_items;
  s.indptr.reserve(uint64_t{n_items} + 1);
  s.indptr.push_back(0);
  for (auto& row : rows) {
    for (const auto& [j, v] : row) {
      s.indices.push_back(j);
      s.values.push_back(v);
    }
    s.indptr.push_back(s.indices.size());
    std::vector<std::pair<uint32_t, float>>().swap(row);
  }
  if (context.progress) {
    FitProgress p;
    p.step = 1;
    p.total = 1;
    p.status = std::to_string(s.nnz()) + " neighbours of " + std::to_string(n_items) + " items";
    context.progress(p);
  }
  auto model = std::make_unique<KnnRecommender>(config, *data.users, *data.items, std::move(s));
  Status finite = model->CheckFinite();
  if (!finite.ok()) return Status::FailedPrecondition("kNN fit: " + finite.message());
  return std::unique_ptr<Recommender>(std::move(model));
}

Result<std::unique_ptr<Recommender>> LoadKnnPayload(const ModelConfig& config, IdMap users,
                                                    IdMap items, const uint8_t* payload,
                                                    uint64_t bytes) {
  const uint64_t ni = items.size();
  const uint64_t fixed = 8 + 8 * (ni + 1);
  if (bytes < fixed) {
    return Status::Corruption("kNN payload is " + std::to_string(bytes) + " bytes; " +
                              std::to_string(ni) + " items need at least " + std::to_string(fixed));
  }
  const uint64_t nnz = DecodeFixed64(payload);
  // nnz <= bytes / 8 before the multiplication: no overflow.
  if (nnz > bytes / 8 || bytes != fixed + 8 * nnz) {
    return Status::Corruption("kNN payload is " + std::to_string(bytes) + " bytes; " +
                              std::to_string(ni) + " items and " + std::to_string(nnz) +
                              " neighbours need " + std::to_string(fixed + 8 * nnz));
  }
  CsrMatrix s;
  s.rows = static_cast<uint32_t>(ni);
  s.cols = static_cast<uint32_t>(ni);
  s.indptr.resize(ni + 1);
  s.indices.resize(nnz);
  s.values.resize(nnz);
  const uint8_t* p = payload + 8;
  for (uint64_t r = 0; r <= ni; ++r) s.indptr[r] = DecodeFixed64(p + 8 * r);
  p += 8 * (ni + 1);
  for (uint64_t n = 0; n < nnz; ++n) s.indices[n] = DecodeFixed32(p + 4 * n);
  p += 4 * nnz;
  DecodeFloats(p, nnz, s.values.data());
  if (s.indptr[0] != 0 || s.indptr[ni] != nnz) {
    return Status::Corruption("kNN payload: row offsets do not span the " + std::to_string(nnz) +
                              " neighbours");
  }
  for (uint64_t r = 0; r < ni; ++r) {
    const uint64_t lo = s.indptr[r], hi = s.indptr[r + 1];
    if (hi < lo || hi > nnz) {
      return Status::Corruption("kNN payload: row " + std::to_string(r) + " offsets decrease");
    }
    if (hi - lo > config.knn.neighbors) {
      return Status::Corruption("kNN payload: item " + std::to_string(r) + " has " +
                                std::to_string(hi - lo) + " neighbours, more than the config's " +
                                std::to_string(config.knn.neighbors));
    }
    for (uint64_t q = lo; q < hi; ++q) {
      const uint32_t j = s.indices[q];
      if (j >= ni || j == r || (q > lo && j <= s.indices[q - 1])) {
        return Status::Corruption("kNN payload: item " + std::to_string(r) + " neighbour " +
                                  std::to_string(j) +
                                  " is out of range, the item itself or out of order");
      }
    }
  }
  return MakeKnnRecommender(config, std::move(users), std::move(items), std::move(s));
}

}  // namespace reco
