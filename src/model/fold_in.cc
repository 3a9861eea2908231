#include "reco/fold_in.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "row_solver.h"

namespace reco {
namespace {

using Eigen::Index;

// Per-thread scratch, so SolveUser is const and allocation-free once warm.
row_solver::Workspace& ThreadWorkspace(Index d) {
  thread_local row_solver::Workspace workspace;
  workspace.Resize(d);
  return workspace;
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
    // As the trainer sums it, so the solve matches its user half-sweep.
    row_solver::ImplicitGram(model.item_factors, model.params, /*threads=*/1, &gram_reg_);
  }
}

// The solve is the trainer's own row solve (row_solver.h, which states the
// normal equations); implicit models always use the exact (Cholesky) one.
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
  const AlsOptions& params = model_.params;
  float bias = 0.0f;
  if (model_.kind == ModelKind::kExplicit) {
    const bool biased = model_.has_biases();
    row_solver::Workspace& ws = ThreadWorkspace(k + (biased ? 1 : 0));
    row_solver::SolveExplicitRow(items, values, y, biased ? model_.item_bias.data() : nullptr,
                                 biased ? model_.global_bias : 0.0f, params.regularization, ws,
                                 ws.p.data(), &bias);
    if (!ws.p.head(k).allFinite() || !std::isfinite(bias)) {
      return Status::FailedPrecondition("fold-in: explicit solve gave non-finite factors");
    }
    out = ws.p.head(k);
  } else {
    row_solver::Workspace& ws = ThreadWorkspace(k);
    const row_solver::ImplicitTerms terms = row_solver::ImplicitTerms::Of(params);
    row_solver::SolveImplicitCholeskyRow(items, values, y, gram_reg_, terms,
                                         terms.RowRegularization(items.size(), num_items), ws,
                                         ws.p.data());
    if (!ws.p.allFinite()) {
      return Status::FailedPrecondition("fold-in: implicit solve gave non-finite factors");
    }
    out = ws.p;
  }
  if (out_bias != nullptr) *out_bias = bias;
  return Status::Ok();
}

}  // namespace reco
