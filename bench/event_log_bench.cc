// EventLog::Append throughput: durable (fdatasync'd) appends per second with
// 1 and 64 concurrent appenders, one event per Append, so the 64-thread case
// shows what group commit buys. The log lives in $RECO_BENCH_DIR, else the
// system temp directory; it must be on a real disk for the numbers to mean
// anything (on tmpfs fdatasync is free).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "reco/event_log.h"

namespace {

namespace fs = std::filesystem;

std::unique_ptr<reco::EventLog> g_log;
std::string g_dir;

void BM_DurableAppend(benchmark::State& state) {
  if (state.thread_index() == 0) {
    const char* base = std::getenv("RECO_BENCH_DIR");
    std::string pattern =
        ((base != nullptr ? fs::path(base) : fs::temp_directory_path()) / "event_log_bench_XXXXXX")
            .string();
    g_dir = ::mkdtemp(pattern.data());
    auto log = reco::EventLog::Open(g_dir);
    if (!log.ok()) {
      state.SkipWithError(log.status().ToString().c_str());
      return;
    }
    g_log = std::move(log).value();
  }
  reco::Event event{"user-" + std::to_string(state.thread_index()), "item-42", "click", 1.0f,
                    1'700'000'000'000};
  for (auto _ : state) {
    if (g_log == nullptr) break;
    reco::Result<uint64_t> seq = g_log->Append({&event, 1});
    if (!seq.ok()) {
      state.SkipWithError(seq.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(*seq);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    g_log.reset();
    std::error_code ec;
    fs::remove_all(g_dir, ec);
  }
}
BENCHMARK(BM_DurableAppend)->Threads(1)->Threads(64)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
