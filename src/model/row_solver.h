// The ALS row solve, shared by the trainer (als.cc), fold-in (fold_in.cc)
// and the MPI trainer (src/distributed/): one row's normal equations are
// assembled and solved by exactly this code wherever it runs, so the three
// agree to the last bit given the same fixed side. Internal to the library.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "reco/model.h"
#include "reco/parallel.h"

namespace reco::row_solver {

using Eigen::Index;

// Rows of the other side copied into a contiguous block before each rank-k
// update; bounds scratch however long a row is.
inline constexpr Index kGatherRows = 128;
// Rows claimed per ParallelFor task: rows are uneven (power-law activity),
// so small chunks balance better and the atomic counter costs nothing.
inline constexpr uint64_t kRowsPerTask = 16;

// Scratch for one solver thread; sized once, the solves allocate nothing.
struct Workspace {
  Workspace() = default;
  explicit Workspace(Index d) { Resize(d); }
  // A no-op when already of size d (Eigen does not reallocate).
  void Resize(Index d) {
    a.resize(d, d);
    b.resize(d);
    x.resize(d);
    gathered.resize(kGatherRows, d);
    r.resize(d);
    p.resize(d);
    ap.resize(d);
  }
  Eigen::MatrixXf a;
  Eigen::VectorXf b;
  Eigen::VectorXf x;
  FactorMatrix gathered;  // row-major: one gathered row is contiguous
  Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt;
  Eigen::LDLT<Eigen::MatrixXf, Eigen::Lower> ldlt;
  Eigen::VectorXf r, p, ap;  // conjugate gradient
};

// Solves a * x = b for symmetric a (lower triangle read). LLT suffices when
// lambda > 0; LDLT covers the semidefinite case lambda = 0 with few ratings.
inline void SolveSymmetric(Workspace& ws) {
  ws.llt.compute(ws.a);
  if (ws.llt.info() == Eigen::Success) {
    ws.x = ws.b;
    ws.llt.solveInPlace(ws.x);
    return;
  }
  ws.ldlt.compute(ws.a);
  ws.x = ws.ldlt.solve(ws.b);
}

// gram = Y^T Y. Summed over blocks whose boundaries depend only on the row
// count, in block order, so the result is the same for any thread count
// (and in any process holding the same Y).
inline void ComputeGram(const FactorMatrix& y, int threads, Eigen::MatrixXf* gram) {
  const Index k = y.cols();
  const Index n = y.rows();
  const Index block = std::max<Index>(1024, (n + 63) / 64);
  const Index blocks = (n + block - 1) / block;
  std::vector<Eigen::MatrixXf> partial(static_cast<size_t>(blocks), Eigen::MatrixXf::Zero(k, k));
  ParallelFor(static_cast<uint64_t>(blocks), threads, 1, [&](uint64_t begin, uint64_t end, int) {
    for (uint64_t blk = begin; blk < end; ++blk) {
      const Index start = static_cast<Index>(blk) * block;
      const Index count = std::min(block, n - start);
      partial[blk].selfadjointView<Eigen::Lower>().rankUpdate(
          y.middleRows(start, count).transpose());
    }
  });
  Eigen::MatrixXf lower = Eigen::MatrixXf::Zero(k, k);
  for (const auto& part : partial) lower += part;
  *gram = lower.selfadjointView<Eigen::Lower>();
}

// Explicit row (ALS-WR; Spark MLlib's ALS.computeFactors with its
// CholeskySolver). Row u with ratings r_ui, i in I(u), n_u = |I(u)|, solves
//
//   min_z  sum_i (r_ui - mu - c_i - z . a_i)^2 + lambda n_u |z|^2
//   =>     (sum_i a_i a_i^T + lambda n_u I) z = sum_i (r_ui - mu - c_i) a_i
//
// Without biases (other_bias null) a_i = y_i, z = x_u and mu = c_i = 0
// (Spark exactly). With biases a_i = [y_i; 1], so z = [x_u; b_u] solves
// factors and bias together; mu is the global mean and c_i the other side's
// (fixed) bias. The bias is regularised like the factors. `ws` must be sized
// k, or k + 1 with biases. Writes k floats to out, and the bias to *out_bias
// when other_bias is given. No ratings give zero (the regulariser alone).
inline void SolveExplicitRow(std::span<const uint32_t> cols, std::span<const float> values,
                             const FactorMatrix& other, const float* other_bias, float mu,
                             float lambda, Workspace& ws, float* out, float* out_bias) {
  const Index k = other.cols();
  const Index n = static_cast<Index>(cols.size());
  Eigen::Map<Eigen::RowVectorXf> x(out, k);
  if (n == 0) {
    x.setZero();
    if (other_bias != nullptr) *out_bias = 0.0f;
    return;
  }
  ws.a.setZero();
  ws.b.setZero();
  for (Index start = 0; start < n; start += kGatherRows) {
    const Index count = std::min(kGatherRows, n - start);
    for (Index j = 0; j < count; ++j) {
      const uint32_t col = cols[static_cast<size_t>(start + j)];
      float target = values[static_cast<size_t>(start + j)] - mu;
      if (other_bias != nullptr) {
        target -= other_bias[col];
        ws.gathered(j, k) = 1.0f;
      }
      ws.gathered.row(j).head(k) = other.row(col);
      ws.b.noalias() += target * ws.gathered.row(j).transpose();
    }
    ws.a.selfadjointView<Eigen::Lower>().rankUpdate(ws.gathered.topRows(count).transpose());
  }
  ws.a.diagonal().array() += lambda * static_cast<float>(n);
  SolveSymmetric(ws);
  x = ws.x.head(k).transpose();
  if (other_bias != nullptr) *out_bias = ws.x[k];
}

// Implicit row (Hu, Koren, Volinsky 2008). With confidence
// c_ui = 1 + alpha |r_ui| (1 where nothing was observed) and preference
// p_ui = [r_ui > 0], row u solves
//
//   (YtY + Yt (C_u - I) Y + lambda I) x_u = Yt C_u p(u)
//
// YtY + lambda I (`gram_reg`) is shared by all rows; only the observed items
// add to it, so a row costs O(n_u k^2 + k^3). Exact (Cholesky).
inline void SolveImplicitCholeskyRow(std::span<const uint32_t> cols, std::span<const float> values,
                                     const FactorMatrix& other, const Eigen::MatrixXf& gram_reg,
                                     float alpha, Workspace& ws, float* out) {
  const Index k = other.cols();
  const Index n = static_cast<Index>(cols.size());
  Eigen::Map<Eigen::RowVectorXf> x(out, k);
  if (n == 0) {
    x.setZero();
    return;
  }
  ws.a = gram_reg;
  ws.b.setZero();
  for (Index start = 0; start < n; start += kGatherRows) {
    const Index count = std::min(kGatherRows, n - start);
    for (Index j = 0; j < count; ++j) {
      const uint32_t col = cols[static_cast<size_t>(start + j)];
      const float value = values[static_cast<size_t>(start + j)];
      const float extra = alpha * std::fabs(value);  // c - 1
      // rankUpdate adds g g^T, so scale the row by sqrt(c - 1).
      ws.gathered.row(j) = std::sqrt(extra) * other.row(col);
      if (value > 0) ws.b.noalias() += (1.0f + extra) * other.row(col).transpose();
    }
    ws.a.selfadjointView<Eigen::Lower>().rankUpdate(ws.gathered.topRows(count).transpose());
  }
  SolveSymmetric(ws);
  x = ws.x.transpose();
}

// Conjugate gradient on the same system,
//
//   (YtY + Yt (C_u - I) Y + lambda I) x_u = Yt C_u p(u),
//
// as benfred/implicit's least_squares_cg: warm-started from the current x_u
// (read from and written to `inout`) and stopped after cg_steps steps; A p
// is evaluated as (YtY + lambda I) p + sum_i (c_ui - 1) (y_i . p) y_i
// without forming A. O(cg_steps (n_u k + k^2)) per row.
inline void SolveImplicitCgRow(std::span<const uint32_t> cols, std::span<const float> values,
                               const FactorMatrix& other, const Eigen::MatrixXf& gram_reg,
                               float alpha, uint32_t cg_steps, Workspace& ws, float* inout) {
  const Index k = other.cols();
  Eigen::Map<Eigen::VectorXf> x(inout, k);
  if (cols.empty()) {
    x.setZero();
    return;
  }
  // r = b - A x
  ws.r.noalias() = gram_reg * x;
  ws.r = -ws.r;
  for (size_t n = 0; n < cols.size(); ++n) {
    const auto y = other.row(cols[n]);
    const float value = values[n];
    const float extra = alpha * std::fabs(value);
    const float target = value > 0 ? 1.0f + extra : 0.0f;
    ws.r.noalias() += (target - extra * y.dot(x)) * y.transpose();
  }
  ws.p = ws.r;
  float rs_old = ws.r.squaredNorm();
  if (rs_old < 1e-20f) return;
  for (uint32_t step = 0; step < cg_steps; ++step) {
    ws.ap.noalias() = gram_reg * ws.p;
    for (size_t n = 0; n < cols.size(); ++n) {
      const auto y = other.row(cols[n]);
      const float extra = alpha * std::fabs(values[n]);
      ws.ap.noalias() += (extra * y.dot(ws.p)) * y.transpose();
    }
    const float step_size = rs_old / ws.p.dot(ws.ap);
    x.noalias() += step_size * ws.p;
    ws.r.noalias() -= step_size * ws.ap;
    const float rs_new = ws.r.squaredNorm();
    if (rs_new < 1e-20f) break;
    ws.p = ws.r + (rs_new / rs_old) * ws.p;
    rs_old = rs_new;
  }
}

// What one half-sweep solves against: the fixed other side and the options.
struct HalfSweep {
  const FactorMatrix* other = nullptr;
  const float* other_bias = nullptr;          // explicit with biases, else null
  float mu = 0.0f;                            // global bias (explicit with biases)
  const Eigen::MatrixXf* gram_reg = nullptr;  // implicit: other^T other + lambda I
  const AlsOptions* options = nullptr;
};

// Solves rows [begin, end) of `m` (row r writes own->row(r) and own_bias[r]),
// in parallel over `threads` workers with one Workspace each (sized k, or
// k + 1 for explicit with biases). Each row's result depends only on the
// row and `sweep`, never on the thread count or the range.
inline void SolveRows(const CsrMatrix& m, uint32_t begin, uint32_t end, const HalfSweep& sweep,
                      int threads, std::vector<Workspace>& workspaces, FactorMatrix* own,
                      float* own_bias) {
  const AlsOptions& o = *sweep.options;
  ParallelFor(end - begin, threads, kRowsPerTask, [&](uint64_t lo, uint64_t hi, int worker) {
    Workspace& ws = workspaces[static_cast<size_t>(worker)];
    for (uint64_t row = begin + lo; row < begin + hi; ++row) {
      const uint64_t first = m.indptr[row], last = m.indptr[row + 1];
      const std::span<const uint32_t> cols(m.indices.data() + first, last - first);
      const std::span<const float> values(m.values.data() + first, last - first);
      float* out = own->row(static_cast<Index>(row)).data();
      if (!o.implicit) {
        SolveExplicitRow(cols, values, *sweep.other, sweep.other_bias, sweep.mu, o.regularization,
                         ws, out, own_bias != nullptr ? own_bias + row : nullptr);
      } else if (o.implicit_solver == ImplicitSolver::kCholesky) {
        SolveImplicitCholeskyRow(cols, values, *sweep.other, *sweep.gram_reg, o.alpha, ws, out);
      } else {
        SolveImplicitCgRow(cols, values, *sweep.other, *sweep.gram_reg, o.alpha, o.cg_steps, ws,
                           out);
      }
    }
  });
}

}  // namespace reco::row_solver
