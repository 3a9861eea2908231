// Explicit and implicit ALS behind reco::Recommender: a FactorModel, ranked
// by TopKItems (one GEMM per block, as precompute always did) and folded in
// by FoldIn (the trainer's own row solve) for histories.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "family.h"
#include "reco/als.h"
#include "reco/coding.h"
#include "reco/fold_in.h"
#include "reco/parallel.h"
#include "reco/topk.h"

namespace reco {
namespace {

constexpr uint8_t kPayloadFlagBiases = 1u << 0;
constexpr uint64_t kPayloadHeaderBytes = 12;

FactorView UserView(const FactorModel& m) {
  return {m.user_factors.data(), m.num_users(), m.factors()};
}
FactorView ItemView(const FactorModel& m) {
  return {m.item_factors.data(), m.num_items(), m.factors()};
}

// FailedPrecondition naming the first non-finite weight.
Status CheckModelFinite(const FactorModel& m) {
  RECO_RETURN_IF_ERROR(CheckFiniteArray(m.user_factors.data(),
                                        static_cast<uint64_t>(m.user_factors.size()), m.factors(),
                                        "user factor"));
  RECO_RETURN_IF_ERROR(CheckFiniteArray(m.item_factors.data(),
                                        static_cast<uint64_t>(m.item_factors.size()), m.factors(),
                                        "item factor"));
  if (m.has_biases()) {
    RECO_RETURN_IF_ERROR(CheckFiniteArray(
        m.user_bias.data(), static_cast<uint64_t>(m.user_bias.size()), 0, "user bias"));
    RECO_RETURN_IF_ERROR(CheckFiniteArray(
        m.item_bias.data(), static_cast<uint64_t>(m.item_bias.size()), 0, "item bias"));
    RECO_RETURN_IF_ERROR(CheckFiniteArray(&m.global_bias, 1, 0, "global bias"));
  }
  return Status::Ok();
}

class AlsRecommender final : public FamilyRecommender {
 public:
  AlsRecommender(FactorModel model, ValueOptions values) : model_(std::move(model)) {
    model_.params.threads = 0;
    config_.family =
        model_.kind == ModelKind::kExplicit ? ModelFamily::kExplicitAls : ModelFamily::kImplicitAls;
    config_.als = model_.params;
    config_.als.implicit = model_.kind == ModelKind::kImplicit;
    config_.als.use_biases = model_.has_biases();
    // Explicit ALS fits the ratings themselves.
    config_.values = model_.kind == ModelKind::kExplicit ? ValueOptions{} : values;
  }

  ModelFamily family() const override { return config_.family; }
  const ModelConfig& config() const override { return config_; }
  const IdMap& users() const override { return model_.users; }
  const IdMap& items() const override { return model_.items; }
  const FactorModel* factor_model() const override { return &model_; }
  bool predicts_ratings() const override { return model_.kind == ModelKind::kExplicit; }

  Result<RankedLists> RecommendUsers(std::span<const uint32_t> users, const CsrMatrix& interactions,
                                     const CsrMatrix* exclude, uint32_t k,
                                     int threads) const override {
    if (interactions.rows != model_.num_users() || interactions.cols != model_.num_items()) {
      return Status::InvalidArgument("interaction matrix is " + std::to_string(interactions.rows) +
                                     "x" + std::to_string(interactions.cols) +
                                     " but the model has " + std::to_string(model_.num_users()) +
                                     " users and " + std::to_string(model_.num_items()) + " items");
    }
    // What RecommendUnseen (src/eval/evaluation.cc) does: TopKItems ranks
    // by x.y + item bias; the reported score is the full prediction.
    TopKOptions opts;
    opts.k = k;
    opts.threads = threads;
    opts.exclude = exclude;
    if (model_.item_bias.size() != 0) {
      opts.item_bias = {model_.item_bias.data(), static_cast<size_t>(model_.item_bias.size())};
    }
    RECO_ASSIGN_OR_RETURN(RankedLists lists,
                          TopKItems(UserView(model_), ItemView(model_), users, opts));
    if (model_.has_biases() && !lists.scores.empty()) {
      for (uint32_t r = 0; r < lists.rows(); ++r) {
        const uint32_t user = users.empty() ? r : users[r];
        const float offset = model_.global_bias + model_.user_bias[user];
        for (uint64_t p = lists.indptr[r]; p < lists.indptr[r + 1]; ++p) lists.scores[p] += offset;
      }
    }
    return lists;
  }

  Result<RankedLists> RecommendHistories(const CsrMatrix& histories, const CsrMatrix* extra_exclude,
                                         uint32_t k, int threads,
                                         uint32_t* failed_rows) const override {
    RECO_RETURN_IF_ERROR(ValidateHistories(histories, extra_exclude, model_.num_items()));
    const FoldIn& fold_in = GetFoldIn();
    const uint32_t f = model_.factors();
    const uint32_t rows = histories.rows;
    std::vector<float> factors(uint64_t{rows} * f);
    std::vector<float> bias(rows, 0.0f);
    std::vector<uint8_t> solved(rows, 0);
    std::vector<std::vector<float>> values_of(static_cast<size_t>(ResolveThreads(threads)));
    // Each row is the trainer's row solve on the values it would have been
    // trained on (ValueOptions applied), as the real-time refresher does.
    ParallelFor(rows, threads, 16, [&](uint64_t begin, uint64_t end, int worker) {
      std::vector<float>& values = values_of[static_cast<size_t>(worker)];
      for (uint64_t r = begin; r < end; ++r) {
        if (!HistoryRowUsable(histories, static_cast<uint32_t>(r))) continue;
        const uint64_t lo = histories.indptr[r], hi = histories.indptr[r + 1];
        values.assign(histories.values.begin() + static_cast<ptrdiff_t>(lo),
                      histories.values.begin() + static_cast<ptrdiff_t>(hi));
        for (float& v : values) v = config_.values.Apply(v);
        const std::span<const uint32_t> items(histories.indices.data() + lo, hi - lo);
        if (fold_in.SolveUser(items, values, factors.data() + r * f, &bias[r]).ok()) {
          solved[r] = 1;
        }
      }
    });

    // Rank the solved rows together, each excluding its own items and its
    // extra exclusions, exactly as RealtimeEngine::RefreshBatch ranks.
    std::vector<uint32_t> solved_rows;
    for (uint32_t r = 0; r < rows; ++r) {
      if (solved[r]) solved_rows.push_back(r);
    }
    if (failed_rows != nullptr) *failed_rows = rows - static_cast<uint32_t>(solved_rows.size());
    CsrMatrix seen;
    seen.rows = static_cast<uint32_t>(solved_rows.size());
    seen.cols = model_.num_items();
    seen.indptr.reserve(solved_rows.size() + 1);
    seen.indptr.push_back(0);
    for (uint32_t n = 0; n < solved_rows.size(); ++n) {
      const uint32_t r = solved_rows[n];
      if (n != r)
        std::copy_n(factors.data() + uint64_t{r} * f, f, factors.data() + uint64_t{n} * f);
      const uint32_t* a = histories.indices.data() + histories.indptr[r];
      const uint32_t* a_end = histories.indices.data() + histories.indptr[r + 1];
      if (extra_exclude == nullptr) {
        seen.indices.insert(seen.indices.end(), a, a_end);
      } else {
        const uint32_t* b = extra_exclude->indices.data() + extra_exclude->indptr[r];
        const uint32_t* b_end = extra_exclude->indices.data() + extra_exclude->indptr[r + 1];
        std::set_union(a, a_end, b, b_end, std::back_inserter(seen.indices));
      }
      seen.indptr.push_back(seen.indices.size());
    }
    seen.values.assign(seen.indices.size(), 1.0f);

    TopKOptions opts;
    opts.k = k;
    opts.threads = threads;
    opts.exclude = &seen;
    if (model_.item_bias.size() != 0) {
      opts.item_bias = {model_.item_bias.data(), static_cast<size_t>(model_.item_bias.size())};
    }
    FactorView user_view{factors.data(), seen.rows, f};
    RECO_ASSIGN_OR_RETURN(RankedLists ranked, TopKItems(user_view, ItemView(model_), {}, opts));

    RankedLists lists;
    lists.indptr.reserve(uint64_t{rows} + 1);
    lists.items.reserve(ranked.items.size());
    lists.scores.reserve(ranked.scores.size());
    uint32_t next = 0;
    for (uint32_t r = 0; r < rows; ++r) {
      if (!solved[r]) {
        lists.AppendRow({}, {});
        continue;
      }
      const uint32_t n = next++;
      lists.AppendRow(ranked.Items(n), ranked.Scores(n));
      if (model_.has_biases()) {
        const float offset = model_.global_bias + bias[r];
        for (uint64_t p = lists.indptr[r]; p < lists.indptr[r + 1]; ++p) lists.scores[p] += offset;
      }
    }
    return lists;
  }

  Result<RankedLists> SimilarItems(std::span<const uint32_t> items, uint32_t k,
                                   int threads) const override {
    TopKOptions opts;
    opts.k = k;
    opts.threads = threads;
    return reco::SimilarItems(ItemView(model_), items, opts);
  }

  Status PredictRatings(std::span<const uint32_t> users, std::span<const uint32_t> items,
                        std::span<float> out) const override {
    if (model_.kind != ModelKind::kExplicit) return Recommender::PredictRatings(users, items, out);
    if (users.size() != items.size() || out.size() != users.size()) {
      return Status::InvalidArgument("predict ratings: " + std::to_string(users.size()) +
                                     " users, " + std::to_string(items.size()) + " items and " +
                                     std::to_string(out.size()) + " outputs");
    }
    RECO_RETURN_IF_ERROR(CheckIndices(users, model_.num_users(), "user"));
    RECO_RETURN_IF_ERROR(CheckIndices(items, model_.num_items(), "item"));
    for (size_t n = 0; n < users.size(); ++n) out[n] = model_.Predict(users[n], items[n]);
    return Status::Ok();
  }

  Status CheckFinite() const override { return CheckModelFinite(model_); }

  uint64_t memory_bytes() const override {
    uint64_t floats =
        static_cast<uint64_t>(model_.user_factors.size() + model_.item_factors.size() +
                              model_.user_bias.size() + model_.item_bias.size());
    return floats * sizeof(float);
  }

  // Payload (docs/formats.md, "ALS payload"): u32 F, u8 flags, 3 reserved
  // bytes, f32 global bias, then the factor arrays and, with biases, the
  // bias arrays.
  uint64_t payload_bytes() const override {
    const uint64_t rows = uint64_t{model_.num_users()} + model_.num_items();
    return kPayloadHeaderBytes + rows * model_.factors() * sizeof(float) +
           (model_.has_biases() ? rows * sizeof(float) : 0);
  }

  void WritePayload(model_file::HashingWriter& w) const override {
    const bool biases = model_.has_biases();
    w.U32(model_.factors());
    w.U8(biases ? kPayloadFlagBiases : 0);
    w.U8(0);
    w.U8(0);
    w.U8(0);
    w.F32(biases ? model_.global_bias : 0.0f);
    w.Floats(model_.user_factors.data(), static_cast<size_t>(model_.user_factors.size()));
    w.Floats(model_.item_factors.data(), static_cast<size_t>(model_.item_factors.size()));
    if (biases) {
      w.Floats(model_.user_bias.data(), static_cast<size_t>(model_.user_bias.size()));
      w.Floats(model_.item_bias.data(), static_cast<size_t>(model_.item_bias.size()));
    }
  }

 private:
  // Built on first use: Y^T Y costs O(items f^2), which batch consumers
  // (precompute, evaluation) never need.
  const FoldIn& GetFoldIn() const {
    std::call_once(fold_in_once_, [this] { fold_in_ = std::make_unique<FoldIn>(model_); });
    return *fold_in_;
  }

  FactorModel model_;
  ModelConfig config_;
  mutable std::once_flag fold_in_once_;
  mutable std::unique_ptr<FoldIn> fold_in_;
};

}  // namespace

std::unique_ptr<Recommender> MakeAlsRecommender(FactorModel model, ValueOptions values) {
  std::string metadata = model.metadata_json;
  auto out = std::make_unique<AlsRecommender>(std::move(model), values);
  out->set_metadata_json(std::move(metadata));
  return out;
}

Result<std::unique_ptr<Recommender>> FitAls(const ModelConfig& config, const FitData& data,
                                            const FitContext& context) {
  AlsOptions options = config.als;
  options.threads = context.threads;
  const bool implicit = config.family == ModelFamily::kImplicitAls;
  // Implicit families train on t(r); explicit ALS on the ratings.
  CsrMatrix transformed;
  const CsrMatrix* matrix = data.interactions;
  if (implicit && config.values.transform != ValueTransform::kRaw) {
    transformed = TransformedValues(*data.interactions, config.values);
    matrix = &transformed;
  }
  RECO_ASSIGN_OR_RETURN(AlsTrainer trainer,
                        AlsTrainer::Create(*matrix, *data.users, *data.items, options));
  const ValueOptions values = implicit ? config.values : ValueOptions{};
  for (uint32_t it = 1; it <= options.iterations; ++it) {
    const IterationStats stats =
        trainer.Iterate(/*compute_loss=*/static_cast<bool>(context.progress));
    // A diverged model never leaves Fit: stop at the first non-finite sweep.
    Status finite = CheckModelFinite(trainer.model());
    if (!finite.ok()) {
      return Status::FailedPrecondition("ALS diverged at iteration " + std::to_string(it) + ": " +
                                        finite.message());
    }
    if (context.progress) {
      FitProgress p;
      p.step = it;
      p.total = options.iterations;
      char text[64];
      std::snprintf(text, sizeof(text), "loss %.6g", stats.loss);
      p.status = text;
      p.loss = stats.loss;
      p.train_rmse = stats.rmse;
      p.seconds = stats.seconds;
      context.progress(p);
    }
    if (context.on_iteration) {
      const AlsRecommender current(trainer.model(), values);
      RECO_RETURN_IF_ERROR(context.on_iteration(it, current));
    }
  }
  auto model = std::make_unique<AlsRecommender>(std::move(trainer).TakeModel(), values);
  Status finite = model->CheckFinite();
  if (!finite.ok()) return Status::FailedPrecondition("ALS fit: " + finite.message());
  return std::unique_ptr<Recommender>(std::move(model));
}

Result<std::unique_ptr<Recommender>> LoadAlsPayload(const ModelConfig& config, IdMap users,
                                                    IdMap items, const uint8_t* payload,
                                                    uint64_t bytes) {
  if (bytes < kPayloadHeaderBytes) {
    return Status::Corruption("ALS payload of " + std::to_string(bytes) +
                              " bytes is shorter than its " + std::to_string(kPayloadHeaderBytes) +
                              "-byte header");
  }
  const uint32_t f = DecodeFixed32(payload);
  const uint8_t flags = payload[4];
  if ((flags & ~kPayloadFlagBiases) != 0) {
    return Status::Corruption("ALS payload: unknown flag bits " + std::to_string(flags));
  }
  if (payload[5] != 0 || payload[6] != 0 || payload[7] != 0) {
    return Status::Corruption("ALS payload: reserved bytes are not zero");
  }
  if (f != config.als.factors) {
    return Status::Corruption("ALS payload has " + std::to_string(f) +
                              " factors but the config says " + std::to_string(config.als.factors));
  }
  const bool biases = (flags & kPayloadFlagBiases) != 0;
  if (biases != config.als.use_biases) {
    return Status::Corruption(
        std::string("ALS payload ") + (biases ? "has" : "has no") +
        " biases but the config says biases=" + (config.als.use_biases ? "true" : "false"));
  }
  const uint64_t nu = users.size(), ni = items.size();
  // f < 2^32 and rows < 2^33: the product fits in 64 bits.
  const uint64_t expected = kPayloadHeaderBytes + (nu + ni) * f * sizeof(float) +
                            (biases ? (nu + ni) * sizeof(float) : 0);
  if (bytes != expected) {
    return Status::Corruption("ALS payload is " + std::to_string(bytes) + " bytes; " +
                              std::to_string(nu) + " users, " + std::to_string(ni) + " items, " +
                              std::to_string(f) + " factors" + (biases ? " and biases" : "") +
                              " need " + std::to_string(expected));
  }
  FactorModel m;
  m.kind = config.family == ModelFamily::kExplicitAls ? ModelKind::kExplicit : ModelKind::kImplicit;
  m.params = config.als;
  m.params.threads = 0;
  m.global_bias = biases ? DecodeFloat(payload + 8) : 0.0f;
  if (!biases && DecodeFixed32(payload + 8) != 0) {
    return Status::Corruption("ALS payload: global bias without biases is not zero");
  }
  m.users = std::move(users);
  m.items = std::move(items);
  const uint8_t* p = payload + kPayloadHeaderBytes;
  m.user_factors.resize(static_cast<Eigen::Index>(nu), f);
  m.item_factors.resize(static_cast<Eigen::Index>(ni), f);
  DecodeFloats(p, nu * f, m.user_factors.data());
  p += nu * f * sizeof(float);
  DecodeFloats(p, ni * f, m.item_factors.data());
  p += ni * f * sizeof(float);
  if (biases) {
    m.user_bias.resize(static_cast<Eigen::Index>(nu));
    m.item_bias.resize(static_cast<Eigen::Index>(ni));
    DecodeFloats(p, nu, m.user_bias.data());
    p += nu * sizeof(float);
    DecodeFloats(p, ni, m.item_bias.data());
  }
  auto out = std::make_unique<AlsRecommender>(std::move(m), config.values);
  return std::unique_ptr<Recommender>(std::move(out));
}

}  // namespace reco
