// Distributed training and precompute against their single-process
// counterparts. The end-to-end tests run the built `reco` binary under
// `mpirun -np {1,2,3}` on loopback (as CI does: root, no network) and compare
// every factor, bias and list with a single-process run on the same data.
#include "reco/distributed.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "../testing/process.h"
#include "../testing/temp_dir.h"
#include "reco/kv_store.h"
#include "reco/random.h"

#ifndef RECO_BINARY
#error "RECO_BINARY must name the reco executable"
#endif

namespace reco {
namespace {

namespace fs = std::filesystem;

CsrMatrix FromRows(const std::vector<std::vector<uint32_t>>& rows, uint32_t cols) {
  std::vector<Interaction> cells;
  for (uint32_t r = 0; r < rows.size(); ++r) {
    for (uint32_t c : rows[r]) cells.push_back({r, c, 1.0f, 0});
  }
  return CsrMatrix::FromInteractions(cells, static_cast<uint32_t>(rows.size()), cols);
}

// ---- Partitioning ---------------------------------------------------------

TEST(PartitionRowsTest, BalancesInteractionsPlusRows) {
  // Row lengths 5, 1, 1, 1, 0, 2: costs (length + 1) 6, 2, 2, 2, 1, 3 = 16.
  // Two ranks: rank 1 starts at the first row whose prefix cost reaches 8:
  // prefixes 0, 6, 8 -> row 2.
  CsrMatrix m = FromRows({{0, 1, 2, 3, 4}, {0}, {1}, {2}, {}, {3, 4}}, 5);
  EXPECT_EQ(PartitionRows(m, 2, 0).begin, 0u);
  EXPECT_EQ(PartitionRows(m, 2, 0).end, 2u);
  EXPECT_EQ(PartitionRows(m, 2, 1).begin, 2u);
  EXPECT_EQ(PartitionRows(m, 2, 1).end, 6u);
  // Three ranks: targets 5 and 10; prefixes 0, 6, 8, 10, 12, 13 -> rows 1, 3.
  EXPECT_EQ(PartitionRows(m, 3, 0).end, 1u);
  EXPECT_EQ(PartitionRows(m, 3, 1).begin, 1u);
  EXPECT_EQ(PartitionRows(m, 3, 1).end, 3u);
  EXPECT_EQ(PartitionRows(m, 3, 2).begin, 3u);
  EXPECT_EQ(PartitionRows(m, 3, 2).end, 6u);
}

TEST(PartitionRowsTest, MoreRanksThanRowsLeavesSomeEmpty) {
  CsrMatrix m = FromRows({{0}, {0}}, 1);
  uint32_t covered = 0;
  for (int r = 0; r < 5; ++r) {
    const RowRange range = PartitionRows(m, 5, r);
    EXPECT_EQ(range.begin, covered) << "rank " << r;
    EXPECT_LE(range.begin, range.end);
    covered = range.end;
  }
  EXPECT_EQ(covered, 2u);
}

// ---- Several writers, one version (the store side of distributed precompute).

TEST(JoinVersionTest, JoinedWritersShareOneVersionCommittedOnce) {
  auto store = RecommendationStore::Open("memory://");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RecommendationStore& s = **store;
  auto owner = s.BeginVersion("v1", "two writers");
  ASSERT_TRUE(owner.ok()) << owner.status().ToString();
  auto joined = s.JoinVersion("v1");
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  const std::vector<RecItem> list = {{"i1", 2.0f}, {"i2", 1.0f}};
  ASSERT_TRUE((*owner)->PutUserRecs("u1", list).ok());
  ASSERT_TRUE((*joined)->PutUserRecs("u2", list).ok());
  ASSERT_TRUE((*joined)->PutUserRecs("u3", list).ok());
  ASSERT_TRUE((*owner)->PutPopular(list).ok());
  // A joined writer does not commit; it reports what it wrote.
  EXPECT_EQ((*joined)->Commit().status().code(), Status::Code::kFailedPrecondition);
  auto part = (*joined)->FinishPart();
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_EQ(part->user_lists, 2u);
  joined->reset();  // destroying a joined writer deletes nothing
  (*owner)->AddPartCounts(*part);
  auto meta = (*owner)->Commit();
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->user_lists, 3u);
  EXPECT_EQ(meta->popular_items, 2u);
  ASSERT_TRUE(s.Activate("v1").ok());
  RecList got;
  for (const char* user : {"u1", "u2", "u3"}) {
    ASSERT_TRUE(s.GetUserRecs(user, &got).ok()) << user;
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].item_id, "i1");
  }
  // Joining a committed version is refused; the owner's FinishPart too.
  EXPECT_EQ(s.JoinVersion("v1").status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ((*owner)->FinishPart().status().code(), Status::Code::kFailedPrecondition);
}

TEST(JoinVersionTest, AbandonedOwnerDeletesWhatJoinedWritersWrote) {
  auto store = RecommendationStore::Open("memory://");
  ASSERT_TRUE(store.ok());
  RecommendationStore& s = **store;
  {
    auto owner = s.BeginVersion("v2");
    ASSERT_TRUE(owner.ok());
    auto joined = s.JoinVersion("v2");
    ASSERT_TRUE(joined.ok());
    const std::vector<RecItem> list = {{"i1", 1.0f}};
    ASSERT_TRUE((*joined)->PutUserRecs("u9", list).ok());
    ASSERT_TRUE((*joined)->FinishPart().ok());
  }  // owner never committed (another rank failed)
  RecList got;
  EXPECT_FALSE(s.GetUserRecsAt("v2", "u9", &got).ok());
  auto versions = s.ListVersions();
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->empty());
}

// ---- End to end under mpirun ------------------------------------------------

struct Mode {
  const char* name;
  std::vector<std::string> flags;
  bool implicit;
};

const Mode kModes[] = {
    {"Explicit", {}, false},
    {"ExplicitBiases", {"--biases", "true"}, false},
    {"ImplicitCg", {"--implicit", "--solver", "cg", "--cg-steps", "3"}, true},
    {"ImplicitCholesky", {"--implicit", "--solver", "cholesky"}, true},
};

// Shortest round-trip form: an exact 0 prints as "0".
std::string FormatDouble(double v) {
  std::ostringstream out;
  out << std::setprecision(17) << v;
  return out.str();
}

using Command = std::vector<std::string>;

class MpiEndToEndTest : public ::testing::Test {
 protected:
  // Power-law-ish random data: 90 users x 70 items, user u rates about
  // 3 + (u % 17) items, item popularity skewed towards low ids; ratings 1..5
  // (strengths 1..5 for implicit). Some users have one rating only.
  void WriteData(const std::string& name) {
    SplitMix64 rng(7);
    std::ofstream out(dir_ / name);
    out << "user_id,item_id,rating,timestamp\n";
    for (int u = 0; u < 90; ++u) {
      const int n = u % 11 == 0 ? 1 : 3 + u % 17;
      std::vector<bool> used(70, false);
      for (int j = 0; j < n; ++j) {
        const float r = rng.NextFloat();
        int item = static_cast<int>(r * r * 70);  // skewed to popular items
        while (used[static_cast<size_t>(item)]) item = (item + 1) % 70;
        used[static_cast<size_t>(item)] = true;
        out << "u" << u << ",i" << item << "," << 1 + static_cast<int>(rng.NextFloat() * 5) << ","
            << 1000 + u * 100 + j << "\n";
      }
    }
  }

  // Runs `command` in dir_; true on exit status 0. `timeout` ends it with
  // SIGTERM first (mpirun then stops its ranks); the wait's own bound, above
  // it, is the backstop.
  bool Run(const Command& command, std::string* output) {
    Command argv = {"timeout", "120"};
    argv.insert(argv.end(), command.begin(), command.end());
    const testing_util::CapturedRun run = testing_util::RunAndCapture(
        argv, dir_.string(), capture_.path(), std::chrono::seconds(150));
    *output = Joined(command) + "\n" + run.out + run.err;
    return run.success();
  }

  static std::string Joined(const Command& command) {
    std::string line;
    for (const std::string& a : command) line += (line.empty() ? "" : " ") + a;
    return line;
  }

  static Command Reco(const std::vector<std::string>& args) {
    Command argv = {RECO_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  // mpirun as CI can run it: as root, oversubscribed, loopback only. Open
  // MPI's own allocations are still live at exit, so leak checking (ASan
  // builds) is off for the ranks; every other sanitizer check stays on.
  static Command MpiRun(int ranks, const std::vector<std::string>& args) {
    Command argv = {"env",
                    "ASAN_OPTIONS=detect_leaks=0",
                    "OMPI_MCA_rmaps_base_oversubscribe=1",
                    "mpirun",
                    "--oversubscribe",
                    "--allow-run-as-root",
                    "--bind-to",
                    "none",
                    "-np",
                    std::to_string(ranks),
                    "--mca",
                    "btl",
                    "self,vader,tcp",
                    "--mca",
                    "btl_tcp_if_include",
                    "lo",
                    "--mca",
                    "oob_tcp_if_include",
                    "lo",
                    "-x",
                    "ASAN_OPTIONS",
                    "-x",
                    "RECO_PROGRESS"};
    const Command reco = Reco(args);
    argv.insert(argv.end(), reco.begin(), reco.end());
    return argv;
  }

  testing_util::TempDir scratch_{"reco-mpi-test"};
  testing_util::TempDir capture_{"reco-mpi-output"};  // outside dir_
  const fs::path dir_ = scratch_.path();
};

std::vector<std::string> TrainArgs(const Mode& mode, const std::string& out) {
  std::vector<std::string> args = {"train",     "--train", "ratings.csv",  "--out",     out,
                                   "--factors", "6",       "--iterations", "4",         "--reg",
                                   "0.05",      "--seed",  "11",           "--threads", "1"};
  args.insert(args.end(), mode.flags.begin(), mode.flags.end());
  return args;
}

// Largest |a - b| / max(1, |b|) over all entries, failing on shape mismatch.
double WorstRelativeDiff(const FactorModel& a, const FactorModel& b) {
  EXPECT_EQ(a.num_users(), b.num_users());
  EXPECT_EQ(a.num_items(), b.num_items());
  EXPECT_EQ(a.factors(), b.factors());
  EXPECT_EQ(a.has_biases(), b.has_biases());
  EXPECT_EQ(a.users.externals(), b.users.externals());
  EXPECT_EQ(a.items.externals(), b.items.externals());
  double worst = 0;
  auto compare = [&](const float* x, const float* y, Eigen::Index n, const char* what) {
    for (Eigen::Index j = 0; j < n; ++j) {
      const double d = std::fabs(double{x[j]} - y[j]) / std::max(1.0, std::fabs(double{y[j]}));
      EXPECT_LE(d, 1e-4) << what << " entry " << j << ": " << x[j] << " vs " << y[j];
      worst = std::max(worst, d);
    }
  };
  if (a.user_factors.size() != b.user_factors.size() ||
      a.item_factors.size() != b.item_factors.size()) {
    return INFINITY;
  }
  compare(a.user_factors.data(), b.user_factors.data(), a.user_factors.size(), "user factor");
  compare(a.item_factors.data(), b.item_factors.data(), a.item_factors.size(), "item factor");
  if (a.has_biases() && b.has_biases()) {
    compare(a.user_bias.data(), b.user_bias.data(), a.user_bias.size(), "user bias");
    compare(a.item_bias.data(), b.item_bias.data(), a.item_bias.size(), "item bias");
    compare(&a.global_bias, &b.global_bias, 1, "global bias");
  }
  return worst;
}

TEST_F(MpiEndToEndTest, TrainingEqualsSingleProcessInEveryMode) {
  WriteData("ratings.csv");
  for (const Mode& mode : kModes) {
    SCOPED_TRACE(mode.name);
    std::string log;
    const std::string single = std::string(mode.name) + "-single.rcfm";
    ASSERT_TRUE(Run(Reco(TrainArgs(mode, single)), &log)) << log;
    auto expected_model = LoadRecommender((dir_ / single).string());
    ASSERT_TRUE(expected_model.ok()) << expected_model.status().ToString();
    const FactorModel* expected = (*expected_model)->factor_model();
    ASSERT_NE(expected, nullptr);
    // Non-trivial factors, so that agreement means something.
    ASSERT_GT(expected->item_factors.cwiseAbs().maxCoeff(), 0.05f);
    for (int ranks : {1, 2, 3}) {
      SCOPED_TRACE("ranks " + std::to_string(ranks));
      const std::string out = std::string(mode.name) + "-np" + std::to_string(ranks) + ".rcfm";
      std::vector<std::string> args = TrainArgs(mode, out);
      args.push_back("--distributed");
      ASSERT_TRUE(Run(MpiRun(ranks, args), &log)) << log;
      auto got_model = LoadRecommender((dir_ / out).string());
      ASSERT_TRUE(got_model.ok()) << got_model.status().ToString() << "\n" << log;
      const FactorModel* got = (*got_model)->factor_model();
      ASSERT_NE(got, nullptr);
      const double worst = WorstRelativeDiff(*got, *expected);
      RecordProperty(std::string(mode.name) + "_np" + std::to_string(ranks) + "_worst_rel_diff",
                     FormatDouble(worst));
      EXPECT_LE(worst, 1e-4);
      // The model records how it was trained.
      const std::string& meta = (*got_model)->metadata_json();
      EXPECT_NE(meta.find("\"ranks\":" + std::to_string(ranks)), std::string::npos) << meta;
    }
  }
}

TEST_F(MpiEndToEndTest, PrecomputeWritesTheSingleProcessLists) {
  WriteData("ratings.csv");
  std::string log;
  ASSERT_TRUE(Run(Reco(TrainArgs(kModes[0], "m.rcfm")), &log)) << log;
  auto loaded = LoadRecommender((dir_ / "m.rcfm").string());
  ASSERT_TRUE(loaded.ok());
  const Recommender* model = loaded->get();
  const std::vector<std::string> common = {"precompute", "-m",          "m.rcfm", "--k",
                                           "5",          "--similar-k", "4",      "--popular-k",
                                           "7",          "--threads",   "1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  ASSERT_TRUE(Run(Reco(with({"--store", "lmdb://single", "--version", "s1"})), &log)) << log;
  auto single = RecommendationStore::Open("lmdb://" + (dir_ / "single").string());
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  for (int ranks : {2, 3}) {
    SCOPED_TRACE("ranks " + std::to_string(ranks));
    const std::string uri = "lmdb://dist" + std::to_string(ranks);
    ASSERT_TRUE(
        Run(MpiRun(ranks, with({"--store", uri, "--version", "d1", "--distributed"})), &log))
        << log;
    auto dist = RecommendationStore::Open("lmdb://" + (dir_ / uri.substr(7)).string());
    ASSERT_TRUE(dist.ok()) << dist.status().ToString();
    auto active = (*dist)->ActiveVersion();
    ASSERT_TRUE(active.ok()) << active.status().ToString();
    EXPECT_EQ(*active, "d1");
    auto meta = (*dist)->GetVersionMeta("d1");
    ASSERT_TRUE(meta.ok());
    EXPECT_EQ(meta->user_lists, model->num_users());
    EXPECT_EQ(meta->item_lists, model->num_items());
    EXPECT_EQ(meta->popular_items, 7u);

    RecList a, b;
    auto same = [&](const char* what, const std::string& id) {
      ASSERT_EQ(a.size(), b.size()) << what << " " << id;
      for (size_t p = 0; p < a.size(); ++p) {
        EXPECT_EQ(a[p].item_id, b[p].item_id) << what << " " << id << " position " << p;
        EXPECT_EQ(a[p].score, b[p].score) << what << " " << id << " position " << p;
      }
    };
    for (const std::string& user : model->users().externals()) {
      ASSERT_TRUE((*single)->GetUserRecsAt("s1", user, &a).ok()) << user;
      ASSERT_TRUE((*dist)->GetUserRecsAt("d1", user, &b).ok()) << user;
      ASSERT_EQ(a.size(), 5u);
      same("user", user);
    }
    for (const std::string& item : model->items().externals()) {
      ASSERT_TRUE((*single)->GetSimilarItemsAt("s1", item, &a).ok()) << item;
      ASSERT_TRUE((*dist)->GetSimilarItemsAt("d1", item, &b).ok()) << item;
      same("similar", item);
    }
    ASSERT_TRUE((*single)->GetPopularAt("s1", &a).ok());
    ASSERT_TRUE((*dist)->GetPopularAt("d1", &b).ok());
    same("popular", "");
  }
}

TEST_F(MpiEndToEndTest, BadInputFailsOnEveryRankWithOneMessage) {
  // Rank 0 and the others fail alike (same file); the job exits non-zero
  // instead of hanging in a collective.
  std::ofstream(dir_ / "bad.csv") << "user_id,item_id,rating,timestamp\nu1,i1,x,1\n";
  std::string log;
  EXPECT_FALSE(Run(MpiRun(2, {"train", "--train", "bad.csv", "--distributed"}), &log)) << log;
  EXPECT_NE(log.find("bad.csv"), std::string::npos) << log;
  // A store no other process can see is refused.
  WriteData("ratings.csv");
  ASSERT_TRUE(Run(Reco(TrainArgs(kModes[0], "m.rcfm")), &log)) << log;
  EXPECT_FALSE(
      Run(MpiRun(2, {"precompute", "-m", "m.rcfm", "--store", "memory://", "--distributed"}), &log))
      << log;
  EXPECT_NE(log.find("lmdb:// or redis://"), std::string::npos) << log;
}

}  // namespace
}  // namespace reco
