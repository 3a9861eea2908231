// ALS training time on MovieLens with the pipeline's default parameters.
//
// BM_TrainExplicit / BM_TrainImplicit run reco::TrainAls on all of ml-100k
// (u.data, every rating a training cell) with the explicit / implicit
// DefaultModelConfig and 1 or 2 threads. One benchmark iteration is a
// whole training run; `s/iter` is its wall time over the ALS iteration count.
// The 2-thread cases report `speedup_vs_1_thread`: the 1-thread time measured
// earlier in the same process (or on demand, when filtered out) over theirs.
//
// BM_ImplicitSolver trains the default implicit model once with the
// conjugate-gradient solver and once with the exact Cholesky solve (1 thread)
// and reports `cholesky_over_cg`, the ratio of their times in this process.
//
// The *_Ml1m cases do the same on ml-1m (ratings.dat) when it exists under
// MovieLensDataDir(); otherwise they are skipped with a message saying where
// they looked, which ends up as error_message in the JSON output.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "reco/als.h"
#include "reco/data_dir.h"
#include "reco/interactions.h"
#include "reco/loader.h"
#include "reco/pipeline.h"

namespace {

struct TrainingData {
  reco::Dataset dataset;
  reco::CsrMatrix user_items;
};

// Loaded once per data set; a null pointer plus a message when unavailable.
struct LoadedData {
  std::unique_ptr<TrainingData> data;
  std::string error;
};

const LoadedData& Data(const std::string& relative_path) {
  static std::map<std::string, LoadedData> cache;
  auto [it, inserted] = cache.try_emplace(relative_path);
  if (!inserted) return it->second;
  std::error_code ignored;
  const std::string path =
      std::filesystem::weakly_canonical(reco::MovieLensDataDir() + "/" + relative_path, ignored);
  if (!std::filesystem::exists(path)) {
    const std::string name = std::filesystem::path(relative_path).begin()->string();
    it->second.error =
        path + " not found (`reco data fetch " + name + " --dest DIR`, then RECO_DATA_DIR=DIR)";
    return it->second;
  }
  auto dataset = reco::LoadInteractions(path, reco::LoadOptions{});
  if (!dataset.ok()) {
    it->second.error = dataset.status().ToString();
    return it->second;
  }
  auto data = std::make_unique<TrainingData>();
  data->dataset = *std::move(dataset);
  data->user_items = reco::CsrMatrix::FromInteractions(
      data->dataset.interactions, data->dataset.users.size(), data->dataset.items.size());
  it->second.data = std::move(data);
  return it->second;
}

// Wall seconds of one TrainAls call; negative with `error` set on failure.
double TrainOnce(const TrainingData& data, const reco::AlsOptions& options, std::string* error) {
  const auto start = std::chrono::steady_clock::now();
  auto model = reco::TrainAls(data.user_items, data.dataset.users, data.dataset.items, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!model.ok()) {
    *error = model.status().ToString();
    return -1;
  }
  benchmark::DoNotOptimize(model->item_factors.data());
  return seconds;
}

// Seconds per TrainAls call keyed by (data set, case name, threads): the
// baselines that later cases divide by.
using TimingKey = std::tuple<std::string, std::string, int>;
std::map<TimingKey, double>& Timings() {
  static std::map<TimingKey, double> timings;
  return timings;
}

// The baseline for `key`: from an earlier benchmark in this process, or
// measured now (a few runs, best kept) when that benchmark was filtered out.
double Baseline(const TimingKey& key, const TrainingData& data, const reco::AlsOptions& options,
                std::string* error) {
  if (auto it = Timings().find(key); it != Timings().end()) return it->second;
  double best = -1;
  for (int run = 0; run < 3; ++run) {
    const double seconds = TrainOnce(data, options, error);
    if (seconds < 0) return -1;
    if (best < 0 || seconds < best) best = seconds;
  }
  return Timings()[key] = best;
}

// Runs whole trainings and reports per-ALS-iteration time; returns the mean
// seconds per training, or a negative number if the state was skipped.
double RunTraining(benchmark::State& state, const TrainingData& data,
                   const reco::AlsOptions& options) {
  double total = 0;
  for (auto _ : state) {
    std::string error;
    const double seconds = TrainOnce(data, options, &error);
    if (seconds < 0) {
      state.SkipWithError(error.c_str());
      return -1;
    }
    total += seconds;
  }
  const double per_training = total / double(state.iterations());
  state.counters["s/iter"] = per_training / options.iterations;
  state.counters["factors"] = options.factors;
  state.counters["iterations"] = options.iterations;
  state.counters["nnz"] = double(data.user_items.values.size());
  return per_training;
}

// range(0): threads. Data and options fixed per registered function.
void TrainCase(benchmark::State& state, const std::string& data_path, const std::string& name,
               reco::AlsOptions options) {
  const LoadedData& loaded = Data(data_path);
  if (!loaded.data) {
    state.SkipWithError(loaded.error.c_str());
    for (auto _ : state) {
    }
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  options.threads = threads;
  const double seconds = RunTraining(state, *loaded.data, options);
  if (seconds < 0) return;
  Timings()[{data_path, name, threads}] = seconds;
  if (threads != 1) {
    reco::AlsOptions single = options;
    single.threads = 1;
    std::string error;
    const double baseline = Baseline({data_path, name, 1}, *loaded.data, single, &error);
    if (baseline < 0) {
      state.SkipWithError(error.c_str());
      return;
    }
    state.counters["speedup_vs_1_thread"] = baseline / seconds;
  }
}

constexpr const char* kMl100k = "ml-100k/u.data";
constexpr const char* kMl1m = "ml-1m/ratings.dat";

void BM_TrainExplicit(benchmark::State& state) {
  TrainCase(state, kMl100k, "explicit",
            reco::DefaultModelConfig(reco::ModelFamily::kExplicitAls).als);
}
void BM_TrainImplicit(benchmark::State& state) {
  TrainCase(state, kMl100k, "implicit",
            reco::DefaultModelConfig(reco::ModelFamily::kImplicitAls).als);
}
void BM_TrainExplicit_Ml1m(benchmark::State& state) {
  TrainCase(state, kMl1m, "explicit",
            reco::DefaultModelConfig(reco::ModelFamily::kExplicitAls).als);
}
void BM_TrainImplicit_Ml1m(benchmark::State& state) {
  TrainCase(state, kMl1m, "implicit",
            reco::DefaultModelConfig(reco::ModelFamily::kImplicitAls).als);
}

// range(0): 0 = conjugate gradient (the default), 1 = Cholesky. One thread,
// so the ratio is solver work only.
void BM_ImplicitSolver(benchmark::State& state) {
  const LoadedData& loaded = Data(kMl100k);
  if (!loaded.data) {
    state.SkipWithError(loaded.error.c_str());
    for (auto _ : state) {
    }
    return;
  }
  reco::AlsOptions options = reco::DefaultModelConfig(reco::ModelFamily::kImplicitAls).als;
  options.threads = 1;
  options.implicit_solver = state.range(0) == 0 ? reco::ImplicitSolver::kConjugateGradient
                                                : reco::ImplicitSolver::kCholesky;
  const std::string name = reco::ImplicitSolverName(options.implicit_solver);
  state.SetLabel(name);
  const double seconds = RunTraining(state, *loaded.data, options);
  if (seconds < 0) return;
  Timings()[{kMl100k, "solver_" + name, 1}] = seconds;
  if (options.implicit_solver == reco::ImplicitSolver::kCholesky) {
    reco::AlsOptions cg = options;
    cg.implicit_solver = reco::ImplicitSolver::kConjugateGradient;
    std::string error;
    const double baseline = Baseline({kMl100k, "solver_cg", 1}, *loaded.data, cg, &error);
    if (baseline < 0) {
      state.SkipWithError(error.c_str());
      return;
    }
    state.counters["cholesky_over_cg"] = seconds / baseline;
  }
}

// A training run takes about a second; a few of them per case keep noise
// down without making the whole program slow.
constexpr double kMinTime = 2.0;

BENCHMARK(BM_TrainExplicit)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->MinTime(kMinTime)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainImplicit)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->MinTime(kMinTime)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ImplicitSolver)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("cholesky")
    ->MinTime(kMinTime)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainExplicit_Ml1m)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->MinTime(kMinTime)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainImplicit_Ml1m)
    ->Arg(1)
    ->Arg(2)
    ->ArgName("threads")
    ->MinTime(kMinTime)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // Which data sets this run saw, so a result file says why ml-1m is missing.
  for (const char* path : {kMl100k, kMl1m}) {
    const LoadedData& loaded = Data(path);
    benchmark::AddCustomContext(
        std::string("data ") + path,
        loaded.data ? std::to_string(loaded.data->user_items.values.size()) + " ratings, " +
                          std::to_string(loaded.data->dataset.users.size()) + " users, " +
                          std::to_string(loaded.data->dataset.items.size()) + " items"
                    : "unavailable: " + loaded.error);
  }
  benchmark::AddCustomContext("data dir", reco::MovieLensDataDir());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
