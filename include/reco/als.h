// Alternating least squares for explicit ratings (ALS-WR, as Spark MLlib) and
// implicit feedback (Hu, Koren, Volinsky 2008, with the conjugate-gradient
// row solver of benfred/implicit and the unobserved weight alpha0 and
// frequency-scaled regularisation nu of Rendle et al. 2022; the normal
// equations are written out in src/model/row_solver.h). Each half-sweep solves every user (then
// every item) against the fixed other side, in parallel over rows; a row's
// solve depends only on that fixed side, so results do not depend on the
// thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "reco/interactions.h"
#include "reco/model.h"
#include "reco/status.h"

namespace reco {

struct IterationStats {
  uint32_t iteration = 0;  // 1-based
  // The objective ALS minimises, normalised:
  //  explicit: (sum of squared errors + regularisation) / nnz;
  //  implicit: (sum over all cells of c (p - x.y)^2 + regularisation)
  //            / (sum of confidences + cells without an interaction),
  //  the normalisation benfred/implicit reports.
  double loss = 0.0;
  double rmse = 0.0;     // explicit: training RMSE; implicit: NaN
  double seconds = 0.0;  // wall time of the two half-sweeps (loss excluded)
};

using IterationCallback = std::function<void(const IterationStats&, const FactorModel&)>;

// InvalidArgument naming the first option out of range (what TrainAls and
// AlsTrainer::Create check first).
Status ValidateAlsOptions(const AlsOptions& options);

// Trains a model on `user_items` (users x items; values are ratings, or
// interaction strengths when options.implicit). `users`/`items` must have
// one entry per row/column and are moved into the model. The callback, if
// given, runs after every iteration (and then the loss is computed).
// InvalidArgument for bad options or an inconsistent matrix.
Result<FactorModel> TrainAls(const CsrMatrix& user_items, IdMap users, IdMap items,
                             const AlsOptions& options,
                             const IterationCallback& on_iteration = nullptr);

// The step-by-step form of TrainAls, for callers that drive iterations
// themselves (and for tests that set factors by hand).
class AlsTrainer {
 public:
  // Validates the inputs and draws the initial factors from options.seed.
  // `user_items` is referenced, not copied: it must outlive the trainer.
  static Result<AlsTrainer> Create(const CsrMatrix& user_items, IdMap users, IdMap items,
                                   const AlsOptions& options);
  AlsTrainer(AlsTrainer&&) noexcept;
  AlsTrainer& operator=(AlsTrainer&&) noexcept;
  ~AlsTrainer();

  void UpdateUsers();  // solve every user against the current item factors
  void UpdateItems();  // solve every item against the current user factors
  // UpdateUsers + UpdateItems, timed; fills loss/rmse when compute_loss.
  IterationStats Iterate(bool compute_loss = true);
  // loss and rmse as defined in IterationStats, for the current factors.
  IterationStats ComputeLoss() const;

  const FactorModel& model() const;
  // To overwrite factor or bias values (tests, warm starts). Shapes, ID maps
  // and params must not be changed.
  FactorModel& mutable_model();
  FactorModel TakeModel() &&;

 private:
  struct Impl;
  explicit AlsTrainer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace reco
