// refresh_latency_bench: queue-to-written refresh latency of RealtimeEngine at a
// given event rate, on an ml-100k-shaped explicit model (943 users x 1682
// items, 50 factors, random factors) with an LMDB store and an fsyncing
// event log in a temporary directory. Library level: no HTTP; the end-to-end
// figure is bench/results/realtime.json.
//
//   refresh_latency_bench [events_per_second=2000] [seconds=3] [refresh_threads=1] [clients=4]
//                  [store=lmdb|memory]
//
// Prints one JSON line: the rate reached, refreshes, store writes (batches)
// and the p50/p99/max latency from queueing a user to their list written.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "reco/precompute.h"
#include "reco/realtime.h"

namespace {

using namespace reco;

class FixedModel : public ModelSource {
 public:
  explicit FixedModel(RegisteredModel model) : model_(std::move(model)) {}
  Result<RegisteredModel> Load(std::string_view version) const override {
    if (version != model_.version) return Status::NotFound(std::string(version));
    return model_;
  }
  Status RecordActivation(std::string_view) override { return Status::Ok(); }

 private:
  RegisteredModel model_;
};

int Run(int argc, char** argv) {
  const double rate = argc > 1 ? std::atof(argv[1]) : 2000;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3;
  const int refresh_threads = argc > 3 ? std::atoi(argv[3]) : 1;
  const int clients = argc > 4 ? std::atoi(argv[4]) : 4;
  const std::string store_kind = argc > 5 ? argv[5] : "lmdb";
  if (rate <= 0 || seconds <= 0 || refresh_threads < 1 || clients < 1 ||
      (store_kind != "lmdb" && store_kind != "memory")) {
    fmt::print(stderr,
               "usage: refresh_latency_bench [events_per_second] [seconds] [threads] [clients] "
               "[lmdb|memory]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  const uint32_t users = 943, items = 1682, factors = 50;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> unit(-0.3f, 0.3f);
  RegisteredModel reg;
  reg.version = "bench";
  FactorModel m;
  m.params.factors = factors;
  m.params.regularization = 0.1f;
  for (uint32_t u = 0; u < users; ++u) m.users.GetOrAdd(std::to_string(u));
  for (uint32_t i = 0; i < items; ++i) m.items.GetOrAdd(std::to_string(i));
  m.user_factors.resize(users, factors);
  m.item_factors.resize(items, factors);
  for (Eigen::Index i = 0; i < m.user_factors.size(); ++i) m.user_factors.data()[i] = unit(rng);
  for (Eigen::Index i = 0; i < m.item_factors.size(); ++i) m.item_factors.data()[i] = unit(rng);
  std::vector<Interaction> records;  // about 100 ratings per user, as ml-100k
  for (uint32_t u = 0; u < users; ++u) {
    for (uint32_t i = u % 17; i < items; i += 17) records.push_back({u, i, float(1 + i % 5), 0});
  }
  reg.interactions = CsrMatrix::FromInteractions(records, users, items);
  reg.model = MakeAlsRecommender(std::move(m));

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("refresh_latency_bench_{}", ::getpid());
  std::filesystem::create_directories(dir);
  auto cleanup = [&] { std::filesystem::remove_all(dir); };
  auto store = RecommendationStore::Open(
      store_kind == "memory" ? std::string("memory://") : "lmdb://" + (dir / "store").string());
  auto log = EventLog::Open((dir / "wal").string());
  if (!store.ok() || !log.ok()) {
    fmt::print(stderr, "{}\n", (!store.ok() ? store.status() : log.status()).ToString());
    cleanup();
    return 1;
  }
  PrecomputeOptions po;
  po.version = "bench";
  po.similar_k = 0;
  po.show_progress = false;
  if (auto r = PrecomputeToStore(*reg.model, reg.interactions, store->get(), po); !r.ok()) {
    fmt::print(stderr, "{}\n", r.status().ToString());
    cleanup();
    return 1;
  }
  RealtimeOptions options;
  options.refresh_threads = refresh_threads;
  auto engine = RealtimeEngine::Start(std::make_unique<FixedModel>(std::move(reg)), store->get(),
                                      log->get(), options);
  if (!engine.ok()) {
    fmt::print(stderr, "{}\n", engine.status().ToString());
    cleanup();
    return 1;
  }

  // Each client sends one event per request at rate / clients, open loop.
  std::atomic<uint64_t> sent{0}, rejected{0};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::mt19937 r(100 + c);
      const auto period = std::chrono::duration<double>(clients / rate);
      auto next = start;
      Event e;
      e.type = "rating";
      for (uint64_t n = 0;; ++n) {
        next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
        if (next >= end) break;
        std::this_thread::sleep_until(next);
        // Half the events from known users, half from 5000 new ones.
        e.user_id = r() % 2 ? std::to_string(r() % users) : "new" + std::to_string(r() % 5000);
        e.item_id = std::to_string(r() % items);
        e.value = float(1 + r() % 5);
        if ((*engine)->Accept({&e, 1}).ok()) {
          sent.fetch_add(1);
        } else {
          rejected.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  (*engine)->WaitIdle();
  RealtimeStats s = (*engine)->stats();
  fmt::print(
      "{{\"store\": \"{}\", \"target_events_per_second\": {}, \"events_per_second\": {:.0f}, "
      "\"rejected\": {}, "
      "\"refresh_threads\": {}, \"clients\": {}, \"refreshes\": {}, \"store_writes\": {}, "
      "\"refresh_p50_ms\": {:.3f}, \"refresh_p99_ms\": {:.3f}, \"refresh_max_ms\": {:.3f}}}\n",
      store_kind, rate, sent.load() / elapsed, rejected.load(), refresh_threads, clients,
      s.refreshes, s.refresh_batches, s.refresh_latency_p50_us / 1e3,
      s.refresh_latency_p99_us / 1e3, s.refresh_latency_max_us / 1e3);
  engine->reset();
  cleanup();
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
