// The family-independent half of reco/recommender.h: names, value
// transforms, ModelConfig and its JSON, cost estimates, the fit dispatch and
// the input checks every family shares (family.h).
#include "reco/recommender.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "family.h"

namespace reco {

// ---- names ----------------------------------------------------------------------

const char* ModelFamilyName(ModelFamily family) {
  switch (family) {
    case ModelFamily::kExplicitAls:
      return "als";
    case ModelFamily::kImplicitAls:
      return "ials";
    case ModelFamily::kEase:
      return "ease";
    case ModelFamily::kItemKnn:
      return "knn";
  }
  return "unknown";
}

Result<ModelFamily> ParseModelFamily(std::string_view name) {
  for (ModelFamily f : {ModelFamily::kExplicitAls, ModelFamily::kImplicitAls, ModelFamily::kEase,
                        ModelFamily::kItemKnn}) {
    if (name == ModelFamilyName(f)) return f;
  }
  return Status::InvalidArgument("unknown model family '" + std::string(name) +
                                 "' (expected als, ials, ease or knn)");
}

bool IsFactorFamily(ModelFamily family) {
  return family == ModelFamily::kExplicitAls || family == ModelFamily::kImplicitAls;
}

const char* ValueTransformName(ValueTransform t) {
  switch (t) {
    case ValueTransform::kRaw:
      return "raw";
    case ValueTransform::kBinary:
      return "binary";
    case ValueTransform::kLog:
      return "log";
  }
  return "unknown";
}

Result<ValueTransform> ParseValueTransform(std::string_view name) {
  for (ValueTransform t : {ValueTransform::kRaw, ValueTransform::kBinary, ValueTransform::kLog}) {
    if (name == ValueTransformName(t)) return t;
  }
  return Status::InvalidArgument("unknown value transform '" + std::string(name) +
                                 "' (expected raw, binary or log)");
}

const char* KnnSimilarityName(KnnSimilarity s) {
  switch (s) {
    case KnnSimilarity::kCosine:
      return "cosine";
    case KnnSimilarity::kJaccard:
      return "jaccard";
    case KnnSimilarity::kLift:
      return "lift";
  }
  return "unknown";
}

Result<KnnSimilarity> ParseKnnSimilarity(std::string_view name) {
  for (KnnSimilarity s : {KnnSimilarity::kCosine, KnnSimilarity::kJaccard, KnnSimilarity::kLift}) {
    if (name == KnnSimilarityName(s)) return s;
  }
  return Status::InvalidArgument("unknown similarity '" + std::string(name) +
                                 "' (expected cosine, jaccard or lift)");
}

float ValueOptions::Apply(float raw) const {
  // Odd functions of r: the sign (a dislike, a negative strength) survives
  // every transform, as the implicit solver reads preference from it.
  switch (transform) {
    case ValueTransform::kRaw:
      return raw;
    case ValueTransform::kBinary:
      return raw > 0 ? 1.0f : (raw < 0 ? -1.0f : 0.0f);
    case ValueTransform::kLog: {
      // In double: |r| / eps overflows a float for tiny eps.
      const double magnitude = std::log1p(std::fabs(double{raw}) / double{epsilon});
      return static_cast<float>(raw < 0 ? -magnitude : magnitude);
    }
  }
  return raw;
}

// ---- ModelConfig --------------------------------------------------------------

namespace {

constexpr size_t kMaxConfigJsonBytes = 64 * 1024;
constexpr uint32_t kMaxNeighbors = 1u << 20;

const char* SolverJsonName(ImplicitSolver s) { return ImplicitSolverName(s); }

// Shortest text that reads back as the same float ("0.1", not
// "0.10000000149011612").
std::string FloatText(float v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}
std::string DoubleText(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

class JsonObjectWriter {
 public:
  void String(const char* key, const char* value) {
    Key(key);
    out_ += '"';
    out_ += value;  // enum names: no escaping needed
    out_ += '"';
  }
  void Number(const char* key, const std::string& text) {
    Key(key);
    out_ += text;
  }
  void Bool(const char* key, bool v) {
    Key(key);
    out_ += v ? "true" : "false";
  }
  std::string Finish() { return out_ + "}"; }

 private:
  void Key(const char* key) {
    out_ += out_.size() > 1 ? ",\"" : "\"";
    out_ += key;
    out_ += "\":";
  }
  std::string out_ = "{";
};

bool UsesValues(ModelFamily f) { return f != ModelFamily::kExplicitAls; }

void WriteValues(const ValueOptions& v, JsonObjectWriter* w) {
  w->String("transform", ValueTransformName(v.transform));
  if (v.transform == ValueTransform::kLog) w->Number("epsilon", FloatText(v.epsilon));
}

Status FieldError(const std::string& field, const std::string& why) {
  return Status::InvalidArgument("model config: " + field + " " + why);
}

Status CheckFinite(const char* field, double v, double lo, bool lo_inclusive, double hi) {
  if (!std::isfinite(v) || v < lo || (!lo_inclusive && v == lo) || v > hi) {
    return FieldError(field, std::string("must be ") + (lo_inclusive ? "in [" : "in (") +
                                 DoubleText(lo) + ", " + DoubleText(hi) + "], got " +
                                 DoubleText(v));
  }
  return Status::Ok();
}

}  // namespace

std::string ModelConfig::ToJson() const {
  JsonObjectWriter w;
  w.String("family", ModelFamilyName(family));
  switch (family) {
    case ModelFamily::kExplicitAls:
    case ModelFamily::kImplicitAls:
      w.Number("factors", std::to_string(als.factors));
      w.Number("iterations", std::to_string(als.iterations));
      w.Number("regularization", FloatText(als.regularization));
      if (family == ModelFamily::kExplicitAls) {
        w.Bool("biases", als.use_biases);
      } else {
        w.Number("alpha", FloatText(als.alpha));
        w.Number("nu", FloatText(als.nu));
        w.Number("alpha0", FloatText(als.alpha0));
        w.String("solver", SolverJsonName(als.implicit_solver));
        w.Number("cg_steps", std::to_string(als.cg_steps));
      }
      w.Number("seed", std::to_string(als.seed));
      w.Number("init_scale", FloatText(als.init_scale));
      break;
    case ModelFamily::kEase:
      w.Number("lambda", FloatText(ease.lambda));
      break;
    case ModelFamily::kItemKnn:
      w.String("similarity", KnnSimilarityName(knn.similarity));
      w.Number("neighbors", std::to_string(knn.neighbors));
      w.Number("shrinkage", FloatText(knn.shrinkage));
      w.Number("half_life_days", DoubleText(knn.half_life_days));
      break;
  }
  if (UsesValues(family)) WriteValues(values, &w);
  return w.Finish();
}

Status ModelConfig::Validate() const {
  switch (family) {
    case ModelFamily::kExplicitAls:
    case ModelFamily::kImplicitAls: {
      const bool implicit = family == ModelFamily::kImplicitAls;
      if (als.implicit != implicit) {
        return FieldError("als.implicit", std::string("must be ") + (implicit ? "true" : "false") +
                                              " for family " + ModelFamilyName(family));
      }
      RECO_RETURN_IF_ERROR(ValidateAlsOptions(als).WithContext("model config"));
      if (!implicit && values.transform != ValueTransform::kRaw) {
        return FieldError("transform", "must be raw for explicit ALS (it fits the ratings)");
      }
      break;
    }
    case ModelFamily::kEase:
      RECO_RETURN_IF_ERROR(CheckFinite("lambda", ease.lambda, 0, false, 1e30));
      break;
    case ModelFamily::kItemKnn:
      if (knn.similarity != KnnSimilarity::kCosine && knn.similarity != KnnSimilarity::kJaccard &&
          knn.similarity != KnnSimilarity::kLift) {
        return FieldError("similarity", "is not cosine, jaccard or lift");
      }
      if (knn.neighbors == 0 || knn.neighbors > kMaxNeighbors) {
        return FieldError("neighbors", "must be in [1, " + std::to_string(kMaxNeighbors) +
                                           "], got " + std::to_string(knn.neighbors));
      }
      RECO_RETURN_IF_ERROR(CheckFinite("shrinkage", knn.shrinkage, 0, true, 1e30));
      RECO_RETURN_IF_ERROR(CheckFinite("half_life_days", knn.half_life_days, 0, true, 1e9));
      break;
    default:
      return FieldError("family", "is not als, ials, ease or knn");
  }
  if (UsesValues(family)) {
    if (values.transform != ValueTransform::kRaw && values.transform != ValueTransform::kBinary &&
        values.transform != ValueTransform::kLog) {
      return FieldError("transform", "is not raw, binary or log");
    }
    if (values.transform == ValueTransform::kLog) {
      RECO_RETURN_IF_ERROR(CheckFinite("epsilon", values.epsilon, 0, false, 1e30));
    }
  }
  return Status::Ok();
}

Result<ModelConfig> ModelConfigFromJson(std::string_view text) {
  using nlohmann::json;
  if (text.size() > kMaxConfigJsonBytes) {
    return Status::InvalidArgument("model config: " + std::to_string(text.size()) +
                                   " bytes of JSON, more than the limit of " +
                                   std::to_string(kMaxConfigJsonBytes));
  }
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("model config: not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("model config: not a JSON object");
  auto family_it = doc.find("family");
  if (family_it == doc.end() || !family_it->is_string()) {
    return FieldError("family", "is missing (a string: als, ials, ease or knn)");
  }
  ModelConfig c;
  RECO_ASSIGN_OR_RETURN(c.family, ParseModelFamily(family_it->get<std::string>()));
  c.als.implicit = c.family == ModelFamily::kImplicitAls;

  auto number = [](const std::string& key, const json& v, double lo, double hi) -> Result<double> {
    if (!v.is_number()) return FieldError(key, "must be a number");
    const double d = v.get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) {
      return FieldError(
          key, "must be in [" + DoubleText(lo) + ", " + DoubleText(hi) + "], got " + v.dump());
    }
    return d;
  };
  auto to_float = [&](const std::string& key, const json& v, float* out) -> Status {
    RECO_ASSIGN_OR_RETURN(double d, number(key, v, -std::numeric_limits<float>::max(),
                                           std::numeric_limits<float>::max()));
    *out = static_cast<float>(d);
    return Status::Ok();
  };
  auto to_uint = [](const std::string& key, const json& v, uint64_t max, auto* out) -> Status {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      return FieldError(key, "must be a non-negative integer, got " + v.dump());
    }
    const uint64_t u = v.get<uint64_t>();
    if (u > max) return FieldError(key, "must be at most " + std::to_string(max));
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(u);
    return Status::Ok();
  };
  auto to_string = [](const std::string& key, const json& v) -> Result<std::string> {
    if (!v.is_string()) return FieldError(key, "must be a string, got " + v.dump());
    return v.get<std::string>();
  };

  const bool als = IsFactorFamily(c.family);
  const bool ials = c.family == ModelFamily::kImplicitAls;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "family") continue;
    if (als && key == "factors") {
      RECO_RETURN_IF_ERROR(to_uint(key, v, UINT32_MAX, &c.als.factors));
    } else if (als && key == "iterations") {
      RECO_RETURN_IF_ERROR(to_uint(key, v, UINT32_MAX, &c.als.iterations));
    } else if (als && key == "regularization") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.als.regularization));
    } else if (als && key == "seed") {
      RECO_RETURN_IF_ERROR(to_uint(key, v, UINT64_MAX, &c.als.seed));
    } else if (als && key == "init_scale") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.als.init_scale));
    } else if (c.family == ModelFamily::kExplicitAls && key == "biases") {
      if (!v.is_boolean()) return FieldError(key, "must be true or false");
      c.als.use_biases = v.get<bool>();
    } else if (ials && key == "alpha") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.als.alpha));
    } else if (ials && key == "nu") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.als.nu));
    } else if (ials && key == "alpha0") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.als.alpha0));
    } else if (ials && key == "solver") {
      RECO_ASSIGN_OR_RETURN(std::string s, to_string(key, v));
      if (s == "cg") {
        c.als.implicit_solver = ImplicitSolver::kConjugateGradient;
      } else if (s == "cholesky") {
        c.als.implicit_solver = ImplicitSolver::kCholesky;
      } else {
        return FieldError(key, "must be cg or cholesky, got '" + s + "'");
      }
    } else if (ials && key == "cg_steps") {
      RECO_RETURN_IF_ERROR(to_uint(key, v, UINT32_MAX, &c.als.cg_steps));
    } else if (c.family == ModelFamily::kEase && key == "lambda") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.ease.lambda));
    } else if (c.family == ModelFamily::kEase && key == "max_memory_bytes") {
      RECO_RETURN_IF_ERROR(to_uint(key, v, UINT64_MAX, &c.ease.max_memory_bytes));
    } else if (c.family == ModelFamily::kItemKnn && key == "similarity") {
      RECO_ASSIGN_OR_RETURN(std::string s, to_string(key, v));
      RECO_ASSIGN_OR_RETURN(c.knn.similarity, ParseKnnSimilarity(s));
    } else if (c.family == ModelFamily::kItemKnn && key == "neighbors") {
      RECO_RETURN_IF_ERROR(to_uint(key, v, UINT32_MAX, &c.knn.neighbors));
    } else if (c.family == ModelFamily::kItemKnn && key == "shrinkage") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.knn.shrinkage));
    } else if (c.family == ModelFamily::kItemKnn && key == "half_life_days") {
      RECO_ASSIGN_OR_RETURN(c.knn.half_life_days, number(key, v, 0, 1e9));
    } else if (UsesValues(c.family) && key == "transform") {
      RECO_ASSIGN_OR_RETURN(std::string s, to_string(key, v));
      RECO_ASSIGN_OR_RETURN(c.values.transform, ParseValueTransform(s));
    } else if (UsesValues(c.family) && key == "epsilon") {
      RECO_RETURN_IF_ERROR(to_float(key, v, &c.values.epsilon));
    } else {
      return Status::InvalidArgument("model config: unknown key '" + key + "' for family " +
                                     ModelFamilyName(c.family));
    }
  }
  RECO_RETURN_IF_ERROR(c.Validate());
  return c;
}

// ---- Recommender defaults -----------------------------------------------------

Status Recommender::PredictRatings(std::span<const uint32_t>, std::span<const uint32_t>,
                                   std::span<float>) const {
  return Status::FailedPrecondition(std::string(ModelFamilyName(family())) +
                                    " models rank items; they do not predict ratings");
}

// ---- cost and fit -------------------------------------------------------------

FitCost EstimateFitCost(const ModelConfig& config, uint32_t users, uint32_t items, uint64_t nnz) {
  FitCost cost;
  const double u = users, i = items, n = static_cast<double>(nnz);
  // A CSR copy: indices + values, plus indptr.
  auto csr_bytes = [&](double rows) { return 8.0 * n + 8.0 * (rows + 1); };
  switch (config.family) {
    case ModelFamily::kExplicitAls:
    case ModelFamily::kImplicitAls: {
      const double f = config.als.factors;
      double bytes = 4.0 * f * (u + i) + csr_bytes(i);  // factors + the transposed matrix
      if (config.als.use_biases) bytes += 4.0 * (u + i);
      if (config.family == ModelFamily::kImplicitAls &&
          config.values.transform != ValueTransform::kRaw) {
        bytes += csr_bytes(u);  // the transformed copy
      }
      // Per iteration and side: rank-f updates for every entry, one f x f
      // solve per row (CG: cg_steps matrix-vector products), the Gram.
      double per_sweep = 2.0 * (2.0 * n * f * f + 2.0 * (u + i) * f * f);
      if (config.family == ModelFamily::kImplicitAls &&
          config.als.implicit_solver == ImplicitSolver::kConjugateGradient) {
        per_sweep =
            2.0 * (u + i) * f * f + config.als.cg_steps * 2.0 * (2.0 * n * f + (u + i) * f * f);
      } else {
        per_sweep += (u + i) * f * f * f / 3.0;
      }
      cost.peak_bytes = static_cast<uint64_t>(bytes);
      cost.flops = per_sweep * config.als.iterations;
      break;
    }
    case ModelFamily::kEase:
      cost = EaseFitCost(users, items, nnz);
      break;
    case ModelFamily::kItemKnn:
      cost = KnnFitCost(users, items, nnz, config.knn.neighbors);
      break;
  }
  return cost;
}

Result<std::unique_ptr<Recommender>> FitRecommender(const ModelConfig& config, const FitData& data,
                                                    const FitContext& context) {
  RECO_RETURN_IF_ERROR(config.Validate());
  RECO_RETURN_IF_ERROR(ValidateFitData(data));
  switch (config.family) {
    case ModelFamily::kExplicitAls:
    case ModelFamily::kImplicitAls:
      return FitAls(config, data, context);
    case ModelFamily::kEase:
      return FitEase(config, data, context);
    case ModelFamily::kItemKnn:
      return FitKnn(config, data, context);
  }
  return Status::InvalidArgument("model config: family is not als, ials, ease or knn");
}

// ---- shared checks (family.h) -------------------------------------------------

namespace {

// indptr consistent and column indices in range and strictly increasing.
Status CheckCsr(const CsrMatrix& m, const char* what) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(std::string(what) + ": " + why);
  };
  if (m.indptr.size() != uint64_t{m.rows} + 1 || m.indptr.front() != 0 ||
      m.indptr.back() != m.indices.size() || m.values.size() != m.indices.size()) {
    return bad("indptr/indices/values sizes do not describe " + std::to_string(m.rows) + " rows");
  }
  for (uint32_t r = 0; r < m.rows; ++r) {
    const uint64_t begin = m.indptr[r], end = m.indptr[r + 1];
    if (begin > end) return bad("row " + std::to_string(r) + ": indptr decreases");
    for (uint64_t p = begin; p < end; ++p) {
      if (m.indices[p] >= m.cols) {
        return bad("row " + std::to_string(r) + ": column " + std::to_string(m.indices[p]) +
                   " >= " + std::to_string(m.cols));
      }
      if (p > begin && m.indices[p] <= m.indices[p - 1]) {
        return bad("row " + std::to_string(r) +
                   ": column indices are not strictly increasing (merge repeated items first)");
      }
    }
  }
  return Status::Ok();
}

bool ValueUsable(float v) { return std::isfinite(v) && std::fabs(v) <= kMaxInteractionValue; }

}  // namespace

Status ValidateFitData(const FitData& data) {
  if (data.interactions == nullptr || data.users == nullptr || data.items == nullptr) {
    return Status::InvalidArgument("fit: interactions and ID maps are required");
  }
  const CsrMatrix& m = *data.interactions;
  if (m.rows == 0 || m.cols == 0 || m.nnz() == 0) {
    return Status::InvalidArgument("fit: the training matrix is empty (" + std::to_string(m.rows) +
                                   " users x " + std::to_string(m.cols) + " items, " +
                                   std::to_string(m.nnz()) + " interactions)");
  }
  if (data.users->size() != m.rows || data.items->size() != m.cols) {
    return Status::InvalidArgument(
        "fit: ID maps do not match the training matrix: " + std::to_string(data.users->size()) +
        " users, " + std::to_string(data.items->size()) + " items for a " + std::to_string(m.rows) +
        " x " + std::to_string(m.cols) + " matrix");
  }
  RECO_RETURN_IF_ERROR(CheckCsr(m, "fit: training matrix"));
  for (uint64_t p = 0; p < m.nnz(); ++p) {
    if (!ValueUsable(m.values[p])) {
      return Status::InvalidArgument(
          "fit: training matrix entry " + std::to_string(p) + " has value " +
          DoubleText(m.values[p]) + ", outside the finite range [-" +
          FloatText(kMaxInteractionValue) + ", " + FloatText(kMaxInteractionValue) + "]");
    }
  }
  if (!data.timestamps.empty() && data.timestamps.size() != m.nnz()) {
    return Status::InvalidArgument("fit: " + std::to_string(data.timestamps.size()) +
                                   " timestamps for " + std::to_string(m.nnz()) + " interactions");
  }
  return Status::Ok();
}

CsrMatrix TransformedValues(const CsrMatrix& m, const ValueOptions& values) {
  CsrMatrix out = m;
  if (values.transform != ValueTransform::kRaw) {
    for (float& v : out.values) v = values.Apply(v);
  }
  return out;
}

Status ValidateHistories(const CsrMatrix& histories, const CsrMatrix* extra_exclude,
                         uint32_t num_items) {
  if (histories.cols != num_items) {
    return Status::InvalidArgument("histories have " + std::to_string(histories.cols) +
                                   " columns for a model of " + std::to_string(num_items) +
                                   " items");
  }
  RECO_RETURN_IF_ERROR(CheckCsr(histories, "histories"));
  if (extra_exclude != nullptr) {
    if (extra_exclude->rows != histories.rows || extra_exclude->cols != num_items) {
      return Status::InvalidArgument("extra exclusions are " + std::to_string(extra_exclude->rows) +
                                     " x " + std::to_string(extra_exclude->cols) + " for " +
                                     std::to_string(histories.rows) + " histories of " +
                                     std::to_string(num_items) + " items");
    }
    // Values are never read; an exclusion matrix may come without them.
    CsrMatrix shape_only;
    const CsrMatrix* check = extra_exclude;
    if (extra_exclude->values.size() != extra_exclude->indices.size()) {
      shape_only.rows = extra_exclude->rows;
      shape_only.cols = extra_exclude->cols;
      shape_only.indptr = extra_exclude->indptr;
      shape_only.indices = extra_exclude->indices;
      shape_only.values.assign(extra_exclude->indices.size(), 0.0f);
      check = &shape_only;
    }
    RECO_RETURN_IF_ERROR(CheckCsr(*check, "extra exclusions"));
  }
  return Status::Ok();
}

bool HistoryRowUsable(const CsrMatrix& histories, uint32_t r) {
  for (uint64_t p = histories.indptr[r]; p < histories.indptr[r + 1]; ++p) {
    if (!ValueUsable(histories.values[p])) return false;
  }
  return true;
}

CsrMatrix UnionRows(const CsrMatrix& a, const CsrMatrix* b) {
  CsrMatrix out;
  out.rows = a.rows;
  out.cols = a.cols;
  out.indptr.reserve(uint64_t{a.rows} + 1);
  out.indptr.push_back(0);
  out.indices.reserve(a.nnz() + (b != nullptr ? b->nnz() : 0));
  for (uint32_t r = 0; r < a.rows; ++r) {
    const uint32_t* pa = a.indices.data() + a.indptr[r];
    const uint32_t* ea = a.indices.data() + a.indptr[r + 1];
    if (b == nullptr) {
      out.indices.insert(out.indices.end(), pa, ea);
    } else {
      const uint32_t* pb = b->indices.data() + b->indptr[r];
      const uint32_t* eb = b->indices.data() + b->indptr[r + 1];
      std::set_union(pa, ea, pb, eb, std::back_inserter(out.indices));
    }
    out.indptr.push_back(out.indices.size());
  }
  out.values.assign(out.indices.size(), 1.0f);
  return out;
}

Status CheckIndices(std::span<const uint32_t> ids, uint32_t limit, const char* what) {
  for (size_t n = 0; n < ids.size(); ++n) {
    if (ids[n] >= limit) {
      return Status::InvalidArgument(std::string(what) + " index " + std::to_string(ids[n]) +
                                     " at position " + std::to_string(n) + " is out of range (" +
                                     std::to_string(limit) + ")");
    }
  }
  return Status::Ok();
}

Status CheckFiniteArray(const float* data, uint64_t n, uint64_t cols, const char* what) {
  for (uint64_t p = 0; p < n; ++p) {
    if (!std::isfinite(data[p])) {
      return Status::FailedPrecondition(std::string(what) + " entry (" +
                                        std::to_string(cols ? p / cols : p) + ", " +
                                        std::to_string(cols ? p % cols : 0) + ") is " +
                                        DoubleText(data[p]) + ": the model is not finite");
    }
  }
  return Status::Ok();
}

}  // namespace reco
