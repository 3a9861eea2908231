// Read-path costs of each backend: KvStore::Get of a ~200-byte value and
// RecommendationStore::GetUserRecs of a 10-item list, 10k users. Starts its
// own redis-server on a loopback port.
//   build-*/src/store/store_bench [--benchmark_filter=lmdb]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "reco/kv_store.h"
#include "reco/rec_store.h"
#include "store_test_util.h"

namespace reco {
namespace {

constexpr int kUsers = 10000;

struct Fixture {
  std::unique_ptr<RecommendationStore> store;
  std::vector<std::string> keys;
};

Status Fill(RecommendationStore* store) {
  RECO_ASSIGN_OR_RETURN(auto writer, store->BeginVersion("bench"));
  std::vector<std::string> ids;
  std::vector<RecItem> items;
  for (int j = 0; j < 10; ++j) ids.push_back("item" + std::to_string(j * 37));
  for (int j = 0; j < 10; ++j) items.push_back({ids[j], 1.0f - j * 0.05f});
  for (int u = 0; u < kUsers; ++u) {
    RECO_RETURN_IF_ERROR(writer->PutUserRecs("user" + std::to_string(u), items));
  }
  RECO_RETURN_IF_ERROR(writer->PutPopular(items));
  RECO_RETURN_IF_ERROR(writer->Commit().status());
  return store->Activate("bench");
}

std::unique_ptr<Fixture> MakeFixture(const std::string& uri) {
  auto store = RecommendationStore::Open(uri);
  if (!store.ok()) {
    std::fprintf(stderr, "%s: %s\n", uri.c_str(), store.status().ToString().c_str());
    return nullptr;
  }
  auto f = std::make_unique<Fixture>();
  f->store = std::move(*store);
  Status st = Fill(f->store.get());
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", uri.c_str(), st.ToString().c_str());
    return nullptr;
  }
  for (int u = 0; u < kUsers; ++u) f->keys.push_back("reco/v/bench/u/user" + std::to_string(u));
  return f;
}

void KvGet(benchmark::State& state, Fixture* f) {
  std::string value;
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    Status st = f->store->kv().Get(f->keys[i++ % f->keys.size()], &value);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(value.data());
  }
}

void BM_GetUserRecs(benchmark::State& state, Fixture* f) {
  RecList list;
  std::string user;
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    user.assign("user").append(std::to_string(i++ % kUsers));
    Status st = f->store->GetUserRecs(user, &list);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(list.items().data());
  }
}

}  // namespace
}  // namespace reco

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  reco::testing_util::TempDir dir;
  reco::testing_util::RedisServerProcess redis;
  reco::Status st = redis.Start();
  if (!st.ok()) {
    std::fprintf(stderr, "redis-server: %s\n", st.ToString().c_str());
    return 1;
  }
  std::vector<std::pair<std::string, std::unique_ptr<reco::Fixture>>> fixtures;
  fixtures.emplace_back("memory", reco::MakeFixture("memory://"));
  fixtures.emplace_back("lmdb", reco::MakeFixture("lmdb://" + dir.path() + "/db"));
  fixtures.emplace_back("redis", reco::MakeFixture(redis.uri()));
  for (auto& [name, f] : fixtures) {
    if (!f) return 1;
    for (int threads : {1, 2}) {
      benchmark::RegisterBenchmark(("KvGet/" + name).c_str(), reco::KvGet, f.get())
          ->Threads(threads)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("GetUserRecs/" + name).c_str(), reco::BM_GetUserRecs, f.get())
          ->Threads(threads)
          ->UseRealTime();
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
