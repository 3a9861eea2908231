// The model registry: docs/formats.md, section "Model registry", describes
// the directory, meta.json and activations.log.
#include "reco/model_registry.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <system_error>
#include <tuple>

#include "interactions_file.h"
#include "reco/errno_text.h"
#include "reco/file_util.h"
#include "reco/time_format.h"

#ifndef RECO_VERSION
#define RECO_VERSION "unknown"
#endif

namespace reco {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// XXH3-128 as 32 lowercase hex digits (high 64 bits first, as xxhsum prints).
std::string Xxh128Hex(std::string_view bytes) {
  const XXH128_hash_t h = XXH3_128bits(bytes.data(), bytes.size());
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

constexpr char kModelFile[] = "model.rcfm";
constexpr char kInteractionsFile[] = "interactions.rcsr";
constexpr char kMetaFile[] = "meta.json";
constexpr char kActivationsLog[] = "activations.log";
constexpr int kMetaFormatVersion = 1;
// Longest activations.log line we accept: 20 digits, a blank, a 64-char id.
constexpr size_t kMaxLogLine = 128;

// Floats as their shortest decimal form (0.1, not 0.10000000149011612).

// "explicit" / "implicit" for the ALS families (what versions have always
// recorded), the family name for the others.
std::string ModelKindLabel(const Recommender& model) {
  if (const FactorModel* f = model.factor_model()) return ModelKindName(f->kind);
  return ModelFamilyName(model.family());
}

// meta.json's "shape": what Load checks the files against.
json ShapeJson(const Recommender& model, const CsrMatrix& interactions) {
  json shape = {{"users", model.num_users()},
                {"items", model.num_items()},
                {"interactions", interactions.nnz()}};
  if (const FactorModel* f = model.factor_model()) {
    shape["factors"] = f->factors();
    shape["biases"] = f->has_biases();
  }
  return shape;
}

// Registry ids are store ids, minus names that mean something to a file
// system ("." and ".."; hidden names are reserved).
Status ValidateRegistryVersion(std::string_view version) {
  RECO_RETURN_IF_ERROR(ValidateVersionId(version));
  if (version.front() == '.') {
    return Status::InvalidArgument("version id '" + std::string(version) +
                                   "' must not start with '.'");
  }
  return Status::Ok();
}

struct Activation {
  int64_t unix_ms = 0;
  std::string version;
};

// Parses activations.log. A last line without its newline is a torn append
// (the writer died before finishing it; never acknowledged) and is ignored.
Result<std::vector<Activation>> ParseActivations(const std::string& path, std::string_view bytes) {
  std::vector<Activation> out;
  size_t line_no = 0, pos = 0;
  while (pos < bytes.size()) {
    const size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) break;  // torn tail
    ++line_no;
    std::string_view line = bytes.substr(pos, nl - pos);
    pos = nl + 1;
    const size_t blank = line.find(' ');
    Activation a;
    bool ok = line.size() <= kMaxLogLine && blank != std::string_view::npos && blank > 0;
    if (ok) {
      auto [end, ec] = std::from_chars(line.data(), line.data() + blank, a.unix_ms);
      ok = ec == std::errc() && end == line.data() + blank;
      a.version = std::string(line.substr(blank + 1));
      ok = ok && ValidateRegistryVersion(a.version).ok();
    }
    if (!ok) {
      return Status::Corruption(path + ":" + std::to_string(line_no) +
                                ": malformed activation record (expected \"<unix_ms> <version>\")");
    }
    out.push_back(std::move(a));
  }
  return out;
}

// A fd holding an exclusive flock, closed (and so unlocked) on destruction.
class LockedFile {
 public:
  LockedFile() = default;
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;
  ~LockedFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::IOError("cannot open " + path + ": " + ErrnoText(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return Status::IOError("cannot lock " + path + ": " + ErrnoText(errno));
    }
    return Status::Ok();
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// A dead process's temporary directory is "<version>.<pid>.<n>".
bool OwnerIsGone(const std::string& name) {
  const size_t last = name.rfind('.');
  if (last == std::string::npos || last == 0) return false;
  const size_t prev = name.rfind('.', last - 1);
  if (prev == std::string::npos) return false;
  long pid = 0;
  auto [end, ec] = std::from_chars(name.data() + prev + 1, name.data() + last, pid);
  if (ec != std::errc() || end != name.data() + last || pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

json FileEntry(std::string_view bytes) {
  return {{"bytes", bytes.size()}, {"xxh3_128", Xxh128Hex(bytes)}};
}

// Checks a file's bytes against its meta.json entry.
Status CheckFileEntry(const json& meta, const char* name, const std::string& path,
                      std::string_view bytes) {
  const json* files = meta.contains("files") ? &meta["files"] : nullptr;
  if (files == nullptr || !files->is_object() || !files->contains(name) ||
      !(*files)[name].is_object()) {
    return Status::Corruption(path + ": meta.json has no entry for it");
  }
  const json& e = (*files)[name];
  if (!e.contains("bytes") || !e["bytes"].is_number_unsigned() || !e.contains("xxh3_128") ||
      !e["xxh3_128"].is_string()) {
    return Status::Corruption(path + ": meta.json entry lacks bytes or xxh3_128");
  }
  if (e["bytes"].get<uint64_t>() != bytes.size()) {
    return Status::Corruption(path + ": " + std::to_string(bytes.size()) +
                              " bytes, meta.json records " +
                              std::to_string(e["bytes"].get<uint64_t>()));
  }
  if (e["xxh3_128"].get<std::string>() != Xxh128Hex(bytes)) {
    return Status::Corruption(path + ": content hash differs from meta.json (file replaced?)");
  }
  return Status::Ok();
}

// meta.json read and parsed; Corruption naming the file when it is not a
// JSON object with the fields every version has.
Result<json> ReadMeta(const std::string& version_dir, std::string_view version) {
  const std::string path = version_dir + "/" + kMetaFile;
  Result<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) {
    if (bytes.status().code() == Status::Code::kNotFound) {
      return Status::Corruption(path + ": missing");
    }
    return bytes.status();
  }
  json meta = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (meta.is_discarded() || !meta.is_object()) {
    return Status::Corruption(path + ": not a JSON object (truncated or damaged)");
  }
  if (!meta.contains("format_version") || meta["format_version"] != kMetaFormatVersion) {
    return Status::Corruption(path + ": missing or unsupported format_version");
  }
  if (!meta.contains("version") || meta["version"] != std::string(version)) {
    return Status::Corruption(path + ": \"version\" does not name this directory (" +
                              std::string(version) + ")");
  }
  if (!meta.contains("created_unix_ms") || !meta["created_unix_ms"].is_number_integer()) {
    return Status::Corruption(path + ": missing created_unix_ms");
  }
  return meta;
}

}  // namespace

struct ModelRegistry::Impl {
  std::string dir;
  std::string versions_dir;
  std::string tmp_dir;
  std::string log_path;

  std::string VersionDir(std::string_view version) const {
    return versions_dir + "/" + std::string(version);
  }

  Result<std::vector<Activation>> ReadActivations() const {
    Result<std::string> bytes = ReadFileToString(log_path);
    if (!bytes.ok()) {
      if (bytes.status().code() == Status::Code::kNotFound) return std::vector<Activation>{};
      return bytes.status();
    }
    return ParseActivations(log_path, *bytes);
  }
};

ModelRegistry::ModelRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ModelRegistry::~ModelRegistry() = default;

const std::string& ModelRegistry::dir() const { return impl_->dir; }

Result<std::unique_ptr<ModelRegistry>> ModelRegistry::Open(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("registry directory must not be empty");
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->versions_dir = dir + "/versions";
  impl->tmp_dir = dir + "/tmp";
  impl->log_path = dir + "/" + kActivationsLog;
  for (const std::string* d : {&impl->versions_dir, &impl->tmp_dir}) {
    std::error_code ec;
    fs::create_directories(*d, ec);
    if (ec) return Status::IOError("cannot create registry directory " + *d + ": " + ec.message());
    if (!fs::is_directory(*d, ec)) {
      return Status::IOError("registry path " + *d + " is not a directory");
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(impl->tmp_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (OwnerIsGone(name)) {
      std::error_code rm_ec;
      fs::remove_all(entry.path(), rm_ec);
      if (!rm_ec) spdlog::info("registry: removed {} left by an interrupted Register", name);
    }
  }
  return std::unique_ptr<ModelRegistry>(new ModelRegistry(std::move(impl)));
}

Result<std::string> ModelRegistry::Register(const Recommender& model, const CsrMatrix& interactions,
                                            const RegisterOptions& options) {
  const bool generated_id = options.version.empty();
  const std::string base_id = generated_id ? NewVersionId() : options.version;
  std::string version = base_id;
  RECO_RETURN_IF_ERROR(ValidateRegistryVersion(version));
  RECO_RETURN_IF_ERROR(model.CheckFinite().WithContext("cannot register model"));
  Status csr = registry_internal::CheckCsr(interactions);
  if (!csr.ok()) return csr.WithContext("cannot register model: interactions");
  if (interactions.rows != model.num_users() || interactions.cols != model.num_items()) {
    return Status::InvalidArgument(fmt::format(
        "cannot register model: interactions are {} x {}, the model has {} users and {} items",
        interactions.rows, interactions.cols, model.num_users(), model.num_items()));
  }
  json metrics = json::parse(options.metrics_json, nullptr, /*allow_exceptions=*/false);
  if (metrics.is_discarded() || !metrics.is_object()) {
    return Status::InvalidArgument("cannot register model: metrics_json is not a JSON object");
  }
  const std::string data_hash = options.data_hash.empty()
                                    ? TrainingDataHash(interactions, model.users(), model.items())
                                    : options.data_hash;
  const int64_t created = UnixMillisNow();

  static std::atomic<uint64_t> counter{0};
  const std::string tmp = impl_->tmp_dir + "/" + version + "." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  std::error_code ec;
  if (!fs::create_directory(tmp, ec)) {
    return Status::IOError("cannot create " + tmp + ": " + (ec ? ec.message() : "exists"));
  }
  auto publish = [&]() -> Status {
    const std::string model_path = tmp + "/" + kModelFile;
    RECO_RETURN_IF_ERROR(SaveRecommender(model, model_path));
    RECO_ASSIGN_OR_RETURN(std::string model_bytes, ReadFileToString(model_path));
    const std::string csr_bytes = registry_internal::EncodeInteractions(interactions);
    RECO_RETURN_IF_ERROR(WriteNewFileSynced(tmp + "/" + kInteractionsFile, csr_bytes));

    json meta = {{"format_version", kMetaFormatVersion},
                 {"version", version},
                 {"created_unix_ms", created},
                 {"created_utc", FormatUtcMillis(created)},
                 {"kind", ModelKindLabel(model)},
                 {"family", ModelFamilyName(model.family())},
                 {"params", json::parse(model.config().ToJson())},
                 {"shape", ShapeJson(model, interactions)},
                 {"data",
                  {{"description", options.data_description},
                   {"hash", data_hash},
                   {"hash_algorithm", options.data_hash.empty() ? kTrainingDataHashAlgorithm
                                                                : "given by the caller"}}},
                 {"events_through_seq", options.events_through_seq},
                 {"metrics", metrics},
                 {"files", {{kModelFile, json::object()}, {kInteractionsFile, json::object()}}},
                 {"reco_version", RECO_VERSION}};
    meta["files"][kModelFile] = FileEntry(model_bytes);
    meta["files"][kInteractionsFile] = FileEntry(csr_bytes);
    RECO_RETURN_IF_ERROR(WriteNewFileSynced(tmp + "/" + kMetaFile, meta.dump(2) + "\n"));
    RECO_RETURN_IF_ERROR(SyncDirectory(tmp));
    // Never over an existing version: rename(2) would replace an empty one.
    for (int attempt = 0;; ++attempt) {
      const std::string target = impl_->VersionDir(version);
      if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) == 0) {
        break;
      }
      const int err = errno;
      if (err != EEXIST && err != ENOTEMPTY) {
        return Status::IOError("cannot rename " + tmp + " to " + target + ": " + ErrnoText(err));
      }
      if (!generated_id || attempt >= 100) {
        return Status::FailedPrecondition("model version " + version + " already exists in " +
                                          impl_->dir);
      }
      // Two registrations within one clock millisecond: suffix the generated id.
      version = base_id + "-" + std::to_string(attempt + 1);
      meta["version"] = version;
      const std::string meta_path = tmp + "/" + kMetaFile;
      std::remove(meta_path.c_str());
      RECO_RETURN_IF_ERROR(WriteNewFileSynced(meta_path, meta.dump(2) + "\n"));
    }
    return SyncDirectory(impl_->versions_dir);
  };
  Status st = publish();
  if (!st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  return version;
}

Result<std::vector<ModelVersionInfo>> ModelRegistry::List() const {
  std::vector<ModelVersionInfo> out;
  std::error_code ec;
  fs::directory_iterator it(impl_->versions_dir, ec);
  if (ec) return Status::IOError("cannot list " + impl_->versions_dir + ": " + ec.message());
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (!ValidateRegistryVersion(name).ok() || !entry.is_directory(ec)) continue;
    ModelVersionInfo info;
    info.version = name;
    Result<json> meta = ReadMeta(impl_->VersionDir(name), name);
    if (meta.ok()) {
      info.created_unix_ms = (*meta)["created_unix_ms"].get<int64_t>();
      info.meta_json = meta->dump();
    } else {
      info.problem = meta.status().message();
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const ModelVersionInfo& a, const ModelVersionInfo& b) {
    return std::tie(a.created_unix_ms, a.version) < std::tie(b.created_unix_ms, b.version);
  });
  Result<std::string> active = ActiveVersion();
  if (active.ok()) {
    for (auto& info : out) info.active = info.version == *active;
  } else if (active.status().code() != Status::Code::kNotFound) {
    return active.status();
  }
  return out;
}

Result<RegisteredModel> ModelRegistry::Load(std::string_view version) const {
  RECO_RETURN_IF_ERROR(ValidateRegistryVersion(version));
  const std::string dir = impl_->VersionDir(version);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::NotFound("model version " + std::string(version) + " is not in registry " +
                            impl_->dir);
  }
  RECO_ASSIGN_OR_RETURN(json meta, ReadMeta(dir, version));
  RegisteredModel out;
  out.version = std::string(version);

  const std::string model_path = dir + "/" + kModelFile;
  Result<std::unique_ptr<Recommender>> model = LoadRecommender(model_path);
  if (!model.ok()) {
    // A version whose model file vanished is damaged, not unknown.
    if (model.status().code() == Status::Code::kNotFound) {
      return Status::Corruption(model_path + ": missing");
    }
    return model.status();
  }
  out.model = std::shared_ptr<const Recommender>(std::move(model).value());
  RECO_ASSIGN_OR_RETURN(std::string model_bytes, ReadFileToString(model_path));
  RECO_RETURN_IF_ERROR(CheckFileEntry(meta, kModelFile, model_path, model_bytes));

  const std::string csr_path = dir + "/" + kInteractionsFile;
  Result<std::string> csr_bytes = ReadFileToString(csr_path);
  if (!csr_bytes.ok()) {
    if (csr_bytes.status().code() == Status::Code::kNotFound) {
      return Status::Corruption(csr_path + ": missing");
    }
    return csr_bytes.status();
  }
  Result<CsrMatrix> csr = registry_internal::DecodeInteractions(*csr_bytes);
  if (!csr.ok()) return Status::Corruption(csr_path + ": " + csr.status().message());
  RECO_RETURN_IF_ERROR(CheckFileEntry(meta, kInteractionsFile, csr_path, *csr_bytes));
  out.interactions = std::move(csr).value();

  if (out.interactions.rows != out.model->num_users() ||
      out.interactions.cols != out.model->num_items()) {
    return Status::Corruption(
        fmt::format("{}: {} x {} interactions, but {} has {} users and {} items", csr_path,
                    out.interactions.rows, out.interactions.cols, model_path,
                    out.model->num_users(), out.model->num_items()));
  }
  const json& shape = meta.contains("shape") ? meta["shape"] : json();
  if (!shape.is_object() || shape != ShapeJson(*out.model, out.interactions)) {
    return Status::Corruption(dir + "/" + kMetaFile + ": \"shape\" disagrees with " + model_path);
  }
  if (meta.contains("events_through_seq") && meta["events_through_seq"].is_number_unsigned()) {
    out.events_through_seq = meta["events_through_seq"].get<uint64_t>();
  }
  out.meta_json = meta.dump();
  return out;
}

Result<std::string> ModelRegistry::ActiveVersion() const {
  RECO_ASSIGN_OR_RETURN(std::vector<Activation> log, impl_->ReadActivations());
  if (log.empty()) return Status::NotFound("no model version was ever activated in " + impl_->dir);
  return log.back().version;
}

Status ModelRegistry::RecordActivation(std::string_view version) {
  RECO_RETURN_IF_ERROR(ValidateRegistryVersion(version));
  std::error_code ec;
  if (!fs::is_directory(impl_->VersionDir(version), ec)) {
    return Status::NotFound("model version " + std::string(version) + " is not in registry " +
                            impl_->dir);
  }
  const std::string& path = impl_->log_path;
  const bool existed = fs::exists(path, ec);
  LockedFile file;
  RECO_RETURN_IF_ERROR(file.Open(path));
  const int fd = file.fd();
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return Status::IOError("cannot stat " + path + ": " + ErrnoText(errno));
  // A torn last line (no newline) would glue itself to this record: cut it.
  if (st.st_size > 0) {
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) != 1) {
      return Status::IOError("cannot read " + path + ": " + ErrnoText(errno));
    }
    if (last != '\n') {
      RECO_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
      const size_t nl = bytes.rfind('\n');
      const off_t keep = nl == std::string::npos ? 0 : static_cast<off_t>(nl + 1);
      if (::ftruncate(fd, keep) != 0) {
        return Status::IOError("cannot truncate torn tail of " + path + ": " + ErrnoText(errno));
      }
      spdlog::warn("{}: dropped a torn last line ({} bytes)", path, bytes.size() - keep);
    }
  }
  const std::string line = std::to_string(UnixMillisNow()) + " " + std::string(version) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("cannot append to " + path + ": " + ErrnoText(errno));
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Status::IOError("cannot fsync " + path + ": " + ErrnoText(errno));
  if (!existed) RECO_RETURN_IF_ERROR(SyncDirectory(impl_->dir));
  return Status::Ok();
}

Result<std::string> ModelRegistry::RollbackTarget() const {
  RECO_ASSIGN_OR_RETURN(std::vector<Activation> log, impl_->ReadActivations());
  if (log.empty()) return Status::NotFound("no model version was ever activated in " + impl_->dir);
  const std::string& current = log.back().version;
  for (auto it = log.rbegin(); it != log.rend(); ++it) {
    if (it->version != current) return it->version;
  }
  return Status::NotFound("no version was active before " + current + " in " + impl_->dir);
}

Status ActivateModelVersion(ModelRegistry* registry, RecommendationStore* store,
                            std::string_view version, RegisteredModel* loaded) {
  const std::string context = "refusing to activate model version " + std::string(version);
  Result<RegisteredModel> model = registry->Load(version);
  if (!model.ok()) return model.status().WithContext(context);
  RECO_ASSIGN_OR_RETURN(std::vector<VersionMeta> versions, store->ListVersions());
  const bool complete = std::any_of(versions.begin(), versions.end(),
                                    [&](const VersionMeta& m) { return m.version == version; });
  if (!complete) {
    return Status::FailedPrecondition(
        context + ": the store has no complete version " + std::string(version) +
        " (precompute its lists first: reco retrain, or reco precompute --version)");
  }
  Result<std::string> previous = store->RefreshActiveVersion();
  if (!previous.ok() && previous.status().code() != Status::Code::kFailedPrecondition) {
    return previous.status().WithContext(context);
  }
  RECO_RETURN_IF_ERROR(store->Activate(version));
  Status recorded = registry->RecordActivation(version);
  if (!recorded.ok()) {
    if (previous.ok()) {
      Status undo = store->Activate(*previous);
      if (!undo.ok()) {
        spdlog::error("store pointer stays at {}: restoring {} failed: {}", version, *previous,
                      undo.ToString());
      }
    }
    return recorded.WithContext("activation of " + std::string(version) + " not recorded");
  }
  if (loaded != nullptr) *loaded = std::move(model).value();
  return Status::Ok();
}

}  // namespace reco
