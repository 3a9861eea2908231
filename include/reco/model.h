// FactorModel: what collaborative-filtering training produces and serving
// reads. A score is global_bias + user_bias[u] + item_bias[i] + x_u . y_i
// (the bias terms only when the model has them), over dense indices that the
// IdMaps translate to and from external IDs.
//
// The model file (SaveModel/LoadModel) is documented byte by byte in
// docs/formats.md, section "Model file".
#pragma once

#include <Eigen/Core>
#include <cassert>
#include <cstdint>
#include <string>

#include "reco/interactions.h"
#include "reco/status.h"

namespace reco {

// Row-major so that one user's or item's factors are contiguous.
using FactorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

enum class ModelKind : uint8_t {
  kExplicit = 1,  // ratings: minimise squared error on observed entries
  kImplicit = 2,  // feedback strengths: weighted loss over all user x item cells
};

enum class ImplicitSolver : uint8_t {
  kConjugateGradient = 0,  // a few CG steps per row, warm-started (benfred/implicit)
  kCholesky = 1,           // exact solve; the reference, slower for large factors
};

const char* ModelKindName(ModelKind kind);         // "explicit", "implicit"
const char* ImplicitSolverName(ImplicitSolver s);  // "cg", "cholesky"

// Training parameters of alternating least squares. They are stored in the
// model file (except `threads`, which does not change the result).
struct AlsOptions {
  uint32_t factors = 64;     // rank of the factorisation
  uint32_t iterations = 15;  // full sweeps (users, then items)
  // Explicit: lambda * n_u on the diagonal of row u's normal equations, n_u its
  // number of ratings (ALS-WR, as Spark MLlib). Implicit: plain lambda (Hu,
  // Koren, Volinsky 2008), because there every row sees all columns.
  float regularization = 0.1f;
  float alpha = 1.0f;  // implicit confidence c = 1 + alpha * |value|
  // Implicit only, after Rendle et al. 2022 ("Revisiting the Performance of
  // iALS on Item Recommendation Benchmarks"): cells without an interaction
  // weigh alpha0 (1 in HKV), and row u's regulariser is
  // lambda (n_u + alpha0 * n_other)^nu (nu = 0: plain lambda, as HKV).
  // The defaults are exactly HKV. Not stored in version-1 model files.
  float nu = 0.0f;
  float alpha0 = 1.0f;
  bool implicit = false;
  bool use_biases = false;  // explicit only: global mean + user bias + item bias
  ImplicitSolver implicit_solver = ImplicitSolver::kConjugateGradient;
  uint32_t cg_steps = 3;  // CG iterations per row and half-sweep
  uint64_t seed = 42;     // initial factors are a pure function of the seed
  int threads = 0;        // 0 = all hardware threads
  // Initial factor entries are uniform in [0, init_scale / sqrt(factors)),
  // so initial rows have norm about init_scale / sqrt(3) for any rank.
  float init_scale = 1.0f;
};

struct FactorModel {
  ModelKind kind = ModelKind::kExplicit;
  AlsOptions params;  // the parameters it was trained with
  IdMap users;
  IdMap items;
  FactorMatrix user_factors;  // users x factors
  FactorMatrix item_factors;  // items x factors
  // Both empty when the model has no biases, else one entry per user/item.
  Eigen::VectorXf user_bias;
  Eigen::VectorXf item_bias;
  float global_bias = 0.0f;
  // Free-form JSON object: training data hash, metrics, creation time...
  std::string metadata_json = "{}";

  uint32_t num_users() const { return static_cast<uint32_t>(user_factors.rows()); }
  uint32_t num_items() const { return static_cast<uint32_t>(item_factors.rows()); }
  uint32_t factors() const { return static_cast<uint32_t>(item_factors.cols()); }
  bool has_biases() const { return user_bias.size() != 0 || item_bias.size() != 0; }

  // Precondition: user < num_users(), item < num_items().
  float Predict(uint32_t user, uint32_t item) const {
    assert(user < num_users() && item < num_items());
    float score = user_factors.row(user).dot(item_factors.row(item));
    if (has_biases()) score += global_bias + user_bias[user] + item_bias[item];
    return score;
  }

  // Checks that shapes agree with each other and with the ID maps.
  Status Validate() const;
};

// Writes the model to `path` atomically: a temporary file beside it is
// written, flushed and renamed over `path`, so readers never see a partial
// model. InvalidArgument if the model is inconsistent, IOError on I/O failure.
Status SaveModel(const FactorModel& model, const std::string& path);

// Reads a model written by SaveModel. NotFound/IOError when the file cannot
// be read; Corruption naming the file and the defect for anything else that
// is wrong with the bytes (magic, version, truncation, checksum, sizes).
Result<FactorModel> LoadModel(const std::string& path);

}  // namespace reco
