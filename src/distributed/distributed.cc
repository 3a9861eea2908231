#include "reco/distributed.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <ctime>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

#include "model/row_solver.h"
#include "reco/evaluation.h"
#include "reco/parallel.h"
#include "reco/precompute.h"
#include "reco/progress.h"
#include "reco/topk.h"

namespace reco {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the process, so that flops per core-second can be measured on
// a machine shared with other work.
double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The world communicator is switched to MPI_ERRORS_RETURN, so failures come
// back here as codes instead of aborting every rank.
Status MpiStatus(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return Status::Ok();
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return Status::Internal(std::string("MPI ") + what + ": " + std::string(text, len));
}

Status WithCode(Status::Code code, std::string message) {
  switch (code) {
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(std::move(message));
    case Status::Code::kNotFound:
      return Status::NotFound(std::move(message));
    case Status::Code::kIOError:
      return Status::IOError(std::move(message));
    case Status::Code::kCorruption:
      return Status::Corruption(std::move(message));
    case Status::Code::kUnavailable:
      return Status::Unavailable(std::move(message));
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

// Owns an MPI derived datatype.
class MpiType {
 public:
  explicit MpiType(MPI_Datatype type) : type_(type) {}
  ~MpiType() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Type_free(&type_);
  }
  MpiType(const MpiType&) = delete;
  MpiType& operator=(const MpiType&) = delete;
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_;
};

// Row counts and offsets of every rank's block, for MPI_Allgatherv.
struct Blocks {
  std::vector<int> counts;
  std::vector<int> displs;
  RowRange own;
  uint64_t rows = 0;
};

Result<Blocks> MakeBlocks(const CsrMatrix& m, const MpiWorld& world) {
  if (m.rows > static_cast<uint32_t>(INT_MAX)) {
    return Status::InvalidArgument("distributed training: more than INT_MAX rows per side");
  }
  Blocks b;
  b.rows = m.rows;
  for (int r = 0; r < world.size(); ++r) {
    const RowRange range = PartitionRows(m, world.size(), r);
    b.counts.push_back(static_cast<int>(range.end - range.begin));
    b.displs.push_back(static_cast<int>(range.begin));
    if (r == world.rank()) b.own = range;
  }
  return b;
}

// Distinct rows of the other side (columns of m) that this rank's rows of m
// read but another rank owns: what a needed-rows-only exchange would send.
uint64_t RemoteRowsRead(const CsrMatrix& m, RowRange own_rows, RowRange other_owned) {
  std::vector<char> read(m.cols, 0);
  for (uint64_t n = m.indptr[own_rows.begin]; n < m.indptr[own_rows.end]; ++n) {
    read[m.indices[n]] = 1;
  }
  uint64_t count = 0;
  for (uint32_t c = 0; c < m.cols; ++c) {
    if (read[c] && (c < other_owned.begin || c >= other_owned.end)) ++count;
  }
  return count;
}

}  // namespace

// ---- MpiWorld ----------------------------------------------------------------

Result<std::unique_ptr<MpiWorld>> MpiWorld::Init() {
  std::unique_ptr<MpiWorld> world(new MpiWorld());
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // Only the main thread calls MPI; the solver threads never do.
    RECO_RETURN_IF_ERROR(
        MpiStatus(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "init"));
    world->finalize_ = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &world->rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &world->size_);
  MPI_Comm local;
  RECO_RETURN_IF_ERROR(
      MpiStatus(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local),
                "split by host"));
  MPI_Comm_size(local, &world->local_size_);
  MPI_Comm_free(&local);
  return world;
}

MpiWorld::~MpiWorld() {
  if (finalize_) MPI_Finalize();
}

int MpiWorld::ThreadsPerRank(int threads) const {
  if (threads > 0) return threads;
  return std::max(1, ResolveThreads(0) / std::max(1, local_size_));
}

Status MpiWorld::AllOk(const Status& local) const {
  int mine = local.ok() ? size_ : rank_;
  int first_failed = size_;
  RECO_RETURN_IF_ERROR(MpiStatus(
      MPI_Allreduce(&mine, &first_failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "allreduce"));
  if (first_failed == size_) return Status::Ok();
  // Everyone learns the failed rank's code and message (that rank too takes
  // part in the broadcasts, then keeps its own status).
  std::string message = local.message();
  uint64_t header[2] = {static_cast<uint64_t>(local.code()), message.size()};
  MPI_Bcast(header, 2, MPI_UINT64_T, first_failed, MPI_COMM_WORLD);
  message.resize(header[1]);
  MPI_Bcast(message.data(), static_cast<int>(header[1]), MPI_CHAR, first_failed, MPI_COMM_WORLD);
  if (first_failed == rank_) return local;
  return WithCode(static_cast<Status::Code>(header[0]),
                  "rank " + std::to_string(first_failed) + ": " + message);
}

void MpiWorld::Barrier() const { MPI_Barrier(MPI_COMM_WORLD); }

std::string BroadcastString(const MpiWorld& world, const std::string& value) {
  (void)world;
  std::string out = value;
  uint64_t length = out.size();
  MPI_Bcast(&length, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  out.resize(length);
  MPI_Bcast(out.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD);
  return out;
}

// ---- Partitioning ------------------------------------------------------------

RowRange PartitionRows(const CsrMatrix& m, int ranks, int rank) {
  // Cost of rows [0, r) is indptr[r] + r; rank q starts at the first row
  // whose prefix cost reaches q/ranks of the total.
  const uint64_t total = m.nnz() + m.rows;
  auto start = [&](int q) -> uint32_t {
    if (q <= 0) return 0;
    if (q >= ranks) return m.rows;
    const uint64_t target = total * static_cast<uint64_t>(q) / static_cast<uint64_t>(ranks);
    uint32_t lo = 0, hi = m.rows;  // first r with indptr[r] + r >= target
    while (lo < hi) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (m.indptr[mid] + mid >= target) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo;
  };
  return {start(rank), start(rank + 1)};
}

// ---- Training ------------------------------------------------------------------

Result<FactorModel> TrainAlsDistributed(const MpiWorld& world, const CsrMatrix& user_items,
                                        IdMap users, IdMap items, const AlsOptions& options,
                                        const DistributedIterationCallback& on_iteration) {
  // The single-process trainer validates and draws the initial factors by
  // global index from the seed, so every rank starts from the same model.
  Result<AlsTrainer> created =
      AlsTrainer::Create(user_items, std::move(users), std::move(items), options);
  RECO_RETURN_IF_ERROR(world.AllOk(created.status()));
  FactorModel model = std::move(*created).TakeModel();
  const CsrMatrix item_users = user_items.Transposed();

  RECO_ASSIGN_OR_RETURN(Blocks user_blocks, MakeBlocks(user_items, world));
  RECO_ASSIGN_OR_RETURN(Blocks item_blocks, MakeBlocks(item_users, world));
  const int threads = world.ThreadsPerRank(options.threads);
  const Eigen::Index k = options.factors;
  const bool biased = model.has_biases();
  std::vector<row_solver::Workspace> workspaces;
  for (int w = 0; w < threads; ++w) workspaces.emplace_back(k + (biased ? 1 : 0));

  MPI_Datatype row_type_raw;
  MPI_Type_contiguous(static_cast<int>(k), MPI_FLOAT, &row_type_raw);
  MPI_Type_commit(&row_type_raw);
  const MpiType row_type(row_type_raw);

  const uint64_t row_bytes = static_cast<uint64_t>(k) * sizeof(float) + (biased ? 4 : 0);
  const uint64_t received_per_iteration =
      (user_blocks.rows - (user_blocks.own.end - user_blocks.own.begin) + item_blocks.rows -
       (item_blocks.own.end - item_blocks.own.begin)) *
      row_bytes;
  const uint64_t needed_per_iteration =
      (RemoteRowsRead(user_items, user_blocks.own, item_blocks.own) +
       RemoteRowsRead(item_users, item_blocks.own, user_blocks.own)) *
      row_bytes;

  Eigen::MatrixXf gram;
  DistributedIterationStats stats;
  // One half-sweep: solve own rows of m, then gather everyone's blocks.
  auto half_sweep = [&](const CsrMatrix& m, const Blocks& blocks, const FactorMatrix& other,
                        const Eigen::VectorXf& other_bias, FactorMatrix* own,
                        Eigen::VectorXf* own_bias) -> Status {
    const auto start = Clock::now();
    row_solver::HalfSweep sweep;
    sweep.other = &other;
    sweep.options = &options;
    if (biased) {
      sweep.other_bias = other_bias.data();
      sweep.mu = model.global_bias;
    }
    if (options.implicit) {
      // From the full gathered factors, in the single-process summation
      // order: the same Gram bit for bit (an Allreduce of partial Grams
      // would sum in another order).
      row_solver::ImplicitGram(other, options, threads, &gram);
      sweep.gram_reg = &gram;
    }
    row_solver::SolveRows(m, blocks.own.begin, blocks.own.end, sweep, threads, workspaces, own,
                          biased ? own_bias->data() : nullptr);
    const auto solved = Clock::now();
    stats.solve_seconds += std::chrono::duration<double>(solved - start).count();
    RECO_RETURN_IF_ERROR(MpiStatus(
        MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, own->data(), blocks.counts.data(),
                       blocks.displs.data(), row_type.get(), MPI_COMM_WORLD),
        "allgatherv factors"));
    if (biased) {
      RECO_RETURN_IF_ERROR(MpiStatus(
          MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, own_bias->data(), blocks.counts.data(),
                         blocks.displs.data(), MPI_FLOAT, MPI_COMM_WORLD),
          "allgatherv biases"));
    }
    stats.exchange_seconds += SecondsSince(solved);
    return Status::Ok();
  };

  for (uint32_t it = 0; it < options.iterations; ++it) {
    stats = DistributedIterationStats{};
    stats.iteration = it + 1;
    const auto start = Clock::now();
    const double cpu_start = ProcessCpuSeconds();
    RECO_RETURN_IF_ERROR(half_sweep(user_items, user_blocks, model.item_factors, model.item_bias,
                                    &model.user_factors, &model.user_bias));
    RECO_RETURN_IF_ERROR(half_sweep(item_users, item_blocks, model.user_factors, model.user_bias,
                                    &model.item_factors, &model.item_bias));
    stats.seconds = SecondsSince(start);
    stats.cpu_seconds = ProcessCpuSeconds() - cpu_start;
    stats.bytes_received = received_per_iteration;
    stats.needed_bytes = needed_per_iteration;
    if (on_iteration) on_iteration(stats);
  }
  return model;
}

// ---- Precompute ------------------------------------------------------------------

Result<PrecomputeResult> PrecomputeToStoreDistributed(const MpiWorld& world,
                                                      const Recommender& model,
                                                      const CsrMatrix& seen,
                                                      RecommendationStore* store,
                                                      const PrecomputeOptions& options) {
  Status valid;
  if (options.k == 0) valid = Status::InvalidArgument("k must be at least 1");
  if (seen.rows != model.num_users() || seen.cols != model.num_items()) {
    valid = Status::InvalidArgument("seen-items matrix does not match the model's shape");
  }
  RECO_RETURN_IF_ERROR(world.AllOk(valid));
  const auto start = Clock::now();
  const std::string version =
      BroadcastString(world, options.version.empty() ? NewVersionId() : options.version);

  // Rank 0 begins the version (clearing leftovers of an interrupted publish)
  // before anyone joins it.
  std::unique_ptr<VersionWriter> writer;
  Status st;
  if (world.rank() == 0) {
    Result<std::unique_ptr<VersionWriter>> begun =
        store->BeginVersion(version, options.description);
    if (begun.ok()) writer = std::move(*begun);
    st = begun.status();
  }
  RECO_RETURN_IF_ERROR(world.AllOk(st));
  if (world.rank() != 0) {
    Result<std::unique_ptr<VersionWriter>> joined = store->JoinVersion(version);
    if (joined.ok()) writer = std::move(*joined);
    st = joined.status();
  }
  RECO_RETURN_IF_ERROR(world.AllOk(st));

  // This rank's users; rank 0 adds the item lists and the popular list.
  auto write_share = [&]() -> Status {
    const RowRange range = PartitionRows(seen, world.size(), world.rank());
    PrecomputeOptions mine = options;
    mine.show_progress = options.show_progress && world.rank() == 0;
    const int threads = world.ThreadsPerRank(options.threads);
    RECO_RETURN_IF_ERROR(WriteUserLists(model, seen, range.begin, range.end, mine, threads,
                                        "precompute users (rank 0)", writer.get()));
    if (world.rank() != 0) return Status::Ok();
    return WriteItemLists(model, seen, options, threads, writer.get());
  };
  st = write_share();
  uint64_t part[3] = {0, 0, 0};
  if (st.ok() && world.rank() != 0) {
    Result<VersionMeta> finished = writer->FinishPart();
    st = finished.status();
    if (finished.ok()) {
      part[0] = finished->user_lists;
      part[1] = finished->item_lists;
      part[2] = finished->popular_items;
    }
  }
  // Every rank has flushed (or failed) before rank 0 commits; on failure
  // rank 0's uncommitted writer deletes the whole version when destroyed.
  RECO_RETURN_IF_ERROR(world.AllOk(st));
  uint64_t others[3] = {0, 0, 0};
  RECO_RETURN_IF_ERROR(MpiStatus(
      MPI_Reduce(part, others, 3, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD), "reduce counts"));

  PrecomputeResult result;
  if (world.rank() == 0) {
    VersionMeta parts;
    parts.user_lists = others[0];
    parts.item_lists = others[1];
    parts.popular_items = others[2];
    writer->AddPartCounts(parts);
    Result<VersionMeta> committed = writer->Commit();
    st = committed.status();
    if (committed.ok()) {
      result.meta = *committed;
      if (options.activate) st = store->Activate(version);
    }
  }
  RECO_RETURN_IF_ERROR(world.AllOk(st));
  // Everyone reports rank 0's metadata.
  uint64_t meta[4] = {result.meta.user_lists, result.meta.item_lists, result.meta.popular_items,
                      static_cast<uint64_t>(result.meta.created_unix_ms)};
  MPI_Bcast(meta, 4, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  result.meta.version = version;
  result.meta.description = options.description;
  result.meta.user_lists = meta[0];
  result.meta.item_lists = meta[1];
  result.meta.popular_items = meta[2];
  result.meta.created_unix_ms = static_cast<int64_t>(meta[3]);
  result.seconds = SecondsSince(start);
  result.users_per_second = result.seconds > 0 ? model.num_users() / result.seconds : 0;
  return result;
}

}  // namespace reco
