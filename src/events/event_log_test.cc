#include "reco/event_log.h"
#include "reco/file_util.h"
#include "reco/loader.h"

#include <gtest/gtest.h>
#define XXH_INLINE_ALL
#include <signal.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "../testing/process.h"
#include "../testing/temp_dir.h"

namespace reco {
namespace {

namespace fs = std::filesystem;

using testing_util::TempDir;

Event MakeEvent(int i) {
  Event e;
  e.user_id = "u" + std::to_string(i % 7);
  e.item_id = "item-" + std::to_string(i);
  e.type = i % 2 == 0 ? "rating" : "click";
  if (i % 2 == 0) e.value = static_cast<float>(i % 5) + 0.5f;
  e.timestamp_ms = 1'700'000'000'000 + i;
  return e;
}

std::vector<std::pair<uint64_t, Event>> ReadAll(const EventLog& log, uint64_t from = 0) {
  std::vector<std::pair<uint64_t, Event>> out;
  Status st = log.Replay(from, [&](uint64_t seq, const Event& e) {
    out.emplace_back(seq, e);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::unique_ptr<EventLog> OpenOrDie(const std::string& dir, const EventLogOptions& opts = {}) {
  auto log = EventLog::Open(dir, opts);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

std::vector<std::string> SegmentPaths(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("events-") && name.ends_with(".log")) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A segment's records: the file without the zeros the writer preallocates
// after them (a record never ends in a zero byte: it ends with the type).
std::string Records(const std::string& path) {
  std::string bytes = ReadFile(path);
  bytes.erase(bytes.find_last_not_of('\0') + 1);
  return bytes;
}
size_t UsedBytes(const std::string& path) { return Records(path).size(); }

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Writes events 0..n-1, one Append each, and returns the file offset at which
// each record starts (plus the file size at the end).
std::vector<size_t> WriteLog(const std::string& dir, int n) {
  auto log = OpenOrDie(dir);
  std::vector<size_t> starts;
  std::string path = SegmentPaths(dir).front();
  for (int i = 0; i < n; ++i) {
    starts.push_back(UsedBytes(path));
    Event e = MakeEvent(i);
    EXPECT_TRUE(log->Append({&e, 1}).ok());
  }
  starts.push_back(UsedBytes(path));
  return starts;
}

TEST(EventLogTest, RoundTripAndReplayFrom) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(log->last_seq(), 0u);
  std::vector<Event> events = {MakeEvent(0), MakeEvent(1), MakeEvent(2)};
  events[1].value.reset();
  Result<uint64_t> last = log->Append(events);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(*last, 3u);
  EXPECT_EQ(log->last_seq(), 3u);

  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(all[i].first, i + 1);
    EXPECT_EQ(all[i].second, events[i]);
  }
  auto tail = ReadAll(*log, 2);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].first, 2u);
  EXPECT_EQ(tail[0].second, events[1]);

  // The read-only reader sees the same log, even while it is open.
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(EventLog::ReplayDirectory(dir.path(), 0, [&](uint64_t seq, const Event&) {
                seqs.push_back(seq);
                return Status::Ok();
              }).ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{1, 2, 3}));

  // An empty append is a no-op returning the current sequence number.
  EXPECT_EQ(*log->Append({}), 3u);

  // A callback error stops the replay and comes back out.
  int calls = 0;
  Status st = log->Replay(0, [&](uint64_t, const Event&) {
    ++calls;
    return Status::Internal("stop");
  });
  EXPECT_EQ(st.code(), Status::Code::kInternal);
  EXPECT_EQ(calls, 1);
}

// The byte layout of docs/formats.md, checked on one hand-built record.
TEST(EventLogTest, RecordLayoutMatchesTheDocumentedFormat) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  Event e{"u1", "i9", "view", 2.5f, 1000};
  ASSERT_TRUE(log->Append({&e, 1}).ok());
  log.reset();
  std::vector<std::string> paths = SegmentPaths(dir.path());
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(fs::path(paths[0]).filename(), "events-00000000000000000001.log");
  std::string b = Records(paths[0]);
  // header 24 + record header 13 + payload 8+8+1+4 + (2+2) + (2+2) + (1+4) = 34
  ASSERT_EQ(b.size(), 24u + 13u + 34u);
  EXPECT_EQ(b.substr(0, 4), "RCEV");
  EXPECT_EQ(b[4], 1);  // segment version 1, little-endian
  EXPECT_EQ(b[5], 0);
  EXPECT_EQ(b[8], 1);    // base sequence 1
  EXPECT_EQ(b[24], 34);  // payload length
  EXPECT_EQ(b[28], 1);   // record version
  const char* p = b.data() + 37;
  uint64_t seq;
  int64_t ts;
  float value;
  std::memcpy(&seq, p, 8);
  std::memcpy(&ts, p + 8, 8);
  std::memcpy(&value, p + 17, 4);
  EXPECT_EQ(seq, 1u);
  EXPECT_EQ(ts, 1000);
  EXPECT_EQ(p[16], 1);  // has-value flag
  EXPECT_EQ(value, 2.5f);
  EXPECT_EQ(std::string(p + 21, 4), std::string("\x02\x00u1", 4));
  EXPECT_EQ(std::string(p + 25, 4), std::string("\x02\x00i9", 4));
  EXPECT_EQ(std::string(p + 29, 5), std::string("\x04view", 5));
}

TEST(EventLogTest, RejectsInvalidEventsAndAppendsNothing) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<Event> bad(7, MakeEvent(0));
  bad[0].user_id = "";
  bad[1].item_id = "a,b";
  bad[2].user_id = std::string(kMaxEventIdBytes + 1, 'x');
  bad[3].type = "";
  bad[4].type = std::string(kMaxEventTypeBytes + 1, 't');
  bad[5].value = std::nanf("");
  bad[6].item_id = " padded";
  for (const Event& e : bad) {
    std::vector<Event> batch = {MakeEvent(1), e};
    Result<uint64_t> r = log->Append(batch);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << e.user_id << "/" << e.item_id;
  }
  EXPECT_EQ(log->last_seq(), 0u);
  EXPECT_TRUE(ReadAll(*log).empty());
  Event longest = MakeEvent(0);
  longest.user_id = std::string(kMaxEventIdBytes, 'u');
  longest.item_id = std::string(kMaxEventIdBytes, 'i');
  longest.type = std::string(kMaxEventTypeBytes, 't');
  ASSERT_TRUE(log->Append({&longest, 1}).ok());
  EXPECT_EQ(ReadAll(*log).at(0).second, longest);
}

TEST(EventLogTest, ReopenContinuesTheSequence) {
  TempDir dir;
  WriteLog(dir.path(), 2);
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(log->recovery().events, 2u);
  EXPECT_EQ(log->recovery().torn_bytes_dropped, 0u);
  EXPECT_EQ(log->last_seq(), 2u);
  Event e = MakeEvent(2);
  EXPECT_EQ(*log->Append({&e, 1}), 3u);
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].second, e);
}

TEST(EventLogTest, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  auto second = EventLog::Open(dir.path());
  EXPECT_EQ(second.status().code(), Status::Code::kFailedPrecondition);
  log.reset();
  EXPECT_TRUE(EventLog::Open(dir.path()).ok());
}

// Appends overwrite zeros the writer put after the records, so most commits
// do not change the file size; the zeros are not a torn tail, for the
// recovering writer, a reader of the live log, or a rotated segment.
TEST(EventLogTest, PreallocatedZerosAreNotATornTail) {
  TempDir dir;
  std::vector<size_t> starts = WriteLog(dir.path(), 3);
  const std::string path = SegmentPaths(dir.path()).front();
  EXPECT_GT(fs::file_size(path), starts[3]);
  EXPECT_EQ(fs::file_size(path) % 4096, 0u);
  std::vector<uint64_t> seen;
  auto collect = [&](uint64_t seq, const Event&) {
    seen.push_back(seq);
    return Status::Ok();
  };
  ASSERT_TRUE(EventLog::ReplayDirectory(dir.path(), 0, collect).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
  {
    auto log = OpenOrDie(dir.path());
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->recovery().events, 3u);
    EXPECT_EQ(log->recovery().torn_bytes_dropped, 0u);
    EXPECT_TRUE(log->recovery().torn_reason.empty());
    EXPECT_EQ(fs::file_size(path), starts[3]);  // the zeros are cut at open
    Event e = MakeEvent(3);
    EXPECT_EQ(*log->Append({&e, 1}), 4u);
  }
  // A rotated segment keeps no zeros.
  EventLogOptions small;
  small.segment_size_limit = 64;
  {
    auto log = OpenOrDie(dir.path(), small);
    Event e = MakeEvent(4);
    EXPECT_EQ(*log->Append({&e, 1}), 5u);
    EXPECT_EQ(*log->Append({&e, 1}), 6u);
  }
  const std::vector<std::string> segments = SegmentPaths(dir.path());
  ASSERT_GE(segments.size(), 2u);
  EXPECT_EQ(fs::file_size(segments.front()), UsedBytes(segments.front()));
  seen.clear();
  ASSERT_TRUE(EventLog::ReplayDirectory(dir.path(), 0, collect).ok());
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(EventLogTest, TornTailAtEveryOffsetOfTheLastRecordIsDropped) {
  TempDir dir;
  std::vector<size_t> starts = WriteLog(dir.path(), 3);
  std::string path = SegmentPaths(dir.path()).front();
  std::string original = Records(path);
  size_t last_start = starts[2];
  ASSERT_EQ(original.size(), starts[3]);
  for (size_t cut = last_start; cut < original.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    WriteFile(path, original.substr(0, cut));
    auto log = OpenOrDie(dir.path());
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->recovery().events, 2u);
    EXPECT_EQ(log->recovery().torn_bytes_dropped, cut - last_start);
    EXPECT_EQ(log->last_seq(), 2u);
    EXPECT_EQ(fs::file_size(path), last_start);
    // Appending after recovery reuses sequence 3 (it was never acknowledged).
    Event e = MakeEvent(99);
    EXPECT_EQ(*log->Append({&e, 1}), 3u);
    auto all = ReadAll(*log);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[1].second, MakeEvent(1));
    EXPECT_EQ(all[2].second, e);
  }
}

TEST(EventLogTest, FlippedBitInTheLastRecordDropsIt) {
  TempDir dir;
  std::vector<size_t> starts = WriteLog(dir.path(), 3);
  std::string path = SegmentPaths(dir.path()).front();
  std::string original = Records(path);
  for (size_t pos = starts[2]; pos < starts[3]; ++pos) {
    for (int bit : {0, 7}) {
      SCOPED_TRACE("byte " + std::to_string(pos) + " bit " + std::to_string(bit));
      std::string damaged = original;
      damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << bit));
      WriteFile(path, damaged);
      auto log = OpenOrDie(dir.path());
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->last_seq(), 2u);
      EXPECT_EQ(log->recovery().torn_bytes_dropped, starts[3] - starts[2]);
      EXPECT_FALSE(log->recovery().torn_reason.empty());
    }
  }
}

TEST(EventLogTest, FlippedBitInAMiddleRecordIsCorruption) {
  TempDir dir;
  std::vector<size_t> starts = WriteLog(dir.path(), 3);
  std::string path = SegmentPaths(dir.path()).front();
  std::string original = Records(path);
  for (size_t pos = starts[1]; pos < starts[2]; ++pos) {
    SCOPED_TRACE("byte " + std::to_string(pos));
    std::string damaged = original;
    damaged[pos] = static_cast<char>(damaged[pos] ^ 0x10);
    WriteFile(path, damaged);
    auto log = EventLog::Open(dir.path());
    ASSERT_EQ(log.status().code(), Status::Code::kCorruption);
    EXPECT_NE(log.status().message().find(path), std::string::npos) << log.status().message();
    EXPECT_EQ(fs::file_size(path), original.size()) << "nothing may be truncated";
  }

  // The read-only reader refuses too; skip_corrupt_records drops just that record.
  auto ignore = [](uint64_t, const Event&) { return Status::Ok(); };
  EXPECT_EQ(EventLog::ReplayDirectory(dir.path(), 0, ignore).code(), Status::Code::kCorruption);
  EventLogOptions skip;
  skip.skip_corrupt_records = true;
  auto log = OpenOrDie(dir.path(), skip);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->recovery().corrupt_bytes_skipped, starts[2] - starts[1]);
  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, 1u);
  EXPECT_EQ(all[1].first, 3u);
  EXPECT_EQ(all[1].second, MakeEvent(2));
  EXPECT_EQ(*log->Append({}), 3u);
}

TEST(EventLogTest, RandomGarbageNeverCrashesRecovery) {
  TempDir dir;
  std::vector<size_t> starts = WriteLog(dir.path(), 3);
  std::string path = SegmentPaths(dir.path()).front();
  std::string original = Records(path);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    // Garbage after the valid records is a torn tail: dropped, the rest kept.
    std::string garbage(rng() % 600, '\0');
    for (char& c : garbage) c = static_cast<char>(rng());
    WriteFile(path, original + garbage);
    auto log = OpenOrDie(dir.path());
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->last_seq(), 3u);
    EXPECT_EQ(log->recovery().torn_bytes_dropped, garbage.size());
    log.reset();
    // Garbage over the records: whatever Open says, it must not crash, and a
    // successful open must hold only a valid prefix of the original events.
    std::string overwritten = original;
    size_t at = 24 + rng() % (original.size() - 24);
    for (size_t k = at; k < std::min(overwritten.size(), at + 1 + rng() % 40); ++k) {
      overwritten[k] = static_cast<char>(rng());
    }
    WriteFile(path, overwritten);
    auto reopened = EventLog::Open(dir.path());
    if (reopened.ok()) {
      auto all = ReadAll(**reopened);
      for (size_t k = 0; k < all.size(); ++k) EXPECT_EQ(all[k].second, MakeEvent(k));
    } else {
      EXPECT_EQ(reopened.status().code(), Status::Code::kCorruption);
    }
  }
  // A segment too short for its header, or with a bad magic, is corruption.
  WriteFile(path, original.substr(0, 10));
  EXPECT_EQ(EventLog::Open(dir.path()).status().code(), Status::Code::kCorruption);
  WriteFile(path, "XXXX" + original.substr(4));
  EXPECT_EQ(EventLog::Open(dir.path()).status().code(), Status::Code::kCorruption);
}

TEST(EventLogTest, ReplayDuringAppendsSeesAGapFreePrefix) {
  TempDir dir;
  EventLogOptions opts;
  opts.segment_size_limit = 1024;
  auto log = OpenOrDie(dir.path(), opts);
  constexpr int kEvents = 300;
  std::thread writer([&] {
    for (int i = 0; i < kEvents; ++i) {
      Event e = MakeEvent(i);
      ASSERT_TRUE(log->Append({&e, 1}).ok());
    }
  });
  uint64_t seen_max = 0;
  while (seen_max < kEvents) {
    uint64_t before = log->last_seq();
    uint64_t expected = 1;
    Status st = log->Replay(0, [&](uint64_t seq, const Event& e) {
      if (seq != expected) return Status::Internal("gap at " + std::to_string(seq));
      if (!(e == MakeEvent(static_cast<int>(seq - 1)))) return Status::Internal("wrong event");
      ++expected;
      return Status::Ok();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_GE(expected - 1, before) << "a replay must include everything durable when it began";
    seen_max = expected - 1;
  }
  writer.join();
}

TEST(EventLogTest, RotatesSegmentsAndReplaysAcrossThem) {
  TempDir dir;
  EventLogOptions opts;
  opts.segment_size_limit = 200;  // about three records per segment
  {
    auto log = OpenOrDie(dir.path(), opts);
    for (int i = 0; i < 20; ++i) {
      Event e = MakeEvent(i);
      ASSERT_EQ(*log->Append({&e, 1}), static_cast<uint64_t>(i + 1));
    }
    EXPECT_GT(SegmentPaths(dir.path()).size(), 4u);
    auto all = ReadAll(*log);
    ASSERT_EQ(all.size(), 20u);
    for (int i = 0; i < 20; ++i) EXPECT_EQ(all[i].second, MakeEvent(i));
    auto tail = ReadAll(*log, 15);
    ASSERT_EQ(tail.size(), 6u);
    EXPECT_EQ(tail[0].first, 15u);
  }
  for (const std::string& p : SegmentPaths(dir.path())) {
    EXPECT_LT(UsedBytes(p), 200u + 100u) << p;
  }
  auto log = OpenOrDie(dir.path(), opts);
  EXPECT_EQ(log->recovery().events, 20u);
  EXPECT_EQ(log->recovery().segments, SegmentPaths(dir.path()).size());
  Event e = MakeEvent(20);
  EXPECT_EQ(*log->Append({&e, 1}), 21u);
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(EventLog::ReplayDirectory(dir.path(), 10, [&](uint64_t seq, const Event&) {
                seqs.push_back(seq);
                return Status::Ok();
              }).ok());
  ASSERT_EQ(seqs.size(), 12u);
  EXPECT_EQ(seqs.front(), 10u);
  EXPECT_EQ(seqs.back(), 21u);
}

TEST(EventLogTest, DamageInAnEarlierSegmentIsCorruptionEvenAtItsEnd) {
  TempDir dir;
  EventLogOptions opts;
  opts.segment_size_limit = 200;
  {
    auto log = OpenOrDie(dir.path(), opts);
    for (int i = 0; i < 10; ++i) {
      Event e = MakeEvent(i);
      ASSERT_TRUE(log->Append({&e, 1}).ok());
    }
  }
  std::string first = SegmentPaths(dir.path()).front();
  std::string bytes = ReadFile(first);
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  WriteFile(first, bytes);
  EXPECT_EQ(EventLog::Open(dir.path(), opts).status().code(), Status::Code::kCorruption);
  // A missing segment (a gap in the sequence) is corruption too.
  bytes.back() = static_cast<char>(bytes.back() ^ 1);
  WriteFile(first, bytes);
  fs::remove(SegmentPaths(dir.path()).at(1));
  EXPECT_EQ(EventLog::Open(dir.path(), opts).status().code(), Status::Code::kCorruption);
}

TEST(EventLogTest, ConcurrentAppendersGetUniqueGapFreeSequences) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Event e{"t" + std::to_string(t), "i" + std::to_string(i), "view", std::nullopt, i};
        Result<uint64_t> r = log->Append({&e, 1});
        if (!r.ok()) {
          ADD_FAILURE() << r.status().ToString();
          return;
        }
        seqs[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(log->last_seq(), uint64_t{kThreads * kPerThread});

  std::set<uint64_t> all_seqs;
  for (int t = 0; t < kThreads; ++t) {
    // One thread's appends are ordered: its sequence numbers increase.
    EXPECT_TRUE(std::is_sorted(seqs[t].begin(), seqs[t].end()));
    all_seqs.insert(seqs[t].begin(), seqs[t].end());
  }
  ASSERT_EQ(all_seqs.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(*all_seqs.begin(), 1u);
  EXPECT_EQ(*all_seqs.rbegin(), uint64_t{kThreads * kPerThread});

  auto all = ReadAll(*log);
  ASSERT_EQ(all.size(), size_t{kThreads * kPerThread});
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t k = 0; k < all.size(); ++k) {
    const auto& [seq, e] = all[k];
    EXPECT_EQ(seq, k + 1);
    EXPECT_TRUE(seen.emplace(e.user_id, e.item_id).second) << "duplicate " << e.user_id;
    int t = std::stoi(e.user_id.substr(1));
    int i = std::stoi(e.item_id.substr(1));
    EXPECT_EQ(seqs[t][i], seq) << "the sequence returned to the appender names its event";
  }
}

// The durability promise: kill -9 at any moment loses no acknowledged event.
TEST(EventLogTest, KilledWriterLosesNoAcknowledgedEvent) {
  TempDir dir;
  std::mt19937 rng(12345);
  uint64_t max_acked = 0;
  std::set<std::pair<std::string, std::string>> acked_events;
  for (int rep = 0; rep < 20; ++rep) {
    SCOPED_TRACE("repetition " + std::to_string(rep));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    auto child = testing_util::ForkChild([&]() -> int {
      // Child: append forever, reporting each acknowledged batch's last seq.
      ::close(fds[0]);
      EventLogOptions opts;
      opts.segment_size_limit = 4096;  // rotations happen during the run too
      auto log = EventLog::Open(dir.path(), opts);
      if (!log.ok()) return 3;
      for (int n = 0;; ++n) {
        std::vector<Event> batch;
        for (int k = 0; k <= n % 3; ++k) {
          batch.push_back(Event{"r" + std::to_string(rep),
                                std::to_string(n) + "-" + std::to_string(k), "view", 1.0f, n});
        }
        Result<uint64_t> r = (*log)->Append(batch);
        if (!r.ok()) return 4;
        uint64_t seq = *r;
        if (::write(fds[1], &seq, sizeof(seq)) != sizeof(seq)) return 5;
      }
    });
    ASSERT_TRUE(child.ok()) << child.status().ToString();
    ::close(fds[1]);
    std::vector<uint64_t> acks;
    uint64_t seq;
    ASSERT_EQ(::read(fds[0], &seq, sizeof(seq)), static_cast<ssize_t>(sizeof(seq)));
    acks.push_back(seq);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000));
    const testing_util::ExitStatus killed = child->Kill();
    // Acks already in the pipe were sent before the kill: they count.
    ssize_t n;
    while ((n = ::read(fds[0], &seq, sizeof(seq))) == static_cast<ssize_t>(sizeof(seq))) {
      acks.push_back(seq);
    }
    ASSERT_EQ(n, 0);
    ::close(fds[0]);
    ASSERT_TRUE(!killed.exited && killed.signal == SIGKILL) << "child " << killed.ToString();

    auto log = OpenOrDie(dir.path());
    ASSERT_NE(log, nullptr);
    std::vector<std::pair<uint64_t, Event>> all = ReadAll(*log);
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t k = 0; k < all.size(); ++k) {
      ASSERT_EQ(all[k].first, k + 1) << "sequence numbers are gap-free";
      ASSERT_TRUE(seen.emplace(all[k].second.user_id, all[k].second.item_id).second)
          << "duplicated event";
    }
    max_acked = std::max(max_acked, acks.back());
    ASSERT_GE(log->last_seq(), max_acked) << "an acknowledged event was lost";
    // Every batch of this run ending at an acked seq is present and is this run's.
    for (uint64_t a : acks) {
      EXPECT_EQ(all[a - 1].second.user_id, "r" + std::to_string(rep));
      acked_events.emplace(all[a - 1].second.user_id, all[a - 1].second.item_id);
    }
    for (const auto& ev : acked_events) EXPECT_TRUE(seen.count(ev)) << ev.first << " " << ev.second;
  }
}

TEST(EventLogTest, ExportWritesTrainingCsv) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path());
    std::vector<Event> events = {
        {"alice", "m1", "rating", 4.5f, 1'700'000'000'999},
        {"bob", "m2", "click", std::nullopt, 1'500},
        {"carol", "m3", "view", std::nullopt, -1},
    };
    ASSERT_TRUE(log->Append(events).ok());
  }
  std::string out = dir.path() + "/out.csv";
  Result<uint64_t> n = ExportEventsCsv(dir.path(), out);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(ReadFile(out),
            "user_id,item_id,rating,timestamp\n"
            "alice,m1,4.5,1700000000\n"
            "bob,m2,1,1\n"
            "carol,m3,1,-1\n");
  // A failed export leaves the previous file whole and no temporary file.
  const std::string before = ReadFile(out);
  EXPECT_EQ(ExportEventsCsv(dir.path() + "/missing", out).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ReadFile(out), before);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_FALSE(IsTemporaryFileName(entry.path().filename().string())) << entry.path();
  }
}

// `reco events export -o /dev/stdout` writes into the stream (here a pipe)
// instead of renaming a file over the link.
TEST(EventLogTest, ExportWritesIntoAStream) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path());
    std::vector<Event> events = {{"alice", "m1", "rating", 4.5f, 2'000}};
    ASSERT_TRUE(log->Append(events).ok());
  }
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  Result<uint64_t> n = ExportEventsCsv(dir.path(), "/dev/fd/" + std::to_string(fds[1]));
  ::close(fds[1]);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  std::string got;
  char buf[256];
  for (ssize_t r; (r = ::read(fds[0], buf, sizeof(buf))) > 0;)
    got.append(buf, static_cast<size_t>(r));
  ::close(fds[0]);
  EXPECT_EQ(got, "user_id,item_id,rating,timestamp\nalice,m1,4.5,2\n");
}

// The export is training input: the interaction loader reads it as ratings.csv.
TEST(EventLogTest, ExportedCsvLoadsAsTrainingData) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path());
    std::vector<Event> events = {{"u1", "m1", "rating", 4.0f, 10'000},
                                 {"u2", "m1", "click", std::nullopt, 20'000},
                                 {"u1", "m2", "rating", 2.5f, 30'000}};
    ASSERT_TRUE(log->Append(events).ok());
  }
  std::string out = dir.path() + "/train.csv";
  ASSERT_TRUE(ExportEventsCsv(dir.path(), out).ok());
  LoadReport report;
  Result<Dataset> ds = LoadInteractions(out, LoadOptions{}, &report);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(report.format, InputFormat::kRatingsCsv);
  ASSERT_EQ(ds->interactions.size(), 3u);
  EXPECT_EQ(ds->interactions[1].value, 1.0f);
  EXPECT_EQ(ds->interactions[2].value, 2.5f);
  EXPECT_EQ(ds->interactions[2].timestamp, 30);
}

TEST(EventLogTest, AppendRefusesStringsThatBreakTheIdRules) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  ASSERT_TRUE(log);
  struct Case {
    std::string user, item, type, message;
  };
  const std::vector<Case> cases = {
      {"u", "i", "a\nb", "type contains a control character"},
      {"u", "i", std::string("a\0b", 3), "type contains a control character"},
      {"u", "i", "\x7f", "type contains a control character"},
      {"u", "i", " ", "type has a leading or trailing blank"},
      {"u", "i", std::string(33, 't'), "type must be 1..32 bytes, got 33"},
      {"u\xff", "i", "t", "user_id is not valid UTF-8"},
      {"u", "\xc3", "t", "item_id is not valid UTF-8"},
      {"  ", "i", "t", "user_id has a leading or trailing blank"},
  };
  for (const Case& c : cases) {
    Event e = MakeEvent(1);
    e.user_id = c.user;
    e.item_id = c.item;
    e.type = c.type;
    const std::vector<Event> events = {e};
    Result<uint64_t> r = log->Append(events);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(r.status().message().starts_with(c.message)) << r.status().message();
  }
  Event big = MakeEvent(2);
  big.value = 1.5e6f;
  const std::vector<Event> events = {big};
  Result<uint64_t> r = log->Append(events);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "value must be a finite number in [-1000000, 1000000]");
  EXPECT_EQ(log->last_seq(), 0u);
  EXPECT_TRUE(log->health().ok());  // a refused event is not a log failure
}

TEST(EventLogTest, ALogWrittenUnderTheOlderTypeRuleStillOpens) {
  // Before types followed the ID rules, "a\nb" was a valid type. Such a
  // record, checksummed as a writer of then would, is still read.
  TempDir dir;
  Event e = MakeEvent(2);
  e.type = "aXb";
  {
    auto log = OpenOrDie(dir.path());
    ASSERT_TRUE(log);
    const std::vector<Event> events = {e};
    ASSERT_TRUE(log->Append(events).ok());
  }
  const std::string path = SegmentPaths(dir.path()).at(0);
  std::string bytes = ReadFile(path);
  const size_t at = bytes.find("aXb");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 1] = '\n';
  // Record 1 starts after the 24-byte segment header: u32 length, u8
  // version, u64 checksum, payload (docs/formats.md).
  uint32_t len;
  std::memcpy(&len, bytes.data() + 24, 4);
  const uint8_t version = static_cast<uint8_t>(bytes[28]);
  const uint64_t checksum =
      XXH3_64bits_withSeed(bytes.data() + 37, len, uint64_t{len} | uint64_t{version} << 32);
  std::memcpy(bytes.data() + 29, &checksum, 8);
  WriteFile(path, bytes);

  auto log = OpenOrDie(dir.path());
  ASSERT_TRUE(log);
  const auto records = ReadAll(*log);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].second.type, "a\nb");
  // New events meet the rule.
  Event again = records[0].second;
  const std::vector<Event> events = {again};
  EXPECT_FALSE(log->Append(events).ok());
}

// Fault injection through the EventLogFiles seam: each fault is switched on
// after Open, so the log starts healthy.
class FaultyFiles : public EventLogFiles {
 public:
  int fdatasync_errno = 0;       // every Fdatasync fails with it
  size_t max_write = 0;          // > 0: every Pwrite writes at most this many bytes
  int writes_until_enospc = -1;  // >= 0: that many Pwrites succeed, then ENOSPC
  bool write_zero = false;       // Pwrite returns 0
  int open_errno = 0;            // every Open fails with it

  int Open(const char* path, int flags, mode_t mode) override {
    if (open_errno != 0) {
      errno = open_errno;
      return -1;
    }
    return EventLogFiles::Open(path, flags, mode);
  }
  ssize_t Pwrite(int fd, const void* data, size_t n, off_t offset) override {
    if (write_zero) return 0;
    if (writes_until_enospc == 0) {
      errno = ENOSPC;
      return -1;
    }
    if (writes_until_enospc > 0) --writes_until_enospc;
    if (max_write > 0) n = std::min(n, max_write);
    return EventLogFiles::Pwrite(fd, data, n, offset);
  }
  int Fdatasync(int fd) override {
    if (fdatasync_errno != 0) {
      errno = fdatasync_errno;
      return -1;
    }
    return EventLogFiles::Fdatasync(fd);
  }
};

std::vector<Event> EventsOf(const std::vector<std::pair<uint64_t, Event>>& records) {
  std::vector<Event> events;
  for (const auto& [seq, e] : records) events.push_back(e);
  return events;
}

TEST(EventLogFaultTest, FailedFdatasyncIsNotAcknowledgedAndSticks) {
  TempDir dir;
  FaultyFiles files;
  EventLogOptions opts;
  opts.files = &files;
  auto log = OpenOrDie(dir.path(), opts);
  ASSERT_TRUE(log);
  const std::vector<Event> first = {MakeEvent(1), MakeEvent(2)};
  ASSERT_TRUE(log->Append(first).ok());
  EXPECT_TRUE(log->health().ok());

  files.fdatasync_errno = EIO;
  const std::vector<Event> second = {MakeEvent(3)};
  Result<uint64_t> r = log->Append(second);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("fdatasync"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(log->last_seq(), 2u);
  EXPECT_EQ(log->health().code(), Status::Code::kIOError);

  // The disk recovering does not make the log trust its file again.
  files.fdatasync_errno = 0;
  r = log->Append(second);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fdatasync"), std::string::npos);
  EXPECT_EQ(ReadAll(*log).size(), 2u);

  // After a restart every acknowledged event is there; the unacknowledged one
  // may be too (its bytes reached the file), never anything else.
  log.reset();
  auto reopened = OpenOrDie(dir.path());
  ASSERT_TRUE(reopened);
  const auto events = EventsOf(ReadAll(*reopened));
  ASSERT_GE(events.size(), 2u);
  ASSERT_LE(events.size(), 3u);
  EXPECT_EQ(events[0], first[0]);
  EXPECT_EQ(events[1], first[1]);
  if (events.size() == 3) {
    EXPECT_EQ(events[2], second[0]);
  }
  EXPECT_TRUE(reopened->health().ok());
  EXPECT_TRUE(reopened->Append(second).ok());
}

TEST(EventLogFaultTest, ShortWriteThenFullDiskIsAnErrorAndTheTornTailIsDropped) {
  TempDir dir;
  FaultyFiles files;
  EventLogOptions opts;
  opts.files = &files;
  auto log = OpenOrDie(dir.path(), opts);
  ASSERT_TRUE(log);
  const std::vector<Event> acked = {MakeEvent(1)};
  ASSERT_TRUE(log->Append(acked).ok());

  // Part of the group reaches the file, then the disk is full.
  files.max_write = 10;
  files.writes_until_enospc = 1;
  const std::vector<Event> lost = {MakeEvent(2), MakeEvent(3)};
  Result<uint64_t> r = log->Append(lost);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find(std::strerror(ENOSPC)), std::string::npos)
      << r.status().ToString();
  EXPECT_FALSE(log->health().ok());
  EXPECT_EQ(log->last_seq(), 1u);

  log.reset();
  auto reopened = OpenOrDie(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(EventsOf(ReadAll(*reopened)), acked);
  EXPECT_GT(reopened->recovery().torn_bytes_dropped, 0u);
}

TEST(EventLogFaultTest, ShortWritesAloneAreCompleted) {
  TempDir dir;
  FaultyFiles files;
  files.max_write = 100;
  EventLogOptions opts;
  opts.files = &files;
  auto log = OpenOrDie(dir.path(), opts);
  ASSERT_TRUE(log);
  const std::vector<Event> events = {MakeEvent(1), MakeEvent(2), MakeEvent(3)};
  Result<uint64_t> r = log->Append(events);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 3u);
  log.reset();
  auto reopened = OpenOrDie(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(EventsOf(ReadAll(*reopened)), events);
}

TEST(EventLogFaultTest, AWriteOfZeroBytesIsAnErrorNotAHang) {
  TempDir dir;
  FaultyFiles files;
  EventLogOptions opts;
  opts.files = &files;
  auto log = OpenOrDie(dir.path(), opts);
  ASSERT_TRUE(log);
  files.write_zero = true;
  const std::vector<Event> events = {MakeEvent(1)};
  Result<uint64_t> r = log->Append(events);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("wrote 0 of"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(log->last_seq(), 0u);
}

TEST(EventLogFaultTest, ASegmentThatCannotBeCreatedFailsTheGroup) {
  TempDir dir;
  FaultyFiles files;
  EventLogOptions opts;
  opts.files = &files;
  opts.segment_size_limit = 64;  // the second group needs a new segment
  auto log = OpenOrDie(dir.path(), opts);
  ASSERT_TRUE(log);
  const std::vector<Event> acked = {MakeEvent(1), MakeEvent(2)};
  ASSERT_TRUE(log->Append(acked).ok());
  files.open_errno = ENOSPC;
  const std::vector<Event> lost = {MakeEvent(3)};
  Result<uint64_t> r = log->Append(lost);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("create "), std::string::npos) << r.status().ToString();
  EXPECT_EQ(log->last_seq(), 2u);
  log.reset();
  auto reopened = OpenOrDie(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(EventsOf(ReadAll(*reopened)), acked);
}

TEST(EventLogFaultTest, DeletedDirectoryIsDetectedAtTheNextAppend) {
  TempDir dir;
  const std::string log_dir = dir.path() + "/events";
  auto log = OpenOrDie(log_dir);
  ASSERT_TRUE(log);
  const std::vector<Event> events = {MakeEvent(1)};
  ASSERT_TRUE(log->Append(events).ok());
  fs::remove_all(log_dir);
  // pwrite and fdatasync on the unlinked segment succeed; the link count says
  // the data is gone with the descriptor.
  Result<uint64_t> r = log->Append(events);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kIOError);
  EXPECT_NE(r.status().message().find("deleted"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(log->last_seq(), 1u);
  EXPECT_FALSE(log->health().ok());
  // Recreating the directory does not bring writes back: the process must reopen.
  fs::create_directories(log_dir);
  EXPECT_FALSE(log->Append(events).ok());
}

TEST(EventLogFaultTest, MovedDirectoryIsDetectedAndAcknowledgedEventsMoveWithIt) {
  TempDir dir;
  const std::string log_dir = dir.path() + "/events";
  const std::string moved = dir.path() + "/events.moved";
  auto log = OpenOrDie(log_dir);
  ASSERT_TRUE(log);
  const std::vector<Event> acked = {MakeEvent(1), MakeEvent(2)};
  ASSERT_TRUE(log->Append(acked).ok());
  fs::rename(log_dir, moved);
  const std::vector<Event> more = {MakeEvent(3)};
  Result<uint64_t> r = log->Append(more);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no longer at this path"), std::string::npos)
      << r.status().ToString();
  log.reset();
  auto reopened = OpenOrDie(moved);
  ASSERT_TRUE(reopened);
  const auto events = EventsOf(ReadAll(*reopened));
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(std::vector<Event>(events.begin(), events.begin() + 2), acked);
}

}  // namespace
}  // namespace reco
