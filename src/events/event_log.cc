// EventLog: segment files, record codec, recovery and group commit.
#include "reco/event_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "reco/coding.h"
#include "reco/errno_text.h"
#include "reco/file_util.h"
#include "reco/ids.h"
#include "reco/interactions.h"
#include "reco/text.h"

namespace reco {
namespace {

namespace fs = std::filesystem;

// Segment header: magic, u16 version, u16 reserved, u64 base seq, u64 XXH3 of
// the first 16 bytes. Record header: u32 payload length, u8 record version,
// u64 checksum (RecordChecksum). All integers little-endian.
constexpr char kSegmentMagic[4] = {'R', 'C', 'E', 'V'};
constexpr uint16_t kSegmentVersion = 1;
constexpr size_t kSegmentHeaderBytes = 24;
constexpr uint8_t kRecordVersion = 1;
constexpr size_t kRecordHeaderBytes = 13;
// seq, timestamp, flags, user length, item length, type length, one byte each string.
constexpr size_t kMinPayloadBytes = 8 + 8 + 1 + 2 + 2 + 1 + 3;
constexpr size_t kMaxPayloadBytes =
    8 + 8 + 1 + 4 + 2 + kMaxEventIdBytes + 2 + kMaxEventIdBytes + 1 + kMaxEventTypeBytes;
constexpr uint8_t kHasValueFlag = 1;
constexpr std::string_view kSegmentPrefix = "events-";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr size_t kSeqDigits = 20;
// One group commit writes at most this much (a bound on the leader's buffer).
constexpr size_t kMaxGroupBytes = size_t{1} << 20;
// The last segment is extended with zeros in steps of this size (of
// segment_size_limit when smaller, at least 4 KiB), so that a group commit
// overwrites space the file already has: its fdatasync then writes the data
// alone, not the inode (the file size does not change), which on ext4 saves
// a synchronous metadata write per commit. docs/formats.md, "Event log".
constexpr uint64_t kPreallocateBytes = uint64_t{1} << 20;

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

std::string SegmentName(uint64_t base_seq) {
  return fmt::format("{}{:0{}}{}", kSegmentPrefix, base_seq, kSeqDigits, kSegmentSuffix);
}

// The base seq named by a segment file name, or nullopt for other files.
std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kSeqDigits + kSegmentSuffix.size() ||
      !name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(kSegmentPrefix.size(), kSeqDigits);
  uint64_t seq = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return seq;
}

std::string SegmentHeader(uint64_t base_seq) {
  std::string h(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed16(&h, kSegmentVersion);
  PutFixed16(&h, 0);
  PutFixed64(&h, base_seq);
  PutFixed64(&h, XXH3_64bits(h.data(), h.size()));
  return h;
}

Status CheckSegmentHeader(const std::string& path, std::string_view data, uint64_t base_seq) {
  if (data.size() < kSegmentHeaderBytes) {
    return Status::Corruption(fmt::format("{}: segment header truncated ({} of {} bytes)", path,
                                          data.size(), kSegmentHeaderBytes));
  }
  if (std::memcmp(data.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Status::Corruption(fmt::format("{}: bad segment magic", path));
  }
  if (DecodeFixed64(data.data() + 16) != XXH3_64bits(data.data(), 16)) {
    return Status::Corruption(fmt::format("{}: segment header checksum mismatch", path));
  }
  uint16_t version = DecodeFixed16(data.data() + 4);
  if (version != kSegmentVersion) {
    return Status::Corruption(fmt::format("{}: unsupported segment version {}", path, version));
  }
  uint64_t stored_base = DecodeFixed64(data.data() + 8);
  if (stored_base != base_seq) {
    return Status::Corruption(fmt::format("{}: header says first sequence {}, file name says {}",
                                          path, stored_base, base_seq));
  }
  return Status::Ok();
}

// XXH3-64 of the payload, seeded with the length and version so that a
// damaged header fails the check as surely as a damaged payload.
uint64_t RecordChecksum(const char* payload, uint32_t len, uint8_t version) {
  return XXH3_64bits_withSeed(payload, len, uint64_t{len} | uint64_t{version} << 32);
}

void EncodeRecord(uint64_t seq, const Event& e, std::string* out) {
  size_t start = out->size();
  out->append(kRecordHeaderBytes, '\0');
  PutFixed64(out, seq);
  PutFixed64(out, static_cast<uint64_t>(e.timestamp_ms));
  out->push_back(static_cast<char>(e.value ? kHasValueFlag : 0));
  if (e.value) PutFloat(out, *e.value);
  PutFixed16(out, static_cast<uint16_t>(e.user_id.size()));
  out->append(e.user_id);
  PutFixed16(out, static_cast<uint16_t>(e.item_id.size()));
  out->append(e.item_id);
  out->push_back(static_cast<char>(e.type.size()));  // at most kMaxEventTypeBytes
  out->append(e.type);

  char* rec = out->data() + start;
  uint32_t payload_len = static_cast<uint32_t>(out->size() - start - kRecordHeaderBytes);
  EncodeFixed32(rec, payload_len);
  rec[4] = static_cast<char>(kRecordVersion);
  EncodeFixed64(rec + 5, RecordChecksum(rec + kRecordHeaderBytes, payload_len, kRecordVersion));
}

// Records written before types followed the ID rules (a type was only 1..32
// bytes) and before IDs had to be UTF-8 still open; every new event meets
// ValidateEvent.
Status ValidateStoredId(std::string_view field, const std::string& id) {
  std::string reason = IdRuleViolation(field, id, kMaxEventIdBytes, IdEncoding::kAnyBytes);
  return reason.empty() ? Status::Ok() : Status::InvalidArgument(std::move(reason));
}

Status ValidateStoredEvent(const Event& event) {
  RECO_RETURN_IF_ERROR(ValidateStoredId("user_id", event.user_id));
  RECO_RETURN_IF_ERROR(ValidateStoredId("item_id", event.item_id));
  if (event.type.empty() || event.type.size() > kMaxEventTypeBytes) {
    return Status::InvalidArgument(
        fmt::format("type must be 1..{} bytes, got {}", kMaxEventTypeBytes, event.type.size()));
  }
  if (event.value && !std::isfinite(*event.value)) {
    return Status::InvalidArgument("value must be a finite number");
  }
  return Status::Ok();
}

// The ID rules of docs/api.md, for every string field of a new event.
Status ValidateIdField(std::string_view field, const std::string& id, size_t max_bytes) {
  std::string reason = IdRuleViolation(field, id, max_bytes);
  return reason.empty() ? Status::Ok() : Status::InvalidArgument(std::move(reason));
}

// Parses the record at data[offset]. Returns "" and fills the outputs when it
// is valid, else the reason it is not. Nothing is allocated before the length
// and checksum have been checked.
std::string ParseRecord(std::string_view data, size_t offset, uint64_t* seq, Event* event,
                        size_t* record_bytes) {
  size_t left = data.size() - offset;
  if (left < kRecordHeaderBytes) {
    return fmt::format("incomplete record header ({} of {} bytes)", left, kRecordHeaderBytes);
  }
  const char* rec = data.data() + offset;
  uint32_t len = DecodeFixed32(rec);
  uint8_t version = static_cast<uint8_t>(rec[4]);
  if (version != kRecordVersion) return fmt::format("unknown record version {}", version);
  if (len < kMinPayloadBytes || len > kMaxPayloadBytes) {
    return fmt::format("record length {} outside {}..{}", len, kMinPayloadBytes, kMaxPayloadBytes);
  }
  if (left - kRecordHeaderBytes < len) {
    return fmt::format("incomplete record ({} of {} bytes)", left, kRecordHeaderBytes + len);
  }
  if (RecordChecksum(rec + kRecordHeaderBytes, len, version) != DecodeFixed64(rec + 5)) {
    return "checksum mismatch";
  }

  // The checksum matched, so a malformed payload means a writer bug, not a
  // torn write; the bounds are checked anyway so no input can crash us.
  const char* p = rec + kRecordHeaderBytes;
  const char* end = p + len;
  auto need = [&](size_t n) { return static_cast<size_t>(end - p) >= n; };
  *seq = DecodeFixed64(p);
  event->timestamp_ms = static_cast<int64_t>(DecodeFixed64(p + 8));
  uint8_t flags = static_cast<uint8_t>(p[16]);
  p += 17;
  if (flags & ~kHasValueFlag) return fmt::format("unknown record flags {:#x}", flags);
  event->value.reset();
  if (flags & kHasValueFlag) {
    if (!need(4)) return "malformed payload: value";
    float v = DecodeFloat(p);
    if (!std::isfinite(v)) return "malformed payload: non-finite value";
    event->value = v;
    p += 4;
  }
  auto read_string = [&](size_t len_bytes, size_t max, std::string* out) {
    if (!need(len_bytes)) return false;
    size_t n = len_bytes == 1 ? static_cast<uint8_t>(*p) : DecodeFixed16(p);
    p += len_bytes;
    if (n == 0 || n > max || !need(n)) return false;
    out->assign(p, n);
    p += n;
    return true;
  };
  if (!read_string(2, kMaxEventIdBytes, &event->user_id)) return "malformed payload: user_id";
  if (!read_string(2, kMaxEventIdBytes, &event->item_id)) return "malformed payload: item_id";
  if (!read_string(1, kMaxEventTypeBytes, &event->type)) return "malformed payload: type";
  if (p != end) return "malformed payload: trailing bytes";
  if (Status st = ValidateStoredEvent(*event); !st.ok()) {
    return "malformed payload: " + st.message();
  }
  *record_bytes = kRecordHeaderBytes + len;
  return "";
}

// The offset of the first valid record at or after `from` whose seq is at
// least `min_seq`, or npos. Decides whether a bad record is a torn tail
// (nothing valid follows) or damage in the middle of the log.
size_t FindNextValidRecord(std::string_view data, size_t from, uint64_t min_seq) {
  uint64_t seq;
  Event event;
  size_t bytes;
  for (size_t p = from; p + kRecordHeaderBytes + kMinPayloadBytes <= data.size(); ++p) {
    // Cheap filters before the checksum: version byte and a plausible length.
    if (static_cast<uint8_t>(data[p + 4]) != kRecordVersion) continue;
    uint32_t len = DecodeFixed32(data.data() + p);
    if (len < kMinPayloadBytes || len > kMaxPayloadBytes) continue;
    if (ParseRecord(data, p, &seq, &event, &bytes).empty() && seq >= min_seq) return p;
  }
  return std::string_view::npos;
}

struct ScanResult {
  size_t valid_end = kSegmentHeaderBytes;  // just past the last good record
  uint64_t last_seq = 0;                   // base - 1 when the segment holds no record
  uint64_t events = 0;
  uint64_t skipped_bytes = 0;
  std::string torn_reason;  // set when the bytes after valid_end are a torn tail
  uint64_t zero_tail = 0;   // preallocated (all-zero) bytes after valid_end
};

// Verifies and decodes one segment. `is_last` allows a torn tail; callback
// (may be null) sees events with seq >= from_seq.
Result<ScanResult> ScanSegment(const std::string& path, std::string_view data, uint64_t base_seq,
                               bool is_last, bool skip_corrupt, uint64_t from_seq,
                               const EventCallback* callback) {
  RECO_RETURN_IF_ERROR(CheckSegmentHeader(path, data, base_seq));
  ScanResult r;
  r.last_seq = base_seq - 1;
  size_t offset = kSegmentHeaderBytes;
  Event event;
  while (offset < data.size()) {
    uint64_t seq = 0;
    size_t bytes = 0;
    std::string reason = ParseRecord(data, offset, &seq, &event, &bytes);
    if (reason.empty()) {
      if (seq != r.last_seq + 1 && !(skip_corrupt && seq > r.last_seq)) {
        return Status::Corruption(fmt::format("{}: offset {}: sequence {} where {} was expected",
                                              path, offset, seq, r.last_seq + 1));
      }
      if (callback != nullptr && seq >= from_seq) RECO_RETURN_IF_ERROR((*callback)(seq, event));
      r.last_seq = seq;
      ++r.events;
      offset += bytes;
      r.valid_end = offset;
      continue;
    }
    if (AllZero(data.substr(offset))) {
      // Space preallocated by the writer and not yet used: the end.
      r.zero_tail = data.size() - offset;
      return r;
    }
    size_t next = FindNextValidRecord(data, offset + 1, r.last_seq + 1);
    if (next == std::string_view::npos && is_last) {
      r.torn_reason = fmt::format("offset {}: {}", offset, reason);
      return r;
    }
    if (!skip_corrupt) {
      return Status::Corruption(fmt::format(
          "{}: offset {}: {}; {} (open with skip_corrupt_records to drop it)", path, offset, reason,
          is_last ? "valid records follow, so this is not a torn tail"
                  : "not the last segment, so this is not a torn tail"));
    }
    size_t resume = next == std::string_view::npos ? data.size() : next;
    spdlog::warn("event log {}: skipping {} corrupt bytes at offset {}: {}", path, resume - offset,
                 offset, reason);
    r.skipped_bytes += resume - offset;
    offset = resume;
    if (next == std::string_view::npos) break;
  }
  return r;
}

Status ErrnoStatus(const std::string& what) {
  return Status::IOError(fmt::format("{}: {}", what, ErrnoText(errno)));
}

Result<std::string> ReadWholeFile(const std::string& path, size_t limit = SIZE_MAX) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path);
  std::string data;
  char buf[1 << 16];
  while (data.size() < limit) {
    ssize_t n = ::read(fd, buf, std::min(sizeof(buf), limit - data.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = ErrnoStatus("read " + path);
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

EventLogFiles& RealFiles() {
  static EventLogFiles files;
  return files;
}

Status WriteAll(EventLogFiles& files, int fd, std::string_view bytes, uint64_t offset,
                const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = files.Pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write " + path);
    if (n == 0) {
      // POSIX allows it only for n == 0; retrying would spin forever.
      return Status::IOError(fmt::format("write {}: wrote 0 of {} bytes", path, bytes.size()));
    }
    // A short write is not an error yet: the rest is retried, and a full disk
    // then answers ENOSPC.
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status SyncFd(EventLogFiles& files, int fd, const std::string& path) {
  while (files.Fdatasync(fd) != 0) {
    if (errno != EINTR) return ErrnoStatus("fdatasync " + path);
  }
  return Status::Ok();
}

Status SyncDir(EventLogFiles& files, const std::string& dir) {
  int fd = files.Open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("open " + dir);
  Status st = SyncFd(files, fd, dir);
  ::close(fd);
  return st;
}

// Data synced to a file that no directory names any more is not durable: it
// is gone when the descriptor closes. An `rm -rf` of the log directory leaves
// the open segment with no links; a `mv` of the directory (or a new file put
// in the segment's place) leaves the path naming something else. One fstat
// and one stat per group commit, next to an fdatasync.
Status CheckSegmentLinked(int fd, const std::string& path) {
  struct stat open_file {};
  if (::fstat(fd, &open_file) != 0) return ErrnoStatus("fstat " + path);
  if (open_file.st_nlink == 0) {
    return Status::IOError(
        fmt::format("{}: the open segment was deleted (is the event log directory gone?)", path));
  }
  struct stat named {};
  if (::stat(path.c_str(), &named) != 0) {
    return Status::IOError(
        fmt::format("{}: the open segment is no longer at this path ({})", path, ErrnoText(errno)));
  }
  if (named.st_ino != open_file.st_ino || named.st_dev != open_file.st_dev) {
    return Status::IOError(
        fmt::format("{}: the path now names another file than the open segment", path));
  }
  return Status::Ok();
}

struct SegmentFile {
  uint64_t base_seq;
  std::string path;
};

// Segments of `dir` sorted by base seq; leftover temporaries are removed when
// `remove_temporaries` (a crash between create and rename leaves one).
Result<std::vector<SegmentFile>> ListSegments(const std::string& dir, bool remove_temporaries) {
  std::vector<SegmentFile> segments;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return Status::NotFound(fmt::format("{}: no such event log directory", dir));
    }
    return Status::IOError(fmt::format("{}: {}", dir, ec.message()));
  }
  for (const fs::directory_entry& entry : it) {
    std::string name = entry.path().filename().string();
    if (remove_temporaries && name.starts_with(kSegmentPrefix) && name.ends_with(".tmp")) {
      fs::remove(entry.path(), ec);
      continue;
    }
    if (std::optional<uint64_t> base = ParseSegmentName(name)) {
      segments.push_back({*base, entry.path().string()});
    }
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.base_seq < b.base_seq; });
  return segments;
}

// Index of the segment that holds `seq` (the last one whose base is <= seq).
size_t FirstSegmentFor(const std::vector<SegmentFile>& segments, uint64_t seq) {
  size_t i = 0;
  while (i + 1 < segments.size() && segments[i + 1].base_seq <= seq) ++i;
  return i;
}

}  // namespace

int EventLogFiles::Open(const char* path, int flags, mode_t mode) {
  return ::open(path, flags, mode);
}
ssize_t EventLogFiles::Pwrite(int fd, const void* data, size_t n, off_t offset) {
  return ::pwrite(fd, data, n, offset);
}
int EventLogFiles::Fdatasync(int fd) { return ::fdatasync(fd); }
int EventLogFiles::Ftruncate(int fd, off_t length) { return ::ftruncate(fd, length); }
int EventLogFiles::Rename(const char* from, const char* to) { return ::rename(from, to); }

bool operator==(const Event& a, const Event& b) {
  return a.user_id == b.user_id && a.item_id == b.item_id && a.type == b.type &&
         a.value == b.value && a.timestamp_ms == b.timestamp_ms;
}

Status ValidateEvent(const Event& event) {
  RECO_RETURN_IF_ERROR(ValidateIdField("user_id", event.user_id, kMaxEventIdBytes));
  RECO_RETURN_IF_ERROR(ValidateIdField("item_id", event.item_id, kMaxEventIdBytes));
  RECO_RETURN_IF_ERROR(ValidateIdField("type", event.type, kMaxEventTypeBytes));
  if (event.value &&
      (!std::isfinite(*event.value) || std::fabs(*event.value) > kMaxInteractionValue)) {
    return Status::InvalidArgument(fmt::format("value must be a finite number in [-{0}, {0}]",
                                               static_cast<int64_t>(kMaxInteractionValue)));
  }
  return Status::Ok();
}

// The writer queue: each Append enqueues a Writer; the one at the front is the
// leader, which takes every writer queued at that moment, writes their records
// with one pwrite and one fdatasync, and wakes them. Only the leader touches
// the file, so the write itself runs without the mutex.
struct EventLog::Impl {
  struct Writer {
    std::span<const Event> events;
    Status status;
    uint64_t last_seq = 0;
    bool done = false;
    std::condition_variable cv;
  };

  EventLogFiles* files = nullptr;  // never null once opened
  int lock_fd = -1;
  int segment_fd = -1;  // the last segment, open for writing

  mutable std::mutex mu;
  std::deque<Writer*> writers;        // guarded by mu
  std::vector<SegmentFile> segments;  // guarded by mu
  uint64_t durable_end = 0;           // bytes of the last segment known durable; guarded by mu
  // Size of the last segment file: durable_end plus preallocated zeros.
  // Touched by the leader only.
  uint64_t allocated_end = 0;
  uint64_t last_seq = 0;  // guarded by mu
  Status sticky_error;    // guarded by mu

  ~Impl() {
    if (segment_fd >= 0) ::close(segment_fd);
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
  }

  // Creates segment `base_seq` atomically (temporary file, fsync, rename,
  // directory fsync) so a segment never exists without its full header.
  Status CreateSegment(const std::string& dir, uint64_t base_seq, int* fd_out,
                       std::string* path_out) {
    std::string path = (fs::path(dir) / SegmentName(base_seq)).string();
    std::string tmp = path + ".tmp";
    int fd = files->Open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("create " + tmp);
    Status st = WriteAll(*files, fd, SegmentHeader(base_seq), 0, tmp);
    if (st.ok()) st = SyncFd(*files, fd, tmp);
    if (st.ok() && files->Rename(tmp.c_str(), path.c_str()) != 0) {
      st = ErrnoStatus("rename " + tmp);
    }
    if (st.ok()) st = SyncDir(*files, dir);
    if (!st.ok()) {
      ::close(fd);
      return st;
    }
    *fd_out = fd;
    *path_out = path;
    return Status::Ok();
  }
};

EventLog::EventLog(std::string dir, EventLogOptions options)
    : dir_(std::move(dir)), options_(options), impl_(std::make_unique<Impl>()) {}

EventLog::~EventLog() = default;

Result<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir,
                                                 const EventLogOptions& options) {
  if (options.segment_size_limit < kSegmentHeaderBytes) {
    return Status::InvalidArgument("segment_size_limit must be at least 24 bytes");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("create {}: {}", dir, ec.message()));

  std::unique_ptr<EventLog> log(new EventLog(dir, options));
  Impl& impl = *log->impl_;
  impl.files = options.files != nullptr ? options.files : &RealFiles();
  std::string lock_path = (fs::path(dir) / "LOCK").string();
  impl.lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (impl.lock_fd < 0) return ErrnoStatus("open " + lock_path);
  if (::flock(impl.lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::FailedPrecondition(
          fmt::format("{}: event log is already open (by this or another process)", dir));
    }
    return ErrnoStatus("lock " + lock_path);
  }

  RECO_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(dir, true));
  EventLogRecovery& rec = log->recovery_;
  uint64_t last_seq = 0;
  uint64_t valid_end = kSegmentHeaderBytes;
  for (size_t i = 0; i < segments.size(); ++i) {
    const SegmentFile& seg = segments[i];
    if (seg.base_seq != last_seq + 1 &&
        !(options.skip_corrupt_records && seg.base_seq > last_seq)) {
      return Status::Corruption(
          fmt::format("{}: starts at sequence {} but the log so far ends at {}", seg.path,
                      seg.base_seq, last_seq));
    }
    bool is_last = i + 1 == segments.size();
    RECO_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(seg.path));
    RECO_ASSIGN_OR_RETURN(ScanResult scan, ScanSegment(seg.path, data, seg.base_seq, is_last,
                                                       options.skip_corrupt_records, 0, nullptr));
    last_seq = scan.last_seq;
    rec.events += scan.events;
    rec.corrupt_bytes_skipped += scan.skipped_bytes;
    valid_end = scan.valid_end;
    if (is_last && valid_end < data.size()) {
      // A preallocated zero tail is cut quietly; a torn record is reported.
      if (!scan.torn_reason.empty()) {
        rec.torn_bytes_dropped = data.size() - valid_end;
        rec.torn_reason = scan.torn_reason;
        spdlog::warn("event log {}: dropped {} bytes of torn tail at {} ({})", seg.path,
                     rec.torn_bytes_dropped, scan.torn_reason, "unacknowledged; truncated");
      }
      if (::truncate(seg.path.c_str(), static_cast<off_t>(valid_end)) != 0) {
        return ErrnoStatus("truncate " + seg.path);
      }
    }
  }

  if (segments.empty()) {
    std::string path;
    RECO_RETURN_IF_ERROR(impl.CreateSegment(dir, 1, &impl.segment_fd, &path));
    segments.push_back({1, path});
  } else {
    const std::string& path = segments.back().path;
    impl.segment_fd = impl.files->Open(path.c_str(), O_WRONLY | O_CLOEXEC, 0);
    if (impl.segment_fd < 0) return ErrnoStatus("open " + path);
    // Makes a truncation above durable before anything new is appended after it.
    RECO_RETURN_IF_ERROR(SyncFd(*impl.files, impl.segment_fd, path));
  }
  rec.segments = segments.size();
  impl.segments = std::move(segments);
  impl.durable_end = valid_end;
  impl.allocated_end = valid_end;
  impl.last_seq = last_seq;
  return log;
}

Result<uint64_t> EventLog::Append(std::span<const Event> events) {
  for (const Event& e : events) RECO_RETURN_IF_ERROR(ValidateEvent(e));
  Impl& impl = *impl_;
  Impl::Writer w;
  w.events = events;
  std::unique_lock<std::mutex> lock(impl.mu);
  if (events.empty()) return impl.last_seq;
  impl.writers.push_back(&w);
  while (!w.done && &w != impl.writers.front()) w.cv.wait(lock);
  if (w.done) {
    if (!w.status.ok()) return w.status;
    return w.last_seq;
  }

  // This thread leads: gather the group, write it, sync it, wake the group.
  Status st = impl.sticky_error;
  uint64_t seq = impl.last_seq;
  std::string buffer;
  size_t group_size = 0;
  for (Impl::Writer* member : impl.writers) {
    if (group_size > 0 && buffer.size() >= kMaxGroupBytes) break;
    for (const Event& e : member->events) EncodeRecord(++seq, e, &buffer);
    member->last_seq = seq;
    ++group_size;
  }
  uint64_t offset = impl.durable_end;
  std::string path = impl.segments.back().path;
  bool rotate =
      offset >= options_.segment_size_limit && impl.segments.back().base_seq <= impl.last_seq;
  uint64_t new_base = impl.last_seq + 1;
  lock.unlock();

  int new_fd = -1;
  if (st.ok() && rotate) {
    // The full segment loses its unused zeros first, so only the last
    // segment ever has a preallocated tail.
    if (impl.files->Ftruncate(impl.segment_fd, static_cast<off_t>(offset)) != 0) {
      st = ErrnoStatus("truncate " + path);
    }
    if (st.ok()) st = SyncFd(*impl.files, impl.segment_fd, path);
    if (st.ok()) st = impl.CreateSegment(dir_, new_base, &new_fd, &path);
    offset = kSegmentHeaderBytes;
    impl.allocated_end = offset;
  }
  int fd = new_fd >= 0 ? new_fd : impl.segment_fd;
  const size_t records_bytes = buffer.size();
  if (offset + records_bytes > impl.allocated_end) {
    // Past the preallocated space: this write extends the file (zeros after
    // the records) so the next commits overwrite in place.
    const uint64_t step =
        std::clamp<uint64_t>(options_.segment_size_limit, 4096, kPreallocateBytes);
    const uint64_t end = (offset + records_bytes + step - 1) / step * step;
    buffer.resize(static_cast<size_t>(end - offset), '\0');
  }
  if (st.ok()) st = WriteAll(*impl.files, fd, buffer, offset, path);
  if (st.ok()) st = SyncFd(*impl.files, fd, path);
  if (st.ok()) st = CheckSegmentLinked(fd, path);
  if (st.ok()) impl.allocated_end = std::max(impl.allocated_end, offset + buffer.size());

  lock.lock();
  if (new_fd >= 0) {
    ::close(impl.segment_fd);
    impl.segment_fd = new_fd;
    impl.segments.push_back({new_base, path});
  }
  if (st.ok()) {
    impl.durable_end = offset + records_bytes;
    impl.last_seq = seq;
  } else if (impl.sticky_error.ok()) {
    spdlog::error("event log {}: append failed, refusing further appends: {}", dir_, st.ToString());
    impl.sticky_error = st;
  }
  for (size_t i = 0; i < group_size; ++i) {
    Impl::Writer* member = impl.writers.front();
    impl.writers.pop_front();
    member->status = st;
    member->done = true;
    if (member != &w) member->cv.notify_one();
  }
  if (!impl.writers.empty()) impl.writers.front()->cv.notify_one();
  if (!st.ok()) return st;
  return w.last_seq;
}

Status EventLog::Replay(uint64_t from_seq, const EventCallback& callback) const {
  std::vector<SegmentFile> segments;
  uint64_t durable_end;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    segments = impl_->segments;
    durable_end = impl_->durable_end;
  }
  for (size_t i = FirstSegmentFor(segments, from_seq); i < segments.size(); ++i) {
    bool is_last = i + 1 == segments.size();
    RECO_ASSIGN_OR_RETURN(std::string data,
                          ReadWholeFile(segments[i].path, is_last ? durable_end : SIZE_MAX));
    // Everything up to durable_end was verified or written by us: no torn tail allowed.
    RECO_ASSIGN_OR_RETURN(ScanResult scan,
                          ScanSegment(segments[i].path, data, segments[i].base_seq, false,
                                      options_.skip_corrupt_records, from_seq, &callback));
    (void)scan;
  }
  return Status::Ok();
}

Status EventLog::health() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->sticky_error;
}

uint64_t EventLog::last_seq() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->last_seq;
}

Status EventLog::ReplayDirectory(const std::string& dir, uint64_t from_seq,
                                 const EventCallback& callback, const EventLogOptions& options) {
  RECO_ASSIGN_OR_RETURN(std::vector<SegmentFile> segments, ListSegments(dir, false));
  if (segments.empty()) {
    return Status::NotFound(fmt::format("{}: no event log segments (events-*.log)", dir));
  }
  uint64_t last_seq = segments[FirstSegmentFor(segments, from_seq)].base_seq - 1;
  for (size_t i = FirstSegmentFor(segments, from_seq); i < segments.size(); ++i) {
    const SegmentFile& seg = segments[i];
    if (seg.base_seq != last_seq + 1 &&
        !(options.skip_corrupt_records && seg.base_seq > last_seq)) {
      return Status::Corruption(
          fmt::format("{}: starts at sequence {} but the log so far ends at {}", seg.path,
                      seg.base_seq, last_seq));
    }
    RECO_ASSIGN_OR_RETURN(std::string data, ReadWholeFile(seg.path));
    RECO_ASSIGN_OR_RETURN(ScanResult scan,
                          ScanSegment(seg.path, data, seg.base_seq, i + 1 == segments.size(),
                                      options.skip_corrupt_records, from_seq, &callback));
    last_seq = scan.last_seq;
  }
  return Status::Ok();
}

Result<uint64_t> ExportEventsCsv(const std::string& log_dir, const std::string& out_path,
                                 const EventLogOptions& options) {
  AtomicFileWriter out;
  RECO_RETURN_IF_ERROR(out.Open(out_path));
  RECO_RETURN_IF_ERROR(out.Append("user_id,item_id,rating,timestamp\n"));
  uint64_t count = 0;
  std::string line;
  RECO_RETURN_IF_ERROR(EventLog::ReplayDirectory(
      log_dir, 0,
      [&](uint64_t, const Event& e) {
        // Floor division: an event at -1 ms happened in second -1, not 0.
        int64_t seconds = e.timestamp_ms / 1000 - (e.timestamp_ms % 1000 < 0 ? 1 : 0);
        line.clear();
        fmt::format_to(std::back_inserter(line), "{},{},{},{}\n", e.user_id, e.item_id,
                       e.value.value_or(1.0f), seconds);
        ++count;
        return out.Append(line);
      },
      options));
  RECO_RETURN_IF_ERROR(out.Commit());
  return count;
}

}  // namespace reco
