#include <gtest/gtest.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../testing/temp_dir.h"
#include "reco/als.h"
#include "reco/model.h"

namespace reco {
namespace {

namespace fs = std::filesystem;

// A model small enough to reason about byte by byte: 2 users, 3 items,
// 2 factors, biases. Values are exact in binary so the golden file is stable.
FactorModel TinyModel() {
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
  m.params.implicit_solver = ImplicitSolver::kConjugateGradient;
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

class ModelFileTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  static std::vector<char> ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  static void WriteBytes(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  // Recomputes the trailing checksum so a test can reach the checks behind it.
  static void FixChecksum(std::vector<char>* bytes) {
    const uint64_t h = XXH64(bytes->data(), bytes->size() - 8, 0);
    for (int i = 0; i < 8; ++i) (*bytes)[bytes->size() - 8 + i] = static_cast<char>(h >> (8 * i));
  }

  testing_util::TempDir scratch_{"reco-model-file-test"};
  const fs::path dir_ = scratch_.path();
};

void ExpectSameModel(const FactorModel& a, const FactorModel& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.users.externals(), b.users.externals());
  EXPECT_EQ(a.items.externals(), b.items.externals());
  EXPECT_TRUE(a.user_factors == b.user_factors);
  EXPECT_TRUE(a.item_factors == b.item_factors);
  EXPECT_TRUE(a.user_bias == b.user_bias);
  EXPECT_TRUE(a.item_bias == b.item_bias);
  EXPECT_EQ(a.global_bias, b.global_bias);
  EXPECT_EQ(a.metadata_json, b.metadata_json);
  EXPECT_EQ(a.params.factors, b.params.factors);
  EXPECT_EQ(a.params.iterations, b.params.iterations);
  EXPECT_EQ(a.params.regularization, b.params.regularization);
  EXPECT_EQ(a.params.alpha, b.params.alpha);
  EXPECT_EQ(a.params.implicit, b.params.implicit);
  EXPECT_EQ(a.params.use_biases, b.params.use_biases);
  EXPECT_EQ(a.params.implicit_solver, b.params.implicit_solver);
  EXPECT_EQ(a.params.cg_steps, b.params.cg_steps);
  EXPECT_EQ(a.params.seed, b.params.seed);
  EXPECT_EQ(a.params.init_scale, b.params.init_scale);
  for (uint32_t u = 0; u < a.num_users(); ++u) {
    for (uint32_t i = 0; i < a.num_items(); ++i) EXPECT_EQ(a.Predict(u, i), b.Predict(u, i));
  }
}

TEST_F(ModelFileTest, TinyModelRoundTrips) {
  const FactorModel model = TinyModel();
  ASSERT_TRUE(SaveModel(model, Path("tiny.rcfm")).ok());
  auto loaded = LoadModel(Path("tiny.rcfm"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameModel(model, *loaded);
  // 3.5 + 0.5 + 1.0 + (0.5 * -0.5 + -1.0 * 1.5)
  EXPECT_EQ(loaded->Predict(0, 1), 3.25f);
  EXPECT_EQ(loaded->users.Find("bob"), 1u);
  EXPECT_EQ(loaded->items.Find("i333"), 2u);
  // Nothing but the model is left in the directory (the temp file was renamed).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(ModelFileTest, TrainedModelsRoundTripWithIdenticalPredictions) {
  std::vector<Interaction> cells;
  for (uint32_t u = 0; u < 30; ++u) {
    for (uint32_t i = 0; i < 20; ++i) {
      if ((u * 5 + i * 7) % 4 == 0) cells.push_back({u, i, static_cast<float>(1 + (u + i) % 5), 0});
    }
  }
  CsrMatrix m = CsrMatrix::FromInteractions(cells, 30, 20);
  for (int mode = 0; mode < 3; ++mode) {
    IdMap users, items;
    for (uint32_t u = 0; u < 30; ++u) users.GetOrAdd("user-" + std::to_string(u * 11));
    for (uint32_t i = 0; i < 20; ++i) items.GetOrAdd("tt" + std::to_string(1000 + i));
    AlsOptions o;
    o.factors = 5;
    o.iterations = 3;
    o.use_biases = mode == 1;
    o.implicit = mode == 2;
    auto model = TrainAls(m, users, items, o);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model->metadata_json = R"({"train_rmse": 0.5, "created": "2024-01-01T00:00:00Z"})";
    const std::string path = Path("trained" + std::to_string(mode) + ".rcfm");
    ASSERT_TRUE(SaveModel(*model, path).ok());
    auto loaded = LoadModel(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    ExpectSameModel(*model, *loaded);
    EXPECT_EQ(loaded->has_biases(), mode == 1);
  }
}

TEST_F(ModelFileTest, SaveReplacesExistingFile) {
  FactorModel model = TinyModel();
  ASSERT_TRUE(SaveModel(model, Path("m.rcfm")).ok());
  model.global_bias = -2.0f;
  model.metadata_json = "{}";
  ASSERT_TRUE(SaveModel(model, Path("m.rcfm")).ok());
  auto loaded = LoadModel(Path("m.rcfm"));
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->global_bias, -2.0f);
  EXPECT_EQ(loaded->metadata_json, "{}");
}

// Format stability (faiss-style back-compat): a version-1 file committed to
// the repo must keep loading, and today's writer must still produce it.
TEST_F(ModelFileTest, GoldenVersion1File) {
  const std::string golden = std::string(RECO_SOURCE_DIR) + "/src/model/testdata/tiny_v1.rcfm";
  auto loaded = LoadModel(golden);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ExpectSameModel(TinyModel(), *loaded);
  ASSERT_TRUE(SaveModel(TinyModel(), Path("now.rcfm")).ok());
  EXPECT_EQ(ReadBytes(Path("now.rcfm")), ReadBytes(golden));
}

TEST_F(ModelFileTest, HeaderLayoutMatchesSpec) {
  ASSERT_TRUE(SaveModel(TinyModel(), Path("m.rcfm")).ok());
  const std::vector<char> b = ReadBytes(Path("m.rcfm"));
  // docs/formats.md: 80-byte header, IDs (4 + len each), 2*2 + 3*2 factors,
  // 2 + 3 biases, 17 bytes of metadata, 8-byte checksum.
  const size_t ids = (4 + 5) + (4 + 3) + (4 + 2) + (4 + 3) + (4 + 4);
  ASSERT_EQ(b.size(), 80 + ids + 4 * (4 + 6) + 4 * (2 + 3) + 17 + 8);
  EXPECT_EQ(std::string(b.data(), 4), "RCFM");
  EXPECT_EQ(b[4], 1);   // version, little-endian u32
  EXPECT_EQ(b[8], 1);   // kind explicit
  EXPECT_EQ(b[9], 1);   // flags: biases
  EXPECT_EQ(b[12], 2);  // factors
  EXPECT_EQ(b[16], 2);  // users
  EXPECT_EQ(b[20], 3);  // items
  EXPECT_EQ(std::string(b.data() + 80 + 4, 5), "alice");
}

TEST_F(ModelFileTest, EveryTruncationIsCorruption) {
  ASSERT_TRUE(SaveModel(TinyModel(), Path("m.rcfm")).ok());
  const std::vector<char> full = ReadBytes(Path("m.rcfm"));
  for (size_t len = 0; len < full.size(); ++len) {
    const std::string path = Path("cut.rcfm");
    WriteBytes(path, std::vector<char>(full.begin(), full.begin() + static_cast<long>(len)));
    auto r = LoadModel(path);
    ASSERT_FALSE(r.ok()) << "prefix of " << len << " bytes loaded";
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << len;
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    if (len >= 80) {
      EXPECT_NE(r.status().message().find("truncated"), std::string::npos)
          << len << ": " << r.status().message();
    }
  }
}

TEST_F(ModelFileTest, EveryFlippedByteIsCorruption) {
  ASSERT_TRUE(SaveModel(TinyModel(), Path("m.rcfm")).ok());
  const std::vector<char> full = ReadBytes(Path("m.rcfm"));
  for (size_t pos = 0; pos < full.size(); ++pos) {
    for (int bit : {0, 7}) {
      std::vector<char> bytes = full;
      bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << bit));
      const std::string path = Path("flip.rcfm");
      WriteBytes(path, bytes);
      auto r = LoadModel(path);
      ASSERT_FALSE(r.ok()) << "flipped bit " << bit << " of byte " << pos << " loaded";
      EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    }
  }
}

TEST_F(ModelFileTest, ClearMessages) {
  ASSERT_TRUE(SaveModel(TinyModel(), Path("m.rcfm")).ok());
  const std::vector<char> full = ReadBytes(Path("m.rcfm"));

  std::vector<char> bytes = full;
  bytes[0] = 'X';
  WriteBytes(Path("magic.rcfm"), bytes);
  EXPECT_NE(LoadModel(Path("magic.rcfm")).status().message().find("bad magic"), std::string::npos);

  bytes = full;
  bytes[4] = 2;
  WriteBytes(Path("version.rcfm"), bytes);
  EXPECT_NE(LoadModel(Path("version.rcfm"))
                .status()
                .message()
                .find("unsupported model format "
                      "version 2"),
            std::string::npos);

  bytes = full;
  bytes[200] ^= 1;
  WriteBytes(Path("sum.rcfm"), bytes);
  EXPECT_NE(LoadModel(Path("sum.rcfm")).status().message().find("checksum mismatch"),
            std::string::npos);

  bytes = full;
  bytes.push_back(0);
  WriteBytes(Path("long.rcfm"), bytes);
  EXPECT_NE(LoadModel(Path("long.rcfm")).status().message().find("trailing"), std::string::npos);
}

TEST_F(ModelFileTest, HugeCountsInHeaderAreRejectedBeforeAllocating) {
  ASSERT_TRUE(SaveModel(TinyModel(), Path("m.rcfm")).ok());
  std::vector<char> bytes = ReadBytes(Path("m.rcfm"));
  for (int i = 16; i < 20; ++i) bytes[i] = static_cast<char>(0xff);  // 4 billion users
  for (int i = 56; i < 64; ++i) bytes[i] = static_cast<char>(0xff);  // 2^64-1 ID bytes
  FixChecksum(&bytes);
  WriteBytes(Path("huge.rcfm"), bytes);
  auto r = LoadModel(Path("huge.rcfm"));
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("overflow"), std::string::npos) << r.status().message();

  bytes = ReadBytes(Path("m.rcfm"));
  for (int i = 12; i < 16; ++i) bytes[i] = static_cast<char>(0xff);  // factors
  WriteBytes(Path("factors.rcfm"), bytes);
  EXPECT_NE(LoadModel(Path("factors.rcfm")).status().message().find("factor count"),
            std::string::npos);
}

TEST_F(ModelFileTest, StructuralErrorsBehindAValidChecksum) {
  ASSERT_TRUE(SaveModel(TinyModel(), Path("m.rcfm")).ok());
  const std::vector<char> full = ReadBytes(Path("m.rcfm"));

  std::vector<char> bytes = full;
  // Shorten the first ID's length prefix: the ID section no longer parses.
  bytes[80] = 4;
  FixChecksum(&bytes);
  WriteBytes(Path("len.rcfm"), bytes);
  auto r = LoadModel(Path("len.rcfm"));
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("user ID"), std::string::npos) << r.status().message();

  // Two users called "alice": write "alice", "bobby", then overwrite the second.
  FactorModel dup = TinyModel();
  dup.users = IdMap();
  dup.users.GetOrAdd("alice");
  dup.users.GetOrAdd("bobby");
  ASSERT_TRUE(SaveModel(dup, Path("dup.rcfm")).ok());
  bytes = ReadBytes(Path("dup.rcfm"));
  std::memcpy(bytes.data() + 80 + 9 + 4, "alice", 5);
  FixChecksum(&bytes);
  WriteBytes(Path("dup.rcfm"), bytes);
  r = LoadModel(Path("dup.rcfm"));
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("duplicate user ID 'alice'"), std::string::npos)
      << r.status().message();

  // Unknown kind.
  bytes = full;
  bytes[8] = 9;
  FixChecksum(&bytes);
  WriteBytes(Path("kind.rcfm"), bytes);
  EXPECT_NE(LoadModel(Path("kind.rcfm")).status().message().find("unknown model kind 9"),
            std::string::npos);
}

TEST_F(ModelFileTest, IoErrors) {
  auto missing = LoadModel(Path("absent.rcfm"));
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_NE(missing.status().message().find("absent.rcfm"), std::string::npos);

  Status st = SaveModel(TinyModel(), Path("no/such/dir/m.rcfm"));
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find("no/such/dir"), std::string::npos);

  // A directory where the file should be: rename fails, temp file removed.
  fs::create_directories(Path("occupied"));
  fs::create_directories(Path("occupied/x"));
  st = SaveModel(TinyModel(), Path("occupied"));
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(ModelFileTest, SaveRejectsInconsistentModel) {
  FactorModel model = TinyModel();
  model.items.GetOrAdd("extra");  // 4 item IDs for 3 factor rows
  Status st = SaveModel(model, Path("m.rcfm"));
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(Path("m.rcfm")));

  model = TinyModel();
  model.item_bias.resize(2);
  EXPECT_EQ(SaveModel(model, Path("m.rcfm")).code(), Status::Code::kInvalidArgument);

  model = TinyModel();
  model.user_factors.resize(2, 3);
  EXPECT_EQ(SaveModel(model, Path("m.rcfm")).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace reco
