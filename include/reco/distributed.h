// Training and precompute across processes with Open MPI (mpirun -np P).
//
// Every rank reads the same input, so all ranks hold the same matrix and ID
// maps. Users and items are split into contiguous ranges, balanced by
// interactions. Each half-sweep, a rank solves its own rows with the
// trainer's row solver (src/model/row_solver.h) against its full copy of the
// other side, then the updated blocks are exchanged with MPI_Allgatherv, so
// every rank again holds the full factors. Initial factors come from the
// seed by global index and the implicit Gram matrix is summed from the
// gathered factors in the single-process order, so the result equals
// single-process TrainAls (measured: bitwise). docs/architecture.md,
// "Distributed training", gives the measurements and the design choices.
//
// All functions below are collective: every rank of the world must call
// them in the same order with the same arguments, or they block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reco/als.h"
#include "reco/interactions.h"
#include "reco/model.h"
#include "reco/precompute.h"
#include "reco/rec_store.h"
#include "reco/recommender.h"
#include "reco/status.h"

namespace reco {

// MPI_COMM_WORLD for the life of the object. Initialises MPI if needed (a
// process started without mpirun is a world of one) and finalises it when
// the first MpiWorld created is destroyed. One per process.
class MpiWorld {
 public:
  static Result<std::unique_ptr<MpiWorld>> Init();
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Ranks on this host (MPI_COMM_TYPE_SHARED): threads = 0 ("all cores")
  // shares the host's cores among them.
  int local_size() const { return local_size_; }
  // threads if > 0, else the hardware threads divided among local ranks.
  int ThreadsPerRank(int threads) const;

  // Returns OK on every rank only if `local` is OK on every rank; otherwise
  // every rank gets an error naming the lowest failed rank and its message
  // (so all ranks stop together instead of blocking in the next collective).
  Status AllOk(const Status& local) const;
  void Barrier() const;

 private:
  MpiWorld() = default;
  int rank_ = 0;
  int size_ = 1;
  int local_size_ = 1;
  bool finalize_ = false;
};

// Rows [begin, end) of the range owned by `rank` among `ranks`: contiguous,
// balanced by nnz + rows of `m` (a row costs its solve, which grows with its
// length, plus a constant).
struct RowRange {
  uint32_t begin = 0;
  uint32_t end = 0;
};
RowRange PartitionRows(const CsrMatrix& m, int ranks, int rank);

struct DistributedIterationStats {
  uint32_t iteration = 0;       // 1-based
  double seconds = 0;           // wall time of both half-sweeps, this rank
  double solve_seconds = 0;     // of which solving own rows (and the Gram)
  double exchange_seconds = 0;  // of which in MPI_Allgatherv (incl. waiting)
  double cpu_seconds = 0;       // CPU time of this process (all its threads)
  uint64_t bytes_received = 0;  // factor (and bias) bytes this rank received
  // What exchanging only the rows this rank's solves read would have
  // received instead (counted, not sent): the alternative to allgather.
  uint64_t needed_bytes = 0;
};

using DistributedIterationCallback = std::function<void(const DistributedIterationStats&)>;

// TrainAls across the ranks of `world`. Every rank passes the same matrix,
// ID maps and options (only `threads` may differ) and receives the full
// model. The callback runs on every rank after each iteration.
// InvalidArgument as TrainAls.
Result<FactorModel> TrainAlsDistributed(const MpiWorld& world, const CsrMatrix& user_items,
                                        IdMap users, IdMap items, const AlsOptions& options,
                                        const DistributedIterationCallback& on_iteration = nullptr);

// PrecomputeToStore across ranks, into one version of one shared store
// (any family; LMDB or Redis; every rank opens the same URI, memory:// is refused by the
// CLI). Rank r scores and writes the users of PartitionRows(seen, size, r);
// rank 0 also writes the similar-item lists and the popular list, and after
// all ranks have flushed commits the version (with everyone's counts) and
// activates it. The version id must be the same on all ranks (the CLI
// broadcasts rank 0's). The result, on every rank, is rank 0's.
Result<PrecomputeResult> PrecomputeToStoreDistributed(const MpiWorld& world,
                                                      const Recommender& model,
                                                      const CsrMatrix& seen,
                                                      RecommendationStore* store,
                                                      const PrecomputeOptions& options);

// Rank 0's string on every rank (e.g. a version id drawn from the clock).
std::string BroadcastString(const MpiWorld& world, const std::string& value);

}  // namespace reco
