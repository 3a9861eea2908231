#include "reco/synth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <tuple>

#include "../testing/temp_dir.h"
#include "reco/loader.h"

namespace reco {
namespace {

namespace fs = std::filesystem;

class SynthTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static SynthOptions Small() {
    SynthOptions o;
    o.users = 300;
    o.items = 200;
    o.interactions = 6000;
    o.rank = 4;
    o.seed = 7;
    o.progress = false;
    return o;
  }

  // Generates and loads with duplicates as errors (there must be none).
  Dataset GenerateAndLoad(const SynthOptions& o, const std::string& factors = "") {
    std::string out = Path("synth.csv");
    Status st = GenerateSynthetic(o, out, factors);
    EXPECT_TRUE(st.ok()) << st.ToString();
    LoadOptions lo;
    lo.format = InputFormat::kRatingsCsv;
    lo.duplicates = DuplicatePolicy::kError;
    Result<Dataset> ds = LoadInteractions(out, lo);
    EXPECT_TRUE(ds.ok()) << ds.status().ToString();
    return ds.ok() ? std::move(ds).value() : Dataset();
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  testing_util::TempDir scratch_{"reco-synth-test"};
  const fs::path dir_ = scratch_.path();
};

std::vector<uint32_t> PerUserCounts(const Dataset& ds) {
  std::vector<uint32_t> n(ds.users.size(), 0);
  for (const Interaction& r : ds.interactions) ++n[r.user];
  return n;
}

TEST_F(SynthTest, WritesExactlyTheRequestedRecordsAsLoadableCsv) {
  SynthOptions o = Small();
  Dataset ds = GenerateAndLoad(o);
  ASSERT_EQ(ds.interactions.size(), 6000u);
  ASSERT_EQ(ds.users.size(), 300u);
  // Users appear in ID order, so the loader's dense index is the ID.
  for (uint32_t u = 0; u < ds.users.size(); ++u) EXPECT_EQ(ds.users.External(u), std::to_string(u));
  for (uint32_t i = 0; i < ds.items.size(); ++i) {
    EXPECT_LT(std::stoul(ds.items.External(i)), 200u);
  }
  std::vector<uint32_t> n = PerUserCounts(ds);
  EXPECT_GE(*std::min_element(n.begin(), n.end()), o.min_per_user);
  EXPECT_LE(*std::max_element(n.begin(), n.end()), o.items);
  // Power-law activity: the busiest user has several times the mean (20).
  EXPECT_GT(*std::max_element(n.begin(), n.end()), 60u);

  // Explicit values are whole stars; timestamps in range and increasing per user.
  int64_t previous_time = 0;
  uint32_t previous_user = UINT32_MAX;
  for (const Interaction& r : ds.interactions) {
    EXPECT_EQ(r.value, std::round(r.value));
    EXPECT_GE(r.value, 1.0f);
    EXPECT_LE(r.value, 5.0f);
    EXPECT_GE(r.timestamp, o.start_time);
    EXPECT_LT(r.timestamp, o.end_time);
    if (r.user == previous_user) {
      EXPECT_GE(r.timestamp, previous_time);
    }
    previous_user = r.user;
    previous_time = r.timestamp;
  }
}

TEST_F(SynthTest, ImplicitValuesAreCounts) {
  SynthOptions o = Small();
  o.implicit = true;
  Dataset ds = GenerateAndLoad(o);
  ASSERT_EQ(ds.interactions.size(), 6000u);
  float max_value = 0;
  for (const Interaction& r : ds.interactions) {
    EXPECT_EQ(r.value, std::round(r.value));
    EXPECT_GE(r.value, 1.0f);
    EXPECT_LE(r.value, 1000.0f);
    max_value = std::max(max_value, r.value);
  }
  EXPECT_GT(max_value, 1.0f);
}

// Counts worked out by hand: with activity exponent 0 every user has the same
// weight, so 20 records over 4 users are 5 each; 12 records for 3 users of 4
// items means every user has every item.
TEST_F(SynthTest, CountsFollowTheActivityRule) {
  SynthOptions o = Small();
  o.users = 4;
  o.items = 10;
  o.interactions = 20;
  o.min_per_user = 1;
  o.activity_exponent = 0;
  Dataset ds = GenerateAndLoad(o);
  EXPECT_EQ(PerUserCounts(ds), (std::vector<uint32_t>{5, 5, 5, 5}));

  o.users = 3;
  o.items = 4;
  o.interactions = 12;
  o.activity_exponent = 1;
  ds = GenerateAndLoad(o);
  ASSERT_EQ(ds.interactions.size(), 12u);
  std::set<std::pair<std::string, std::string>> pairs;
  for (const Interaction& r : ds.interactions) {
    pairs.emplace(ds.users.External(r.user), ds.items.External(r.item));
  }
  EXPECT_EQ(pairs.size(), 12u);
  EXPECT_EQ(ds.items.size(), 4u);
}

TEST_F(SynthTest, SameSeedSameBytesForAnyThreadCount) {
  SynthOptions o = Small();
  o.users = 20000;  // several parallel blocks
  o.items = 300;
  o.interactions = 200000;
  o.threads = 1;
  ASSERT_TRUE(GenerateSynthetic(o, Path("a.csv"), Path("a.factors")).ok());
  o.threads = 2;
  ASSERT_TRUE(GenerateSynthetic(o, Path("b.csv"), Path("b.factors")).ok());
  o.seed = 8;
  ASSERT_TRUE(GenerateSynthetic(o, Path("c.csv"), "").ok());
  const std::string a = Slurp(Path("a.csv"));
  EXPECT_EQ(a, Slurp(Path("b.csv")));
  EXPECT_EQ(Slurp(Path("a.factors")), Slurp(Path("b.factors")));
  EXPECT_NE(a, Slurp(Path("c.csv")));
  EXPECT_FALSE(fs::exists(Path("a.csv.tmp")));
}

TEST_F(SynthTest, FactorsFileDescribesThePlantedModel) {
  SynthOptions o = Small();
  ASSERT_TRUE(GenerateSynthetic(o, Path("s.csv"), Path("s.factors")).ok());
  Result<PlantedModel> m = LoadPlantedModel(Path("s.factors"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->users, 300u);
  EXPECT_EQ(m->items, 200u);
  EXPECT_EQ(m->rank, 4u);
  ASSERT_EQ(m->user_factors.size(), 300u * 4);
  ASSERT_EQ(m->item_factors.size(), 200u * 4);
  // item_bias is log popularity: the popularities sum to 1, and with Zipf
  // exponent 1 their ratio top / bottom is the number of items.
  double total = 0;
  for (float b : m->item_bias) total += std::exp(static_cast<double>(b));
  EXPECT_NEAR(total, 1.0, 1e-4);
  auto [lo, hi] = std::minmax_element(m->item_bias.begin(), m->item_bias.end());
  EXPECT_NEAR(*hi - *lo, std::log(200.0), 1e-4);
  EXPECT_FLOAT_EQ(m->Score(3, 5),
                  m->item_bias[5] + std::inner_product(m->user_factors.begin() + 12,
                                                       m->user_factors.begin() + 16,
                                                       m->item_factors.begin() + 20, 0.0f));
}

// The data must carry the planted structure: popular items are picked more,
// chosen items have higher planted affinity than random ones, and explicit
// ratings rise with affinity.
TEST_F(SynthTest, DataFollowsThePlantedModel) {
  SynthOptions o = Small();
  Dataset ds = GenerateAndLoad(o, Path("s.factors"));
  Result<PlantedModel> m = LoadPlantedModel(Path("s.factors"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const float beta = static_cast<float>(o.affinity);

  std::vector<double> item_count(o.items, 0);
  double chosen_affinity = 0, rating_affinity_cov = 0, mean_rating = 0;
  for (const Interaction& r : ds.interactions) {
    uint32_t u = static_cast<uint32_t>(std::stoul(ds.users.External(r.user)));
    uint32_t i = static_cast<uint32_t>(std::stoul(ds.items.External(r.item)));
    ++item_count[i];
    chosen_affinity += (m->Score(u, i) - m->item_bias[i]) / beta;
    mean_rating += r.value;
  }
  const double n = static_cast<double>(ds.interactions.size());
  chosen_affinity /= n;
  mean_rating /= n;
  for (const Interaction& r : ds.interactions) {
    uint32_t u = static_cast<uint32_t>(std::stoul(ds.users.External(r.user)));
    uint32_t i = static_cast<uint32_t>(std::stoul(ds.items.External(r.item)));
    rating_affinity_cov += (r.value - mean_rating) * (m->Score(u, i) - m->item_bias[i]) / beta;
  }
  // Affinity has mean 0 and variance ~1 over all pairs; choices lean positive.
  EXPECT_GT(chosen_affinity, 0.5);
  EXPECT_GT(rating_affinity_cov / n, 0.3);

  // The 20 most popular items by plan get far more than their 10% share of picks.
  std::vector<uint32_t> by_bias(o.items);
  std::iota(by_bias.begin(), by_bias.end(), 0);
  std::sort(by_bias.begin(), by_bias.end(),
            [&](uint32_t a, uint32_t b) { return m->item_bias[a] > m->item_bias[b]; });
  double head = 0;
  for (int k = 0; k < 20; ++k) head += item_count[by_bias[k]];
  EXPECT_GT(head / n, 0.25);
}

TEST_F(SynthTest, RejectsImpossibleOptions) {
  SynthOptions o = Small();
  o.interactions = 300 * 5 - 1;  // below users x min_per_user
  Status st = GenerateSynthetic(o, Path("x.csv"), "");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find("--interactions must be between"), std::string::npos) << st.message();
  o = Small();
  o.interactions = 300 * 200 + 1;  // more than every user having every item
  EXPECT_FALSE(GenerateSynthetic(o, Path("x.csv"), "").ok());
  o = Small();
  o.rank = 0;
  EXPECT_NE(CheckSynthOptions(o).message().find("--rank"), std::string::npos);
  o = Small();
  o.zipf_exponent = std::nan("");
  EXPECT_FALSE(CheckSynthOptions(o).ok());
  o = Small();
  o.min_per_user = 300;  // above the 200 items
  EXPECT_FALSE(CheckSynthOptions(o).ok());
  o = Small();
  EXPECT_FALSE(GenerateSynthetic(o, Path("x.csv"), Path("x.csv")).ok());
  EXPECT_EQ(GenerateSynthetic(o, Path("no/such/dir/x.csv"), "").code(), Status::Code::kIOError);
  EXPECT_FALSE(fs::exists(Path("x.csv")));
}

TEST_F(SynthTest, MalformedFactorsFilesAreErrorsWithLineNumbers) {
  SynthOptions o = Small();
  o.users = 10;
  o.items = 5;
  o.interactions = 50;
  ASSERT_TRUE(GenerateSynthetic(o, Path("s.csv"), Path("s.factors")).ok());
  const std::string good = Slurp(Path("s.factors"));
  auto load = [&](const std::string& text) {
    std::ofstream(Path("bad.factors"), std::ios::binary) << text;
    Result<PlantedModel> m = LoadPlantedModel(Path("bad.factors"));
    EXPECT_FALSE(m.ok());
    return m.ok() ? std::string() : m.status().message();
  };
  EXPECT_NE(load("").find("bad.factors:0: not a synthetic factors file"), std::string::npos);
  EXPECT_NE(load("hello\n").find("not a synthetic factors file"), std::string::npos);
  // Cut inside the last user line: its factors are missing.
  std::string cut = good.substr(0, good.size() - 4);
  cut = cut.substr(0, cut.rfind(' '));
  EXPECT_NE(load(cut).find("bad.factors:17:"), std::string::npos) << load(cut);
  // A second header line promising more than the file holds.
  std::string huge = good;
  huge.replace(huge.find("users 10"), 8, "users 4000000000");
  EXPECT_NE(load(huge).find("cannot fit"), std::string::npos) << load(huge);
  std::string nan = good;
  nan.replace(nan.find("item 2 ") + 7, 1, "nan ");
  EXPECT_NE(load(nan).find("bad.factors:5:"), std::string::npos) << load(nan);
  EXPECT_EQ(LoadPlantedModel(Path("missing")).status().code(), Status::Code::kNotFound);
  // The good file still loads.
  EXPECT_TRUE(LoadPlantedModel(Path("s.factors")).ok());
}

// The loader resolves duplicates without a permutation when every user's
// lines form one run (as in synth files); the policies must not change.
TEST_F(SynthTest, LoaderResolvesDuplicatesInUserGroupedFiles) {
  const std::string path = Path("grouped.csv");
  std::ofstream(path, std::ios::binary) << "user,item,rating,timestamp\n"
                                           "u1,i1,3,100\n"
                                           "u1,i2,4,200\n"
                                           "u1,i1,5,150\n"
                                           "u1,i1,1,120\n"
                                           "u2,i1,2,300";  // no final newline
  using Row = std::tuple<std::string, std::string, float, int64_t>;
  const std::vector<std::pair<DuplicatePolicy, std::vector<Row>>> cases = {
      {DuplicatePolicy::kKeepLast,
       {{"u1", "i2", 4, 200}, {"u1", "i1", 1, 120}, {"u2", "i1", 2, 300}}},
      {DuplicatePolicy::kKeepFirst,
       {{"u1", "i1", 3, 100}, {"u1", "i2", 4, 200}, {"u2", "i1", 2, 300}}},
      {DuplicatePolicy::kSum, {{"u1", "i1", 9, 150}, {"u1", "i2", 4, 200}, {"u2", "i1", 2, 300}}},
      {DuplicatePolicy::kMax, {{"u1", "i1", 5, 150}, {"u1", "i2", 4, 200}, {"u2", "i1", 2, 300}}},
  };
  for (const auto& [policy, expected] : cases) {
    SCOPED_TRACE(std::string(DuplicatePolicyName(policy)));
    LoadOptions lo;
    lo.duplicates = policy;
    Result<Dataset> ds = LoadInteractions(path, lo);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    std::vector<Row> got;
    for (const Interaction& r : ds->interactions) {
      got.emplace_back(ds->users.External(r.user), ds->items.External(r.item), r.value,
                       r.timestamp);
    }
    EXPECT_EQ(got, expected);
  }
  LoadOptions lo;
  lo.duplicates = DuplicatePolicy::kError;
  Result<Dataset> ds = LoadInteractions(path, lo);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().message(), path + ":4: duplicate of line 2 (user \"u1\", item \"i1\")");
}

}  // namespace
}  // namespace reco
