#include "reco/als.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "reco/parallel.h"
#include "reco/random.h"
#include "row_solver.h"

namespace reco {
namespace {

using Eigen::Index;
using row_solver::ComputeGram;

constexpr uint32_t kMaxFactors = 4096;
constexpr uint32_t kMaxCgSteps = 1024;
constexpr float kMaxNu = 4.0f;
constexpr float kMaxAlpha = 1e6f;
constexpr float kMaxAlpha0 = 1e6f;

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

}  // namespace

Status ValidateAlsOptions(const AlsOptions& o) {
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
    // Bounded so that confidences 1 + alpha |t| (|t| <= kMaxInteractionValue)
    // and their squares in the normal equations stay far inside float range.
    if (!std::isfinite(o.alpha) || o.alpha < 0 || o.alpha > kMaxAlpha) {
      return Status::InvalidArgument("alpha must be in [0, " + std::to_string(kMaxAlpha) + "]");
    }
    if (!std::isfinite(o.nu) || o.nu < 0 || o.nu > kMaxNu) {
      return Status::InvalidArgument("nu must be in [0, " + std::to_string(kMaxNu) + "]");
    }
    if (!std::isfinite(o.alpha0) || o.alpha0 <= 0 || o.alpha0 > kMaxAlpha0) {
      return Status::InvalidArgument("alpha0 must be in (0, " + std::to_string(kMaxAlpha0) + "]");
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

struct AlsTrainer::Impl {
  const CsrMatrix* user_items = nullptr;
  CsrMatrix item_users;
  int threads = 1;
  FactorModel model;
  std::vector<row_solver::Workspace> workspaces;
  Eigen::MatrixXf gram;  // implicit: ImplicitGram of the other side
  uint32_t iteration = 0;

  const AlsOptions& options() const { return model.params; }

  // One half-sweep: every row of m against the fixed other side (see
  // row_solver.h for the normal equations of each mode).
  void Update(const CsrMatrix& m, const FactorMatrix& other, const Eigen::VectorXf& other_bias,
              FactorMatrix* own, Eigen::VectorXf* own_bias) {
    const AlsOptions& o = options();
    const bool biased = model.has_biases();
    row_solver::HalfSweep sweep;
    sweep.other = &other;
    sweep.options = &o;
    if (biased) {
      sweep.other_bias = other_bias.data();
      sweep.mu = model.global_bias;
    }
    if (o.implicit) {
      row_solver::ImplicitGram(other, o, threads, &gram);
      sweep.gram_reg = &gram;
    }
    row_solver::SolveRows(m, 0, m.rows, sweep, threads, workspaces, own,
                          biased ? own_bias->data() : nullptr);
  }
};

AlsTrainer::AlsTrainer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AlsTrainer::AlsTrainer(AlsTrainer&&) noexcept = default;
AlsTrainer& AlsTrainer::operator=(AlsTrainer&&) noexcept = default;
AlsTrainer::~AlsTrainer() = default;

Result<AlsTrainer> AlsTrainer::Create(const CsrMatrix& user_items, IdMap users, IdMap items,
                                      const AlsOptions& options) {
  RECO_RETURN_IF_ERROR(ValidateAlsOptions(options));
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
    ParallelFor(m.rows, threads, row_solver::kRowsPerTask * 4,
                [&](uint64_t begin, uint64_t end, int) {
                  for (uint64_t u = begin; u < end; ++u) {
                    double sse = 0;
                    for (uint64_t n = m.indptr[u]; n < m.indptr[u + 1]; ++n) {
                      const double err =
                          m.values[n] - model.Predict(static_cast<uint32_t>(u), m.indices[n]);
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
  // without an interaction have weight alpha0 and p = 0, so the sum is
  //   sum_u alpha0 x_u^T (YtY) x_u + sum_observed [c (p - s)^2 - alpha0 s^2].
  // With nu > 0 each row's regulariser is its own lambda_u (row_solver.h).
  Eigen::MatrixXf gram;
  ComputeGram(model.item_factors, threads, &gram);
  std::vector<double> row_confidence(m.rows, 0.0);
  ParallelFor(m.rows, threads, row_solver::kRowsPerTask * 4,
              [&](uint64_t begin, uint64_t end, int) {
                Eigen::VectorXf gx(gram.rows());
                for (uint64_t u = begin; u < end; ++u) {
                  const auto x = model.user_factors.row(static_cast<Index>(u));
                  gx.noalias() = gram * x.transpose();
                  double loss = double{o.alpha0} * x.dot(gx);
                  double confidence = 0;
                  for (uint64_t n = m.indptr[u]; n < m.indptr[u + 1]; ++n) {
                    const double value = m.values[n];
                    const double c = 1.0 + o.alpha * std::fabs(value);
                    const double p = value > 0 ? 1.0 : 0.0;
                    const double s = x.dot(model.item_factors.row(m.indices[n]));
                    loss += c * (p - s) * (p - s) - double{o.alpha0} * s * s;
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
  double reg = 0;
  if (o.nu == 0.0f) {
    reg = o.regularization *
          (double{model.user_factors.squaredNorm()} + model.item_factors.squaredNorm());
  } else {
    const row_solver::ImplicitTerms terms = row_solver::ImplicitTerms::Of(o);
    for (uint32_t u = 0; u < m.rows; ++u) {
      reg += double{terms.RowRegularization(m.RowLength(u), m.cols)} *
             model.user_factors.row(u).squaredNorm();
    }
    const CsrMatrix& t = impl_->item_users;
    for (uint32_t i = 0; i < t.rows; ++i) {
      reg += double{terms.RowRegularization(t.RowLength(i), t.cols)} *
             model.item_factors.row(i).squaredNorm();
    }
  }
  const double cells = static_cast<double>(m.rows) * m.cols;
  const double alpha0 = o.alpha0;
  stats.loss = (loss + reg) / (confidence + alpha0 * cells - alpha0 * static_cast<double>(m.nnz()));
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
