// ModelRegistry, interactions.rcsr and ActivateModelVersion on a tiny
// hand-made model (2 users x 3 items, 2 factors) in a temporary directory.
#include "reco/model_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../testing/process.h"
#include "../testing/temp_dir.h"
#include "interactions_file.h"

namespace reco {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

void FlipByte(const fs::path& path, size_t offset) {
  std::string bytes = ReadAll(path);
  ASSERT_LT(offset, bytes.size()) << path;
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5A);
  WriteAll(path, bytes);
}

// users u1, u2; items a, b, c; u1 rated a=4, c=2; u2 rated b=5.
CsrMatrix TinyInteractions() {
  CsrMatrix m;
  m.rows = 2;
  m.cols = 3;
  m.indptr = {0, 2, 3};
  m.indices = {0, 2, 1};
  m.values = {4.0f, 2.0f, 5.0f};
  return m;
}

FactorModel TinyModel(float scale = 1.0f) {
  FactorModel m;
  m.kind = ModelKind::kExplicit;
  m.params.factors = 2;
  m.params.iterations = 3;
  m.params.regularization = 0.1f;
  m.users.GetOrAdd("u1");
  m.users.GetOrAdd("u2");
  m.items.GetOrAdd("a");
  m.items.GetOrAdd("b");
  m.items.GetOrAdd("c");
  m.user_factors.resize(2, 2);
  m.user_factors << 1.0f * scale, 0.5f, -0.25f, 2.0f;
  m.item_factors.resize(3, 2);
  m.item_factors << 0.5f, 1.0f, 1.5f, -1.0f, 0.0f, 0.75f;
  return m;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = ModelRegistry::Open((root_ / "reg").string());
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    registry_ = std::move(registry).value();
  }
  std::string RegisterTiny(const std::string& version, float scale = 1.0f) {
    RegisterOptions o;
    o.version = version;
    o.data_description = "tiny";
    o.events_through_seq = 7;
    o.metrics_json = R"({"rmse": 0.5})";
    auto v = registry_->Register(*MakeAlsRecommender(TinyModel(scale)), TinyInteractions(), o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }
  fs::path VersionFile(const std::string& version, const std::string& file) const {
    return root_ / "reg" / "versions" / version / file;
  }
  std::vector<std::string> ListedIds() const {
    auto list = registry_->List();
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    std::vector<std::string> ids;
    if (list.ok()) {
      for (const auto& info : *list) ids.push_back(info.version);
    }
    return ids;
  }

  testing_util::TempDir scratch_{"reco-registry-test"};
  const fs::path root_ = scratch_.path();
  std::unique_ptr<ModelRegistry> registry_;
};

// ---- interactions.rcsr --------------------------------------------------------

TEST(InteractionsFileTest, LayoutMatchesTheDocumentedFormat) {
  const std::string bytes = registry_internal::EncodeInteractions(TinyInteractions());
  // 24 header + 8 * 3 indptr + 4 * 3 indices + 4 * 3 values + 8 checksum.
  ASSERT_EQ(bytes.size(), 80u);
  const std::string expected_prefix(
      "RCSR"
      "\x01\x00\x00\x00"                                   // version 1
      "\x02\x00\x00\x00"                                   // rows 2
      "\x03\x00\x00\x00"                                   // cols 3
      "\x03\x00\x00\x00\x00\x00\x00\x00"                   // nnz 3
      "\x00\x00\x00\x00\x00\x00\x00\x00"                   // indptr 0
      "\x02\x00\x00\x00\x00\x00\x00\x00"                   // indptr 2
      "\x03\x00\x00\x00\x00\x00\x00\x00"                   // indptr 3
      "\x00\x00\x00\x00\x02\x00\x00\x00\x01\x00\x00\x00"   // indices 0 2 1
      "\x00\x00\x80\x40\x00\x00\x00\x40\x00\x00\xa0\x40",  // values 4 2 5
      72);
  EXPECT_EQ(bytes.substr(0, 72), expected_prefix);
}

TEST(InteractionsFileTest, RoundTripsAndRejectsDamage) {
  const testing_util::TempDir scratch("reco-rcsr");
  const std::string tmpl = scratch.path();
  const std::string path = tmpl + "/i.rcsr";
  ASSERT_TRUE(SaveInteractions(TinyInteractions(), path).ok());
  auto back = LoadInteractions(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->rows, 2u);
  EXPECT_EQ(back->cols, 3u);
  EXPECT_EQ(back->indptr, TinyInteractions().indptr);
  EXPECT_EQ(back->indices, TinyInteractions().indices);
  EXPECT_EQ(back->values, TinyInteractions().values);

  const std::string good = ReadAll(path);
  struct Case {
    std::string bytes;
    const char* reason;
  };
  std::string flipped = good;
  flipped[60] ^= 1;  // a value byte
  std::string bad_version = good;
  bad_version[4] = 9;
  std::vector<Case> cases = {{good.substr(0, 50), "different size"},
                             {good + "x", "different size"},
                             {flipped, "checksum mismatch"},
                             {"RCS", "bad magic"},
                             {"RCSR\x01", "truncated inside the header"},
                             {bad_version, "unsupported interactions format version 9"}};
  for (const Case& c : cases) {
    WriteAll(path, c.bytes);
    auto r = LoadInteractions(path);
    ASSERT_FALSE(r.ok()) << c.reason;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << c.reason;
    EXPECT_THAT(r.status().message(), HasSubstr(path)) << c.reason;
    EXPECT_THAT(r.status().message(), HasSubstr(c.reason));
  }
  // A valid checksum over a matrix that breaks the CSR rules.
  CsrMatrix unsorted = TinyInteractions();
  unsorted.indices = {2, 0, 1};
  WriteAll(path, registry_internal::EncodeInteractions(unsorted));
  auto r = LoadInteractions(path);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not strictly increasing"));
  EXPECT_EQ(LoadInteractions(tmpl + "/none").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(SaveInteractions(unsorted, path).code(), Status::Code::kInvalidArgument);
}

TEST(TrainingDataHashTest, DependsOnDataNotOnIndexOrder) {
  FactorModel m = TinyModel();
  const std::string h = TrainingDataHash(TinyInteractions(), m.users, m.items);
  EXPECT_EQ(h.size(), 32u);
  // The same data with users and items indexed in the opposite order.
  IdMap users, items;
  users.GetOrAdd("u2");
  users.GetOrAdd("u1");
  items.GetOrAdd("c");
  items.GetOrAdd("b");
  items.GetOrAdd("a");
  CsrMatrix reordered;
  reordered.rows = 2;
  reordered.cols = 3;
  reordered.indptr = {0, 1, 3};
  reordered.indices = {1, 0, 2};  // u2: b=5; u1: c=2, a=4
  reordered.values = {5.0f, 2.0f, 4.0f};
  EXPECT_EQ(TrainingDataHash(reordered, users, items), h);
  reordered.values[0] = 4.5f;
  EXPECT_NE(TrainingDataHash(reordered, users, items), h);
}

// ---- Register, List, Load ------------------------------------------------------

TEST_F(RegistryTest, RegisterThenLoadGivesTheSameModel) {
  ASSERT_EQ(RegisterTiny("v1"), "v1");
  auto loaded = registry_->Load("v1");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const FactorModel want = TinyModel();
  EXPECT_EQ(loaded->version, "v1");
  EXPECT_EQ(loaded->model->factor_model()->user_factors, want.user_factors);
  EXPECT_EQ(loaded->model->factor_model()->item_factors, want.item_factors);
  EXPECT_EQ(loaded->model->factor_model()->users.externals(), want.users.externals());
  EXPECT_EQ(loaded->model->factor_model()->items.externals(), want.items.externals());
  EXPECT_EQ(loaded->model->factor_model()->params.regularization, 0.1f);
  EXPECT_EQ(loaded->interactions.indices, TinyInteractions().indices);
  EXPECT_EQ(loaded->interactions.values, TinyInteractions().values);
  EXPECT_EQ(loaded->events_through_seq, 7u);

  auto meta = nlohmann::json::parse(loaded->meta_json);
  EXPECT_EQ(meta["version"], "v1");
  EXPECT_EQ(meta["kind"], "explicit");
  EXPECT_EQ(meta["params"]["factors"], 2);
  EXPECT_EQ(meta["params"]["regularization"], 0.1);
  EXPECT_EQ(meta["shape"]["users"], 2);
  EXPECT_EQ(meta["shape"]["interactions"], 3);
  EXPECT_EQ(meta["data"]["description"], "tiny");
  EXPECT_EQ(meta["data"]["hash"], TrainingDataHash(TinyInteractions(), want.users, want.items));
  EXPECT_EQ(meta["metrics"]["rmse"], 0.5);
  EXPECT_EQ(meta["events_through_seq"], 7);
  EXPECT_TRUE(meta["created_unix_ms"].is_number_integer());
  EXPECT_EQ(meta["files"]["model.rcfm"]["bytes"], fs::file_size(VersionFile("v1", "model.rcfm")));
}

TEST_F(RegistryTest, ListIsOldestFirstAndMarksTheActiveVersion) {
  RegisterTiny("zz");
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  RegisterTiny("aa");
  EXPECT_EQ(ListedIds(), (std::vector<std::string>{"zz", "aa"}));
  ASSERT_TRUE(registry_->RecordActivation("aa").ok());
  auto list = registry_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE((*list)[0].active);
  EXPECT_TRUE((*list)[1].active);
  EXPECT_LE((*list)[0].created_unix_ms, (*list)[1].created_unix_ms);
  EXPECT_TRUE((*list)[0].problem.empty());
}

TEST_F(RegistryTest, GeneratedIdsAreUniqueAndRegisteringAnIdTwiceFails) {
  RegisterOptions o;
  auto a = registry_->Register(*MakeAlsRecommender(TinyModel()), TinyInteractions(), o);
  auto b = registry_->Register(*MakeAlsRecommender(TinyModel()), TinyInteractions(), o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  RegisterTiny("v1");
  o.version = "v1";
  auto again = registry_->Register(*MakeAlsRecommender(TinyModel(2.0f)), TinyInteractions(), o);
  EXPECT_EQ(again.status().code(), Status::Code::kFailedPrecondition);
  // The first v1 is untouched, and no temporary directory is left behind.
  EXPECT_EQ(registry_->Load("v1")->model->factor_model()->user_factors(0, 0), 1.0f);
  EXPECT_TRUE(fs::is_empty(root_ / "reg" / "tmp"));
}

TEST_F(RegistryTest, RegisterRejectsBadInput) {
  RegisterOptions o;
  o.version = "v1";
  CsrMatrix wrong_shape = TinyInteractions();
  wrong_shape.cols = 4;
  auto r = registry_->Register(*MakeAlsRecommender(TinyModel()), wrong_shape, o);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("2 x 4"));
  o.metrics_json = "[1]";
  EXPECT_EQ(
      registry_->Register(*MakeAlsRecommender(TinyModel()), TinyInteractions(), o).status().code(),
      Status::Code::kInvalidArgument);
  o.metrics_json = "{}";
  for (const char* bad : {"..", ".hidden", "a/b", ""}) {
    o.version = bad;
    if (o.version.empty()) continue;  // empty means "generate one"
    EXPECT_EQ(registry_->Register(*MakeAlsRecommender(TinyModel()), TinyInteractions(), o)
                  .status()
                  .code(),
              Status::Code::kInvalidArgument)
        << bad;
  }
  EXPECT_TRUE(ListedIds().empty());
}

TEST_F(RegistryTest, UnknownVersionIsNotFound) {
  RegisterTiny("v1");
  EXPECT_EQ(registry_->Load("v2").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(registry_->RecordActivation("v2").code(), Status::Code::kNotFound);
}

TEST_F(RegistryTest, CorruptModelByteIsCorruptionNamingTheFile) {
  RegisterTiny("v1");
  FlipByte(VersionFile("v1", "model.rcfm"), 100);
  auto r = registry_->Load("v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr(VersionFile("v1", "model.rcfm").string()));
  EXPECT_THAT(r.status().message(), HasSubstr("checksum mismatch"));
}

TEST_F(RegistryTest, ModelFileReplacedByAnotherValidModelIsCorruption) {
  RegisterTiny("v1");
  RegisterTiny("v2", 3.0f);
  fs::copy_file(VersionFile("v2", "model.rcfm"), VersionFile("v1", "model.rcfm"),
                fs::copy_options::overwrite_existing);
  auto r = registry_->Load("v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("differs from meta.json"));
}

TEST_F(RegistryTest, CorruptOrMissingInteractionsAreCorruption) {
  RegisterTiny("v1");
  FlipByte(VersionFile("v1", "interactions.rcsr"), 30);
  auto r = registry_->Load("v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("interactions.rcsr: checksum mismatch"));
  fs::remove(VersionFile("v1", "interactions.rcsr"));
  r = registry_->Load("v1");
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("interactions.rcsr: missing"));
}

TEST_F(RegistryTest, TruncatedMetaIsCorruptionAndStillListed) {
  RegisterTiny("v1");
  const fs::path meta = VersionFile("v1", "meta.json");
  WriteAll(meta, ReadAll(meta).substr(0, 40));
  auto r = registry_->Load("v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(r.status().message(), HasSubstr("meta.json"));
  auto list = registry_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_THAT((*list)[0].problem, HasSubstr("meta.json"));
}

TEST_F(RegistryTest, HalfWrittenVersionsAreNeverListed) {
  RegisterTiny("v1");
  // A Register that died mid-way (its pid no longer exists) and one still
  // running (ours): both only in tmp/.
  Result<testing_util::ChildProcess> forked = testing_util::ForkChild([] { return 0; });
  ASSERT_TRUE(forked.ok()) << forked.status().ToString();
  const pid_t child = forked->pid();
  ASSERT_TRUE(forked->Wait(std::chrono::seconds(30)).success());
  const fs::path dead = root_ / "reg" / "tmp" / ("v2." + std::to_string(child) + ".0");
  const fs::path live = root_ / "reg" / "tmp" / ("v3." + std::to_string(getpid()) + ".0");
  for (const fs::path& d : {dead, live}) {
    fs::create_directories(d);
    WriteAll(d / "model.rcfm", "RCFM partial");
  }
  // And a stray hidden directory in versions/.
  fs::create_directories(root_ / "reg" / "versions" / ".v4");
  EXPECT_EQ(ListedIds(), std::vector<std::string>{"v1"});
  // Reopening removes the dead process's leftovers only.
  auto reopened = ModelRegistry::Open((root_ / "reg").string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  auto list = (*reopened)->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

// ---- Activations ---------------------------------------------------------------

TEST_F(RegistryTest, RollbackTargetAfterThreeActivations) {
  for (const char* v : {"A", "B", "C"}) RegisterTiny(v);
  EXPECT_EQ(registry_->ActiveVersion().status().code(), Status::Code::kNotFound);
  EXPECT_EQ(registry_->RollbackTarget().status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(registry_->RecordActivation("A").ok());
  EXPECT_EQ(*registry_->ActiveVersion(), "A");
  EXPECT_EQ(registry_->RollbackTarget().status().code(), Status::Code::kNotFound);
  ASSERT_TRUE(registry_->RecordActivation("B").ok());
  ASSERT_TRUE(registry_->RecordActivation("C").ok());
  EXPECT_EQ(*registry_->ActiveVersion(), "C");
  EXPECT_EQ(*registry_->RollbackTarget(), "B");
  // Re-activating the current version does not make rollback a no-op.
  ASSERT_TRUE(registry_->RecordActivation("C").ok());
  EXPECT_EQ(*registry_->RollbackTarget(), "B");
  // Rolling back to B: the version before B is now C (rollbacks toggle).
  ASSERT_TRUE(registry_->RecordActivation("B").ok());
  EXPECT_EQ(*registry_->ActiveVersion(), "B");
  EXPECT_EQ(*registry_->RollbackTarget(), "C");
}

TEST_F(RegistryTest, TornLastActivationLineIsIgnoredAndRepaired) {
  RegisterTiny("A");
  RegisterTiny("B");
  ASSERT_TRUE(registry_->RecordActivation("A").ok());
  const fs::path log = root_ / "reg" / "activations.log";
  std::string bytes = ReadAll(log);
  WriteAll(log, bytes + "1234567 B");  // died before the newline
  EXPECT_EQ(*registry_->ActiveVersion(), "A");
  ASSERT_TRUE(registry_->RecordActivation("B").ok());
  EXPECT_EQ(*registry_->ActiveVersion(), "B");
  EXPECT_EQ(*registry_->RollbackTarget(), "A");
  const std::string repaired = ReadAll(log);
  EXPECT_EQ(repaired.substr(0, bytes.size()), bytes);
  EXPECT_EQ(std::count(repaired.begin(), repaired.end(), '\n'), 2);
  EXPECT_THAT(repaired, ::testing::Not(HasSubstr("1234567 B")));
  // A damaged complete line is corruption, naming the file and line.
  WriteAll(log, repaired + "garbage\n");
  auto active = registry_->ActiveVersion();
  EXPECT_EQ(active.status().code(), Status::Code::kCorruption);
  EXPECT_THAT(active.status().message(), HasSubstr("activations.log:3"));
}

// Publishes a complete store version with a one-item popular list.
void PublishStoreVersion(RecommendationStore* store, const std::string& version) {
  auto writer = store->BeginVersion(version, "test");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  RecItem item{"a", 1.0f};
  ASSERT_TRUE((*writer)->PutPopular({&item, 1}).ok());
  ASSERT_TRUE((*writer)->Commit().ok());
}

TEST_F(RegistryTest, ActivateModelVersionChecksEverythingFirst) {
  auto store_or = RecommendationStore::Open("memory://");
  ASSERT_TRUE(store_or.ok()) << store_or.status().ToString();
  auto store = std::move(store_or).value();
  RegisterTiny("A");
  RegisterTiny("B");
  RegisterTiny("C");
  PublishStoreVersion(store.get(), "A");
  PublishStoreVersion(store.get(), "B");

  RegisteredModel loaded;
  ASSERT_TRUE(ActivateModelVersion(registry_.get(), store.get(), "A", &loaded).ok());
  EXPECT_EQ(loaded.version, "A");
  EXPECT_EQ(loaded.model->num_items(), 3u);
  EXPECT_EQ(*store->RefreshActiveVersion(), "A");
  EXPECT_EQ(*registry_->ActiveVersion(), "A");
  const std::string log_before = ReadAll(root_ / "reg" / "activations.log");

  // A corrupt model is refused: store pointer and log unchanged.
  FlipByte(VersionFile("B", "model.rcfm"), 90);
  Status st = ActivateModelVersion(registry_.get(), store.get(), "B");
  EXPECT_EQ(st.code(), Status::Code::kCorruption);
  EXPECT_THAT(st.message(), HasSubstr("refusing to activate model version B"));
  EXPECT_THAT(st.message(), HasSubstr("model.rcfm"));
  // Lists never precomputed: refused too.
  st = ActivateModelVersion(registry_.get(), store.get(), "C");
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("store has no complete version C"));
  // Unknown everywhere.
  EXPECT_EQ(ActivateModelVersion(registry_.get(), store.get(), "D").code(),
            Status::Code::kNotFound);
  EXPECT_EQ(*store->RefreshActiveVersion(), "A");
  EXPECT_EQ(ReadAll(root_ / "reg" / "activations.log"), log_before);

  // Once C's lists exist it activates, and rollback goes back to A.
  PublishStoreVersion(store.get(), "C");
  ASSERT_TRUE(ActivateModelVersion(registry_.get(), store.get(), "C").ok());
  EXPECT_EQ(*store->RefreshActiveVersion(), "C");
  EXPECT_EQ(*registry_->RollbackTarget(), "A");
}

}  // namespace
}  // namespace reco
