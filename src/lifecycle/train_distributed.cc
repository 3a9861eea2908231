// `reco train --distributed`: the ALS families fitted across MPI ranks, with
// the metadata a single-process fit records plus how the work was spread.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "reco/als.h"
#include "reco/distributed.h"
#include "reco/interactions.h"
#include "reco/lifecycle.h"
#include "reco/recommender.h"
#include "training_metadata.h"

namespace reco {

Result<TrainingRun> TrainDistributed(const MpiWorld& world, const Dataset& train,
                                     const ModelConfig& config, int threads) {
  const Status family =
      IsFactorFamily(config.family)
          ? Status::Ok()
          : Status::InvalidArgument(
                "--distributed trains the ALS families (als, ials); fit --family " +
                std::string(ModelFamilyName(config.family)) + " in one process");
  RECO_RETURN_IF_ERROR(world.AllOk(family));
  AlsOptions als = config.als;
  als.threads = world.ThreadsPerRank(threads);

  // Implicit ALS trains on t(value), as FitRecommender does.
  CsrMatrix matrix =
      CsrMatrix::FromInteractions(train.interactions, train.users.size(), train.items.size());
  if (config.family == ModelFamily::kImplicitAls) {
    for (float& v : matrix.values) v = config.values.Apply(v);
  }
  nlohmann::json iterations = nlohmann::json::array();
  double train_seconds = 0;
  auto on_iteration = [&](const DistributedIterationStats& st) {
    train_seconds += st.seconds;
    iterations.push_back({{"iteration", st.iteration},
                          {"seconds", st.seconds},
                          {"solve_seconds", st.solve_seconds},
                          {"exchange_seconds", st.exchange_seconds},
                          {"cpu_seconds", st.cpu_seconds},
                          {"bytes_received", st.bytes_received},
                          {"needed_bytes", st.needed_bytes}});
    spdlog::info(
        "iteration {}: {:.3f}s (solve {:.3f}s, allgather {:.3f}s; cpu {:.3f}s), received "
        "{:.1f} MB (needed rows only: {:.1f} MB)",
        st.iteration, st.seconds, st.solve_seconds, st.exchange_seconds, st.cpu_seconds,
        st.bytes_received / 1e6, st.needed_bytes / 1e6);
  };
  spdlog::info("distributed training: {} ranks, {} threads each", world.size(), als.threads);
  Result<FactorModel> model =
      TrainAlsDistributed(world, matrix, train.users, train.items, als, on_iteration);
  RECO_RETURN_IF_ERROR(world.AllOk(model.status()));

  TrainingRun run;
  run.model = MakeAlsRecommender(std::move(*model), config.values);
  run.seconds = train_seconds;
  nlohmann::json meta = lifecycle_internal::TrainingMetadata(train, config, train_seconds);
  meta["distributed"] = {
      {"ranks", world.size()}, {"threads_per_rank", als.threads}, {"iterations", iterations}};
  run.model->set_metadata_json(meta.dump());
  return run;
}

}  // namespace reco
