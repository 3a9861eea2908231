// ParallelFor: split [0, n) into chunks handed out dynamically to `threads`
// workers (the calling thread is one of them). ALS solves and top-k scoring
// have uneven rows (power-law activity), so chunks are claimed from an atomic
// counter rather than pre-assigned.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace reco {

// threads <= 0 means all hardware threads.
inline int ResolveThreads(int threads) {
  if (threads > 0) return threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Calls fn(begin, end, worker_index) for disjoint chunks covering [0, n).
// worker_index is in [0, threads) so callers can keep per-worker scratch.
template <typename Fn>
void ParallelFor(uint64_t n, int threads, uint64_t chunk, Fn&& fn) {
  threads = ResolveThreads(threads);
  if (chunk == 0) chunk = 1;
  if (threads == 1 || n <= chunk) {
    if (n > 0) fn(uint64_t{0}, n, 0);
    return;
  }
  std::atomic<uint64_t> next{0};
  auto worker = [&](int w) {
    for (;;) {
      uint64_t b = next.fetch_add(chunk, std::memory_order_relaxed);
      if (b >= n) break;
      fn(b, std::min(n, b + chunk), w);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads - 1));
  for (int w = 1; w < threads; ++w) pool.emplace_back(worker, w);
  worker(0);
  for (auto& t : pool) t.join();
}

}  // namespace reco
