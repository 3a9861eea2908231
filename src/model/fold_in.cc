#include "reco/fold_in.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <string>

namespace reco {
namespace {

using Eigen::Index;

// Item rows copied into a contiguous block before each rank-k update, as
// the trainer does; bounds the scratch however many events a user has.
constexpr Index kGatherRows = 128;

// Per-thread scratch, so SolveUser is const and allocation-free once warm.
// Resizing to the size it already has is a no-op in Eigen.
struct Scratch {
  Eigen::MatrixXf a;
  Eigen::VectorXf b;
  Eigen::VectorXf x;
  FactorMatrix gathered;  // row-major like the trainer's, for the same rounding
  Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt;
  Eigen::LDLT<Eigen::MatrixXf, Eigen::Lower> ldlt;

  void Resize(Index d) {
    a.resize(d, d);
    b.resize(d);
    x.resize(d);
    gathered.resize(kGatherRows, d);
  }
};

Scratch& ThreadScratch(Index d) {
  thread_local Scratch scratch;
  scratch.Resize(d);
  return scratch;
}

// a x = b for symmetric a (lower triangle read), as the trainer solves it:
// LLT when a is positive definite (lambda > 0), LDLT for the semidefinite
// case lambda = 0 with few events.
void SolveSymmetric(Scratch& s) {
  s.llt.compute(s.a);
  if (s.llt.info() == Eigen::Success) {
    s.x = s.b;
    s.llt.solveInPlace(s.x);
    return;
  }
  s.ldlt.compute(s.a);
  s.x = s.ldlt.solve(s.b);
}

}  // namespace

FoldIn::FoldIn(const FactorModel& model) : model_(model), model_status_(model.Validate()) {
  if (!model_status_.ok()) {
    model_status_ = Status::FailedPrecondition("fold-in: " + model_status_.message());
    return;
  }
  if (model.kind == ModelKind::kImplicit && model.has_biases()) {
    model_status_ = Status::FailedPrecondition("fold-in: implicit model has biases");
    return;
  }
  if (model.kind == ModelKind::kImplicit) {
    const Index k = model.factors();
    gram_reg_ = Eigen::MatrixXf::Zero(k, k);
    gram_reg_.selfadjointView<Eigen::Lower>().rankUpdate(model.item_factors.transpose());
    gram_reg_.diagonal().array() += model.params.regularization;
  }
}

// The normal equations, restated from the trainer (src/model/als.cc).
//
// Explicit (ALS-WR): with ratings r_i over the user's items I, n = |I|,
//   (sum_i a_i a_i^T + lambda n I) z = sum_i (r_i - mu - c_i) a_i
// where a_i = y_i, z = x_u, mu = c_i = 0 without biases, and with biases
// a_i = [y_i; 1], z = [x_u; b_u], mu the global bias, c_i the item bias.
//
// Implicit (Hu, Koren, Volinsky): with c_i = 1 + alpha |r_i|, p_i = [r_i > 0],
//   (YtY + lambda I + sum_i (c_i - 1) y_i y_i^T) x_u = sum_i c_i p_i y_i,
// where YtY + lambda I is gram_reg_, computed once in the constructor.
Status FoldIn::SolveUser(std::span<const uint32_t> items, std::span<const float> values,
                         float* out_factors, float* out_bias) const {
  if (!model_status_.ok()) return model_status_;
  if (out_factors == nullptr) return Status::InvalidArgument("fold-in: out_factors is null");
  if (items.size() != values.size()) {
    return Status::InvalidArgument("fold-in: " + std::to_string(items.size()) + " items but " +
                                   std::to_string(values.size()) + " values");
  }
  const uint32_t num_items = model_.num_items();
  for (size_t j = 0; j < items.size(); ++j) {
    if (items[j] >= num_items) {
      return Status::InvalidArgument("fold-in: event " + std::to_string(j) + ": item index " +
                                     std::to_string(items[j]) + " >= " + std::to_string(num_items) +
                                     " items");
    }
    if (!std::isfinite(values[j])) {
      return Status::InvalidArgument("fold-in: event " + std::to_string(j) +
                                     ": value is not finite");
    }
  }

  const Index k = model_.factors();
  Eigen::Map<Eigen::VectorXf> out(out_factors, k);
  if (items.empty()) {  // nothing observed: the regulariser alone says zero
    out.setZero();
    if (out_bias != nullptr) *out_bias = 0.0f;
    return Status::Ok();
  }

  const FactorMatrix& y = model_.item_factors;
  const Index n = static_cast<Index>(items.size());
  const AlsOptions& params = model_.params;
  float bias = 0.0f;

  if (model_.kind == ModelKind::kExplicit) {
    const bool biased = model_.has_biases();
    const Index d = k + (biased ? 1 : 0);
    Scratch& s = ThreadScratch(d);
    s.a.setZero();
    s.b.setZero();
    for (Index start = 0; start < n; start += kGatherRows) {
      const Index count = std::min(kGatherRows, n - start);
      for (Index j = 0; j < count; ++j) {
        const uint32_t item = items[static_cast<size_t>(start + j)];
        float target = values[static_cast<size_t>(start + j)];
        if (biased) {
          target -= model_.global_bias + model_.item_bias[item];
          s.gathered(j, k) = 1.0f;
        }
        s.gathered.row(j).head(k) = y.row(item);
        s.b.noalias() += target * s.gathered.row(j).transpose();
      }
      s.a.selfadjointView<Eigen::Lower>().rankUpdate(s.gathered.topRows(count).transpose());
    }
    s.a.diagonal().array() += params.regularization * static_cast<float>(n);
    SolveSymmetric(s);
    if (!s.x.allFinite()) {
      return Status::FailedPrecondition("fold-in: explicit solve gave non-finite factors");
    }
    out = s.x.head(k);
    if (biased) bias = s.x[k];
  } else {
    Scratch& s = ThreadScratch(k);
    s.a = gram_reg_;
    s.b.setZero();
    for (Index start = 0; start < n; start += kGatherRows) {
      const Index count = std::min(kGatherRows, n - start);
      for (Index j = 0; j < count; ++j) {
        const uint32_t item = items[static_cast<size_t>(start + j)];
        const float value = values[static_cast<size_t>(start + j)];
        const float extra = params.alpha * std::fabs(value);  // c - 1
        // rankUpdate adds g g^T, so the row is scaled by sqrt(c - 1).
        s.gathered.row(j) = std::sqrt(extra) * y.row(item);
        if (value > 0) s.b.noalias() += (1.0f + extra) * y.row(item).transpose();
      }
      s.a.selfadjointView<Eigen::Lower>().rankUpdate(s.gathered.topRows(count).transpose());
    }
    SolveSymmetric(s);
    if (!s.x.allFinite()) {
      return Status::FailedPrecondition("fold-in: implicit solve gave non-finite factors");
    }
    out = s.x;
  }
  if (out_bias != nullptr) *out_bias = bias;
  return Status::Ok();
}

}  // namespace reco
