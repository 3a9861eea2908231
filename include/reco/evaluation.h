// Evaluating a trained model on held-out data, the way Microsoft
// Recommenders' benchmark does: rating metrics on test pairs whose user and
// item the model knows; ranking metrics on top-k lists of items the user did
// NOT interact with in train (seen items are excluded before ranking).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reco/eval_metrics.h"
#include "reco/interactions.h"
#include "reco/recommender.h"
#include "reco/status.h"
#include "reco/topk.h"

namespace reco {

// A compact copy of `records`' users and items: ID maps holding only the IDs
// that occur in `records` (first-seen order), records re-indexed to them.
Dataset SubsetDataset(const Dataset& source, const std::vector<Interaction>& records);

// Records of `data` re-indexed into the model's ID space. IDs the model does
// not know are counted and dropped.
struct MappedRecords {
  std::vector<Interaction> records;
  uint64_t unknown_user_records = 0;
  uint64_t unknown_item_records = 0;  // user known, item not
};
MappedRecords MapToModel(const Recommender& model, const Dataset& data);

struct EvalOptions {
  uint32_t k = 10;
  int threads = 0;
  bool rating_metrics = true;  // off for implicit models, whose scores are not ratings
};

struct EvalResult {
  uint64_t test_records = 0;
  uint64_t cold_test_records = 0;  // user or item unseen in train: no rating prediction
  uint32_t test_users = 0;
  bool has_rating_metrics = false;
  RatingMetrics rating;
  RankingMetrics ranking;
  CoverageMetrics coverage;
};

// `train` is in the model's index space (users x items), the items each user
// saw: excluded from ranking and used for coverage. `test` keeps its own ID
// maps; its IDs are matched to the model's by external ID. Test users/items
// the model has never seen still count in the ground truth (a cold item can
// never be recommended, so it lowers recall, as in the reference).
// Rating metrics need a family that predicts ratings (explicit ALS).
Result<EvalResult> EvaluateModel(const Recommender& model, const CsrMatrix& train,
                                 const Dataset& test, const EvalOptions& options);

// The top-k unseen items of `users` (model indices; all users when empty):
// `seen` is both what the users interacted with (item-item families score
// these rows) and what is excluded.
Result<RankedLists> RecommendUnseen(const Recommender& model, const CsrMatrix& seen,
                                    const std::vector<uint32_t>& users, uint32_t k, int threads);

// CSV `user_id,item_id,score,rank` with external IDs, rank 1-based, one line
// per recommended item; written to a temp file and renamed into place.
Status WriteRecommendationsCsv(const std::string& path, const Recommender& model,
                               const std::vector<uint32_t>& users, const RankedLists& lists);

}  // namespace reco
