// EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data")
// behind reco::Recommender.
//
// With X the users x items matrix of transformed values t(r_ui), EASE's
// item-item weights solve
//   min_B ||X - X B||_F^2 + lambda ||B||_F^2   subject to diag(B) = 0,
// whose closed form is, with G = X^T X and P = (G + lambda I)^-1,
//   B_ij = delta_ij - P_ij / P_jj         (B = I - P diag(1/diag P)),
// so the diagonal is exactly 0 and a user's scores are s_u = x_u B.
//
// Fit: G is accumulated in float64 from the sparse X (row i from the users
// of item i, in parallel over items: every row is written by one worker, so
// the result is the same for any thread count), then factorised and
// inverted in place by LAPACK (dpotrf + dpotri: Cholesky, float64, the
// BLAS's own threads), and B is kept in float32.
//
// Cost, estimated before anything is allocated:
//   memory = 8 I^2 (G, overwritten by its factor, then by P)
//          + 4 I^2 (B)
//          + 8 nnz + 8 (I + 1) (X^T, the item-major copy that builds G)
//          = 12 bytes per item^2 plus the copy;
//   flops  = 2 sum_u n_u^2 (G's lower triangle, twice for multiply-add)
//          + I^3 / 3 (dpotrf) + 2 I^3 / 3 (dpotri) + 2 I^2 (B),
// and Fit refuses with ResourceExhausted when the memory exceeds
// EaseOptions::max_memory_bytes (0: half of physical memory).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "family.h"
#include "item_item.h"
#include "reco/coding.h"
#include "reco/parallel.h"

extern "C" {
// LAPACK (OpenBLAS exports it): Cholesky factorisation and inverse from it,
// column-major. The trailing length is the Fortran hidden string length.
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
}

namespace reco {
namespace {

std::string Mib(double bytes) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.1f MiB", bytes / (1024.0 * 1024.0));
  return text;
}

// The fit's memory limit is not part of the model.
ModelConfig WithoutFitLimit(ModelConfig config) {
  config.ease.max_memory_bytes = 0;
  return config;
}

class EaseRecommender final : public ItemItemRecommender {
 public:
  EaseRecommender(const ModelConfig& config, IdMap users, IdMap items, std::vector<float> weights)
      : ItemItemRecommender(WithoutFitLimit(config), std::move(users), std::move(items)),
        weights_(std::move(weights)) {}

  ModelFamily family() const override { return ModelFamily::kEase; }
  // Row i of B (item i's contribution to every item's score).
  const float* weight_row(uint32_t i) const { return weights_.data() + uint64_t{i} * num_items(); }

  // Item q's similar items are the largest B_qj: row q of B, what a history
  // holding only q (with t = 1) scores. B is not symmetric; the row (not the
  // column) keeps SimilarItems(q) equal to recommending for "users who saw q".
  Result<RankedLists> SimilarItems(std::span<const uint32_t> items, uint32_t k,
                                   int threads) const override {
    return RankItemRows(items, k, threads, num_items(), Adder());
  }

  Status CheckFinite() const override {
    return CheckFiniteArray(weights_.data(), weights_.size(), num_items(), "EASE weight");
  }
  uint64_t memory_bytes() const override { return weights_.size() * sizeof(float); }

  // Payload (docs/formats.md, "EASE payload"): B, I x I f32, row-major.
  uint64_t payload_bytes() const override { return weights_.size() * sizeof(float); }
  void WritePayload(model_file::HashingWriter& w) const override {
    w.Floats(weights_.data(), weights_.size());
  }

 private:
  void AddRow(uint32_t item, float weight, uint32_t first, uint32_t count,
              float* out) const override {
    const float* row = weight_row(item) + first;
    for (uint32_t c = 0; c < count; ++c) out[c] += weight * row[c];
  }

  std::vector<float> weights_;  // I x I, row-major
};

// The memory the fit needs (the formula at the top of the file).
double EaseFitBytes(uint32_t items, uint64_t nnz) {
  const double i = items;
  return 12.0 * i * i + 8.0 * static_cast<double>(nnz) + 8.0 * (i + 1);
}

double EaseFitFlops(uint32_t items, double gram_flops) {
  const double i = items;
  return gram_flops + i * i * i + 2.0 * i * i;
}

}  // namespace

FitCost EaseFitCost(uint32_t users, uint32_t items, uint64_t nnz) {
  // Without the row lengths, sum_u n_u^2 is taken at its minimum nnz^2 / U
  // (every user with the same number of items).
  const double n = static_cast<double>(nnz);
  const double gram = users == 0 ? 0 : 2.0 * n * n / users;
  FitCost cost;
  cost.peak_bytes = static_cast<uint64_t>(EaseFitBytes(items, nnz));
  cost.flops = EaseFitFlops(items, gram);
  return cost;
}

std::unique_ptr<Recommender> MakeEaseRecommender(const ModelConfig& config, IdMap users,
                                                 IdMap items, std::vector<float> weights) {
  return std::make_unique<EaseRecommender>(config, std::move(users), std::move(items),
                                           std::move(weights));
}

Result<std::unique_ptr<Recommender>> FitEase(const ModelConfig& config, const FitData& data,
                                             const FitContext& context) {
  const CsrMatrix& x = *data.interactions;
  const uint32_t n_items = x.cols;
  const uint64_t limit =
      config.ease.max_memory_bytes != 0 ? config.ease.max_memory_bytes : DefaultFitMemoryLimit();
  const double need = EaseFitBytes(n_items, x.nnz());
  if (need > static_cast<double>(limit)) {
    return Status::ResourceExhausted(
        "EASE on a catalogue of " + std::to_string(n_items) + " items needs about " + Mib(need) +
        " (12 bytes per item^2: one float64 and one float32 items x items matrix), more than the "
        "memory limit of " +
        Mib(static_cast<double>(limit)) +
        (config.ease.max_memory_bytes != 0
             ? " (--max-memory)"
             : " (half of physical memory; raise it with --max-memory)") +
        "; use item-kNN (--family knn) for catalogues this large");
  }
  if (n_items > 46340) {
    // LAPACK's 32-bit index of an n x n column-major array overflows past here.
    return Status::ResourceExhausted("EASE on a catalogue of " + std::to_string(n_items) +
                                     " items exceeds LAPACK's 32-bit indexing (at most 46340 items)"
                                     "; use item-kNN (--family knn)");
  }
  const int threads = ResolveThreads(context.threads);
  auto report = [&](uint32_t step, const std::string& status) {
    if (!context.progress) return;
    FitProgress p;
    p.step = step;
    p.total = 4;
    p.status = status;
    context.progress(p);
  };
  const std::string shape = std::to_string(n_items) + " x " + std::to_string(n_items);

  // G = X^T X + lambda I, lower triangle of the row-major array (j <= i in
  // row i): to LAPACK's column-major view, the upper triangle.
  const CsrMatrix xt = x.Transposed();
  const uint64_t ni = n_items;
  std::vector<double> g(ni * ni, 0.0);
  ParallelFor(ni, threads, 8, [&](uint64_t begin, uint64_t end, int) {
    for (uint64_t i = begin; i < end; ++i) {
      double* row = g.data() + i * ni;
      for (uint64_t p = xt.indptr[i]; p < xt.indptr[i + 1]; ++p) {
        const uint32_t u = xt.indices[p];
        const double xui = config.values.Apply(xt.values[p]);
        if (xui == 0) continue;
        for (uint64_t q = x.indptr[u]; q < x.indptr[u + 1] && x.indices[q] <= i; ++q) {
          row[x.indices[q]] += xui * double{config.values.Apply(x.values[q])};
        }
      }
      row[i] += double{config.ease.lambda};
    }
  });
  report(1, "gram " + shape);

  // The BLAS fans out inside the factorisation; topk.h sets it back to one
  // thread per call for its own blocked GEMMs, and so do we when done.
  openblas_set_num_threads(threads);
  const int n = static_cast<int>(n_items);
  int info = 0;
  dpotrf_("U", &n, g.data(), &n, &info, 1);
  if (info == 0) {
    report(2, "factorised " + shape);
    dpotri_("U", &n, g.data(), &n, &info, 1);
  }
  openblas_set_num_threads(1);
  if (info != 0) {
    // G + lambda I with lambda > 0 is positive definite; only rounding on a
    // badly scaled X gets here.
    return Status::FailedPrecondition("EASE: X^T X + lambda I is not positive definite at pivot " +
                                      std::to_string(info) + " (lambda " +
                                      std::to_string(config.ease.lambda) + " too small?)");
  }
  report(3, "inverted " + shape);

  // B_ij = -P_ij / P_jj off the diagonal, 0 on it; P_ij is g[max*I + min].
  std::vector<float> b(ni * ni);
  ParallelFor(ni, threads, 8, [&](uint64_t begin, uint64_t end, int) {
    for (uint64_t i = begin; i < end; ++i) {
      float* row = b.data() + i * ni;
      for (uint64_t j = 0; j < ni; ++j) {
        const double pij = j <= i ? g[i * ni + j] : g[j * ni + i];
        row[j] = i == j ? 0.0f : static_cast<float>(-pij / g[j * ni + j]);
      }
    }
  });
  std::vector<double>().swap(g);
  report(4, "weights " + shape);

  auto model = std::make_unique<EaseRecommender>(config, *data.users, *data.items, std::move(b));
  Status finite = model->CheckFinite();
  if (!finite.ok()) return Status::FailedPrecondition("EASE fit: " + finite.message());
  return std::unique_ptr<Recommender>(std::move(model));
}

Result<std::unique_ptr<Recommender>> LoadEasePayload(const ModelConfig& config, IdMap users,
                                                     IdMap items, const uint8_t* payload,
                                                     uint64_t bytes) {
  const uint64_t ni = items.size();
  const uint64_t expected = ni * ni * sizeof(float);  // ni < 2^32: no overflow
  if (bytes != expected) {
    return Status::Corruption("EASE payload is " + std::to_string(bytes) + " bytes; " +
                              std::to_string(ni) + " items need " + std::to_string(expected));
  }
  std::vector<float> weights(ni * ni);
  DecodeFloats(payload, weights.size(), weights.data());
  for (uint64_t i = 0; i < ni; ++i) {
    if (weights[i * ni + i] != 0.0f) {
      return Status::Corruption("EASE payload: diagonal weight (" + std::to_string(i) + ", " +
                                std::to_string(i) + ") is not zero");
    }
  }
  return MakeEaseRecommender(config, std::move(users), std::move(items), std::move(weights));
}

}  // namespace reco
