#include "reco/als.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "reco/parallel.h"
#include "reco/random.h"

namespace reco {
namespace {

using Eigen::Index;

// Rows of the other side copied into a contiguous block before each rank-k
// update; bounds per-worker scratch however long a row is.
constexpr Index kGatherRows = 128;
// Rows claimed per ParallelFor task: rows are uneven (power-law activity),
// so small chunks balance better and the atomic counter costs nothing.
constexpr uint64_t kRowsPerTask = 16;
constexpr uint32_t kMaxFactors = 4096;
constexpr uint32_t kMaxCgSteps = 1024;

// Per-worker scratch, sized once; the row loops below allocate nothing.
struct Workspace {
  explicit Workspace(Index d)
      : a(d, d), b(d), x(d), gathered(kGatherRows, d), llt(d), ldlt(d), r(d), p(d), ap(d) {}
  Eigen::MatrixXf a;
  Eigen::VectorXf b;
  Eigen::VectorXf x;
  FactorMatrix gathered;
  Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt;
  Eigen::LDLT<Eigen::MatrixXf, Eigen::Lower> ldlt;
  Eigen::VectorXf r, p, ap;  // conjugate gradient
};

// Solves a * x = b for symmetric a (lower triangle read). LLT suffices when
// lambda > 0; LDLT covers the semidefinite case lambda = 0 with few ratings.
void SolveSymmetric(Workspace& ws) {
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
// count, in block order, so the result is the same for any thread count.
void ComputeGram(const FactorMatrix& y, int threads, Eigen::MatrixXf* gram) {
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

// Explicit half-sweep (ALS-WR; Spark MLlib's ALS.computeFactors with its
// CholeskySolver). Row u with ratings r_ui, i in I(u), n_u = |I(u)|, solves
//
//   min_z  sum_i (r_ui - mu - c_i - z . a_i)^2 + lambda n_u |z|^2
//   =>     (sum_i a_i a_i^T + lambda n_u I) z = sum_i (r_ui - mu - c_i) a_i
//
// Without biases a_i = y_i, z = x_u and mu = c_i = 0 (Spark exactly). With
// biases the other side carries a constant column, a_i = [y_i; 1], so z =
// [x_u; b_u] solves factors and bias together; mu is the global mean and c_i
// the other side's (fixed) bias. The bias is regularised like the factors.
void SolveExplicitRows(const CsrMatrix& m, const FactorMatrix& other, const float* other_bias,
                       float mu, float lambda, int threads, std::vector<Workspace>& workspaces,
                       FactorMatrix* own, float* own_bias) {
  const Index k = own->cols();
  ParallelFor(m.rows, threads, kRowsPerTask, [&](uint64_t begin, uint64_t end, int worker) {
    Workspace& ws = workspaces[static_cast<size_t>(worker)];
    for (uint64_t row = begin; row < end; ++row) {
      const uint64_t lo = m.indptr[row], hi = m.indptr[row + 1];
      if (lo == hi) {  // nothing observed: the regulariser alone says zero
        own->row(static_cast<Index>(row)).setZero();
        if (own_bias != nullptr) own_bias[row] = 0.0f;
        continue;
      }
      ws.a.setZero();
      ws.b.setZero();
      for (uint64_t start = lo; start < hi; start += kGatherRows) {
        const Index count = static_cast<Index>(std::min<uint64_t>(kGatherRows, hi - start));
        for (Index j = 0; j < count; ++j) {
          const uint32_t col = m.indices[start + static_cast<uint64_t>(j)];
          float target = m.values[start + static_cast<uint64_t>(j)] - mu;
          if (other_bias != nullptr) target -= other_bias[col];
          ws.gathered.row(j) = other.row(col);
          ws.b.noalias() += target * other.row(col).transpose();
        }
        ws.a.selfadjointView<Eigen::Lower>().rankUpdate(ws.gathered.topRows(count).transpose());
      }
      ws.a.diagonal().array() += lambda * static_cast<float>(hi - lo);
      SolveSymmetric(ws);
      own->row(static_cast<Index>(row)) = ws.x.head(k).transpose();
      if (own_bias != nullptr) own_bias[row] = ws.x[k];
    }
  });
}

// Implicit half-sweep (Hu, Koren, Volinsky 2008). With confidence
// c_ui = 1 + alpha |r_ui| (1 where nothing was observed) and preference
// p_ui = [r_ui > 0], row u solves
//
//   (YtY + Yt (C_u - I) Y + lambda I) x_u = Yt C_u p(u)
//
// YtY + lambda I is shared by all rows (computed once per half-sweep as
// `gram_reg`); only the observed items add to it, so a row costs
// O(n_u k^2 + k^3) exactly (Cholesky) or O(cg_steps (n_u k + k^2)) with
// conjugate gradient.
void SolveImplicitCholeskyRows(const CsrMatrix& m, const FactorMatrix& other,
                               const Eigen::MatrixXf& gram_reg, float alpha, int threads,
                               std::vector<Workspace>& workspaces, FactorMatrix* own) {
  ParallelFor(m.rows, threads, kRowsPerTask, [&](uint64_t begin, uint64_t end, int worker) {
    Workspace& ws = workspaces[static_cast<size_t>(worker)];
    for (uint64_t row = begin; row < end; ++row) {
      const uint64_t lo = m.indptr[row], hi = m.indptr[row + 1];
      if (lo == hi) {
        own->row(static_cast<Index>(row)).setZero();
        continue;
      }
      ws.a = gram_reg;
      ws.b.setZero();
      for (uint64_t start = lo; start < hi; start += kGatherRows) {
        const Index count = static_cast<Index>(std::min<uint64_t>(kGatherRows, hi - start));
        for (Index j = 0; j < count; ++j) {
          const uint32_t col = m.indices[start + static_cast<uint64_t>(j)];
          const float value = m.values[start + static_cast<uint64_t>(j)];
          const float extra = alpha * std::fabs(value);  // c - 1
          // rankUpdate adds g g^T, so scale the row by sqrt(c - 1).
          ws.gathered.row(j) = std::sqrt(extra) * other.row(col);
          if (value > 0) ws.b.noalias() += (1.0f + extra) * other.row(col).transpose();
        }
        ws.a.selfadjointView<Eigen::Lower>().rankUpdate(ws.gathered.topRows(count).transpose());
      }
      SolveSymmetric(ws);
      own->row(static_cast<Index>(row)) = ws.x.transpose();
    }
  });
}

// Conjugate gradient on the same system,
//
//   (YtY + Yt (C_u - I) Y + lambda I) x_u = Yt C_u p(u),
//
// as benfred/implicit's least_squares_cg: warm-started from the current x_u
// and stopped after cg_steps steps; A p is evaluated as
// (YtY + lambda I) p + sum_i (c_ui - 1) (y_i . p) y_i without forming A.
void SolveImplicitCgRows(const CsrMatrix& m, const FactorMatrix& other,
                         const Eigen::MatrixXf& gram_reg, float alpha, uint32_t cg_steps,
                         int threads, std::vector<Workspace>& workspaces, FactorMatrix* own) {
  const Index k = own->cols();
  ParallelFor(m.rows, threads, kRowsPerTask, [&](uint64_t begin, uint64_t end, int worker) {
    Workspace& ws = workspaces[static_cast<size_t>(worker)];
    for (uint64_t row = begin; row < end; ++row) {
      const uint64_t lo = m.indptr[row], hi = m.indptr[row + 1];
      Eigen::Map<Eigen::VectorXf> x(own->row(static_cast<Index>(row)).data(), k);
      if (lo == hi) {
        x.setZero();
        continue;
      }
      // r = b - A x
      ws.r.noalias() = gram_reg * x;
      ws.r = -ws.r;
      for (uint64_t n = lo; n < hi; ++n) {
        const auto y = other.row(m.indices[n]);
        const float value = m.values[n];
        const float extra = alpha * std::fabs(value);
        const float target = value > 0 ? 1.0f + extra : 0.0f;
        ws.r.noalias() += (target - extra * y.dot(x)) * y.transpose();
      }
      ws.p = ws.r;
      float rs_old = ws.r.squaredNorm();
      if (rs_old < 1e-20f) continue;
      for (uint32_t step = 0; step < cg_steps; ++step) {
        ws.ap.noalias() = gram_reg * ws.p;
        for (uint64_t n = lo; n < hi; ++n) {
          const auto y = other.row(m.indices[n]);
          const float extra = alpha * std::fabs(m.values[n]);
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
  });
}

Status ValidateMatrix(const CsrMatrix& m) {
  if (m.rows == 0 || m.cols == 0) {
    return Status::InvalidArgument("training matrix is empty (" + std::to_string(m.rows) +
                                   " users x " + std::to_string(m.cols) + " items)");
  }
  if (m.indptr.size() != static_cast<size_t>(m.rows) + 1 || m.indptr.front() != 0 ||
      m.indptr.back() != m.indices.size() || m.values.size() != m.indices.size()) {
    return Status::InvalidArgument("training matrix is inconsistent: indptr/indices/values sizes");
  }
  if (m.nnz() == 0) return Status::InvalidArgument("training matrix has no interactions");
  for (uint32_t r = 0; r < m.rows; ++r) {
    if (m.indptr[r] > m.indptr[r + 1]) {
      return Status::InvalidArgument("training matrix row " + std::to_string(r) +
                                     ": indptr decreases");
    }
  }
  for (uint64_t n = 0; n < m.nnz(); ++n) {
    if (m.indices[n] >= m.cols) {
      return Status::InvalidArgument("training matrix entry " + std::to_string(n) + ": column " +
                                     std::to_string(m.indices[n]) +
                                     " >= " + std::to_string(m.cols) + " items");
    }
    if (!std::isfinite(m.values[n])) {
      return Status::InvalidArgument("training matrix entry " + std::to_string(n) +
                                     ": value is not finite");
    }
  }
  return Status::Ok();
}

Status ValidateOptions(const AlsOptions& o) {
  if (o.factors == 0 || o.factors > kMaxFactors) {
    return Status::InvalidArgument("factors must be in [1, " + std::to_string(kMaxFactors) +
                                   "], got " + std::to_string(o.factors));
  }
  if (!std::isfinite(o.regularization) || o.regularization < 0) {
    return Status::InvalidArgument("regularization must be finite and >= 0");
  }
  if (!std::isfinite(o.init_scale) || o.init_scale <= 0) {
    return Status::InvalidArgument("init_scale must be finite and > 0");
  }
  if (o.implicit) {
    if (!std::isfinite(o.alpha) || o.alpha < 0) {
      return Status::InvalidArgument("alpha must be finite and >= 0");
    }
    if (o.use_biases) {
      return Status::InvalidArgument("biases are only supported for explicit ratings");
    }
    if (o.implicit_solver != ImplicitSolver::kConjugateGradient &&
        o.implicit_solver != ImplicitSolver::kCholesky) {
      return Status::InvalidArgument("unknown implicit solver");
    }
    if (o.implicit_solver == ImplicitSolver::kConjugateGradient &&
        (o.cg_steps == 0 || o.cg_steps > kMaxCgSteps)) {
      return Status::InvalidArgument("cg_steps must be in [1, " + std::to_string(kMaxCgSteps) +
                                     "], got " + std::to_string(o.cg_steps));
    }
  }
  return Status::Ok();
}

}  // namespace

struct AlsTrainer::Impl {
  const CsrMatrix* user_items = nullptr;
  CsrMatrix item_users;
  int threads = 1;
  FactorModel model;
  std::vector<Workspace> workspaces;
  FactorMatrix augmented;  // other side plus a constant-1 column (explicit with biases)
  Eigen::MatrixXf gram;    // implicit: other side's YtY + lambda I
  uint32_t iteration = 0;

  const AlsOptions& options() const { return model.params; }

  // Explicit with biases: the other side gets a constant column (see
  // SolveExplicitRows); otherwise it is used as is.
  const FactorMatrix& OtherSide(const FactorMatrix& factors) {
    if (!model.has_biases()) return factors;
    const Index k = factors.cols();
    augmented.resize(factors.rows(), k + 1);
    augmented.leftCols(k) = factors;
    augmented.col(k).setOnes();
    return augmented;
  }

  void Update(const CsrMatrix& m, const FactorMatrix& other, const Eigen::VectorXf& other_bias,
              FactorMatrix* own, Eigen::VectorXf* own_bias) {
    const AlsOptions& o = options();
    if (!o.implicit) {
      const bool biased = model.has_biases();
      SolveExplicitRows(m, OtherSide(other), biased ? other_bias.data() : nullptr,
                        biased ? model.global_bias : 0.0f, o.regularization, threads, workspaces,
                        own, biased ? own_bias->data() : nullptr);
      return;
    }
    ComputeGram(other, threads, &gram);
    gram.diagonal().array() += o.regularization;
    if (o.implicit_solver == ImplicitSolver::kCholesky) {
      SolveImplicitCholeskyRows(m, other, gram, o.alpha, threads, workspaces, own);
    } else {
      SolveImplicitCgRows(m, other, gram, o.alpha, o.cg_steps, threads, workspaces, own);
    }
  }
};

AlsTrainer::AlsTrainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AlsTrainer::AlsTrainer(AlsTrainer&&) noexcept = default;
AlsTrainer& AlsTrainer::operator=(AlsTrainer&&) noexcept = default;
AlsTrainer::~AlsTrainer() = default;

Result<AlsTrainer> AlsTrainer::Create(const CsrMatrix& user_items, IdMap users, IdMap items,
                                      const AlsOptions& options) {
  RECO_RETURN_IF_ERROR(ValidateOptions(options));
  RECO_RETURN_IF_ERROR(ValidateMatrix(user_items));
  if (users.size() != user_items.rows || items.size() != user_items.cols) {
    return Status::InvalidArgument(
        "ID maps do not match the training matrix: " + std::to_string(users.size()) + " users, " +
        std::to_string(items.size()) + " items for a " + std::to_string(user_items.rows) + " x " +
        std::to_string(user_items.cols) + " matrix");
  }
  auto impl = std::make_unique<Impl>();
  impl->user_items = &user_items;
  impl->item_users = user_items.Transposed();
  impl->threads = ResolveThreads(options.threads);

  FactorModel& model = impl->model;
  model.kind = options.implicit ? ModelKind::kImplicit : ModelKind::kExplicit;
  model.params = options;
  model.users = std::move(users);
  model.items = std::move(items);
  const Index k = options.factors;
  model.user_factors.resize(user_items.rows, k);
  model.item_factors.resize(user_items.cols, k);
  // Entries uniform in [0, init_scale / sqrt(k)): rows start with norm
  // about init_scale / sqrt(3) whatever k is, so neither side starts out
  // tiny against the other (the regulariser would take many sweeps to undo it).
  SplitMix64 rng(options.seed);
  const float scale = options.init_scale / std::sqrt(static_cast<float>(k));
  for (FactorMatrix* f : {&model.user_factors, &model.item_factors}) {
    float* data = f->data();
    for (Index n = 0; n < f->size(); ++n) data[n] = rng.NextFloat() * scale;
  }
  if (options.use_biases) {
    double sum = 0;
    for (float v : user_items.values) sum += v;
    model.global_bias = static_cast<float>(sum / static_cast<double>(user_items.nnz()));
    model.user_bias = Eigen::VectorXf::Zero(user_items.rows);
    model.item_bias = Eigen::VectorXf::Zero(user_items.cols);
  }
  const Index d = k + (options.use_biases ? 1 : 0);
  impl->workspaces.reserve(static_cast<size_t>(impl->threads));
  for (int w = 0; w < impl->threads; ++w) impl->workspaces.emplace_back(d);
  return AlsTrainer(std::move(impl));
}

void AlsTrainer::UpdateUsers() {
  FactorModel& m = impl_->model;
  impl_->Update(*impl_->user_items, m.item_factors, m.item_bias, &m.user_factors, &m.user_bias);
}

void AlsTrainer::UpdateItems() {
  FactorModel& m = impl_->model;
  impl_->Update(impl_->item_users, m.user_factors, m.user_bias, &m.item_factors, &m.item_bias);
}

IterationStats AlsTrainer::Iterate(bool compute_loss) {
  const auto start = std::chrono::steady_clock::now();
  UpdateUsers();
  UpdateItems();
  const auto stop = std::chrono::steady_clock::now();
  IterationStats stats;
  if (compute_loss) {
    stats = ComputeLoss();
  } else {
    stats.loss = stats.rmse = std::numeric_limits<double>::quiet_NaN();
  }
  stats.iteration = ++impl_->iteration;
  stats.seconds = std::chrono::duration<double>(stop - start).count();
  return stats;
}

IterationStats AlsTrainer::ComputeLoss() const {
  const FactorModel& model = impl_->model;
  const CsrMatrix& m = *impl_->user_items;
  const AlsOptions& o = model.params;
  const int threads = impl_->threads;
  // Per-row partial sums, added in row order: thread-count independent.
  std::vector<double> row_loss(m.rows, 0.0);
  IterationStats stats;

  if (!o.implicit) {
    ParallelFor(m.rows, threads, kRowsPerTask * 4, [&](uint64_t begin, uint64_t end, int) {
      for (uint64_t u = begin; u < end; ++u) {
        double sse = 0;
        for (uint64_t n = m.indptr[u]; n < m.indptr[u + 1]; ++n) {
          const double err = m.values[n] - model.Predict(static_cast<uint32_t>(u), m.indices[n]);
          sse += err * err;
        }
        row_loss[u] = sse;
      }
    });
    double sse = 0;
    for (double v : row_loss) sse += v;
    // Regulariser of ALS-WR: lambda * sum_u n_u |z_u|^2 + lambda * sum_i n_i |z_i|^2.
    double reg = 0;
    for (uint32_t u = 0; u < m.rows; ++u) {
      double norm = model.user_factors.row(u).squaredNorm();
      if (model.has_biases()) norm += double{model.user_bias[u]} * model.user_bias[u];
      reg += norm * m.RowLength(u);
    }
    const CsrMatrix& t = impl_->item_users;
    for (uint32_t i = 0; i < t.rows; ++i) {
      double norm = model.item_factors.row(i).squaredNorm();
      if (model.has_biases()) norm += double{model.item_bias[i]} * model.item_bias[i];
      reg += norm * t.RowLength(i);
    }
    const double nnz = static_cast<double>(m.nnz());
    stats.loss = (sse + o.regularization * reg) / nnz;
    stats.rmse = std::sqrt(sse / nnz);
    return stats;
  }

  // Implicit: sum over all cells of c (p - s)^2 with s = x_u . y_i. Cells
  // without an interaction have c = 1, p = 0, so the sum is
  //   sum_u x_u^T (YtY) x_u + sum_observed [c (p - s)^2 - s^2].
  Eigen::MatrixXf gram;
  ComputeGram(model.item_factors, threads, &gram);
  std::vector<double> row_confidence(m.rows, 0.0);
  ParallelFor(m.rows, threads, kRowsPerTask * 4, [&](uint64_t begin, uint64_t end, int) {
    Eigen::VectorXf gx(gram.rows());
    for (uint64_t u = begin; u < end; ++u) {
      const auto x = model.user_factors.row(static_cast<Index>(u));
      gx.noalias() = gram * x.transpose();
      double loss = x.dot(gx);
      double confidence = 0;
      for (uint64_t n = m.indptr[u]; n < m.indptr[u + 1]; ++n) {
        const double value = m.values[n];
        const double c = 1.0 + o.alpha * std::fabs(value);
        const double p = value > 0 ? 1.0 : 0.0;
        const double s = x.dot(model.item_factors.row(m.indices[n]));
        loss += c * (p - s) * (p - s) - s * s;
        confidence += c;
      }
      row_loss[u] = loss;
      row_confidence[u] = confidence;
    }
  });
  double loss = 0, confidence = 0;
  for (uint32_t u = 0; u < m.rows; ++u) {
    loss += row_loss[u];
    confidence += row_confidence[u];
  }
  const double reg = double{model.user_factors.squaredNorm()} + model.item_factors.squaredNorm();
  const double cells = static_cast<double>(m.rows) * m.cols;
  stats.loss =
      (loss + o.regularization * reg) / (confidence + cells - static_cast<double>(m.nnz()));
  stats.rmse = std::numeric_limits<double>::quiet_NaN();
  return stats;
}

const FactorModel& AlsTrainer::model() const { return impl_->model; }
FactorModel& AlsTrainer::mutable_model() { return impl_->model; }
FactorModel AlsTrainer::TakeModel() && { return std::move(impl_->model); }

Result<FactorModel> TrainAls(const CsrMatrix& user_items, IdMap users, IdMap items,
                             const AlsOptions& options, const IterationCallback& on_iteration) {
  RECO_ASSIGN_OR_RETURN(AlsTrainer trainer, AlsTrainer::Create(user_items, std::move(users),
                                                               std::move(items), options));
  for (uint32_t it = 0; it < options.iterations; ++it) {
    const IterationStats stats = trainer.Iterate(/*compute_loss=*/static_cast<bool>(on_iteration));
    if (on_iteration) on_iteration(stats, trainer.model());
  }
  return std::move(trainer).TakeModel();
}

}  // namespace reco
