#include "reco/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "reco/errno_text.h"

namespace reco {
namespace {

constexpr size_t kWriteBufferBytes = size_t{1} << 16;
constexpr std::string_view kTempMarker = ".tmp.";

std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + std::string(kTempMarker) + std::to_string(::getpid()) + "." +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot write " + path, errno);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status SyncFd(int fd, const std::string& path) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return ErrnoStatus("cannot fsync " + path, errno);
  }
  return Status::Ok();
}

// Reads up to `limit` bytes; with `refuse_larger`, a file holding more than
// `limit` bytes is an error rather than a prefix.
Result<std::string> ReadUpTo(const std::string& path, size_t limit, bool refuse_larger) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(path + ": does not exist");
    return ErrnoStatus("cannot open " + path, err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoStatus("cannot stat " + path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IOError(path + ": not a regular file");
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  if (refuse_larger && size > limit) {
    ::close(fd);
    return Status::InvalidArgument(path + ": " + std::to_string(size) +
                                   " bytes, more than the limit of " + std::to_string(limit));
  }
  // Sized by the file itself (never by a field inside it), and never beyond
  // the limit; a file that grows while we read is read to the limit only.
  std::string bytes(static_cast<size_t>(std::min<uint64_t>(size, limit)), '\0');
  size_t done = 0;
  for (;;) {
    if (done == bytes.size()) {
      if (bytes.size() == limit) break;
      // Grew since fstat: read on in chunks, still bounded by the limit.
      bytes.resize(std::min(limit, bytes.size() + kWriteBufferBytes));
    }
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus("cannot read " + path, err);
    }
    if (n == 0) break;  // end of file (it may have shrunk: take what is there)
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  if (refuse_larger && done == limit) {
    // At the limit: one more byte means it grew past it while we read.
    char extra;
    ssize_t n;
    do {
      n = ::read(fd, &extra, 1);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
      ::close(fd);
      return Status::InvalidArgument(path + ": more than the limit of " + std::to_string(limit) +
                                     " bytes");
    }
  }
  ::close(fd);
  return bytes;
}

// The descriptor a path names by alias: /dev/stdout, /dev/stderr, /dev/fd/N
// and /proc/self/fd/N; -1 for any other path. Such a target is written
// through a dup of that descriptor, not reopened: the write then shares the
// caller's file offset (so a shell's later output follows it rather than
// overwriting it) and works for sockets, which cannot be reopened.
int DescriptorAlias(const std::string& path) {
  if (path == "/dev/stdout") return STDOUT_FILENO;
  if (path == "/dev/stderr") return STDERR_FILENO;
  for (std::string_view prefix :
       {std::string_view("/dev/fd/"), std::string_view("/proc/self/fd/")}) {
    if (!path.starts_with(prefix)) continue;
    const std::string_view digits = std::string_view(path).substr(prefix.size());
    int fd = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), fd);
    if (ec != std::errc() || end != digits.data() + digits.size() || fd < 0) return -1;
    return fd;
  }
  return -1;
}

// True for the other targets AtomicFileWriter writes in place (see
// file_util.h): anything under /proc and anything that exists and is not a
// regular file or a directory (a FIFO, a terminal, /dev/null).
bool IsStream(const std::string& path) {
  std::error_code ec;
  const std::string absolute = std::filesystem::absolute(path, ec).lexically_normal().string();
  if (!ec && absolute.starts_with("/proc/")) return true;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

}  // namespace

Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  return ReadUpTo(path, max_bytes, /*refuse_larger=*/true);
}

Result<std::string> ReadFilePrefix(const std::string& path, size_t max_bytes) {
  return ReadUpTo(path, max_bytes, /*refuse_larger=*/false);
}

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory " + dir, errno);
  Status st = SyncFd(fd, dir);
  ::close(fd);
  return st.ok() ? st : Status::IOError("cannot fsync directory " + dir + ": " + st.message());
}

Status SyncParentDirectory(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return SyncDirectory(dir.empty() ? "." : dir);
}

Status WriteNewFileSynced(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("cannot create " + path, errno);
  Status st = WriteAll(fd, bytes, path);
  if (st.ok()) st = SyncFd(fd, path);
  if (::close(fd) != 0 && st.ok()) st = ErrnoStatus("cannot close " + path, errno);
  return st;
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  AtomicFileWriter writer;
  RECO_RETURN_IF_ERROR(writer.Open(path));
  RECO_RETURN_IF_ERROR(writer.Append(bytes));
  return writer.Commit();
}

bool IsTemporaryFileName(std::string_view file_name) {
  const size_t marker = file_name.rfind(kTempMarker);
  if (marker == std::string_view::npos || marker == 0) return false;
  // ".tmp.<pid>.<n>": digits and one dot after the marker.
  std::string_view rest = file_name.substr(marker + kTempMarker.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) return false;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (i != dot && (rest[i] < '0' || rest[i] > '9')) return false;
  }
  return true;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    if (!in_place_) ::unlink(tmp_.c_str());
  }
}

Status AtomicFileWriter::Open(const std::string& path) {
  Abandon();
  path_ = path;
  const int alias = DescriptorAlias(path);
  in_place_ = alias >= 0 || IsStream(path);
  tmp_ = in_place_ ? path : TempPathFor(path);
  buffer_.clear();
  bytes_ = 0;
  error_ = Status::Ok();
  if (alias >= 0) {
    fd_ = ::fcntl(alias, F_DUPFD_CLOEXEC, 0);
  } else if (in_place_) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  } else {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd_ < 0) {
    error_ = ErrnoStatus((in_place_ ? "cannot open " : "cannot create ") + tmp_, errno);
    return error_;
  }
  buffer_.reserve(kWriteBufferBytes);
  return Status::Ok();
}

Status AtomicFileWriter::Flush() {
  if (!error_.ok()) return error_;
  // An in-place target may be this process's own stdout (/dev/stdout):
  // what stdio holds for it goes first, so the output keeps its order.
  if (in_place_) std::fflush(nullptr);
  error_ = WriteAll(fd_, buffer_, tmp_);
  buffer_.clear();
  return error_;
}

Status AtomicFileWriter::Append(std::string_view bytes) {
  if (fd_ < 0 && error_.ok()) error_ = Status::FailedPrecondition("AtomicFileWriter is not open");
  if (!error_.ok()) return error_;
  bytes_ += bytes.size();
  if (buffer_.size() + bytes.size() <= kWriteBufferBytes) {
    buffer_.append(bytes);
    return Status::Ok();
  }
  RECO_RETURN_IF_ERROR(Flush());
  if (bytes.size() >= kWriteBufferBytes) {
    error_ = WriteAll(fd_, bytes, tmp_);
    return error_;
  }
  buffer_.append(bytes);
  return Status::Ok();
}

Status AtomicFileWriter::Finish(bool keep_open, int* fd_out) {
  if (fd_ < 0 && error_.ok()) error_ = Status::FailedPrecondition("AtomicFileWriter is not open");
  Status st = error_;
  if (st.ok()) st = Flush();
  if (in_place_) {
    // A stream: nothing to fsync (pipes and terminals refuse it) or rename.
    if (keep_open && st.ok()) {
      *fd_out = fd_;
    } else if (fd_ >= 0 && ::close(fd_) != 0 && st.ok()) {
      st = ErrnoStatus("cannot close " + path_, errno);
    }
    fd_ = -1;
    error_ = st;
    return st;
  }
  if (st.ok()) st = SyncFd(fd_, tmp_);
  if (st.ok() && !keep_open) {
    const int rc = ::close(fd_);
    const int err = errno;
    fd_ = -1;
    if (rc != 0) st = ErrnoStatus("cannot close " + tmp_, err);
  }
  if (st.ok() && std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    st = ErrnoStatus("cannot rename " + tmp_ + " to " + path_, errno);
  }
  if (!st.ok()) {
    error_ = st;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(tmp_.c_str());
    return st;
  }
  if (keep_open) {
    *fd_out = fd_;
    fd_ = -1;
  }
  // The rename is done; a failing directory fsync only weakens durability,
  // but the caller asked for durable, so it is still an error.
  st = SyncParentDirectory(path_);
  if (!st.ok() && keep_open) {
    ::close(*fd_out);
    *fd_out = -1;
  }
  error_ = st;
  return st;
}

Status AtomicFileWriter::Commit() { return Finish(/*keep_open=*/false, nullptr); }

Result<int> AtomicFileWriter::CommitAndKeepOpen() {
  int fd = -1;
  RECO_RETURN_IF_ERROR(Finish(/*keep_open=*/true, &fd));
  return fd;
}

}  // namespace reco
