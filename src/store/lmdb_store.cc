// LmdbStore: an embedded LMDB environment (one unnamed database).
//
// Reads are the hot path of the server, so an environment is opened once per
// process and path (LMDB forbids opening one twice in a process) and read
// transactions are pooled: with MDB_NOTLS a read transaction is not tied to a
// thread, so a Get renews an idle reset transaction (no allocation, no
// reader-slot churn), copies the value and resets it again.
//
// The map is virtual address space, not disk; it starts at map_size and the
// writer doubles it on MDB_MAP_FULL. Changing the map size must not race with
// readers holding pointers into the map, so readers hold remap_mu shared and
// resizes take it exclusively (also when another process grew the map and
// LMDB reports MDB_MAP_RESIZED).
//
// LMDB has no page checksums and maps the file, so damage to the file must
// not reach a read as a pointer past its end (SIGBUS). At open the file must
// hold every page up to the environment's last used page (a truncated file,
// or a meta page claiming more pages than exist, is refused), and every key
// and value a read returns must lie inside those pages before it is copied
// (a damaged node's size would otherwise make the copy run off the file).
// What LMDB reads by itself while searching a page (node offsets, key
// lengths) is not checked here: see docs/store.md, "Damage".
#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "reco/coding.h"
#include "reco/errno_text.h"
#include "store_internal.h"

namespace reco::store_internal {
namespace {

constexpr size_t kScanChunkEntries = 1024;
constexpr size_t kScanChunkBytes = size_t{4} << 20;
constexpr uint64_t kDeleteChunk = 10000;  // deletes per write transaction
constexpr int kMaxResizeRetries = 16;
// Our own return code (outside LMDB's and errno's ranges): a record returned
// by LMDB lies outside the pages the data file holds.
constexpr int kRecordOutsideFile = -30500;

bool IsDamage(int rc) {
  return rc == kRecordOutsideFile || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND ||
         rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH;
}

// What the data file's meta pages (pages 0 and 1) claim, checked before
// LMDB sees them: LMDB reads them with pread and checks their flags, magic
// and version, but then maps the file and trusts the page size and page
// count of the newer one, so a damaged page size or count makes it read
// past the end of the file (SIGBUS) inside mdb_env_open or the first read.
// The offsets are LMDB 0.9's layout on 64-bit hosts (mdb.c: MDB_page header
// of 16 bytes, then MDB_meta): magic u32 at 16, version u32 at 20, the free
// and main MDB_db records (48 bytes each) at 40 and 88 -- the free one's
// first u32 holds the page size, each ends with its root page number -- the
// last used page at 136 and the transaction id at 144.
static_assert(sizeof(size_t) == 8 && std::endian::native == std::endian::little,
              "the meta page offsets below are those of 64-bit little-endian LMDB");
constexpr size_t kMetaBytes = 152;
constexpr uint32_t kLmdbMagic = 0xBEEFC0DE;
constexpr uint32_t kLmdbDataVersion = 1;
constexpr uint16_t kMetaPageFlag = 0x08;    // P_META
constexpr uint64_t kNoRoot = ~uint64_t{0};  // P_INVALID: an empty database

Status TruncatedError(const std::string& data_file, uint64_t file_size, uint64_t pages,
                      uint64_t page_size) {
  return Status::Corruption(
      "lmdb " + data_file + ": truncated or damaged: the file has " + std::to_string(file_size) +
      " bytes but its meta page counts " + std::to_string(pages) + " pages of " +
      std::to_string(page_size) + " bytes (" + std::to_string(pages * page_size) +
      " bytes); restore the store from a copy or rebuild it (reco precompute)");
}

// OK for a data file whose two meta pages LMDB can use without reading past
// the file; Corruption naming the file and the defect otherwise. A file that
// does not start with a meta page is left to mdb_env_open (MDB_INVALID).
Status CheckMetaPages(const std::string& data_file, int fd, uint64_t file_size) {
  unsigned char page[kMetaBytes];
  auto read_meta = [&](uint64_t offset) {
    return offset <= file_size && file_size - offset >= kMetaBytes &&
           pread(fd, page, kMetaBytes, static_cast<off_t>(offset)) ==
               static_cast<ssize_t>(kMetaBytes);
  };
  auto damaged = [&](int n, const std::string& why) {
    return Status::Corruption("lmdb " + data_file + ": meta page " + std::to_string(n) +
                              " is damaged: " + why +
                              "; restore the store from a copy or rebuild it (reco precompute)");
  };
  uint64_t page_size = 0;
  for (int n = 0; n < 2; ++n) {
    if (!read_meta(n * page_size)) {
      if (n == 0) return Status::Ok();  // too short for LMDB too: MDB_INVALID
      return damaged(n, "the file ends before it");
    }
    if ((DecodeFixed16(page + 10) & kMetaPageFlag) == 0 || DecodeFixed32(page + 16) != kLmdbMagic) {
      if (n == 0) return Status::Ok();  // not an LMDB file: MDB_INVALID
      return damaged(n, "no meta page header");
    }
    if (DecodeFixed32(page + 20) != kLmdbDataVersion) return Status::Ok();  // MDB_VERSION_MISMATCH
    const uint64_t psize = DecodeFixed32(page + 40);
    if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0) {
      return damaged(n, "page size " + std::to_string(psize));
    }
    if (n == 1 && psize != page_size) {
      return damaged(n, "page size " + std::to_string(psize) + " differs from meta page 0's " +
                            std::to_string(page_size));
    }
    page_size = psize;
    const uint64_t last_page = DecodeFixed64(page + 136);
    if (last_page < 1 || last_page >= file_size / page_size) {
      return TruncatedError(data_file, file_size, last_page + 1, page_size);
    }
    for (size_t root_at : {size_t{80}, size_t{128}}) {
      const uint64_t root = DecodeFixed64(page + root_at);
      if (root != kNoRoot && (root < 2 || root > last_page)) {
        return damaged(n, "a root page (" + std::to_string(root) + ") is not a data page");
      }
    }
  }
  return Status::Ok();
}

// The address range of this process's mapping of the file (dev, ino) at
// offset 0, from /proc/self/maps; {0, 0} when there is not exactly one.
std::pair<uintptr_t, uintptr_t> FindFileMapping(dev_t dev, ino_t ino) {
  std::pair<uintptr_t, uintptr_t> found{0, 0};
  int matches = 0;
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return found;
  char line[512];
  while (std::fgets(line, sizeof(line), maps) != nullptr) {
    uintptr_t begin = 0, end = 0;
    unsigned long long offset = 0, inode = 0;
    unsigned major_no = 0, minor_no = 0;
    char perms[8];
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %x:%x %llu", &begin, &end, perms,
                    &offset, &major_no, &minor_no, &inode) != 7) {
      continue;
    }
    if (offset == 0 && inode == ino && major_no == major(dev) && minor_no == minor(dev)) {
      found = {begin, end};
      ++matches;
    }
  }
  std::fclose(maps);
  return matches == 1 ? found : std::pair<uintptr_t, uintptr_t>{0, 0};
}

class LmdbEnv {
 public:
  LmdbEnv(std::string path, MDB_env* env, MDB_dbi dbi, uint64_t page_size, uint64_t used_bytes)
      : path_(std::move(path)),
        env_(env),
        dbi_(dbi),
        page_size_(page_size),
        used_bytes_(used_bytes) {
    LocateMap();
  }
  ~LmdbEnv() {
    for (MDB_txn* txn : idle_readers_) mdb_txn_abort(txn);
    mdb_env_close(env_);
  }

  const std::string& path() const { return path_; }
  MDB_env* env() const { return env_; }
  MDB_dbi dbi() const { return dbi_; }

  Status Error(int rc, const std::string& what) const {
    if (rc == kRecordOutsideFile) {
      return Status::Corruption("lmdb " + path_ + ": " + what +
                                ": a record points outside the data file (damaged page)");
    }
    std::string msg = "lmdb " + path_ + ": " + what + ": " + mdb_strerror(rc);
    if (rc == MDB_READERS_FULL) return Status::Unavailable(msg + " (raise ?max_readers=)");
    if (IsDamage(rc)) return Status::Corruption(msg);
    return Status::IOError(msg);
  }

  // 0 when `v`, returned by a read transaction, lies inside the pages the
  // data file holds, else kRecordOutsideFile. Call under remap_mu_ (shared).
  int CheckInFile(const MDB_val& v) {
    if (v.mv_size > kMaxValueSize) return kRecordOutsideFile;
    if (map_begin_ == 0) return 0;  // mapping not found: only the size rule
    const auto p = reinterpret_cast<uintptr_t>(v.mv_data);
    if (p < map_begin_ || p >= map_end_) return kRecordOutsideFile;
    const uint64_t offset = p - map_begin_;
    uint64_t used = used_bytes_.load(std::memory_order_relaxed);
    if (offset <= used && v.mv_size <= used - offset) return 0;
    // Commits since we last looked (this or another process) add pages;
    // LMDB writes them before the meta page that counts them.
    MDB_envinfo info;
    if (mdb_env_info(env_, &info) != 0) return kRecordOutsideFile;
    used = (static_cast<uint64_t>(info.me_last_pgno) + 1) * page_size_;
    uint64_t seen = used_bytes_.load(std::memory_order_relaxed);
    while (seen < used && !used_bytes_.compare_exchange_weak(seen, used)) {
    }
    return offset <= used && v.mv_size <= used - offset ? 0 : kRecordOutsideFile;
  }

  // Runs fn(txn) in a pooled read transaction; fn's return is an LMDB code.
  template <typename Fn>
  Status Read(const char* what, Fn&& fn) {
    for (int attempt = 0;; ++attempt) {
      int rc = 0;
      {
        std::shared_lock lock(remap_mu_);
        MDB_txn* txn = nullptr;
        rc = AcquireReader(&txn);
        if (rc == 0) {
          rc = fn(txn);
          ReleaseReader(txn);
        }
      }
      if (rc == MDB_MAP_RESIZED && attempt < kMaxResizeRetries) {
        RECO_RETURN_IF_ERROR(AdoptMapSize());
        continue;
      }
      if (rc == 0 || rc == MDB_NOTFOUND) return rc == 0 ? Status::Ok() : Status::NotFound(what);
      return Error(rc, what);
    }
  }

  // Runs fn(txn) in a write transaction and commits it, growing the map and
  // retrying when it is full. fn must be safe to run again after an abort.
  template <typename Fn>
  Status Write(const char* what, Fn&& fn) {
    std::lock_guard write_lock(write_mu_);
    for (int attempt = 0;; ++attempt) {
      int rc = 0;
      {
        std::shared_lock lock(remap_mu_);
        MDB_txn* txn = nullptr;
        rc = mdb_txn_begin(env_, nullptr, 0, &txn);
        if (rc == 0) {
          rc = fn(txn);
          if (rc == 0) {
            rc = mdb_txn_commit(txn);
          } else {
            mdb_txn_abort(txn);
          }
        }
      }
      if (rc == MDB_MAP_FULL && attempt < kMaxResizeRetries) {
        RECO_RETURN_IF_ERROR(GrowMap());
        continue;
      }
      if (rc == MDB_MAP_RESIZED && attempt < kMaxResizeRetries) {
        RECO_RETURN_IF_ERROR(AdoptMapSize());
        continue;
      }
      return rc == 0 ? Status::Ok() : Error(rc, what);
    }
  }

 private:
  int AcquireReader(MDB_txn** txn) {
    {
      std::lock_guard lock(pool_mu_);
      if (!idle_readers_.empty()) {
        *txn = idle_readers_.back();
        idle_readers_.pop_back();
      }
    }
    if (*txn != nullptr) {
      int rc = mdb_txn_renew(*txn);
      if (rc != 0) {
        mdb_txn_abort(*txn);
        *txn = nullptr;
      }
      return rc;
    }
    return mdb_txn_begin(env_, nullptr, MDB_RDONLY, txn);
  }

  void ReleaseReader(MDB_txn* txn) {
    mdb_txn_reset(txn);
    std::lock_guard lock(pool_mu_);
    idle_readers_.push_back(txn);
  }

  // Another process grew the map: adopt its size (0 = read it from the file).
  Status AdoptMapSize() {
    std::unique_lock lock(remap_mu_);
    int rc = mdb_env_set_mapsize(env_, 0);
    LocateMap();
    return rc == 0 ? Status::Ok() : Error(rc, "adopting the grown map size");
  }

  Status GrowMap() {
    std::unique_lock lock(remap_mu_);
    MDB_envinfo info;
    int rc = mdb_env_info(env_, &info);
    if (rc == 0) rc = mdb_env_set_mapsize(env_, info.me_mapsize * 2);
    LocateMap();
    return rc == 0 ? Status::Ok() : Error(rc, "growing the map");
  }

  // Finds where the data file is mapped (LMDB does not say; resizing may move
  // it). Called at construction and under remap_mu_ (exclusive).
  void LocateMap() {
    map_begin_ = map_end_ = 0;
    mdb_filehandle_t fd = -1;
    struct stat st;
    if (mdb_env_get_fd(env_, &fd) != 0 || fstat(fd, &st) != 0) return;
    std::tie(map_begin_, map_end_) = FindFileMapping(st.st_dev, st.st_ino);
  }

  std::string path_;
  MDB_env* env_;
  MDB_dbi dbi_;
  const uint64_t page_size_;
  // Bytes of the file in use (last page + 1, times the page size): grows.
  std::atomic<uint64_t> used_bytes_;
  // The mapping; guarded by remap_mu_. 0: unknown, records are not checked.
  uintptr_t map_begin_ = 0;
  uintptr_t map_end_ = 0;
  std::shared_mutex remap_mu_;
  std::mutex write_mu_;
  std::mutex pool_mu_;
  std::vector<MDB_txn*> idle_readers_;  // reset, ready for mdb_txn_renew
};

MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view FromVal(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// Whether another process has the environment in `dir` open. LMDB holds an
// fcntl lock on byte 0 of lock.mdb for as long as a process has the
// environment open, exclusively while the first opener creates and
// initialises the data file; a process that opens the environment then waits
// for that lock. (F_GETLK ignores this process's own locks; the caller holds
// no environment of this directory open, so closing the probe's descriptor
// releases none of LMDB's.)
bool OpenByAnotherProcess(const std::filesystem::path& dir) {
  const int fd = open((dir / "lock.mdb").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 1;
  const bool in_use = fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  close(fd);
  return in_use;
}

Result<std::shared_ptr<LmdbEnv>> OpenEnv(const LmdbOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.path, ec);
  if (ec) {
    return Status::IOError("lmdb: cannot create directory " + options.path + ": " + ec.message());
  }
  std::filesystem::path canonical = std::filesystem::weakly_canonical(options.path, ec);
  if (ec) return Status::IOError("lmdb: cannot resolve " + options.path + ": " + ec.message());
  std::string key = canonical.string();

  static std::mutex registry_mu;
  static auto* registry = new std::map<std::string, std::weak_ptr<LmdbEnv>>();
  std::lock_guard lock(registry_mu);
  if (auto it = registry->find(key); it != registry->end()) {
    if (auto env = it->second.lock()) return env;
  }

  // LMDB starts a fresh environment in an empty data file: one that exists
  // but is empty lost its contents (truncated, or a full disk), unless
  // another process is creating the environment right now (ranks of one MPI
  // job open a new store together): LMDB's own lock then makes us wait for
  // it, and the checks after mdb_env_open see the initialised file.
  const std::string data_file = (canonical / "data.mdb").string();
  if (int fd = open(data_file.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    struct stat st;
    Status checked =
        fstat(fd, &st) != 0 ? Status::IOError("lmdb " + data_file + ": fstat: " + ErrnoText(errno))
        : st.st_size != 0   ? CheckMetaPages(data_file, fd, static_cast<uint64_t>(st.st_size))
        : OpenByAnotherProcess(canonical)
            ? Status::Ok()
            : Status::Corruption("lmdb " + data_file +
                                 ": the data file is empty (truncated?); restore the "
                                 "store or remove the directory to start an empty one");
    close(fd);
    RECO_RETURN_IF_ERROR(checked);
  }

  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  auto fail = [&](const char* what) -> Status {
    std::string msg = "lmdb " + options.path + ": " + what + ": " + mdb_strerror(rc);
    if (env != nullptr) mdb_env_close(env);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
      return Status::Corruption("lmdb " + data_file +
                                ": not an LMDB data file, or its meta pages are damaged (" +
                                mdb_strerror(rc) + ")");
    }
    return Status::IOError(msg);
  };
  if (rc != 0) return fail("mdb_env_create");
  if ((rc = mdb_env_set_maxreaders(env, options.max_readers)) != 0) return fail("max_readers");
  if ((rc = mdb_env_set_mapsize(env, options.map_size)) != 0) return fail("map_size");
  if ((rc = mdb_env_open(env, key.c_str(), MDB_NOTLS, 0664)) != 0) return fail("mdb_env_open");

  // Before anything reads a page: the file must hold every page the meta
  // page says is in use. (LMDB reads the meta pages with pread and checks
  // their magic and version; it trusts the page count.)
  MDB_envinfo info;
  MDB_stat stat;
  mdb_filehandle_t fd = -1;
  struct stat st;
  if ((rc = mdb_env_info(env, &info)) != 0 || (rc = mdb_env_stat(env, &stat)) != 0 ||
      (rc = mdb_env_get_fd(env, &fd)) != 0) {
    return fail("reading the environment's size");
  }
  if (fstat(fd, &st) != 0) {
    rc = errno;
    return fail("fstat");
  }
  const uint64_t page_size = stat.ms_psize;
  const uint64_t pages = static_cast<uint64_t>(info.me_last_pgno) + 1;
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0) {
    mdb_env_close(env);
    return Status::Corruption("lmdb " + data_file + ": damaged meta page: page size " +
                              std::to_string(page_size));
  }
  if (pages > file_size / page_size) {
    mdb_env_close(env);
    return TruncatedError(data_file, file_size, pages, page_size);
  }

  int stale = 0;
  mdb_reader_check(env, &stale);  // frees slots of crashed reader processes

  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  if ((rc = mdb_txn_begin(env, nullptr, 0, &txn)) != 0) return fail("opening the database");
  if ((rc = mdb_dbi_open(txn, nullptr, 0, &dbi)) != 0) {
    mdb_txn_abort(txn);
    return fail("opening the database");
  }
  if ((rc = mdb_txn_commit(txn)) != 0) return fail("opening the database");

  auto shared = std::make_shared<LmdbEnv>(key, env, dbi, page_size, pages * page_size);
  (*registry)[key] = shared;
  return shared;
}

class LmdbStore final : public KvStore {
 public:
  LmdbStore(std::string uri, std::shared_ptr<LmdbEnv> env)
      : uri_(std::move(uri)), env_(std::move(env)) {}

  Status Get(std::string_view key, std::string* value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    MDB_dbi dbi = env_->dbi();
    Status st = env_->Read("get", [&](MDB_txn* txn) {
      MDB_val k = ToVal(key), v;
      int rc = mdb_get(txn, dbi, &k, &v);
      if (rc == 0) rc = env_->CheckInFile(v);
      if (rc == 0) value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
      return rc;
    });
    if (st.code() == Status::Code::kNotFound) return Status::NotFound("key not found");
    return st;
  }

  Status Put(std::string_view key, std::string_view value) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    RECO_RETURN_IF_ERROR(ValidateValue(value));
    MDB_dbi dbi = env_->dbi();
    return env_->Write("put", [&](MDB_txn* txn) {
      MDB_val k = ToVal(key), v = ToVal(value);
      return mdb_put(txn, dbi, &k, &v, 0);
    });
  }

  Status Delete(std::string_view key) override {
    RECO_RETURN_IF_ERROR(ValidateKey(key));
    MDB_dbi dbi = env_->dbi();
    return env_->Write("delete", [&](MDB_txn* txn) {
      MDB_val k = ToVal(key);
      int rc = mdb_del(txn, dbi, &k, nullptr);
      return rc == MDB_NOTFOUND ? 0 : rc;
    });
  }

  Status Write(const WriteBatch& batch) override {
    RECO_RETURN_IF_ERROR(ValidateBatch(batch));
    if (batch.empty()) return Status::Ok();
    MDB_dbi dbi = env_->dbi();
    return env_->Write("write batch", [&](MDB_txn* txn) {
      for (const WriteBatch::Op& op : batch.ops()) {
        MDB_val k = ToVal(op.key);
        int rc;
        if (op.kind == WriteBatch::OpKind::kPut) {
          MDB_val v = ToVal(op.value);
          rc = mdb_put(txn, dbi, &k, &v, 0);
        } else {
          rc = mdb_del(txn, dbi, &k, nullptr);
          if (rc == MDB_NOTFOUND) rc = 0;
        }
        if (rc != 0) return rc;
      }
      return 0;
    });
  }

  // Copies a chunk of entries per read transaction, then calls fn outside it,
  // so fn may take its time or call back into the store.
  Status Scan(std::string_view prefix, const ScanFn& fn) override {
    std::string resume(prefix);
    bool first = true;
    std::vector<std::pair<std::string, std::string>> chunk;
    MDB_dbi dbi = env_->dbi();
    for (;;) {
      chunk.clear();
      bool more = false;
      Status st = env_->Read("scan", [&](MDB_txn* txn) {
        MDB_cursor* cursor = nullptr;
        int rc = mdb_cursor_open(txn, dbi, &cursor);
        if (rc != 0) return rc;
        MDB_val k = ToVal(resume), v;
        rc = resume.empty() ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                            : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
        auto checked = [&](int r) {
          if (r == 0) r = env_->CheckInFile(k);
          if (r == 0) r = env_->CheckInFile(v);
          return r;
        };
        rc = checked(rc);
        if (rc == 0 && !first && FromVal(k) == resume)
          rc = checked(mdb_cursor_get(cursor, &k, &v, MDB_NEXT));
        size_t bytes = 0;
        while (rc == 0 && FromVal(k).starts_with(prefix)) {
          if (chunk.size() >= kScanChunkEntries || bytes >= kScanChunkBytes) {
            more = true;
            break;
          }
          chunk.emplace_back(FromVal(k), FromVal(v));
          bytes += k.mv_size + v.mv_size;
          rc = checked(mdb_cursor_get(cursor, &k, &v, MDB_NEXT));
        }
        mdb_cursor_close(cursor);
        return rc == MDB_NOTFOUND ? 0 : rc;
      });
      if (!st.ok()) return st;
      for (const auto& [k, v] : chunk) {
        if (!fn(k, v)) return Status::Ok();
      }
      if (!more) return Status::Ok();
      resume = chunk.back().first;
      first = false;
    }
  }

  Result<uint64_t> DeletePrefix(std::string_view prefix) override {
    if (prefix.empty()) return Status::InvalidArgument("DeletePrefix refuses the empty prefix");
    uint64_t total = 0;
    MDB_dbi dbi = env_->dbi();
    for (;;) {
      uint64_t deleted = 0;
      Status st = env_->Write("delete prefix", [&](MDB_txn* txn) {
        deleted = 0;
        MDB_cursor* cursor = nullptr;
        int rc = mdb_cursor_open(txn, dbi, &cursor);
        if (rc != 0) return rc;
        MDB_val k = ToVal(prefix), v;
        rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
        while (rc == 0 && FromVal(k).starts_with(prefix) && deleted < kDeleteChunk) {
          rc = mdb_cursor_del(cursor, 0);
          if (rc != 0) break;
          ++deleted;
          // Re-seek rather than rely on where a delete leaves the cursor.
          k = ToVal(prefix);
          rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
        }
        mdb_cursor_close(cursor);
        return rc == MDB_NOTFOUND ? 0 : rc;
      });
      if (!st.ok()) return st;
      total += deleted;
      if (deleted < kDeleteChunk) return total;
    }
  }

  Status Ping() override {
    // A read transaction proves the environment and its lock file are usable.
    return env_->Read("ping", [](MDB_txn*) { return 0; });
  }

  const std::string& uri() const override { return uri_; }

 private:
  std::string uri_;
  std::shared_ptr<LmdbEnv> env_;
};

}  // namespace

Result<std::unique_ptr<KvStore>> OpenLmdbStore(std::string uri, LmdbOptions options) {
  RECO_ASSIGN_OR_RETURN(std::shared_ptr<LmdbEnv> env, OpenEnv(options));
  return std::unique_ptr<KvStore>(new LmdbStore(std::move(uri), std::move(env)));
}

}  // namespace reco::store_internal
