// ALS fold-in: one user's factor vector re-solved from their events against
// the fixed item factors of a trained model, so that a user who just acted
// (or a user the model has never seen) gets fresh recommendations without
// retraining. The solve is exactly the one the trainer does for a user row
// in its user half-sweep (see src/model/als.cc): ALS-WR for explicit models,
// with the bias as an extra unknown when the model has biases, and Hu,
// Koren, Volinsky (with Rendle et al.'s nu and alpha0) for implicit models,
// always solved exactly (Cholesky). Values are taken as given: callers apply
// the model's value transform first (Recommender::RecommendHistories does).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>

#include "reco/model.h"
#include "reco/status.h"

namespace reco {

class FoldIn {
 public:
  // Borrows `model` (it must outlive this object and not change while in
  // use). For implicit models computes Y^T Y + lambda I once, O(items k^2),
  // so that each SolveUser costs O(n_u k^2 + k^3). A model that fails
  // FactorModel::Validate (or is implicit with biases) is not rejected
  // here: every SolveUser then returns that error.
  explicit FoldIn(const FactorModel& model);

  // Solves the user vector for the events (items[j], values[j]): ratings
  // for explicit models, interaction strengths for implicit ones, exactly as
  // in a training row. Items are dense item indices of the model; a repeated
  // item counts as two observations (callers merge duplicates first, as the
  // loader does for training). Writes factors() floats to `out_factors`.
  // `out_bias` (may be null) receives the user bias for explicit models with
  // biases and 0 otherwise. No events give the zero vector (and bias 0), as
  // for an empty training row.
  // InvalidArgument, with nothing written, when the spans differ in length,
  // an item index is out of range, a value is not finite, or out_factors is
  // null; FailedPrecondition when the model is unusable or the solve is not
  // finite. Thread-safe: const, and scratch is per thread.
  Status SolveUser(std::span<const uint32_t> items, std::span<const float> values,
                   float* out_factors, float* out_bias) const;

  uint32_t factors() const { return model_.factors(); }
  const FactorModel& model() const { return model_; }

 private:
  const FactorModel& model_;
  Status model_status_;
  // Implicit only: alpha0 Y^T Y (+ lambda I when nu = 0; row_solver.h's
  // ImplicitGram), the part of every row's normal
  // equations that does not depend on the row.
  Eigen::MatrixXf gram_reg_;
};

}  // namespace reco
