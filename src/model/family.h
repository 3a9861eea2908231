// What the model families share behind reco::Recommender (recommender.h):
// the hooks the version-2 model file needs, each family's fit, loader and
// constructor from weights (the loaders and the golden-file tests use them),
// and the input checks every family applies the same way. Internal to the
// library.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model_file_internal.h"
#include "reco/recommender.h"

namespace reco {

// Every Recommender this library makes is one of these; SaveRecommender
// refuses any other implementation.
class FamilyRecommender : public Recommender {
 public:
  // The family payload of the version-2 model file (docs/formats.md, "Model
  // file", one subsection per family): its exact size, then its bytes.
  virtual uint64_t payload_bytes() const = 0;
  virtual void WritePayload(model_file::HashingWriter& out) const = 0;
};

// ---- per family ---------------------------------------------------------------

// ALS: FitRecommender for kExplicitAls / kImplicitAls.
Result<std::unique_ptr<Recommender>> FitAls(const ModelConfig& config, const FitData& data,
                                            const FitContext& context);
// Parses an ALS payload of `bytes` bytes for the users/items and config of
// the file. Corruption (message without the path) for anything inconsistent.
Result<std::unique_ptr<Recommender>> LoadAlsPayload(const ModelConfig& config, IdMap users,
                                                    IdMap items, const uint8_t* payload,
                                                    uint64_t bytes);

// EASE (ease_recommender.cc): FitRecommender for kEase, its cost estimate,
// its payload loader and a model from given weights (I x I, row-major B).
Result<std::unique_ptr<Recommender>> FitEase(const ModelConfig& config, const FitData& data,
                                             const FitContext& context);
FitCost EaseFitCost(uint32_t users, uint32_t items, uint64_t nnz);
Result<std::unique_ptr<Recommender>> LoadEasePayload(const ModelConfig& config, IdMap users,
                                                     IdMap items, const uint8_t* payload,
                                                     uint64_t bytes);
std::unique_ptr<Recommender> MakeEaseRecommender(const ModelConfig& config, IdMap users,
                                                 IdMap items, std::vector<float> weights);

// Item-kNN (knn_recommender.cc): the same four for kItemKnn; `neighbors`
// is items x items, columns strictly increasing, no diagonal entries.
Result<std::unique_ptr<Recommender>> FitKnn(const ModelConfig& config, const FitData& data,
                                            const FitContext& context);
FitCost KnnFitCost(uint32_t users, uint32_t items, uint64_t nnz, uint32_t neighbors);
Result<std::unique_ptr<Recommender>> LoadKnnPayload(const ModelConfig& config, IdMap users,
                                                    IdMap items, const uint8_t* payload,
                                                    uint64_t bytes);
std::unique_ptr<Recommender> MakeKnnRecommender(const ModelConfig& config, IdMap users, IdMap items,
                                                CsrMatrix neighbors);

// ---- shared checks and transforms -------------------------------------------

// InvalidArgument unless `data` is a well-formed users x items CSR with ID
// maps of its shape, finite values of magnitude <= kMaxInteractionValue and,
// when given, one timestamp per value.
Status ValidateFitData(const FitData& data);

// `m` with every value replaced by values.Apply(value).
CsrMatrix TransformedValues(const CsrMatrix& m, const ValueOptions& values);

// Checks a rows x num_items history matrix (and `extra_exclude`, if given,
// of the same shape): indptr consistent, column indices in range and
// strictly increasing within each row. InvalidArgument naming the defect.
Status ValidateHistories(const CsrMatrix& histories, const CsrMatrix* extra_exclude,
                         uint32_t num_items);

// Whether row r of `histories` can be scored: every value finite and of
// magnitude <= kMaxInteractionValue (a row that is not counts as failed).
bool HistoryRowUsable(const CsrMatrix& histories, uint32_t r);

// Row r is the union of row r of `a` and of `b` (b may be null): the items
// a history row may not be recommended. Values are not kept.
CsrMatrix UnionRows(const CsrMatrix& a, const CsrMatrix* b);

// InvalidArgument naming the first id >= limit.
Status CheckIndices(std::span<const uint32_t> ids, uint32_t limit, const char* what);

// FailedPrecondition naming the first non-finite entry of data[0 .. n), a
// rows x cols row-major array called `what`.
Status CheckFiniteArray(const float* data, uint64_t n, uint64_t cols, const char* what);

}  // namespace reco
