// Top-k scoring throughput against the machine's own sgemm speed.
//
// BM_Sgemm runs exactly the GEMMs top-k scoring issues (default query block
// x item block, 64 factors, one OpenBLAS thread per worker)
// with no selection, giving the GFLOP/s ceiling for this shape. BM_TopK runs
// TopKItems on the same data (k = 10, ~50 excluded items per user) and
// reports users/s and `sgemm_fraction`: its effective GFLOP/s over the
// ceiling measured in the same process with the same thread count. The gap
// is selection, exclusion handling and the gather of query rows.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <vector>

#include "reco/parallel.h"
#include "reco/topk.h"

namespace {

constexpr uint32_t kUsers = 10000, kItems = 20000, kDim = 64, kK = 10;
const uint32_t kQueryBlock = reco::TopKOptions{}.query_block;
const uint32_t kItemBlock = reco::TopKOptions{}.item_block;
constexpr double kFlops = 2.0 * kUsers * kItems * kDim;  // one full scoring pass

struct Data {
  std::vector<float> users, items;
  reco::CsrMatrix seen;
  Data() {
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 0.1f);
    users.resize(uint64_t{kUsers} * kDim);
    items.resize(uint64_t{kItems} * kDim);
    for (float& x : users) x = normal(rng);
    for (float& x : items) x = normal(rng);
    std::uniform_int_distribution<uint32_t> item(0, kItems - 1);
    std::vector<reco::Interaction> records;
    for (uint32_t u = 0; u < kUsers; ++u) {
      std::vector<uint32_t> picked;
      for (int j = 0; j < 50; ++j) picked.push_back(item(rng));
      std::sort(picked.begin(), picked.end());
      picked.erase(std::unique(picked.begin(), picked.end()), picked.end());
      for (uint32_t i : picked) records.push_back({u, i, 1.0f, 0});
    }
    seen = reco::CsrMatrix::FromInteractions(records, kUsers, kItems);
  }
};

const Data& TheData() {
  static const Data data;
  return data;
}

// One pass of the blocked GEMMs TopKItems performs, without selection.
void SgemmPass(const Data& d, int threads, std::vector<std::vector<float>>& scratch) {
  reco::ParallelFor(kUsers, threads, kQueryBlock, [&](uint64_t begin, uint64_t end, int w) {
    std::vector<float>& c = scratch[static_cast<size_t>(w)];
    for (uint64_t b = begin; b < end; b += kQueryBlock) {
      const int nq = static_cast<int>(std::min<uint64_t>(end, b + kQueryBlock) - b);
      for (uint32_t i0 = 0; i0 < kItems; i0 += kItemBlock) {
        const int ni = static_cast<int>(std::min(kItemBlock, kItems - i0));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, ni, kDim, 1.0f,
                    d.users.data() + b * kDim, kDim, d.items.data() + uint64_t{i0} * kDim, kDim,
                    0.0f, c.data(), ni);
      }
      benchmark::DoNotOptimize(c.data());
    }
  });
}

// GFLOP/s of SgemmPass by thread count, filled by BM_Sgemm or on demand.
std::map<int, double>& SgemmGflops() {
  static std::map<int, double> measured;
  return measured;
}

double MeasureSgemmGflops(int threads) {
  auto& measured = SgemmGflops();
  if (auto it = measured.find(threads); it != measured.end()) return it->second;
  openblas_set_num_threads(1);
  std::vector<std::vector<float>> scratch(threads, std::vector<float>(kQueryBlock * kItemBlock));
  SgemmPass(TheData(), threads, scratch);  // warm-up
  int passes = 0;
  auto start = std::chrono::steady_clock::now();
  double seconds = 0;
  while (seconds < 1.0) {
    SgemmPass(TheData(), threads, scratch);
    ++passes;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return measured[threads] = kFlops * passes / seconds / 1e9;
}

void BM_Sgemm(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const Data& d = TheData();
  openblas_set_num_threads(1);
  std::vector<std::vector<float>> scratch(threads, std::vector<float>(kQueryBlock * kItemBlock));
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) SgemmPass(d, threads, scratch);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double gflops = kFlops * double(state.iterations()) / seconds / 1e9;
  SgemmGflops()[threads] = gflops;
  state.counters["GFLOP/s"] = gflops;
}

void BM_TopK(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const Data& d = TheData();
  const double ceiling = MeasureSgemmGflops(threads);
  reco::TopKOptions options;
  options.k = kK;
  options.threads = threads;
  options.exclude = &d.seen;
  options.query_block = kQueryBlock;
  options.item_block = kItemBlock;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto lists = reco::TopKItems({d.users.data(), kUsers, kDim}, {d.items.data(), kItems, kDim}, {},
                                 options);
    if (!lists.ok()) {
      state.SkipWithError(lists.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(lists->items.data());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double gflops = kFlops * double(state.iterations()) / seconds / 1e9;
  state.counters["users/s"] = kUsers * double(state.iterations()) / seconds;
  state.counters["GFLOP/s"] = gflops;
  state.counters["sgemm_GFLOP/s"] = ceiling;
  state.counters["sgemm_fraction"] = gflops / ceiling;
}

BENCHMARK(BM_Sgemm)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TopK)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
