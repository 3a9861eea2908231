// A damaged LMDB data file is an error, never a crash (SIGBUS): truncated,
// empty or foreign files are refused at open, damaged meta pages and record
// lengths that point past the file are Corruption, and a flipped byte in a
// stored list is Corruption for that key alone. RecommendationStore::Verify
// reports each. The damage is done to data.mdb on disk while no environment
// is open, as a bad disk or a careless copy would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "reco/coding.h"
#include "reco/kv_store.h"
#include "reco/rec_store.h"
#include "store_test_util.h"

namespace reco {
namespace {

namespace fs = std::filesystem;
using testing_util::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<size_t> FindAll(const std::string& haystack, std::string_view needle) {
  std::vector<size_t> at;
  for (size_t i = haystack.find(needle); i != std::string::npos; i = haystack.find(needle, i + 1)) {
    at.push_back(i);
  }
  return at;
}

// An LMDB leaf node is `u16 size_lo, u16 size_hi, u16 flags, u16 key_size`,
// then the key, then the value (or, with flag F_BIGDATA = 1, the number of
// its first overflow page). Sets size_hi of every leaf node of `key` whose
// value has `value_size` bytes; returns how many it changed.
int SetValueSizeHigh(std::string* file, std::string_view key, uint32_t value_size,
                     uint16_t size_hi) {
  int changed = 0;
  for (size_t at : FindAll(*file, key)) {
    if (at < 8) continue;
    const size_t node = at - 8;
    const char* p = file->data() + node;
    if (DecodeFixed16(p) != (value_size & 0xffff) || DecodeFixed16(p + 2) != value_size >> 16 ||
        DecodeFixed16(p + 6) != key.size()) {
      continue;  // a branch node (it holds a page number) or a stray copy
    }
    EncodeFixed16(file->data() + node + 2, size_hi);
    ++changed;
  }
  return changed;
}

class LmdbDamageTest : public ::testing::Test {
 protected:
  std::string Uri() const { return "lmdb://" + dir_.path(); }
  std::string DataFile() const { return dir_.path() + "/data.mdb"; }

  // 300 keys of 1000 bytes ("k0".."k299"), written in one transaction so
  // each leaf page is written once, plus `extra` pairs.
  void Fill(const std::vector<std::pair<std::string, std::string>>& extra = {}) {
    auto store = OpenKvStore(Uri());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    WriteBatch batch;
    for (int i = 0; i < 300; ++i)
      batch.Put("k" + std::to_string(i), std::string(1000, 'a' + i % 26));
    for (const auto& [k, v] : extra) batch.Put(k, v);
    ASSERT_TRUE((*store)->Write(batch).ok());
  }

  Status OpenStatus() {
    auto store = OpenKvStore(Uri());
    return store.ok() ? Status::Ok() : store.status();
  }

  TempDir dir_;
};

TEST_F(LmdbDamageTest, TruncatedFileIsRefusedNamingBothSizes) {
  Fill();
  const std::string good = ReadAll(DataFile());
  ASSERT_EQ(good.size() % 4096, 0u);
  ASSERT_GT(good.size(), 20u * 4096);
  for (size_t cut :
       {good.size() - 1, good.size() - 4096, good.size() / 2, size_t{3 * 4096}, size_t{2 * 4096}}) {
    WriteAll(DataFile(), good.substr(0, cut));
    const Status st = OpenStatus();
    ASSERT_EQ(st.code(), Status::Code::kCorruption) << cut << ": " << st.ToString();
    EXPECT_NE(st.message().find(DataFile() + ": truncated or damaged: the file has " +
                                std::to_string(cut) + " bytes but its meta page counts " +
                                std::to_string(good.size() / 4096) + " pages of 4096 bytes (" +
                                std::to_string(good.size()) + " bytes)"),
              std::string::npos)
        << st.ToString();
  }
  // The check does not refuse the intact file.
  WriteAll(DataFile(), good);
  auto store = OpenKvStore(Uri());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string value;
  ASSERT_TRUE((*store)->Get("k299", &value).ok());
  EXPECT_EQ(value, std::string(1000, 'a' + 299 % 26));
}

TEST_F(LmdbDamageTest, EmptyDataFileIsRefusedNotReinitialised) {
  Fill();
  WriteAll(DataFile(), "");
  const Status st = OpenStatus();
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find(DataFile() + ": the data file is empty"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(fs::file_size(DataFile()), 0u);  // nothing was written into it
}

// An empty data file is not damage while another process is creating the
// environment (the ranks of an MPI job open one new store at once): the
// opener that finds it empty and LMDB's lock held waits for the creator
// instead of refusing. Processes released together by a barrier open fresh
// stores, round after round; every open must succeed.
TEST_F(LmdbDamageTest, ProcessesOpeningANewStoreTogetherAllSucceed) {
  constexpr int kProcesses = 4;
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string uri = Uri() + "/round" + std::to_string(round);
    int barrier[2];
    ASSERT_EQ(pipe(barrier), 0);
    std::vector<testing_util::ChildProcess> openers;
    for (int p = 0; p < kProcesses; ++p) {
      auto child = testing_util::ForkChild([&] {
        close(barrier[1]);
        char go = 0;
        if (read(barrier[0], &go, 1) != 1) return 2;
        auto store = OpenKvStore(uri);
        if (!store.ok()) {
          std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
          return 1;
        }
        return (*store)->Put("k", "v").ok() ? 0 : 3;
      });
      ASSERT_TRUE(child.ok()) << child.status().ToString();
      openers.push_back(std::move(child).value());
    }
    close(barrier[0]);
    ASSERT_EQ(write(barrier[1], std::string(kProcesses, 'x').data(), kProcesses), kProcesses);
    close(barrier[1]);
    for (testing_util::ChildProcess& opener : openers) {
      const testing_util::ExitStatus s = opener.Wait(std::chrono::seconds(60));
      EXPECT_TRUE(s.success()) << s.ToString();
    }
  }
}

TEST_F(LmdbDamageTest, ShortOrForeignFilesAreRefused) {
  Fill();
  const std::string good = ReadAll(DataFile());
  std::mt19937 rng(7);
  std::string garbage(64 << 10, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  const std::vector<std::string> files = {
      good.substr(0, 1),    good.substr(0, 100),  good.substr(0, 4095),        good.substr(0, 4096),
      good.substr(0, 4097), good.substr(0, 4300), "not an lmdb file at all\n", garbage,
  };
  for (size_t i = 0; i < files.size(); ++i) {
    WriteAll(DataFile(), files[i]);
    const Status st = OpenStatus();
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << i << ": " << st.ToString();
    EXPECT_NE(st.message().find(DataFile()), std::string::npos) << st.ToString();
  }
}

// LMDB checks the meta pages' magic and version; whatever a flipped byte in
// them does to the rest (page counts, roots, sizes), opening and reading
// fail cleanly or read what is there.
TEST_F(LmdbDamageTest, EveryFlippedMetaByteIsSafe) {
  Fill();
  const std::string good = ReadAll(DataFile());
  int refused = 0, opened = 0;
  for (size_t page : {size_t{0}, size_t{4096}}) {
    for (size_t at = page; at < page + 160; ++at) {
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x5a);
      WriteAll(DataFile(), bad);
      auto store = OpenKvStore(Uri());
      if (!store.ok()) {
        ++refused;
        continue;
      }
      ++opened;
      std::string value;
      Status st = (*store)->Get("k150", &value);
      if (st.ok()) {
        EXPECT_EQ(value.size(), 1000u) << at;
      }
      size_t n = 0;
      st = (*store)->Scan("", [&](std::string_view, std::string_view) { return ++n < 1000; });
      EXPECT_TRUE(st.ok() || st.code() == Status::Code::kCorruption) << at << ": " << st.ToString();
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(opened, 0);  // e.g. the older meta page's bytes: LMDB uses the newer one
}

// A node whose value size was damaged points past the end of the file: the
// read is Corruption (not a copy running off the mapping), other keys read.
TEST_F(LmdbDamageTest, ValueRunningPastTheFileIsCorruption) {
  const std::string small(777, 's');
  const std::string big(10000, 'b');  // on overflow pages
  Fill({{"needle-small", small}, {"needle-big", big}});
  std::string file = ReadAll(DataFile());
  // 0x0010 in the high half: about 1 MiB, under the 64 MiB value limit, so
  // only the "inside the file" check can catch it.
  ASSERT_EQ(SetValueSizeHigh(&file, "needle-small", 777, 0x0010), 1);
  ASSERT_EQ(SetValueSizeHigh(&file, "needle-big", 10000, 0x0010), 1);
  WriteAll(DataFile(), file);

  auto store = OpenKvStore(Uri());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  for (const char* key : {"needle-small", "needle-big"}) {
    std::string value;
    const Status st = (*store)->Get(key, &value);
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << key << ": " << st.ToString();
    EXPECT_NE(st.message().find("a record points outside the data file"), std::string::npos)
        << st.ToString();
  }
  std::string value;
  ASSERT_TRUE((*store)->Get("k3", &value).ok());
  EXPECT_EQ(value, std::string(1000, 'd'));
  size_t seen = 0;
  const Status scan = (*store)->Scan("", [&](std::string_view, std::string_view) {
    ++seen;
    return true;
  });
  EXPECT_EQ(scan.code(), Status::Code::kCorruption) << scan.ToString();
}

TEST_F(LmdbDamageTest, HugeValueSizeIsCorruption) {
  Fill({{"needle-small", std::string(777, 's')}});
  std::string file = ReadAll(DataFile());
  ASSERT_EQ(SetValueSizeHigh(&file, "needle-small", 777, 0x7fff), 1);
  WriteAll(DataFile(), file);
  auto store = OpenKvStore(Uri());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string value;
  EXPECT_EQ((*store)->Get("needle-small", &value).code(), Status::Code::kCorruption);
}

// ---- RecommendationStore over a damaged LMDB file ----------------------------

class RecStoreDamageTest : public LmdbDamageTest {
 protected:
  // v1 (active): alice -> [flipme-item, i2], bob -> [i1], item i1 ->
  // [needle-similar x 40 bytes], popular [p1].
  void Publish() {
    auto store = RecommendationStore::Open(Uri());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto writer = (*store)->BeginVersion("v1", "test");
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    const std::vector<RecItem> alice = {{"flipme-item", 2.0f}, {"i2", 1.0f}};
    const std::vector<RecItem> bob = {{"i1", 1.0f}};
    const std::vector<RecItem> similar = {{"i2", 0.5f}};
    const std::vector<RecItem> popular = {{"p1", 3.0f}};
    ASSERT_TRUE((*writer)->PutUserRecs("alice", alice).ok());
    ASSERT_TRUE((*writer)->PutUserRecs("bob", bob).ok());
    ASSERT_TRUE((*writer)->PutSimilarItems("needle-similar", similar).ok());
    ASSERT_TRUE((*writer)->PutPopular(popular).ok());
    ASSERT_TRUE((*writer)->Commit().ok());
    ASSERT_TRUE((*store)->Activate("v1").ok());
    StoreVerifyReport report = (*store)->Verify();
    EXPECT_TRUE(report.ok());
    EXPECT_EQ(report.keys, 6u);  // active, meta, 4 lists
    EXPECT_EQ(report.lists, 4u);
    EXPECT_EQ(report.versions, 1u);
  }
};

TEST_F(RecStoreDamageTest, FlippedListByteIsCorruptionForThatKeyAndVerifyFindsIt) {
  Publish();
  std::string file = ReadAll(DataFile());
  // Copy-on-write leaves stale copies of a page in the file: damage them all.
  const std::vector<size_t> at = FindAll(file, "flipme-item");
  ASSERT_FALSE(at.empty());
  for (size_t i : at) file[i] = 'F';
  WriteAll(DataFile(), file);

  auto store = RecommendationStore::Open(Uri());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RecList list;
  const Status st = (*store)->GetUserRecs("alice", &list);
  EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.ToString();
  EXPECT_EQ(st.message(), "reco/v/v1/u/alice: list value checksum mismatch");
  ASSERT_TRUE((*store)->GetUserRecs("bob", &list).ok());
  EXPECT_EQ(list.size(), 1u);

  const StoreVerifyReport report = (*store)->Verify();
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(report.walk.ok()) << report.walk.ToString();
  EXPECT_EQ(report.keys, 6u);
  EXPECT_EQ(report.lists, 3u);
  EXPECT_EQ(report.damaged, 1u);
  ASSERT_EQ(report.examples.size(), 1u);
  EXPECT_EQ(report.examples[0], "\"reco/v/v1/u/alice\": list value checksum mismatch");
}

TEST_F(RecStoreDamageTest, ListRunningPastTheFileIsCorruptionAndStopsVerify) {
  Publish();
  std::string file = ReadAll(DataFile());
  std::vector<RecItem> similar = {{"i2", 0.5f}};
  std::string encoded;
  ASSERT_TRUE(EncodeRecList(similar, &encoded).ok());
  ASSERT_GE(SetValueSizeHigh(&file, "reco/v/v1/i/needle-similar",
                             static_cast<uint32_t>(encoded.size()), 0x0010),
            1);
  WriteAll(DataFile(), file);

  auto store = RecommendationStore::Open(Uri());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RecList list;
  EXPECT_EQ((*store)->GetSimilarItems("needle-similar", &list).code(), Status::Code::kCorruption);
  EXPECT_TRUE((*store)->GetUserRecs("alice", &list).ok());

  const StoreVerifyReport report = (*store)->Verify();
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.walk.code(), Status::Code::kCorruption) << report.walk.ToString();
}

TEST_F(RecStoreDamageTest, VerifyReportsEveryKindOfBadKey) {
  Publish();
  auto store = RecommendationStore::Open(Uri());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  KvStore& kv = (*store)->kv();
  ASSERT_TRUE(kv.Put("reco/v/v1/u/carol", "\x01garbage").ok());
  ASSERT_TRUE(kv.Put("reco/meta/v2", "{\"format\":1}").ok());
  ASSERT_TRUE(kv.Put("reco/stray", "x").ok());
  ASSERT_TRUE(kv.Put(std::string("reco/v/v1/x\x01", 12), "x").ok());
  std::string empty_list;
  ASSERT_TRUE(EncodeRecList({}, &empty_list).ok());
  ASSERT_TRUE(kv.Put("reco/v/v9/u/dave", empty_list).ok());  // uncommitted: not damage
  ASSERT_TRUE(kv.Put("other/stray", "x").ok());              // another namespace

  StoreVerifyReport report = (*store)->Verify(3);
  EXPECT_EQ(report.keys, 11u);
  EXPECT_EQ(report.lists, 5u);
  EXPECT_EQ(report.orphan_keys, 1u);
  EXPECT_EQ(report.damaged, 4u);
  ASSERT_EQ(report.examples.size(), 3u);  // capped; in key order for LMDB
  EXPECT_EQ(report.examples[0], "\"reco/meta/v2\": version metadata reco/meta/v2: bad version");
  EXPECT_EQ(report.examples[1], "\"reco/stray\": not a key of the layout");
  EXPECT_EQ(report.examples[2], "\"reco/v/v1/u/carol\": list value checksum mismatch");

  ASSERT_TRUE(kv.Put("reco/active", "v3").ok());
  report = (*store)->Verify();
  EXPECT_EQ(report.damaged, 5u);
  EXPECT_EQ(report.examples.back(), "\"reco/active\": the active version \"v3\" has no metadata");
}

// Random bit flips in the stored list values (every copy LMDB's
// copy-on-write left in the file): every read and Verify, in a child
// process, either returns the list that was written or Corruption for that
// key, never a signal or a different list. A child that hangs is killed at
// the wait's bound, which counts as a signal. Flips elsewhere in a data page (page
// headers, node offsets) are not covered: LMDB trusts them (docs/store.md,
// "Damage").
TEST_F(RecStoreDamageTest, RandomBitFlipsInListValuesAreCorruptionNeverACrash) {
  constexpr int kUsers = 500, kItems = 200, kTrials = 300;
  // Exit codes of a child: every list read back intact, or some Corruption
  // (and Verify found damage); anything else is a failure named below.
  enum : int { kClean = 0, kFound = 2, kWrongList = 4, kOtherError = 5, kVerifyMissed = 6 };
  std::vector<std::string> ids;
  for (int i = 0; i < kItems; ++i) ids.push_back("item-" + std::to_string(i));
  auto user_list = [&](int u) {
    std::vector<RecItem> items;
    for (int r = 0; r < 10; ++r)
      items.push_back({ids[(u * 7 + r * 13) % kItems], 1.0f - r * 0.01f});
    return items;
  };
  auto item_list = [&](int i) {
    std::vector<RecItem> items;
    for (int r = 0; r < 10; ++r) items.push_back({ids[(i + r + 1) % kItems], 0.5f});
    return items;
  };
  std::set<std::string> encoded_values;
  {
    auto store = RecommendationStore::Open(Uri());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto writer = (*store)->BeginVersion("v1", "test");
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    std::string encoded;
    for (int u = 0; u < kUsers; ++u) {
      ASSERT_TRUE((*writer)->PutUserRecs("user-" + std::to_string(u), user_list(u)).ok());
      ASSERT_TRUE(EncodeRecList(user_list(u), &encoded).ok());
      encoded_values.insert(encoded);
    }
    for (int i = 0; i < kItems; ++i) {
      ASSERT_TRUE((*writer)->PutSimilarItems(ids[i], item_list(i)).ok());
      ASSERT_TRUE(EncodeRecList(item_list(i), &encoded).ok());
      encoded_values.insert(encoded);
    }
    ASSERT_TRUE((*writer)->Commit().ok());
    ASSERT_TRUE((*store)->Activate("v1").ok());
  }
  const std::string good = ReadAll(DataFile());
  std::vector<size_t> value_bytes;  // every byte of every copy of a list value
  for (const std::string& value : encoded_values) {
    for (size_t at : FindAll(good, value)) {
      for (size_t i = 0; i < value.size(); ++i) value_bytes.push_back(at + i);
    }
  }
  ASSERT_GE(value_bytes.size(), (kUsers + kItems) * 100u);

  auto same = [](const RecList& list, const std::vector<RecItem>& want) {
    if (list.size() != want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      if (list[i].item_id != want[i].item_id || list[i].score != want[i].score) return false;
    }
    return true;
  };
  std::mt19937_64 rng(1);
  int found = 0, clean = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    std::string bad = good;
    const size_t at = value_bytes[rng() % value_bytes.size()];
    const int bit = static_cast<int>(rng() % 8);
    bad[at] = static_cast<char>(bad[at] ^ (1 << bit));
    WriteAll(DataFile(), bad);
    // In a child: a SIGBUS ends it, not the test.
    auto child = testing_util::ForkChild([&] {
      auto store = RecommendationStore::Open(Uri());
      if (!store.ok()) return kOtherError;
      RecList list;
      int corrupt = 0;
      auto check = [&](const Status& st, const std::vector<RecItem>& want) {
        if (st.code() == Status::Code::kCorruption) {
          ++corrupt;
        } else if (!st.ok()) {
          _exit(kOtherError);
        } else if (!same(list, want)) {
          _exit(kWrongList);
        }
      };
      for (int u = 0; u < kUsers; ++u)
        check((*store)->GetUserRecs("user-" + std::to_string(u), &list), user_list(u));
      for (int i = 0; i < kItems; ++i)
        check((*store)->GetSimilarItems(ids[i], &list), item_list(i));
      const StoreVerifyReport report = (*store)->Verify();
      if (corrupt > 0 && report.ok()) return kVerifyMissed;
      return corrupt > 0 ? kFound : kClean;
    });
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    const testing_util::ExitStatus status = child->Wait(std::chrono::seconds(60));
    ASSERT_TRUE(status.exited) << "trial " << trial << ": bit " << bit << " of byte " << at << ": "
                               << status.ToString();
    const int code = status.exit_code;
    ASSERT_TRUE(code == kClean || code == kFound)
        << "trial " << trial << ": bit " << bit << " of byte " << at << ": exit " << code;
    (code == kFound ? found : clean) += 1;
  }
  // A flip in a stale copy (a page copy-on-write replaced) changes nothing;
  // most flips hit the live copy and are found.
  EXPECT_GT(found, kTrials / 2);
  std::printf("%d trials: %d found damage, %d in stale copies\n", kTrials, found, clean);
}

}  // namespace
}  // namespace reco
