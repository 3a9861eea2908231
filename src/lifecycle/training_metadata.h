// The metadata every training path records in its model (internal to the
// lifecycle library), so a model trained in one process and one trained under
// mpirun describe themselves alike.
#pragma once

#include <nlohmann/json.hpp>

#include "reco/interactions.h"
#include "reco/recommender.h"

namespace reco::lifecycle_internal {

// {"created_utc", "train_data_hash", "train_records", "params",
// "train_seconds"}; the model file keeps it as free-form JSON.
nlohmann::json TrainingMetadata(const Dataset& train, const ModelConfig& config,
                                double train_seconds);

}  // namespace reco::lifecycle_internal
