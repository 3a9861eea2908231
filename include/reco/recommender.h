// Recommender: the one interface every model family sits behind. Training,
// evaluation, `reco recommend`, precompute, similar items, the real-time
// refresher, retrain, tuning and the model registry all speak to a model
// through it, never to a family's own type.
//
// Families (ModelFamily):
//  - explicit ALS (ALS-WR with optional biases; reco/als.h) — predicts ratings;
//  - implicit ALS (Hu, Koren, Volinsky 2008, with the frequency-scaled
//    regularisation nu and the unobserved-entry weight alpha0 of Rendle et
//    al. 2022; nu = 0, alpha0 = 1 is plain HKV);
//  - EASE (Steck 2019): closed-form item-item weights B = I - P diag(1/diag P),
//    P = (X^T X + lambda I)^-1; O(items^2) memory, O(items^3) time;
//  - item-kNN (SAR-style): item-item similarity from co-occurrence (cosine,
//    Jaccard or lift), optional time decay, top-N neighbours per item kept
//    sparse, so it scales to catalogues far beyond EASE's limit.
//
// Every family scores a *history* (a sparse row of (item, value)) against the
// whole catalogue: factor models fold the history into a user vector (the
// trainer's own row solve), item-item models multiply it by their weights.
// Known users are scored the same way from their training rows, except that
// factor models use their trained user vectors (what precompute always did).
//
// As in faiss, scoring is split from selection: a family fills a block of
// dense scores (batched: GEMM for factor models, sparse x dense / sparse x
// sparse for item-item ones; never one call per (user, item)), and the shared
// selection in reco/topk.h keeps the k best unseen items per row.
//
// Files: SaveRecommender / LoadRecommender read and write the versioned,
// checksummed model file (docs/formats.md, "Model file": version 2 holds any
// family; version-1 files, which are ALS models, still load).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "reco/als.h"
#include "reco/interactions.h"
#include "reco/model.h"
#include "reco/status.h"
#include "reco/topk.h"

namespace reco {

enum class ModelFamily : uint8_t {
  kExplicitAls = 1,  // file value 1, as ModelKind::kExplicit
  kImplicitAls = 2,  // file value 2, as ModelKind::kImplicit
  kEase = 3,
  kItemKnn = 4,
};

// "als", "ials", "ease", "knn": the names of `--family` / `--families`.
const char* ModelFamilyName(ModelFamily family);
// InvalidArgument naming the accepted names for anything else.
Result<ModelFamily> ParseModelFamily(std::string_view name);
bool IsFactorFamily(ModelFamily family);  // the ALS ones: fold-in, MPI training

// How a raw interaction value (a rating, a count, a watch time) becomes the
// signal an implicit family is trained on, t(r). It is part of the model
// (stored in its file) and applied again to every history it scores, so
// live events are read exactly as training rows were. Explicit ALS always
// uses the raw rating. Each transform is odd (t(-r) = -t(r), t(0) = 0), so a
// negative value keeps its sign: the implicit solver reads preference from it.
enum class ValueTransform : uint8_t {
  kRaw = 0,     // t(r) = r             (HKV's confidence 1 + alpha r)
  kBinary = 1,  // t(r) = 1 for r > 0   (presence; Rendle's iALS, EASE's X)
  kLog = 2,     // t(r) = log(1 + r/eps) for r >= 0 (HKV's log-scaled confidence)
};
const char* ValueTransformName(ValueTransform t);  // "raw", "binary", "log"
Result<ValueTransform> ParseValueTransform(std::string_view name);

struct ValueOptions {
  ValueTransform transform = ValueTransform::kRaw;
  float epsilon = 1.0f;  // kLog only; > 0
  // t(r) for one value; values are finite and bounded where they enter (the
  // loader and the API), and t keeps them finite.
  float Apply(float raw) const;
};

// EASE (Steck 2019). Fit estimates its memory (one items x items float64
// matrix, factorised and inverted in place, and the float32 B it keeps:
// 12 bytes per item^2, plus an item-major copy of X) and time before
// allocating anything and refuses with ResourceExhausted naming the catalogue
// size, the estimate and the limit when it does not fit.
struct EaseOptions {
  float lambda = 500.0f;  // L2 penalty on B; > 0
  // 0 = the default limit: half of the machine's physical memory.
  uint64_t max_memory_bytes = 0;
};

enum class KnnSimilarity : uint8_t {
  kCosine = 0,   // c_ij / sqrt(c_ii c_jj)
  kJaccard = 1,  // c_ij / (c_ii + c_jj - c_ij)
  kLift = 2,     // c_ij / (c_ii c_jj)
};
const char* KnnSimilarityName(KnnSimilarity s);  // "cosine", "jaccard", "lift"
Result<KnnSimilarity> ParseKnnSimilarity(std::string_view name);

// Item-kNN / SAR: c_ij is the co-occurrence of items i and j over users
// (sum over users of t(r_ui) t(r_uj), with t from ValueOptions and, when
// half_life_days > 0, each r_ui first weighted by 2^-(T - t_ui)/half_life,
// T the latest timestamp in the training data).
struct KnnOptions {
  KnnSimilarity similarity = KnnSimilarity::kCosine;
  uint32_t neighbors = 100;   // similar items kept per item (top-N by similarity); >= 1
  float shrinkage = 0.0f;     // c_ij / (similarity denominator + shrinkage); >= 0
  double half_life_days = 0;  // 0: no time decay
};

// Everything that defines a model to fit: the family and its options. One
// struct (rather than one per family) so that flags, tuning trials, reports
// and meta.json treat every family alike; only the family's own part is used.
struct ModelConfig {
  ModelFamily family = ModelFamily::kImplicitAls;
  AlsOptions als;  // both ALS families (als.implicit must agree with family)
  ValueOptions values;
  EaseOptions ease;
  KnnOptions knn;

  // The options that matter for `family` as a JSON object, numbers printed
  // as the user gave them (shortest round-trip form: 0.1, not
  // 0.10000000149011612): {"family":"ials","factors":64,...}. Parsed back
  // by ModelConfigFromJson (unknown keys are InvalidArgument naming them).
  std::string ToJson() const;
  // InvalidArgument naming the offending field for out-of-range values.
  Status Validate() const;
};
Result<ModelConfig> ModelConfigFromJson(std::string_view json);

// What a fit reports while it runs (drives progress bars and tune's live
// line). `total` is 0 when unknown.
struct FitProgress {
  uint32_t step = 0;
  uint32_t total = 0;
  std::string status;  // e.g. "loss 0.0213", "inverting 1682 x 1682"
  // Iterative families, per iteration (NaN when not measured): the
  // objective (reco/als.h IterationStats), explicit ALS's training RMSE, and
  // the iteration's wall time without the loss computation.
  double loss = std::numeric_limits<double>::quiet_NaN();
  double train_rmse = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;
};

class Recommender;

struct FitContext {
  int threads = 0;  // 0 = all hardware threads
  std::function<void(const FitProgress&)> progress;
  // Iterative families only (ALS): called after each iteration with the
  // model as it stands, for validation curves. May be null. A non-OK status
  // stops the fit, which returns it (early stopping, cancellation).
  std::function<Status(uint32_t iteration, const Recommender& current)> on_iteration;
};

// Training input: users x items (external IDs in `users` / `items`; values
// are raw interaction values: ratings or strengths). `timestamps`, when not
// empty, is parallel to interactions.values (seconds since the epoch), for
// families that decay by age (item-kNN).
struct FitData {
  const CsrMatrix* interactions = nullptr;
  const IdMap* users = nullptr;
  const IdMap* items = nullptr;
  std::span<const int64_t> timestamps = {};
};

// Estimated cost of fitting, known before any allocation (tune skips a trial
// that would not fit; Fit refuses it).
struct FitCost {
  uint64_t peak_bytes = 0;
  double flops = 0;
};

class Recommender {
 public:
  virtual ~Recommender() = default;

  virtual ModelFamily family() const = 0;
  // The configuration it was fitted with (threads excluded).
  virtual const ModelConfig& config() const = 0;
  // Training users and the catalogue, as dense indices.
  virtual const IdMap& users() const = 0;
  virtual const IdMap& items() const = 0;
  uint32_t num_users() const { return users().size(); }
  uint32_t num_items() const { return items().size(); }

  // Top-k unseen items of known users `users` (model indices; all users when
  // empty): row r of the result belongs to users[r]. `interactions` is the
  // users x items training matrix (item-item families score these rows;
  // factor models use their trained user vectors and ignore it apart from the
  // shape). `exclude`, users x items (typically `interactions` itself), holds
  // items never returned. Ties by lower item index; identical for any thread
  // count. Reported scores are the family's full score (explicit ALS with
  // biases: the predicted rating).
  virtual Result<RankedLists> RecommendUsers(std::span<const uint32_t> users,
                                             const CsrMatrix& interactions,
                                             const CsrMatrix* exclude, uint32_t k,
                                             int threads) const = 0;

  // Top-k items for arbitrary histories: row r of `histories` (rows x
  // num_items(), raw values, items in model index space) is one user — a
  // known user with new events merged in, a user the model never saw, or an
  // anonymous session. Column indices must be strictly increasing within a
  // row (merge repeated items first; InvalidArgument otherwise). Each row's
  // own items are never returned, nor those in row r of `extra_exclude` (may
  // be null; same rows x num_items(); its values are not read). The
  // real-time path: factor models fold each row in (FoldIn), item-item models
  // rescore it. A row that cannot be scored (a fold-in that does not solve, a
  // value that is not finite or beyond kMaxInteractionValue) gives an empty
  // result row and is counted in *failed_rows (may be null).
  virtual Result<RankedLists> RecommendHistories(const CsrMatrix& histories,
                                                 const CsrMatrix* extra_exclude, uint32_t k,
                                                 int threads, uint32_t* failed_rows) const = 0;

  // For each item in `items` (all when empty) the k most similar other items:
  // cosine of factor rows for ALS, the largest weights B_qj of item q's row
  // for EASE (what a history of q alone scores), q's neighbour list for kNN.
  // The item itself is never returned.
  virtual Result<RankedLists> SimilarItems(std::span<const uint32_t> items, uint32_t k,
                                           int threads) const = 0;

  // Rating prediction, explicit ALS only (rating metrics, RMSE tuning):
  // out[n] = prediction for (users[n], items[n]); InvalidArgument for
  // mismatched lengths or out-of-range indices. Other families return false
  // / FailedPrecondition (Status has no Unimplemented code).
  virtual bool predicts_ratings() const { return false; }
  virtual Status PredictRatings(std::span<const uint32_t> users, std::span<const uint32_t> items,
                                std::span<float> out) const;

  // OK when every stored weight is finite; FailedPrecondition naming the
  // first bad entry otherwise. SaveRecommender and the registry refuse a
  // model that fails this, and Fit returns it as an error.
  virtual Status CheckFinite() const = 0;

  // Bytes of the weights held in memory (README's model-size column).
  virtual uint64_t memory_bytes() const = 0;

  // The factor model behind an ALS family (MPI precompute, fold-in tests);
  // null for the others.
  virtual const FactorModel* factor_model() const { return nullptr; }

  // Free-form JSON object stored in the model file: training data hash,
  // parameters as given, metrics, creation time.
  const std::string& metadata_json() const { return metadata_json_; }
  void set_metadata_json(std::string json) { metadata_json_ = std::move(json); }

 private:
  std::string metadata_json_ = "{}";
};

// Estimated peak memory and work of fitting `config` on data of this shape.
FitCost EstimateFitCost(const ModelConfig& config, uint32_t users, uint32_t items, uint64_t nnz);

// Fits `config` on `data`. InvalidArgument for bad options or inconsistent
// data; ResourceExhausted (EASE) when the estimate exceeds the memory limit;
// FailedPrecondition when the result is not finite (never a broken model).
Result<std::unique_ptr<Recommender>> FitRecommender(const ModelConfig& config, const FitData& data,
                                                    const FitContext& context = {});

// Wraps a trained factor model (TrainAls, TrainAlsDistributed, a v1 file).
// `values` is how the model read its training values (kRaw for models that
// predate transforms).
std::unique_ptr<Recommender> MakeAlsRecommender(FactorModel model, ValueOptions values = {});

// The model file (docs/formats.md, "Model file"): written atomically
// (temporary file, fsync, rename, fsync of the directory). InvalidArgument /
// FailedPrecondition for an inconsistent or non-finite model, IOError on I/O
// failure.
Status SaveRecommender(const Recommender& model, const std::string& path);
// Reads version 2 (any family) and version 1 (ALS) files. NotFound/IOError
// when the file cannot be read; Corruption naming the file and the defect for
// anything wrong with the bytes.
Result<std::unique_ptr<Recommender>> LoadRecommender(const std::string& path);

}  // namespace reco
