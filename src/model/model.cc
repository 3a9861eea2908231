#include "reco/model.h"

#include <string>

namespace reco {

const char* ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kExplicit:
      return "explicit";
    case ModelKind::kImplicit:
      return "implicit";
  }
  return "unknown";
}

const char* ImplicitSolverName(ImplicitSolver s) {
  switch (s) {
    case ImplicitSolver::kConjugateGradient:
      return "cg";
    case ImplicitSolver::kCholesky:
      return "cholesky";
  }
  return "unknown";
}

Status FactorModel::Validate() const {
  if (kind != ModelKind::kExplicit && kind != ModelKind::kImplicit) {
    return Status::InvalidArgument("model kind is neither explicit nor implicit");
  }
  if (user_factors.cols() != item_factors.cols()) {
    return Status::InvalidArgument("user factors have " + std::to_string(user_factors.cols()) +
                                   " columns, item factors " + std::to_string(item_factors.cols()));
  }
  if (factors() == 0) return Status::InvalidArgument("model has zero factors");
  if (users.size() != num_users() || items.size() != num_items()) {
    return Status::InvalidArgument(
        "ID maps (" + std::to_string(users.size()) + " users, " + std::to_string(items.size()) +
        " items) do not match factor rows (" + std::to_string(num_users()) + ", " +
        std::to_string(num_items()) + ")");
  }
  if (has_biases() &&
      (user_bias.size() != user_factors.rows() || item_bias.size() != item_factors.rows())) {
    return Status::InvalidArgument("bias vectors do not match the number of users/items");
  }
  return Status::Ok();
}

}  // namespace reco
