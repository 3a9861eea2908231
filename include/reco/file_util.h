// Files written so that a crash never leaves half of one, and files read
// without trusting their size. Every file reco writes whole (models, lists,
// reports, CSV exports, port files) goes through WriteFileAtomically or
// AtomicFileWriter: write a temporary file beside the target, fsync it,
// rename it over the target, fsync the directory. Readers see the old file or
// the new one, never a mix, and after Commit returns the new one survives a
// power cut. (A target that is a stream, such as /dev/stdout, is the one
// exception: see AtomicFileWriter.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "reco/status.h"

namespace reco {

inline constexpr size_t kNoSizeLimit = std::numeric_limits<size_t>::max();

// The whole regular file at `path`. NotFound when it does not exist,
// InvalidArgument when it holds more than max_bytes (checked before
// allocating), IOError for any other failure.
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = kNoSizeLimit);

// The first max_bytes bytes of `path`, or all of it when it is shorter.
Result<std::string> ReadFilePrefix(const std::string& path, size_t max_bytes);

// fsync of a directory, so that a rename or a new entry in it is durable.
Status SyncDirectory(const std::string& dir);
// SyncDirectory of the directory holding `path` ("." for a bare name).
Status SyncParentDirectory(const std::string& path);

// Creates `path`, which must not exist, writes `bytes`, fsyncs and closes it.
// For files inside a directory that is itself renamed into place later.
Status WriteNewFileSynced(const std::string& path, std::string_view bytes);

// Replaces `path` with `bytes` atomically and durably (see the top of this
// file). On failure `path` is unchanged and no temporary file is left. A
// stream target (AtomicFileWriter below) is written in place instead.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// The temporary files beside a target are named "<target>.tmp.<pid>.<n>",
// unique per process and per writer, so two writers never share one. A crash
// can leave one behind; IsTemporaryFileName recognises them for clean-up.
bool IsTemporaryFileName(std::string_view file_name);

// WriteFileAtomically for contents produced piece by piece (large CSVs, the
// model file): Append() as often as needed, then Commit(). Dropping the
// writer without a successful Commit() removes the temporary file and leaves
// the target untouched. Not thread-safe.
//
// A target that is a stream, not a file to replace, is written in place
// instead: /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N through a
// dup of that descriptor (so `--json /dev/stdout > out.json` writes into
// out.json at the shell's offset and never renames a file over the
// /dev/stdout link); any other path under /proc/ and anything that exists
// and is not a regular file or a directory (a FIFO, a terminal, /dev/null)
// opened for appending. Such a write is neither atomic nor fsync'ed, and
// what was written before a failure or an abandoned write stays written: the
// reader is a stream.
class AtomicFileWriter {
 public:
  AtomicFileWriter() = default;
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Creates the temporary file for `path`.
  Status Open(const std::string& path);
  // Buffered; the first failure sticks and is returned by every later call.
  Status Append(std::string_view bytes);
  // Flushes, fsyncs, closes, renames over the target, fsyncs the directory.
  Status Commit();
  // As Commit(), but the committed file stays open: returns its descriptor
  // (write-only, positioned at the end), which the caller now owns.
  Result<int> CommitAndKeepOpen();

  const std::string& path() const { return path_; }
  // The file being written: a temporary beside path(), or path() itself for
  // a target written in place.
  const std::string& temp_path() const { return tmp_; }
  bool in_place() const { return in_place_; }
  uint64_t bytes_appended() const { return bytes_; }

 private:
  Status Flush();
  Status Finish(bool keep_open, int* fd_out);
  void Abandon();

  std::string path_;
  std::string tmp_;
  int fd_ = -1;
  bool in_place_ = false;
  std::string buffer_;
  uint64_t bytes_ = 0;
  Status error_;
};

}  // namespace reco
