// Model file version 2 (docs/formats.md, "Model file"), and version 1 read
// through LoadRecommender.
//
// Golden files: src/model/testdata/tiny_v2_<family>.rcfm are written by this
// test's own models (GoldenModels below). The test fails when the writer no
// longer reproduces them byte for byte. After an intended format change (a
// new version), regenerate them with
//   RECO_REGENERATE_GOLDEN=1 build/ci/src/model/recommender_test --gtest_filter='*Golden*'
// and keep the old version's files loading.
#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "../testing/temp_dir.h"
#include "family.h"
#include "reco/model.h"
#include "reco/recommender.h"

namespace reco {
namespace {

namespace fs = std::filesystem;

// The v1 golden model (model_file_test.cc): explicit, 2 factors, biases.
FactorModel TinyExplicit() {
  FactorModel m;
  m.kind = ModelKind::kExplicit;
  m.params.factors = 2;
  m.params.iterations = 5;
  m.params.regularization = 0.25f;
  m.params.use_biases = true;
  m.params.seed = 9;
  m.params.alpha = 1.0f;
  m.params.cg_steps = 3;
  m.params.init_scale = 0.01f;
  m.users.GetOrAdd("alice");
  m.users.GetOrAdd("bob");
  m.items.GetOrAdd("i1");
  m.items.GetOrAdd("i22");
  m.items.GetOrAdd("i333");
  m.user_factors.resize(2, 2);
  m.user_factors << 0.5f, -1.0f, 2.0f, 0.25f;
  m.item_factors.resize(3, 2);
  m.item_factors << 1.0f, 0.0f, -0.5f, 1.5f, 0.125f, 2.0f;
  m.user_bias.resize(2);
  m.user_bias << 0.5f, -0.25f;
  m.item_bias.resize(3);
  m.item_bias << 0.0f, 1.0f, -1.0f;
  m.global_bias = 3.5f;
  m.metadata_json = R"({"note":"golden"})";
  return m;
}

// Implicit, no biases, log-transformed values.
std::unique_ptr<Recommender> TinyImplicit() {
  FactorModel m;
  m.kind = ModelKind::kImplicit;
  m.params.implicit = true;
  m.params.factors = 2;
  m.params.iterations = 7;
  m.params.regularization = 0.5f;
  m.params.alpha = 4.0f;
  m.params.implicit_solver = ImplicitSolver::kCholesky;
  m.params.cg_steps = 3;
  m.params.seed = 1;
  m.users.GetOrAdd("u");
  m.items.GetOrAdd("x");
  m.items.GetOrAdd("y");
  m.user_factors.resize(1, 2);
  m.user_factors << 0.75f, -2.0f;
  m.item_factors.resize(2, 2);
  m.item_factors << 1.0f, 0.5f, -0.25f, 4.0f;
  m.metadata_json = "{}";
  return MakeAlsRecommender(std::move(m), ValueOptions{ValueTransform::kLog, 0.5f});
}

struct Golden {
  const char* file;
  std::unique_ptr<Recommender> model;
};

// EASE, 2 users x 3 items, binary values: B by hand (zero diagonal).
std::unique_ptr<Recommender> TinyEase() {
  ModelConfig c;
  c.family = ModelFamily::kEase;
  c.ease.lambda = 250.0f;
  c.values.transform = ValueTransform::kBinary;
  IdMap users, items;
  users.GetOrAdd("u");
  users.GetOrAdd("v");
  for (const char* id : {"x", "y", "z"}) items.GetOrAdd(id);
  auto m = MakeEaseRecommender(c, std::move(users), std::move(items),
                               {0.0f, 0.5f, -0.25f, 0.125f, 0.0f, 2.0f, -1.0f, 0.75f, 0.0f});
  m->set_metadata_json(R"({"note":"golden"})");
  return m;
}

// Item-kNN, 1 user x 3 items, cosine: x -> {y 0.5, z 0.25}, y -> {x 0.5},
// z none.
std::unique_ptr<Recommender> TinyKnn() {
  ModelConfig c;
  c.family = ModelFamily::kItemKnn;
  c.knn.similarity = KnnSimilarity::kCosine;
  c.knn.neighbors = 2;
  c.knn.shrinkage = 1.5f;
  c.knn.half_life_days = 30;
  c.values.transform = ValueTransform::kBinary;
  IdMap users, items;
  users.GetOrAdd("u");
  for (const char* id : {"x", "y", "z"}) items.GetOrAdd(id);
  CsrMatrix s;
  s.rows = s.cols = 3;
  s.indptr = {0, 2, 3, 3};
  s.indices = {1, 2, 0};
  s.values = {0.5f, 0.25f, 0.5f};
  auto m = MakeKnnRecommender(c, std::move(users), std::move(items), std::move(s));
  m->set_metadata_json(R"({"note":"golden"})");
  return m;
}

std::vector<Golden> GoldenModels() {
  std::vector<Golden> out;
  out.push_back({"tiny_v2_als.rcfm", MakeAlsRecommender(TinyExplicit())});
  out.push_back({"tiny_v2_ials.rcfm", TinyImplicit()});
  out.push_back({"tiny_v2_ease.rcfm", TinyEase()});
  out.push_back({"tiny_v2_knn.rcfm", TinyKnn()});
  return out;
}

std::string TestData(const std::string& name) {
  return std::string(RECO_SOURCE_DIR) + "/src/model/testdata/" + name;
}

std::vector<char> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void WriteBytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
void FixChecksum(std::vector<char>* bytes) {
  const uint64_t h = XXH64(bytes->data(), bytes->size() - 8, 0);
  for (int i = 0; i < 8; ++i) (*bytes)[bytes->size() - 8 + i] = static_cast<char>(h >> (8 * i));
}

// ---- an independent encoder of the spec, for crafted files -------------------

void Le(std::vector<char>* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void LeF32(std::vector<char>* out, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  Le(out, bits, 4);
}
std::vector<char> IdSection(const std::vector<std::string>& ids) {
  std::vector<char> out;
  for (const std::string& id : ids) {
    Le(&out, id.size(), 4);
    out.insert(out.end(), id.begin(), id.end());
  }
  return out;
}

struct Sections {
  uint8_t family = 1;
  uint32_t users = 0, items = 0;
  std::vector<char> user_ids, item_ids;
  std::string config;
  std::vector<char> payload;
  std::string metadata = "{}";
};

// docs/formats.md, "Layout (version 2)", byte by byte.
std::vector<char> Encode(const Sections& s) {
  std::vector<char> out = {'R', 'C', 'F', 'M'};
  Le(&out, 2, 4);
  out.push_back(static_cast<char>(s.family));
  Le(&out, 0, 3);
  Le(&out, s.users, 4);
  Le(&out, s.items, 4);
  Le(&out, 0, 4);
  Le(&out, s.user_ids.size(), 8);
  Le(&out, s.item_ids.size(), 8);
  Le(&out, s.config.size(), 8);
  Le(&out, s.payload.size(), 8);
  Le(&out, s.metadata.size(), 8);
  out.insert(out.end(), s.user_ids.begin(), s.user_ids.end());
  out.insert(out.end(), s.item_ids.begin(), s.item_ids.end());
  out.insert(out.end(), s.config.begin(), s.config.end());
  out.insert(out.end(), s.payload.begin(), s.payload.end());
  out.insert(out.end(), s.metadata.begin(), s.metadata.end());
  Le(&out, 0, 8);
  FixChecksum(&out);
  return out;
}

// The tiny explicit model as sections (ALS payload spelled out by hand).
Sections TinyExplicitSections() {
  Sections s;
  s.family = 1;
  s.users = 2;
  s.items = 3;
  s.user_ids = IdSection({"alice", "bob"});
  s.item_ids = IdSection({"i1", "i22", "i333"});
  s.config = R"({"family":"als","factors":2,"iterations":5,"regularization":0.25,"biases":true,)"
             R"("seed":9,"init_scale":0.01})";
  Le(&s.payload, 2, 4);    // F
  s.payload.push_back(1);  // flags: biases
  Le(&s.payload, 0, 3);
  LeF32(&s.payload, 3.5f);
  for (float v : {0.5f, -1.0f, 2.0f, 0.25f}) LeF32(&s.payload, v);
  for (float v : {1.0f, 0.0f, -0.5f, 1.5f, 0.125f, 2.0f}) LeF32(&s.payload, v);
  for (float v : {0.5f, -0.25f}) LeF32(&s.payload, v);
  for (float v : {0.0f, 1.0f, -1.0f}) LeF32(&s.payload, v);
  s.metadata = R"({"note":"golden"})";
  return s;
}

class RecommenderFileTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  Result<std::unique_ptr<Recommender>> LoadBytes(const std::vector<char>& bytes) {
    WriteBytes(Path("crafted.rcfm"), bytes);
    return LoadRecommender(Path("crafted.rcfm"));
  }
  void ExpectCorruption(const std::vector<char>& bytes, const std::string& fragment) {
    auto r = LoadBytes(bytes);
    ASSERT_FALSE(r.ok()) << "loaded; expected: " << fragment;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(Path("crafted.rcfm")), std::string::npos);
  }

  testing_util::TempDir scratch_{"reco-recommender-file-test"};
  const fs::path dir_ = scratch_.path();
};

void ExpectSameAls(const Recommender& a, const Recommender& b) {
  EXPECT_EQ(a.family(), b.family());
  EXPECT_EQ(a.config().ToJson(), b.config().ToJson());
  EXPECT_EQ(a.metadata_json(), b.metadata_json());
  EXPECT_EQ(a.users().externals(), b.users().externals());
  EXPECT_EQ(a.items().externals(), b.items().externals());
  const FactorModel* fa = a.factor_model();
  const FactorModel* fb = b.factor_model();
  ASSERT_TRUE(fa != nullptr && fb != nullptr);
  EXPECT_TRUE(fa->user_factors == fb->user_factors);
  EXPECT_TRUE(fa->item_factors == fb->item_factors);
  EXPECT_TRUE(fa->user_bias == fb->user_bias);
  EXPECT_TRUE(fa->item_bias == fb->item_bias);
  EXPECT_EQ(fa->global_bias, fb->global_bias);
  EXPECT_EQ(fa->kind, fb->kind);
}

TEST_F(RecommenderFileTest, GoldenVersion2Files) {
  const bool regenerate = std::getenv("RECO_REGENERATE_GOLDEN") != nullptr;
  for (const Golden& g : GoldenModels()) {
    SCOPED_TRACE(g.file);
    if (regenerate) {
      ASSERT_TRUE(SaveRecommender(*g.model, TestData(g.file)).ok());
      continue;
    }
    ASSERT_TRUE(SaveRecommender(*g.model, Path("now.rcfm")).ok());
    EXPECT_EQ(ReadBytes(Path("now.rcfm")), ReadBytes(TestData(g.file)));
    auto loaded = LoadRecommender(TestData(g.file));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (g.model->factor_model() != nullptr) ExpectSameAls(*g.model, **loaded);
  }
}

TEST_F(RecommenderFileTest, WriterFollowsTheSpecByteForByte) {
  ASSERT_TRUE(SaveRecommender(*MakeAlsRecommender(TinyExplicit()), Path("m.rcfm")).ok());
  EXPECT_EQ(ReadBytes(Path("m.rcfm")), Encode(TinyExplicitSections()));
}

TEST_F(RecommenderFileTest, AlsModelsRoundTrip) {
  for (auto& g : GoldenModels()) {
    if (g.model->factor_model() == nullptr) continue;
    ASSERT_TRUE(SaveRecommender(*g.model, Path(g.file)).ok());
    auto loaded = LoadRecommender(Path(g.file));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ExpectSameAls(*g.model, **loaded);
  }
  auto loaded = LoadRecommender(Path("tiny_v2_ials.rcfm"));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->config().values.transform, ValueTransform::kLog);
  EXPECT_EQ((*loaded)->config().values.epsilon, 0.5f);
  EXPECT_EQ((*loaded)->config().als.implicit_solver, ImplicitSolver::kCholesky);
  // Nothing but the models is left in the directory (temp files renamed).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
}

// The EASE payload is B itself (docs/formats.md, "EASE payload").
TEST_F(RecommenderFileTest, EaseGoldenFileLoads) {
  auto loaded = LoadRecommender(TestData("tiny_v2_ease.rcfm"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->family(), ModelFamily::kEase);
  EXPECT_EQ((*loaded)->config().ease.lambda, 250.0f);
  EXPECT_EQ((*loaded)->config().values.transform, ValueTransform::kBinary);
  EXPECT_EQ((*loaded)->items().External(2), "z");
  auto similar = (*loaded)->SimilarItems({}, 2, 1);
  ASSERT_TRUE(similar.ok());
  // Rows of B: x -> (y 0.5, z -0.25); y -> (z 2, x 0.125); z -> (y 0.75, x -1).
  EXPECT_EQ(std::vector<uint32_t>(similar->Items(0).begin(), similar->Items(0).end()),
            (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(std::vector<float>(similar->Scores(1).begin(), similar->Scores(1).end()),
            (std::vector<float>{2.0f, 0.125f}));
  EXPECT_EQ(std::vector<float>(similar->Scores(2).begin(), similar->Scores(2).end()),
            (std::vector<float>{0.75f, -1.0f}));

  // A diagonal weight that is not zero is damage, even with a valid checksum.
  ModelConfig c = (*loaded)->config();
  auto bad = MakeEaseRecommender(c, (*loaded)->users(), (*loaded)->items(),
                                 {0.0f, 0.5f, -0.25f, 0.125f, 1.0f, 2.0f, -1.0f, 0.75f, 0.0f});
  ASSERT_TRUE(SaveRecommender(*bad, Path("bad.rcfm")).ok());
  auto r = LoadRecommender(Path("bad.rcfm"));
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("diagonal weight (1, 1) is not zero"), std::string::npos)
      << r.status().message();
}

// The kNN payload is the neighbour CSR (docs/formats.md, "Item-kNN payload").
TEST_F(RecommenderFileTest, KnnGoldenFileLoads) {
  auto loaded = LoadRecommender(TestData("tiny_v2_knn.rcfm"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->family(), ModelFamily::kItemKnn);
  EXPECT_EQ((*loaded)->config().knn.half_life_days, 30.0);
  EXPECT_EQ((*loaded)->config().knn.shrinkage, 1.5f);
  auto similar = (*loaded)->SimilarItems({}, 5, 1);
  ASSERT_TRUE(similar.ok());
  EXPECT_EQ(std::vector<uint32_t>(similar->Items(0).begin(), similar->Items(0).end()),
            (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(std::vector<float>(similar->Scores(0).begin(), similar->Scores(0).end()),
            (std::vector<float>{0.5f, 0.25f}));
  EXPECT_EQ(similar->RowLength(1), 1u);
  EXPECT_EQ(similar->RowLength(2), 0u);

  // Neighbour lists that break the payload rules are damage, even with a
  // valid checksum: the item itself, out of order, more than `neighbors`.
  struct Bad {
    std::vector<uint64_t> indptr;
    std::vector<uint32_t> indices;
    uint32_t neighbors;
    const char* message;
  };
  const ModelConfig c = (*loaded)->config();
  for (const Bad& b : {Bad{{0, 2, 3, 3}, {1, 2, 1}, 2, "item 1 neighbour 1"},
                       Bad{{0, 2, 3, 3}, {2, 1, 0}, 2, "item 0 neighbour 1"},
                       Bad{{0, 2, 3, 3}, {1, 2, 0}, 1, "item 0 has 2 neighbours"},
                       Bad{{0, 2, 1, 3}, {1, 2, 0}, 3, "row 1 offsets decrease"}}) {
    ModelConfig bc = c;
    bc.knn.neighbors = b.neighbors;
    CsrMatrix s;
    s.rows = s.cols = 3;
    s.indptr = b.indptr;
    s.indices = b.indices;
    s.values = {0.5f, 0.25f, 0.5f};
    auto bad = MakeKnnRecommender(bc, (*loaded)->users(), (*loaded)->items(), std::move(s));
    ASSERT_TRUE(SaveRecommender(*bad, Path("bad.rcfm")).ok());
    auto r = LoadRecommender(Path("bad.rcfm"));
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << b.message;
    EXPECT_NE(r.status().message().find(b.message), std::string::npos) << r.status().message();
  }
}

// Back-compat: the committed version-1 file loads as explicit ALS with raw values.
TEST_F(RecommenderFileTest, Version1FileLoadsAsAls) {
  const std::string v1 = TestData("tiny_v1.rcfm");
  auto loaded = LoadRecommender(v1);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto legacy = LoadModel(v1);
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ((*loaded)->family(), ModelFamily::kExplicitAls);
  EXPECT_EQ((*loaded)->config().values.transform, ValueTransform::kRaw);
  EXPECT_EQ((*loaded)->metadata_json(), R"({"note":"golden"})");
  ExpectSameAls(**loaded, *MakeAlsRecommender(*legacy));
  EXPECT_EQ((*loaded)->factor_model()->Predict(0, 1), 3.25f);
  // Saved again, it becomes the version-2 golden file.
  ASSERT_TRUE(SaveRecommender(**loaded, Path("v2.rcfm")).ok());
  EXPECT_EQ(ReadBytes(Path("v2.rcfm")), ReadBytes(TestData("tiny_v2_als.rcfm")));
}

TEST_F(RecommenderFileTest, EveryTruncationIsCorruption) {
  for (auto& g : GoldenModels()) {
    const std::vector<char> full = ReadBytes(TestData(g.file));
    ASSERT_GT(full.size(), 64u);
    for (size_t len = 0; len < full.size(); ++len) {
      auto r = LoadBytes(std::vector<char>(full.begin(), full.begin() + static_cast<long>(len)));
      ASSERT_FALSE(r.ok()) << g.file << ": prefix of " << len << " bytes loaded";
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << len;
      if (len >= 64) {
        EXPECT_NE(r.status().message().find("truncated"), std::string::npos)
            << len << ": " << r.status().message();
      }
    }
  }
}

TEST_F(RecommenderFileTest, EveryFlippedByteIsCorruption) {
  for (auto& g : GoldenModels()) {
    const std::vector<char> full = ReadBytes(TestData(g.file));
    for (size_t pos = 0; pos < full.size(); ++pos) {
      for (int bit : {0, 7}) {
        std::vector<char> bytes = full;
        bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << bit));
        auto r = LoadBytes(bytes);
        ASSERT_FALSE(r.ok()) << g.file << ": flipped bit " << bit << " of byte " << pos;
        EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
      }
    }
  }
}

TEST_F(RecommenderFileTest, HeaderChecks) {
  const std::vector<char> good = Encode(TinyExplicitSections());
  ASSERT_TRUE(LoadBytes(good).ok());

  std::vector<char> bytes = good;
  bytes[0] = 'X';
  ExpectCorruption(bytes, "bad magic");
  bytes = good;
  bytes[4] = 3;
  ExpectCorruption(bytes, "unsupported model format version 3 (this build reads versions 1 and 2)");

  Sections s = TinyExplicitSections();
  s.family = 9;
  ExpectCorruption(Encode(s), "unknown model family 9");
  bytes = good;
  bytes[10] = 1;
  FixChecksum(&bytes);
  ExpectCorruption(bytes, "reserved header bytes");
  bytes = good;
  bytes[21] = 1;
  FixChecksum(&bytes);
  ExpectCorruption(bytes, "reserved header bytes");

  bytes = good;
  bytes[100] ^= 1;
  ExpectCorruption(bytes, "checksum mismatch");
  bytes = good;
  bytes.push_back(0);
  ExpectCorruption(bytes, "trailing");
}

TEST_F(RecommenderFileTest, HugeCountsAreRejectedBeforeAllocating) {
  std::vector<char> bytes = Encode(TinyExplicitSections());
  for (int i = 24; i < 32; ++i) bytes[i] = static_cast<char>(0xff);  // 2^64-1 user ID bytes
  FixChecksum(&bytes);
  ExpectCorruption(bytes, "overflow");

  bytes = Encode(TinyExplicitSections());
  for (int i = 48; i < 56; ++i) bytes[i] = static_cast<char>(0x7f);  // a huge payload
  FixChecksum(&bytes);
  ExpectCorruption(bytes, "truncated");

  // 4 billion users in a 13-byte ID section.
  Sections s = TinyExplicitSections();
  s.users = 0xffffffffu;
  ExpectCorruption(Encode(s), "cannot hold 4294967295 IDs");
}

TEST_F(RecommenderFileTest, SectionChecksBehindAValidChecksum) {
  Sections s = TinyExplicitSections();
  s.user_ids = IdSection({"alice", "alice"});
  ExpectCorruption(Encode(s), "duplicate user ID 'alice'");

  s = TinyExplicitSections();
  s.config = "{not json";
  ExpectCorruption(Encode(s), "config: model config: not valid JSON");
  s.config = R"({"family":"als","factors":2,"biases":true,"colour":3})";
  ExpectCorruption(Encode(s), "unknown key 'colour'");
  s.config = R"({"family":"ials","factors":2})";
  ExpectCorruption(Encode(s), "config is for family ials but the header says als");

  s = TinyExplicitSections();
  s.config = R"({"family":"als","factors":3,"biases":true})";
  ExpectCorruption(Encode(s), "ALS payload has 2 factors but the config says 3");
  s.config = R"({"family":"als","factors":2,"biases":false})";
  ExpectCorruption(Encode(s), "ALS payload has biases but the config says biases=false");

  s = TinyExplicitSections();
  s.payload.resize(s.payload.size() - 4);
  ExpectCorruption(Encode(s), "ALS payload is 68 bytes");
  s = TinyExplicitSections();
  s.payload.resize(8);
  ExpectCorruption(Encode(s), "shorter than its 12-byte header");
  s = TinyExplicitSections();
  s.payload[4] = 3;
  ExpectCorruption(Encode(s), "unknown flag bits 3");
  s = TinyExplicitSections();
  s.payload[6] = 1;
  ExpectCorruption(Encode(s), "reserved bytes are not zero");

  // A NaN weight with a valid checksum: damage, never served.
  s = TinyExplicitSections();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(s.payload.data() + 12 + 4 * 5, &nan, 4);  // item factor (0, 1)
  ExpectCorruption(Encode(s), "item factor entry (0, 1) is nan");
}

TEST_F(RecommenderFileTest, SaveRefusesNonFiniteModels) {
  FactorModel m = TinyExplicit();
  m.user_bias[1] = std::numeric_limits<float>::infinity();
  Status st = SaveRecommender(*MakeAlsRecommender(m), Path("m.rcfm"));
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("user bias entry (1, 0) is inf"), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(Path("m.rcfm")));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);
}

// Another implementation of the interface (a test fake) has no payload.
class ForeignRecommender : public Recommender {
 public:
  ModelFamily family() const override { return ModelFamily::kEase; }
  const ModelConfig& config() const override { return config_; }
  const IdMap& users() const override { return ids_; }
  const IdMap& items() const override { return ids_; }
  Result<RankedLists> RecommendUsers(std::span<const uint32_t>, const CsrMatrix&, const CsrMatrix*,
                                     uint32_t, int) const override {
    return RankedLists{};
  }
  Result<RankedLists> RecommendHistories(const CsrMatrix&, const CsrMatrix*, uint32_t, int,
                                         uint32_t*) const override {
    return RankedLists{};
  }
  Result<RankedLists> SimilarItems(std::span<const uint32_t>, uint32_t, int) const override {
    return RankedLists{};
  }
  Status CheckFinite() const override { return Status::Ok(); }
  uint64_t memory_bytes() const override { return 0; }

 private:
  ModelConfig config_;
  IdMap ids_;
};

TEST_F(RecommenderFileTest, SaveErrors) {
  EXPECT_EQ(SaveRecommender(ForeignRecommender(), Path("f.rcfm")).code(),
            Status::Code::kInvalidArgument);
  auto model = MakeAlsRecommender(TinyExplicit());
  Status st = SaveRecommender(*model, Path("no/such/dir/m.rcfm"));
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("no/such/dir"), std::string::npos);
  // A directory where the file should be: rename fails, temp file removed.
  fs::create_directories(Path("occupied/x"));
  st = SaveRecommender(*model, Path("occupied"));
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  auto missing = LoadRecommender(Path("absent.rcfm"));
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);

  // Saving over an existing file replaces it.
  ASSERT_TRUE(SaveRecommender(*model, Path("m.rcfm")).ok());
  model->set_metadata_json(R"({"v":2})");
  ASSERT_TRUE(SaveRecommender(*model, Path("m.rcfm")).ok());
  auto loaded = LoadRecommender(Path("m.rcfm"));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->metadata_json(), R"({"v":2})");
}

}  // namespace
}  // namespace reco
