#include "reco/fetch.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <fcntl.h>  // AT_FDCWD
#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <stdio.h>   // renameat2
#include <stdlib.h>  // mkstemp, mkdtemp
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

#include "reco/errno_text.h"
#include "reco/file_util.h"
#include "reco/progress.h"

namespace reco {
namespace fs = std::filesystem;

namespace {

// Pinned by tensorflow/datasets (tensorflow_datasets/url_checksums/movielens.txt)
// and independently by several projects that pin the same bytes (keras-rs
// examples, secretflow, DataDeps.jl). ml-latest-small is the 2018-09 release;
// GroupLens may republish "latest", in which case pass --sha256.
constexpr KnownDataset kCatalogue[] = {
    {"ml-100k", "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
     "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4924029},
    {"ml-1m", "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
     "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5917549},
    {"ml-latest-small", "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip",
     "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436", 978202},
};

constexpr uint64_t kDefaultMaxDownloadBytes = uint64_t{2} << 30;
constexpr char kSumsFile[] = "SHA256SUMS";
// SHA256SUMS is a list of file names; anything bigger is not one.
constexpr uint64_t kMaxSumsFileBytes = 16 << 20;
constexpr size_t kMaxSumsLineBytes = 8192;

// Removes a temporary file or directory tree when it goes out of scope, so
// every early return leaves nothing behind.
class ScopedRemoval {
 public:
  explicit ScopedRemoval(fs::path path) : path_(std::move(path)) {}
  ~ScopedRemoval() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScopedRemoval(const ScopedRemoval&) = delete;
  ScopedRemoval& operator=(const ScopedRemoval&) = delete;

 private:
  fs::path path_;
};

class Sha256Hasher {
 public:
  Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1;
  }
  ~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(const void* data, size_t n) {
    if (ok_) ok_ = EVP_DigestUpdate(ctx_, data, n) == 1;
  }
  // Empty if OpenSSL failed (out of memory).
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_, digest, &len) != 1) return "";
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 0xf];
    }
    return hex;
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_;
};

// Lowercases a 64-digit hex string; empty if it is not one.
std::string NormalizeSha256(std::string_view hex) {
  if (hex.size() != 64) return "";
  std::string out;
  for (char c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "";
    out += c;
  }
  return out;
}

// Why a relative path taken from an archive or a SHA256SUMS file could escape
// its directory; empty if it cannot.
std::string UnsafePathReason(std::string_view path) {
  if (path.empty()) return "empty path";
  if (path.front() == '/') return "absolute path";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return "'..' path component";
    start = end + 1;
  }
  return "";
}

bool IsValidDatasetName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

Status VerifyFileSha256(const fs::path& path, const std::string& label,
                        const std::string& expected) {
  RECO_ASSIGN_OR_RETURN(std::string actual, Sha256OfFile(path.string()));
  if (actual != expected) {
    return Status::Corruption(
        fmt::format("sha256 mismatch for {}: expected {}, got {}", label, expected, actual));
  }
  return Status::Ok();
}

Result<fs::path> MakeTempDir(const fs::path& parent, const std::string& prefix) {
  std::string tmpl = (parent / (prefix + "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return Status::IOError(fmt::format("cannot create a staging directory in {}: {}",
                                       parent.string(), ErrnoText(errno)));
  }
  return fs::path(tmpl);
}

// --- Download ---------------------------------------------------------------

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct DownloadState {
  CURL* curl = nullptr;
  std::FILE* file = nullptr;
  uint64_t written = 0;
  uint64_t max_bytes = 0;
  bool over_limit = false;
  int write_errno = 0;
  bool show_progress = false;
  std::string label;
  std::unique_ptr<ProgressBar> bar;
};

size_t WriteToFile(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<DownloadState*>(user);
  const size_t n = size * count;
  long code = 0;
  curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &code);
  // The body of a redirect we are following is not the file.
  if (code >= 300 && code < 400) return n;
  if (n > state->max_bytes - state->written) {
    state->over_limit = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (std::fwrite(data, 1, n, state->file) != n) {
    state->write_errno = errno;
    return 0;
  }
  state->written += n;
  if (state->show_progress) {
    if (!state->bar) {
      curl_off_t length = -1;
      curl_easy_getinfo(state->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
      state->bar = std::make_unique<ProgressBar>(state->label,
                                                 length > 0 ? static_cast<uint64_t>(length) : 0);
    }
    state->bar->Update(state->written);
  }
  return n;
}

// Streams `url` into `file`, following redirects, within the options' limits.
Status Download(const std::string& url, std::FILE* file, const std::string& label,
                uint64_t max_bytes, const FetchOptions& options) {
  InitCurlOnce();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Status::Internal("curl_easy_init failed");
  DownloadState state;
  state.curl = curl.get();
  state.file = file;
  state.max_bytes = max_bytes;
  state.show_progress = options.show_progress;
  state.label = label;
  char error_text[CURL_ERROR_SIZE] = "";

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteToFile);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  // A redirect must not turn an HTTP fetch into file:// or another scheme.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options.stall_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_bytes));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "reco/0.1 (data fetch)");

  CURLcode rc = curl_easy_perform(c);
  if (state.bar) state.bar->Finish(rc == CURLE_OK ? "done" : "failed");
  if (rc == CURLE_OK) return Status::Ok();

  const std::string where = "downloading " + url;
  if (state.over_limit || rc == CURLE_FILESIZE_EXCEEDED) {
    return Status::Corruption(
        fmt::format("{}: response is larger than the {}-byte limit", where, max_bytes));
  }
  if (state.write_errno != 0) {
    return Status::IOError(
        fmt::format("{}: writing the temporary file: {}", where, ErrnoText(state.write_errno)));
  }
  if (rc == CURLE_HTTP_RETURNED_ERROR) {
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    std::string msg = fmt::format("{}: HTTP status {}", where, code);
    return code == 404 ? Status::NotFound(msg) : Status::IOError(msg);
  }
  std::string detail = error_text[0] != '\0' ? error_text : curl_easy_strerror(rc);
  std::string msg = fmt::format("{}: {}", where, detail);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
      return Status::Unavailable(msg);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return Status::InvalidArgument(msg);
    default:
      return Status::IOError(msg);
  }
}

// --- Staging helpers ----------------------------------------------------------

// An archive either wraps everything in one top-level directory (as the
// GroupLens zips do: ml-100k/u.data) or holds the files at its root.
Result<fs::path> DatasetRootOf(const fs::path& unpacked, const std::string& archive_label) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(unpacked, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) return Status::IOError(fmt::format("listing {}: {}", unpacked.string(), ec.message()));
  if (entries.empty()) return Status::Corruption(archive_label + " contains no files");
  if (entries.size() == 1 && entries[0].is_directory(ec) && !entries[0].is_symlink(ec)) {
    return entries[0].path();
  }
  return unpacked;
}

// Copies regular files and directories; anything else would smuggle links or
// devices into the data directory.
Status CopyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (!fs::create_directory(to, ec) || ec) {
    return Status::IOError(fmt::format("creating {}: {}", to.string(), ec.message()));
  }
  fs::recursive_directory_iterator it(from, ec);
  for (fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    const fs::path& src = it->path();
    fs::path dst = to / src.lexically_relative(from);
    fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(st)) {
      fs::create_directory(dst, ec);
    } else if (fs::is_regular_file(st)) {
      fs::copy_file(src, dst, ec);
    } else {
      return Status::InvalidArgument(
          fmt::format("{}: not a regular file or directory; refusing to copy it", src.string()));
    }
    if (ec) {
      return Status::IOError(
          fmt::format("copying {} to {}: {}", src.string(), dst.string(), ec.message()));
    }
  }
  if (ec) return Status::IOError(fmt::format("copying {}: {}", from.string(), ec.message()));
  return Status::Ok();
}

// Puts the staged directory at `final_path`. With an existing final path the
// two are swapped in one renameat2(RENAME_EXCHANGE), so readers see the old or
// the new copy and never a mix; the old one ends up in the staging area, which
// the caller deletes.
Status MoveIntoPlace(const fs::path& staged, const fs::path& final_path, bool replace) {
  if (!replace) {
    if (renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) == 0) {
      return Status::Ok();
    }
    if (errno != EINVAL && errno != ENOSYS) {
      return Status::IOError(fmt::format("moving {} to {}: {}", staged.string(),
                                         final_path.string(), ErrnoText(errno)));
    }
    if (std::rename(staged.c_str(), final_path.c_str()) != 0) {
      return Status::IOError(fmt::format("moving {} to {}: {}", staged.string(),
                                         final_path.string(), ErrnoText(errno)));
    }
    return Status::Ok();
  }
  if (renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, final_path.c_str(), RENAME_EXCHANGE) == 0) {
    return Status::Ok();
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return Status::IOError(fmt::format("replacing {} with {}: {}", final_path.string(),
                                       staged.string(), ErrnoText(errno)));
  }
  // File systems without RENAME_EXCHANGE: move the old copy aside first.
  fs::path old = staged.string() + ".old";
  if (std::rename(final_path.c_str(), old.c_str()) != 0) {
    return Status::IOError(
        fmt::format("moving {} aside: {}", final_path.string(), ErrnoText(errno)));
  }
  if (std::rename(staged.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    std::rename(old.c_str(), final_path.c_str());
    return Status::IOError(
        fmt::format("moving {} to {}: {}", staged.string(), final_path.string(), ErrnoText(err)));
  }
  return Status::Ok();
}

}  // namespace

std::span<const KnownDataset> KnownDatasets() { return kCatalogue; }

const KnownDataset* FindKnownDataset(std::string_view name) {
  for (const KnownDataset& d : kCatalogue) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string Sha256OfBytes(std::string_view bytes) {
  Sha256Hasher hasher;
  hasher.Update(bytes.data(), bytes.size());
  return hasher.HexDigest();
}

Result<std::string> Sha256OfFile(const std::string& path) {
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "rb"),
                                                          std::fclose);
  if (!file) {
    int err = errno;
    std::string msg = fmt::format("cannot open {}: {}", path, ErrnoText(err));
    return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
  }
  Sha256Hasher hasher;
  std::vector<char> buffer(1 << 20);
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    hasher.Update(buffer.data(), n);
  }
  if (std::ferror(file.get())) {
    return Status::IOError(fmt::format("reading {}: {}", path, ErrnoText(errno)));
  }
  std::string hex = hasher.HexDigest();
  if (hex.empty()) return Status::Internal("OpenSSL SHA-256 failed for " + path);
  return hex;
}

Status VerifySha256Sums(const std::string& dir) {
  const fs::path sums_path = fs::path(dir) / kSumsFile;
  const std::string sums_name = sums_path.string();
  std::error_code ec;
  uint64_t size = fs::file_size(sums_path, ec);
  if (ec) {
    std::string msg = fmt::format("{}: {}", sums_name, ec.message());
    return ec == std::errc::no_such_file_or_directory ? Status::NotFound(msg)
                                                      : Status::IOError(msg);
  }
  if (size > kMaxSumsFileBytes) {
    return Status::Corruption(fmt::format("{}: {} bytes is more than the {}-byte limit", sums_name,
                                          size, kMaxSumsFileBytes));
  }
  std::unique_ptr<std::FILE, decltype(&std::fclose)> file(std::fopen(sums_name.c_str(), "rb"),
                                                          std::fclose);
  if (!file) return Status::IOError(fmt::format("cannot open {}: {}", sums_name, ErrnoText(errno)));

  int line_no = 0;
  int listed = 0;
  std::string line;
  int ch = 0;
  while (ch != EOF) {
    line.clear();
    while ((ch = std::fgetc(file.get())) != EOF && ch != '\n') {
      if (line.size() == kMaxSumsLineBytes) {
        return Status::Corruption(fmt::format("{}:{}: line longer than {} bytes", sums_name,
                                              line_no + 1, kMaxSumsLineBytes));
      }
      line += static_cast<char>(ch);
    }
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto bad_line = [&](const std::string& reason) {
      return Status::Corruption(fmt::format("{}:{}: {}", sums_name, line_no, reason));
    };
    if (line.front() == '\\') return bad_line("escaped file names are not supported");
    // "<64 hex><space><space or *><path>", as written by sha256sum.
    if (line.size() < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) {
      return bad_line("expected '<sha256>  <file>'");
    }
    std::string expected = NormalizeSha256(std::string_view(line).substr(0, 64));
    if (expected.empty())
      return bad_line("'" + line.substr(0, 64) + "' is not a sha256 hex digest");
    std::string rel = line.substr(66);
    if (std::string reason = UnsafePathReason(rel); !reason.empty()) {
      return bad_line(fmt::format("refusing path '{}': {}", rel, reason));
    }
    const fs::path file_path = fs::path(dir) / rel;
    Result<std::string> actual = Sha256OfFile(file_path.string());
    if (!actual.ok()) {
      if (actual.status().code() == Status::Code::kNotFound) {
        return Status::Corruption(fmt::format("{}:{}: listed file {} is missing", sums_name,
                                              line_no, file_path.string()));
      }
      return actual.status();
    }
    if (*actual != expected) {
      return Status::Corruption(fmt::format("sha256 mismatch for {}: expected {}, got {}",
                                            file_path.string(), expected, *actual));
    }
    ++listed;
  }
  if (std::ferror(file.get())) {
    return Status::IOError(fmt::format("reading {}: {}", sums_name, ErrnoText(errno)));
  }
  if (listed == 0) return Status::Corruption(sums_name + " lists no files");
  return Status::Ok();
}

Status WriteSha256Sums(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  fs::recursive_directory_iterator it(dir, ec);
  for (fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    if (!fs::is_regular_file(it->symlink_status(ec))) continue;
    std::string rel = it->path().lexically_relative(dir).generic_string();
    if (rel != kSumsFile) files.push_back(std::move(rel));
  }
  if (ec) return Status::IOError(fmt::format("listing {}: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());

  std::string text;
  for (const std::string& rel : files) {
    RECO_ASSIGN_OR_RETURN(std::string hex, Sha256OfFile((fs::path(dir) / rel).string()));
    text += hex + "  " + rel + "\n";
  }
  // Atomic, so a crash never leaves a truncated list that would make a good
  // copy look corrupt.
  return WriteFileAtomically((fs::path(dir) / kSumsFile).string(), text);
}

Status UnpackArchive(const std::string& archive_path, const std::string& dest_dir,
                     const UnpackLimits& limits) {
  std::error_code ec;
  const fs::path root = fs::canonical(dest_dir, ec);
  if (ec || !fs::is_directory(root)) {
    return Status::InvalidArgument(
        fmt::format("cannot unpack into {}: {}", dest_dir, ec ? ec.message() : "not a directory"));
  }
  std::unique_ptr<archive, decltype(&archive_read_free)> in(archive_read_new(), archive_read_free);
  std::unique_ptr<archive, decltype(&archive_write_free)> out(archive_write_disk_new(),
                                                              archive_write_free);
  if (!in || !out) return Status::Internal("libarchive allocation failed");
  archive_read_support_format_all(in.get());
  archive_read_support_filter_all(in.get());
  // Defence in depth behind the checks below: never write through a symlink
  // (an earlier entry could have planted one), never follow "..".
  archive_write_disk_set_options(out.get(),
                                 ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);

  if (archive_read_open_filename(in.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return Status::Corruption(
        fmt::format("cannot read archive {}: {}", archive_path, archive_error_string(in.get())));
  }
  auto refuse = [&](const std::string& entry, const std::string& reason) {
    return Status::Corruption(
        fmt::format("{}: refusing entry '{}': {}", archive_path, entry, reason));
  };

  uint64_t entries = 0;
  uint64_t unpacked_bytes = 0;
  archive_entry* entry = nullptr;
  while (true) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      return Status::Corruption(fmt::format("{}: after {} entries: {}", archive_path, entries,
                                            archive_error_string(in.get())));
    }
    if (++entries > limits.max_entries) {
      return Status::Corruption(
          fmt::format("{}: more than {} entries", archive_path, limits.max_entries));
    }
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr) {
      return Status::Corruption(
          fmt::format("{}: entry {} has no usable file name", archive_path, entries));
    }
    const std::string path = name;
    if (std::string reason = UnsafePathReason(path); !reason.empty()) return refuse(path, reason);

    const mode_t type = archive_entry_filetype(entry);
    const char* hardlink = archive_entry_hardlink(entry);
    if (hardlink != nullptr) {
      if (std::string reason = UnsafePathReason(hardlink); !reason.empty()) {
        return refuse(path, fmt::format("hard link to '{}': {}", hardlink, reason));
      }
      archive_entry_set_hardlink(entry, (root / hardlink).c_str());
    } else if (type == AE_IFLNK) {
      // Only links that descend are safe: a target with ".." could step out
      // through another link even when it looks inside the tree on paper.
      const char* target = archive_entry_symlink(entry);
      std::string target_text = target == nullptr ? "" : target;
      if (std::string reason = UnsafePathReason(target_text); !reason.empty()) {
        return refuse(path, fmt::format("symlink to '{}' could point outside the archive ({})",
                                        target_text, reason));
      }
    } else if (type == AE_IFREG) {
      archive_entry_set_perm(entry, 0644);
    } else if (type == AE_IFDIR) {
      archive_entry_set_perm(entry, 0755);
    } else {
      return refuse(path, "not a regular file, directory or link");
    }
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0 &&
        static_cast<uint64_t>(archive_entry_size(entry)) > limits.max_bytes - unpacked_bytes) {
      return Status::Corruption(
          fmt::format("{}: unpacks to more than {} bytes", archive_path, limits.max_bytes));
    }

    archive_entry_set_pathname(entry, (root / path).c_str());
    if (archive_write_header(out.get(), entry) < ARCHIVE_WARN) {
      return Status::IOError(fmt::format("{}: cannot create '{}': {}", archive_path, path,
                                         archive_error_string(out.get())));
    }
    if (type == AE_IFREG && hardlink == nullptr) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while ((r = archive_read_data_block(in.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        // The declared size may lie; count what is actually written.
        if (size > limits.max_bytes - unpacked_bytes) {
          return Status::Corruption(
              fmt::format("{}: unpacks to more than {} bytes", archive_path, limits.max_bytes));
        }
        unpacked_bytes += size;
        if (archive_write_data_block(out.get(), block, size, offset) < ARCHIVE_OK) {
          return Status::IOError(fmt::format("{}: writing '{}': {}", archive_path, path,
                                             archive_error_string(out.get())));
        }
      }
      if (r != ARCHIVE_EOF) {
        return Status::Corruption(fmt::format("{}: reading '{}': {}", archive_path, path,
                                              archive_error_string(in.get())));
      }
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
      return Status::IOError(fmt::format("{}: finishing '{}': {}", archive_path, path,
                                         archive_error_string(out.get())));
    }
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) {
    return Status::IOError(
        fmt::format("{}: finishing: {}", archive_path, archive_error_string(out.get())));
  }
  if (entries == 0) return Status::Corruption(archive_path + " contains no files");
  return Status::Ok();
}

Result<std::string> FetchDataset(const FetchOptions& options) {
  const std::string& name = options.dataset;
  if (!IsValidDatasetName(name)) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a data set name (letters, digits, '-', '_', '.'; not starting with '.')",
        name));
  }
  const KnownDataset* known = FindKnownDataset(name);
  std::string expected_sha;
  if (!options.sha256.empty()) {
    expected_sha = NormalizeSha256(options.sha256);
    if (expected_sha.empty()) {
      return Status::InvalidArgument(
          fmt::format("--sha256 '{}' is not 64 hexadecimal digits", options.sha256));
    }
  } else if (known != nullptr) {
    expected_sha = known->sha256;
  }
  std::string url = !options.url.empty() ? options.url : known ? std::string(known->url) : "";
  if (options.from_dir.empty()) {
    if (url.empty()) {
      std::string names;
      for (const KnownDataset& d : kCatalogue)
        names += (names.empty() ? "" : ", ") + std::string(d.name);
      return Status::InvalidArgument(fmt::format(
          "unknown data set '{}' (known: {}); pass --url and --sha256, or --from", name, names));
    }
    if (expected_sha.empty()) {
      return Status::InvalidArgument(
          fmt::format("no sha256 is known for '{}'; pass --sha256 with --url", name));
    }
  }

  std::error_code ec;
  fs::create_directories(options.dest_dir, ec);
  if (ec) {
    return Status::IOError(
        fmt::format("cannot create destination directory {}: {}", options.dest_dir, ec.message()));
  }
  const fs::path dest = fs::canonical(options.dest_dir, ec);
  if (ec) return Status::IOError(fmt::format("{}: {}", options.dest_dir, ec.message()));
  const fs::path final_path = dest / name;

  const bool exists = fs::exists(fs::symlink_status(final_path, ec));
  if (exists && !options.force) {
    Status verified = VerifySha256Sums(final_path.string());
    if (verified.ok()) {
      spdlog::info("{} is already present and verified in {}; nothing to do (--force refetches)",
                   name, final_path.string());
      return final_path.string();
    }
    return Status::FailedPrecondition(
        fmt::format("{} already exists but is not a verified copy ({}); pass --force to replace it",
                    final_path.string(), verified.message()));
  }

  // Everything below happens inside this directory, removed on every exit.
  RECO_ASSIGN_OR_RETURN(fs::path staging, MakeTempDir(dest, "." + name + ".staging-"));
  ScopedRemoval staging_cleanup(staging);
  const UnpackLimits limits{options.max_unpacked_bytes, options.max_archive_entries};
  const std::string archive_label = name + ".zip";

  auto unpack = [&](const fs::path& archive) -> Result<fs::path> {
    const fs::path unpacked = staging / "unpacked";
    if (!fs::create_directory(unpacked, ec) || ec) {
      return Status::IOError(fmt::format("creating {}: {}", unpacked.string(), ec.message()));
    }
    RECO_RETURN_IF_ERROR(UnpackArchive(archive.string(), unpacked.string(), limits));
    return DatasetRootOf(unpacked, archive_label);
  };

  fs::path staged_root;
  bool has_verified_sums = false;
  if (!options.from_dir.empty()) {
    const fs::path from_zip = fs::path(options.from_dir) / archive_label;
    const fs::path from_dir = fs::path(options.from_dir) / name;
    if (fs::is_regular_file(from_zip, ec)) {
      if (expected_sha.empty()) {
        return Status::InvalidArgument(
            fmt::format("no sha256 is known for {}; pass --sha256", from_zip.string()));
      }
      spdlog::info("verifying {}", from_zip.string());
      RECO_RETURN_IF_ERROR(VerifyFileSha256(from_zip, from_zip.string(), expected_sha));
      RECO_ASSIGN_OR_RETURN(staged_root, unpack(from_zip));
    } else if (fs::is_directory(from_dir, ec)) {
      Status verified = VerifySha256Sums(from_dir.string());
      if (verified.code() == Status::Code::kNotFound) {
        spdlog::warn("{} has no {}; copying it unverified", from_dir.string(), kSumsFile);
      } else if (!verified.ok()) {
        return verified;
      } else {
        has_verified_sums = true;
      }
      staged_root = staging / name;
      RECO_RETURN_IF_ERROR(CopyTree(from_dir, staged_root));
    } else {
      return Status::NotFound(fmt::format("--from {}: neither {} nor {}/ exists", options.from_dir,
                                          from_zip.string(), from_dir.string()));
    }
  } else {
    const uint64_t max_bytes = options.max_download_bytes != 0 ? options.max_download_bytes
                               : (known != nullptr && options.sha256.empty())
                                   ? known->size_bytes
                                   : kDefaultMaxDownloadBytes;
    const fs::path download_path = staging / archive_label;
    std::FILE* file = std::fopen(download_path.c_str(), "wbx");
    if (file == nullptr) {
      return Status::IOError(
          fmt::format("cannot create {}: {}", download_path.string(), ErrnoText(errno)));
    }
    spdlog::info("downloading {}", url);
    Status downloaded = Download(url, file, archive_label, max_bytes, options);
    if (std::fclose(file) != 0 && downloaded.ok()) {
      downloaded =
          Status::IOError(fmt::format("writing {}: {}", download_path.string(), ErrnoText(errno)));
    }
    RECO_RETURN_IF_ERROR(downloaded);
    RECO_RETURN_IF_ERROR(VerifyFileSha256(download_path, archive_label, expected_sha));
    RECO_ASSIGN_OR_RETURN(staged_root, unpack(download_path));
  }

  // The list a later fetch verifies to decide there is nothing to do. An
  // archive that ships its own list gets it checked now.
  if (!has_verified_sums) {
    if (fs::exists(staged_root / kSumsFile, ec)) {
      RECO_RETURN_IF_ERROR(VerifySha256Sums(staged_root.string()));
    } else {
      RECO_RETURN_IF_ERROR(WriteSha256Sums(staged_root.string()));
    }
  }
  RECO_RETURN_IF_ERROR(MoveIntoPlace(staged_root, final_path, exists));
  spdlog::info("{} is ready in {}", name, final_path.string());
  return final_path.string();
}

}  // namespace reco
