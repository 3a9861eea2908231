// EventLog: the durable write-ahead log of live interaction events.
//
// Every event accepted by `POST /v1/events` is appended here before the server
// answers, so the log is the source of truth for "what did users do since the
// last training run". Append returns only after the records are on disk
// (fdatasync); concurrent appenders share one write+fdatasync per group (group
// commit, as leveldb's writer queue), so throughput grows with concurrency.
//
// On disk: a directory of segment files `events-<first seq, 20 digits>.log`,
// each a 24-byte header followed by length-prefixed, versioned, XXH3-checksummed
// records; byte-by-byte layout in docs/formats.md, section "Event log".
//
// Recovery (Open): every record of every segment is verified. Bytes after the
// last valid record of the LAST segment that do not lead to another valid
// record are a torn tail (a crash mid-write): they are truncated away and the
// drop is logged. A bad record with valid records after it, or anywhere in an
// earlier segment, is Corruption unless `skip_corrupt_records` is set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <sys/types.h>

#include "reco/ids.h"
#include "reco/status.h"

namespace reco {

// The file calls the log's writer makes, behind an interface so that tests
// inject faults (a failing fdatasync, a short write, a full disk) into a real
// log without killing processes, as leveldb's Env does. Each method behaves
// as the POSIX call it names: the same return value, errno set on failure.
// The defaults make the real calls; a test overrides what it breaks.
class EventLogFiles {
 public:
  virtual ~EventLogFiles() = default;
  virtual int Open(const char* path, int flags, mode_t mode);
  virtual ssize_t Pwrite(int fd, const void* data, size_t n, off_t offset);
  virtual int Fdatasync(int fd);
  virtual int Ftruncate(int fd, off_t length);
  virtual int Rename(const char* from, const char* to);
};

// Limits checked by Append (and by the reader before anything is allocated).
inline constexpr size_t kMaxEventIdBytes = kMaxIdBytes;  // user_id, item_id
inline constexpr size_t kMaxEventTypeBytes = 32;         // type

struct Event {
  // user_id, item_id and type follow the ID rules: valid UTF-8, no control
  // characters (C0, NUL, DEL), ',' or '"', no leading/trailing blank (so not
  // blank only; they must survive CSV export).
  std::string user_id;         // 1..256 bytes
  std::string item_id;         // 1..256 bytes
  std::string type;            // 1..32 bytes, e.g. "view", "click", "rating"
  std::optional<float> value;  // finite, |value| <= kMaxInteractionValue (a rating, a dwell time)
  int64_t timestamp_ms = 0;    // Unix epoch milliseconds
};

bool operator==(const Event& a, const Event& b);

// InvalidArgument naming the offending field when `event` breaks a limit
// above; the message starts with the field's name. Append refuses such events.
// (The reader accepts what older versions wrote: a type then needed only its
// length.)
Status ValidateEvent(const Event& event);

struct EventLogOptions {
  // A new segment is started once the current one reaches this many bytes (a
  // group commit is never split, so a segment may exceed it by one group).
  uint64_t segment_size_limit = uint64_t{64} << 20;
  // Drop (and log) corrupt records found before the tail instead of refusing
  // to open. Sequence numbers then have gaps where records were dropped.
  bool skip_corrupt_records = false;
  // Borrowed, must outlive the log; nullptr makes the real calls. For tests.
  EventLogFiles* files = nullptr;
};

// What Open found and repaired.
struct EventLogRecovery {
  uint64_t segments = 0;
  uint64_t events = 0;                 // valid records in the log after recovery
  uint64_t torn_bytes_dropped = 0;     // truncated from the tail of the last segment
  uint64_t corrupt_bytes_skipped = 0;  // only with skip_corrupt_records
  std::string torn_reason;             // why the tail was dropped ("" if it was not)
};

// Returning a non-OK Status stops the replay and is returned by it.
using EventCallback = std::function<Status(uint64_t seq, const Event& event)>;

class EventLog {
 public:
  // Opens (creating if needed) the log in `dir` and recovers it as described
  // above. One process at a time: a second Open of the same directory, even in
  // the same process, is FailedPrecondition while the first is alive.
  static Result<std::unique_ptr<EventLog>> Open(const std::string& dir,
                                                const EventLogOptions& options = {});
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends `events` with consecutive sequence numbers and returns the last
  // one, after the records are durable. Thread-safe. An empty span returns the
  // current last sequence number.
  //
  // A write that is not durable is never reported as one: a failed write
  // (ENOSPC, EIO, or one that writes nothing; a short write is continued), a
  // failed fdatasync, a segment that cannot be created,
  // and a segment whose directory entry is gone after the sync (the directory
  // was deleted or moved: fstat says no links, or the path now names another
  // inode or nothing) are each an IOError for every event of the group. The
  // log then refuses every later Append with that error (the file state is
  // unknown) until it is reopened: restart the process once the directory is
  // usable again. Events of a failed group may or may not be in the log after
  // a restart; they were never acknowledged.
  Result<uint64_t> Append(std::span<const Event> events);

  // OK while Append can succeed; else the error that stopped it (see Append).
  // Cheap and thread-safe: /readyz and /metrics call it.
  Status health() const;

  // Calls `callback` for every durable event with seq >= from_seq, in order.
  // Safe to call while other threads append (sees a snapshot of the log).
  Status Replay(uint64_t from_seq, const EventCallback& callback) const;

  // The sequence number of the last durable event (0 for an empty log).
  uint64_t last_seq() const;
  const EventLogRecovery& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }

  // Reads a log without opening it for writing: no lock, nothing truncated, so
  // it works on a log a running server is appending to. A torn tail in the last
  // segment ends the replay quietly (those events were never acknowledged).
  static Status ReplayDirectory(const std::string& dir, uint64_t from_seq,
                                const EventCallback& callback, const EventLogOptions& options = {});

 private:
  struct Impl;
  EventLog(std::string dir, EventLogOptions options);

  std::string dir_;
  EventLogOptions options_;
  EventLogRecovery recovery_;
  std::unique_ptr<Impl> impl_;
};

// Writes the events of the log in `log_dir` to `out_path` as training input:
// header `user_id,item_id,rating,timestamp`, rating = value (1 when absent),
// timestamp in whole seconds (floor of ms / 1000). Written to a temporary file
// and renamed into place. Reads like ReplayDirectory (works on a live log).
// Returns the number of events written.
Result<uint64_t> ExportEventsCsv(const std::string& log_dir, const std::string& out_path,
                                 const EventLogOptions& options = {});

}  // namespace reco
