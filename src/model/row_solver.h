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
    downdate.resize(kGatherRows, d);
    r.resize(d);
    p.resize(d);
    ap.resize(d);
    ad.resize(d, d);
    bd.resize(d);
    xd.resize(d);
  }
  Eigen::MatrixXf a;
  Eigen::VectorXf b;
  Eigen::VectorXf x;
  FactorMatrix gathered;  // row-major: one gathered row is contiguous
  FactorMatrix downdate;  // implicit rows with negative weight (alpha0 > c)
  Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt;
  Eigen::LDLT<Eigen::MatrixXf, Eigen::Lower> ldlt;
  Eigen::VectorXf r, p, ap;  // conjugate gradient
  // The double-precision fallback of rows a float solve cannot be trusted on.
  Eigen::MatrixXd ad;
  Eigen::VectorXd bd, xd;
  Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> lltd;
  Eigen::LDLT<Eigen::MatrixXd, Eigen::Lower> ldltd;
};

// A float Cholesky factor whose squared pivots spread wider than this is not
// trusted: pivots bound the condition number from below, and float keeps
// about 7 digits. Real training rows stay far below it (ml-100k, explicit
// with and without biases and implicit at the defaults: at most 10); it is
// reached when one extreme value (a rating or confidence near the bounds)
// dominates a row, where a float solve returns noise that the next
// half-sweep amplifies into inf. Those rows are solved again in double.
inline constexpr double kMaxTrustedPivotSpread = 1e5;

// Solves a * x = b for symmetric a (lower triangle read) in float. Returns
// whether the result can be trusted: the Cholesky factorisation succeeded
// (the systems are positive definite whenever lambda > 0), its pivots do
// not spread beyond kMaxTrustedPivotSpread and x is finite. Otherwise x
// holds LDLT's answer (the semidefinite case lambda = 0 with few ratings)
// and the caller solves the row again in double.
inline bool SolveSymmetric(Workspace& ws) {
  ws.llt.compute(ws.a);
  if (ws.llt.info() == Eigen::Success) {
    ws.x = ws.b;
    ws.llt.solveInPlace(ws.x);
    const auto pivots = ws.llt.matrixLLT().diagonal();
    const double spread = double{pivots.maxCoeff()} / double{pivots.minCoeff()};
    return spread * spread <= kMaxTrustedPivotSpread && ws.x.allFinite();
  }
  ws.ldlt.compute(ws.a);
  ws.x = ws.ldlt.solve(ws.b);
  return false;
}

// The double-precision solve of ws.ad * x = ws.bd into ws.xd (the fallback).
inline void SolveSymmetricDouble(Workspace& ws) {
  ws.lltd.compute(ws.ad);
  if (ws.lltd.info() == Eigen::Success) {
    ws.xd = ws.lltd.solve(ws.bd);
    return;
  }
  ws.ldltd.compute(ws.ad);
  ws.xd = ws.ldltd.solve(ws.bd);
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
  if (!SolveSymmetric(ws)) {
    // The same system assembled and solved in double.
    const Index d = ws.a.rows();
    ws.ad.setZero();
    ws.bd.setZero();
    Eigen::VectorXd a(d);
    for (Index j = 0; j < n; ++j) {
      const uint32_t col = cols[static_cast<size_t>(j)];
      double target = double{values[static_cast<size_t>(j)]} - mu;
      if (other_bias != nullptr) {
        target -= other_bias[col];
        a[k] = 1.0;
      }
      a.head(k) = other.row(col).transpose().cast<double>();
      ws.ad.selfadjointView<Eigen::Lower>().rankUpdate(a);
      ws.bd.noalias() += target * a;
    }
    ws.ad.diagonal().array() += double{lambda} * static_cast<double>(n);
    SolveSymmetricDouble(ws);
    ws.x = ws.xd.cast<float>();
  }
  x = ws.x.head(k).transpose();
  if (other_bias != nullptr) *out_bias = ws.x[k];
}

// Implicit rows: Hu, Koren, Volinsky 2008 (HKV), with the two refinements of
// Rendle et al. 2022 ("Revisiting the Performance of iALS on Item
// Recommendation Benchmarks"): a weight alpha0 for the cells without an
// interaction and a regulariser scaled by row frequency. Row u has observed
// items I_u with values t_ui (already transformed by ValueOptions: raw,
// binary or log), confidence c_ui = 1 + alpha |t_ui| and preference
// p_ui = [t_ui > 0]; every other item of the |I| columns has weight alpha0
// and preference 0. x_u minimises
//
//   sum_{i in I_u} c_ui (p_ui - x.y_i)^2 + alpha0 sum_{i not in I_u} (x.y_i)^2
//     + lambda_u |x|^2,            lambda_u = lambda (|I_u| + alpha0 |I|)^nu,
//
// whose normal equations are
//
//   (alpha0 Y^T Y + sum_{i in I_u} (c_ui - alpha0) y_i y_i^T + lambda_u I) x_u
//       = sum_{i in I_u} c_ui p_ui y_i.
//
// Items solve the same system with users and items swapped (lambda_i =
// lambda (|U_i| + alpha0 |U|)^nu). alpha0 = 1, nu = 0 is HKV exactly:
// Y^T Y + Y^T (C_u - I) Y + lambda I. The shared part alpha0 Y^T Y (plus
// lambda I when nu = 0, as every row then has the same lambda) is computed
// once per half-sweep (ImplicitGram); a row adds its observed items, so it
// costs O(|I_u| k^2 + k^3) (Cholesky) or O(cg_steps (|I_u| k + k^2)) (CG).
//
// The per-entry weight w_ui = c_ui - alpha0 is formed as alpha |t_ui| +
// (1 - alpha0), in double: with alpha0 = 1 it is alpha |t_ui| bit for bit
// (what HKV's solver always computed), and for alpha0 > c_ui it is negative,
// which the Cholesky path handles with a downdate (rankUpdate with -1): the
// whole matrix stays positive definite, being a sum of non-negative weights
// times y y^T plus lambda_u I. Values are bounded (|t| <= kMaxInteractionValue)
// and so is alpha (AlsOptions), so c_ui and w_ui stay far inside float range.

// The per-half-sweep constants of the implicit system and the per-row
// regulariser. RowRegularization is what row solves add to the diagonal on
// top of ImplicitGram: 0 when nu = 0 (lambda is in the Gram then, as HKV).
struct ImplicitTerms {
  float alpha = 1.0f;
  float alpha0 = 1.0f;
  float lambda = 0.0f;
  float nu = 0.0f;

  static ImplicitTerms Of(const AlsOptions& o) {
    return {o.alpha, o.alpha0, o.regularization, o.nu};
  }

  float RowRegularization(uint64_t observed, uint64_t other_rows) const {
    if (nu == 0.0f) return 0.0f;
    const double count = static_cast<double>(observed) + double{alpha0} * other_rows;
    return static_cast<float>(double{lambda} * std::pow(count, double{nu}));
  }
  // c - 1 = alpha |t| (computed in double: exact in float when it fits).
  float Extra(float value) const {
    return static_cast<float>(double{alpha} * std::fabs(double{value}));
  }
  // w = c - alpha0 = (c - 1) + (1 - alpha0); exactly `extra` when alpha0 = 1.
  float Weight(float extra) const {
    if (alpha0 == 1.0f) return extra;
    return static_cast<float>(double{extra} + (1.0 - double{alpha0}));
  }
};

// alpha0 Y^T Y, plus lambda I when nu = 0 (then every row has the same
// regulariser): the row-independent part of the implicit normal equations,
// the same bits in the trainer, fold-in and every MPI rank.
inline void ImplicitGram(const FactorMatrix& y, const AlsOptions& o, int threads,
                         Eigen::MatrixXf* gram) {
  ComputeGram(y, threads, gram);
  if (o.alpha0 != 1.0f) *gram *= o.alpha0;
  if (o.nu == 0.0f) gram->diagonal().array() += o.regularization;
}

// The implicit row assembled and solved in double, for rows whose float
// solve cannot be trusted (SolveSymmetric) or whose CG result is not finite.
inline void SolveImplicitRowDouble(std::span<const uint32_t> cols, std::span<const float> values,
                                   const FactorMatrix& other, const Eigen::MatrixXf& gram_reg,
                                   const ImplicitTerms& terms, float row_lambda, Workspace& ws,
                                   float* out) {
  const Index k = other.cols();
  ws.ad = gram_reg.cast<double>();
  ws.ad.diagonal().array() += double{row_lambda};
  ws.bd.setZero();
  Eigen::VectorXd y(k);
  for (size_t j = 0; j < cols.size(); ++j) {
    const double value = values[j];
    const double extra = double{terms.alpha} * std::fabs(value);
    y = other.row(cols[j]).transpose().cast<double>();
    ws.ad.selfadjointView<Eigen::Lower>().rankUpdate(y, extra + (1.0 - double{terms.alpha0}));
    if (value > 0) ws.bd.noalias() += (1.0 + extra) * y;
  }
  SolveSymmetricDouble(ws);
  Eigen::Map<Eigen::RowVectorXf>(out, k) = ws.xd.cast<float>().transpose();
}

// Exact (Cholesky) solve of the implicit row above. `gram_reg` is
// ImplicitGram of `other`; `row_lambda` is terms.RowRegularization(|I_u|,
// other.rows()).
inline void SolveImplicitCholeskyRow(std::span<const uint32_t> cols, std::span<const float> values,
                                     const FactorMatrix& other, const Eigen::MatrixXf& gram_reg,
                                     const ImplicitTerms& terms, float row_lambda, Workspace& ws,
                                     float* out) {
  const Index k = other.cols();
  const Index n = static_cast<Index>(cols.size());
  Eigen::Map<Eigen::RowVectorXf> x(out, k);
  if (n == 0) {
    x.setZero();
    return;
  }
  ws.a = gram_reg;
  if (row_lambda != 0.0f) ws.a.diagonal().array() += row_lambda;
  ws.b.setZero();
  for (Index start = 0; start < n; start += kGatherRows) {
    const Index count = std::min(kGatherRows, n - start);
    // rankUpdate adds g g^T, so rows are scaled by sqrt(|w|); entries with
    // w < 0 (only when alpha0 > c) go to a second block, subtracted.
    Index positive = 0, negative = 0;
    for (Index j = 0; j < count; ++j) {
      const uint32_t col = cols[static_cast<size_t>(start + j)];
      const float value = values[static_cast<size_t>(start + j)];
      const float extra = terms.Extra(value);
      const float w = terms.Weight(extra);
      if (w >= 0.0f) {
        ws.gathered.row(positive++) = std::sqrt(w) * other.row(col);
      } else {
        ws.downdate.row(negative++) = std::sqrt(-w) * other.row(col);
      }
      if (value > 0) ws.b.noalias() += (1.0f + extra) * other.row(col).transpose();
    }
    if (positive > 0) {
      ws.a.selfadjointView<Eigen::Lower>().rankUpdate(ws.gathered.topRows(positive).transpose());
    }
    if (negative > 0) {
      ws.a.selfadjointView<Eigen::Lower>().rankUpdate(ws.downdate.topRows(negative).transpose(),
                                                      -1.0f);
    }
  }
  if (!SolveSymmetric(ws)) {
    SolveImplicitRowDouble(cols, values, other, gram_reg, terms, row_lambda, ws, out);
    return;
  }
  x = ws.x.transpose();
}

// Conjugate gradient on the same system, as benfred/implicit's
// least_squares_cg: warm-started from the current x_u (read from and written
// to `inout`) and stopped after cg_steps steps; A p is evaluated as
// gram_reg p + row_lambda p + sum_i w_ui (y_i . p) y_i without forming A.
// O(cg_steps (|I_u| k + k^2)) per row.
inline void SolveImplicitCgRow(std::span<const uint32_t> cols, std::span<const float> values,
                               const FactorMatrix& other, const Eigen::MatrixXf& gram_reg,
                               const ImplicitTerms& terms, float row_lambda, uint32_t cg_steps,
                               Workspace& ws, float* inout) {
  const Index k = other.cols();
  Eigen::Map<Eigen::VectorXf> x(inout, k);
  if (cols.empty()) {
    x.setZero();
    return;
  }
  // r = b - A x
  ws.r.noalias() = gram_reg * x;
  if (row_lambda != 0.0f) ws.r.noalias() += row_lambda * x;
  ws.r = -ws.r;
  for (size_t n = 0; n < cols.size(); ++n) {
    const auto y = other.row(cols[n]);
    const float value = values[n];
    const float extra = terms.Extra(value);
    const float target = value > 0 ? 1.0f + extra : 0.0f;
    ws.r.noalias() += (target - terms.Weight(extra) * y.dot(x)) * y.transpose();
  }
  ws.p = ws.r;
  float rs_old = ws.r.squaredNorm();
  if (rs_old < 1e-20f) return;
  for (uint32_t step = 0; step < cg_steps; ++step) {
    ws.ap.noalias() = gram_reg * ws.p;
    if (row_lambda != 0.0f) ws.ap.noalias() += row_lambda * ws.p;
    for (size_t n = 0; n < cols.size(); ++n) {
      const auto y = other.row(cols[n]);
      const float w = terms.Weight(terms.Extra(values[n]));
      ws.ap.noalias() += (w * y.dot(ws.p)) * y.transpose();
    }
    const float curvature = ws.p.dot(ws.ap);
    if (!(curvature > 0.0f)) break;  // only on a degenerate or overflowing system
    const float step_size = rs_old / curvature;
    x.noalias() += step_size * ws.p;
    ws.r.noalias() -= step_size * ws.ap;
    const float rs_new = ws.r.squaredNorm();
    if (rs_new < 1e-20f) break;
    ws.p = ws.r + (rs_new / rs_old) * ws.p;
    rs_old = rs_new;
  }
  // CG in float can overflow where an exact solve does not (one extreme
  // confidence): such a row is solved exactly, in double.
  if (!x.allFinite()) {
    SolveImplicitRowDouble(cols, values, other, gram_reg, terms, row_lambda, ws, inout);
  }
}

// What one half-sweep solves against: the fixed other side and the options.
struct HalfSweep {
  const FactorMatrix* other = nullptr;
  const float* other_bias = nullptr;          // explicit with biases, else null
  float mu = 0.0f;                            // global bias (explicit with biases)
  const Eigen::MatrixXf* gram_reg = nullptr;  // implicit: ImplicitGram(other)
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
  const ImplicitTerms terms = ImplicitTerms::Of(o);
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
      } else {
        const float row_lambda =
            terms.RowRegularization(cols.size(), static_cast<uint64_t>(sweep.other->rows()));
        if (o.implicit_solver == ImplicitSolver::kCholesky) {
          SolveImplicitCholeskyRow(cols, values, *sweep.other, *sweep.gram_reg, terms, row_lambda,
                                   ws, out);
        } else {
          SolveImplicitCgRow(cols, values, *sweep.other, *sweep.gram_reg, terms, row_lambda,
                             o.cg_steps, ws, out);
        }
      }
    }
  });
}

}  // namespace reco::row_solver
