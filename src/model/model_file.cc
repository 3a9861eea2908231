// The model file: docs/formats.md, section "Model file", is the spec; keep
// the two in step. All integers and floats are little-endian.
#include <xxhash.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "model_file_internal.h"
#include "reco/errno_text.h"
#include "reco/model.h"

namespace reco {
namespace model_file {
namespace {

constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderBytes = 80;
constexpr uint8_t kFlagBiases = 1u << 0;
// Far above any useful rank; bounds what a corrupted header can claim.
constexpr uint32_t kMaxFactors = 65536;

struct Header {
  uint32_t version;
  uint8_t kind;
  uint8_t flags;
  uint8_t solver;
  uint8_t reserved;
  uint32_t factors;
  uint32_t num_users;
  uint32_t num_items;
  uint32_t iterations;
  uint32_t cg_steps;
  float regularization;
  float alpha;
  float init_scale;
  float global_bias;
  uint64_t seed;
  uint64_t user_id_bytes;
  uint64_t item_id_bytes;
  uint64_t metadata_bytes;
};

Header DecodeHeader(const uint8_t* p) {
  Header h;
  h.version = DecodeFixed32(p + 4);
  h.kind = p[8];
  h.flags = p[9];
  h.solver = p[10];
  h.reserved = p[11];
  h.factors = DecodeFixed32(p + 12);
  h.num_users = DecodeFixed32(p + 16);
  h.num_items = DecodeFixed32(p + 20);
  h.iterations = DecodeFixed32(p + 24);
  h.cg_steps = DecodeFixed32(p + 28);
  h.regularization = std::bit_cast<float>(DecodeFixed32(p + 32));
  h.alpha = std::bit_cast<float>(DecodeFixed32(p + 36));
  h.init_scale = std::bit_cast<float>(DecodeFixed32(p + 40));
  h.global_bias = std::bit_cast<float>(DecodeFixed32(p + 44));
  h.seed = DecodeFixed64(p + 48);
  h.user_id_bytes = DecodeFixed64(p + 56);
  h.item_id_bytes = DecodeFixed64(p + 64);
  h.metadata_bytes = DecodeFixed64(p + 72);
  return h;
}

// Total file size the header describes; false if it overflows 64 bits.
bool ExpectedFileSize(const Header& h, uint64_t* total) {
  // counts < 2^32 and factors <= 2^16, so these products fit easily.
  const uint64_t rows = uint64_t{h.num_users} + h.num_items;
  uint64_t size = kHeaderBytes + rows * h.factors * sizeof(float) + kChecksumBytes;
  if ((h.flags & kFlagBiases) != 0) size += rows * sizeof(float);
  for (uint64_t part : {h.user_id_bytes, h.item_id_bytes, h.metadata_bytes}) {
    if (__builtin_add_overflow(size, part, &size)) return false;
  }
  *total = size;
  return true;
}

}  // namespace

uint64_t IdSectionBytes(const IdMap& ids) {
  uint64_t bytes = 0;
  for (const std::string& s : ids.externals()) bytes += 4 + s.size();
  return bytes;
}

void WriteIds(HashingWriter& w, const IdMap& ids) {
  for (const std::string& s : ids.externals()) {
    w.U32(static_cast<uint32_t>(s.size()));
    w.Bytes(s.data(), s.size());
  }
}

Status CheckIdLengths(const IdMap& ids, const std::string& path) {
  for (const std::string& s : ids.externals()) {
    if (s.size() > UINT32_MAX) {
      return Status::InvalidArgument("cannot save model to " + path + ": ID longer than 4 GiB");
    }
  }
  return Status::Ok();
}

// Parses `count` length-prefixed IDs filling exactly `bytes` bytes.
Status ReadIds(Cursor& cursor, uint32_t count, uint64_t bytes, const char* what, IdMap* ids) {
  const uint8_t* section = cursor.Take(bytes);
  if (section == nullptr)
    return Status::Corruption(std::string(what) + " ID section overruns file");
  // Each ID takes at least its 4-byte length, so this reservation is
  // bounded by bytes that really exist in the file.
  if (uint64_t{count} * 4 > bytes) {
    return Status::Corruption(std::string(what) + " ID section of " + std::to_string(bytes) +
                              " bytes cannot hold " + std::to_string(count) + " IDs");
  }
  ids->Reserve(count);
  Cursor in(section, bytes);
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* len_bytes = in.Take(4);
    if (len_bytes == nullptr) {
      return Status::Corruption(std::string(what) + " ID " + std::to_string(i) +
                                ": length runs past the ID section");
    }
    const uint32_t len = DecodeFixed32(len_bytes);
    const uint8_t* text = in.Take(len);
    if (text == nullptr) {
      return Status::Corruption(std::string(what) + " ID " + std::to_string(i) + ": length " +
                                std::to_string(len) + " runs past the ID section");
    }
    std::string_view id(reinterpret_cast<const char*>(text), len);
    if (ids->GetOrAdd(id) != i) {
      return Status::Corruption("duplicate " + std::string(what) + " ID '" + std::string(id) +
                                "' at index " + std::to_string(i));
    }
  }
  if (in.remaining() != 0) {
    return Status::Corruption(std::string(what) + " ID section has " +
                              std::to_string(in.remaining()) + " bytes after its " +
                              std::to_string(count) + " IDs");
  }
  return Status::Ok();
}

Status CheckChecksum(const std::vector<uint8_t>& bytes) {
  const size_t size = bytes.size();
  const uint64_t stored = DecodeFixed64(bytes.data() + size - kChecksumBytes);
  const uint64_t computed = XXH64(bytes.data(), size - kChecksumBytes, 0);
  if (stored != computed) {
    char text[96];
    std::snprintf(text, sizeof(text), "checksum mismatch (stored %016llx, computed %016llx)",
                  static_cast<unsigned long long>(stored),
                  static_cast<unsigned long long>(computed));
    return Status::Corruption(text);
  }
  return Status::Ok();
}

Status ParseModelV1(const std::vector<uint8_t>& bytes, FactorModel* model) {
  const size_t size = bytes.size();
  const uint8_t* data = bytes.data();
  if (size < sizeof(kMagic)) {
    return Status::Corruption("truncated: " + std::to_string(size) +
                              " bytes, too short for a model file");
  }
  if (std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not a reco model file (bad magic, expected \"RCFM\")");
  }
  if (size < 8)
    return Status::Corruption("truncated inside the header (" + std::to_string(size) + " bytes)");
  const uint32_t version = DecodeFixed32(data + 4);
  if (version != kFormatVersion) {
    return Status::Corruption("unsupported model format version " + std::to_string(version) +
                              " (this build reads version " + std::to_string(kFormatVersion) + ")");
  }
  if (size < kHeaderBytes) {
    return Status::Corruption("truncated inside the header: " + std::to_string(size) +
                              " bytes, the header alone needs " + std::to_string(kHeaderBytes));
  }
  const Header h = DecodeHeader(data);
  if (h.kind != static_cast<uint8_t>(ModelKind::kExplicit) &&
      h.kind != static_cast<uint8_t>(ModelKind::kImplicit)) {
    return Status::Corruption("unknown model kind " + std::to_string(h.kind));
  }
  if ((h.flags & ~kFlagBiases) != 0) {
    return Status::Corruption("unknown flag bits " + std::to_string(h.flags));
  }
  if (h.solver > static_cast<uint8_t>(ImplicitSolver::kCholesky)) {
    return Status::Corruption("unknown implicit solver " + std::to_string(h.solver));
  }
  if (h.reserved != 0) return Status::Corruption("reserved header byte is not zero");
  if (h.factors == 0 || h.factors > kMaxFactors) {
    return Status::Corruption("factor count " + std::to_string(h.factors) + " out of range [1, " +
                              std::to_string(kMaxFactors) + "]");
  }
  uint64_t expected = 0;
  if (!ExpectedFileSize(h, &expected)) {
    return Status::Corruption("section sizes in the header overflow");
  }
  if (size < expected) {
    return Status::Corruption("truncated: header describes " + std::to_string(expected) +
                              " bytes, file has " + std::to_string(size));
  }
  if (size > expected) {
    return Status::Corruption("file has " + std::to_string(size) +
                              " bytes but its header describes " + std::to_string(expected) +
                              " (trailing data or corrupted header)");
  }
  RECO_RETURN_IF_ERROR(CheckChecksum(bytes));

  FactorModel& m = *model;
  m.kind = static_cast<ModelKind>(h.kind);
  AlsOptions& p = m.params;
  p.factors = h.factors;
  p.iterations = h.iterations;
  p.regularization = h.regularization;
  p.alpha = h.alpha;
  p.implicit = m.kind == ModelKind::kImplicit;
  p.use_biases = (h.flags & kFlagBiases) != 0;
  p.implicit_solver = static_cast<ImplicitSolver>(h.solver);
  p.cg_steps = h.cg_steps;
  p.seed = h.seed;
  p.init_scale = h.init_scale;
  p.threads = 0;
  m.global_bias = h.global_bias;

  Cursor cursor(data, size - kChecksumBytes);
  cursor.Skip(kHeaderBytes);
  RECO_RETURN_IF_ERROR(ReadIds(cursor, h.num_users, h.user_id_bytes, "user", &m.users));
  RECO_RETURN_IF_ERROR(ReadIds(cursor, h.num_items, h.item_id_bytes, "item", &m.items));
  struct Array {
    float* dst;
    uint64_t count;
    const char* what;
  };
  m.user_factors.resize(h.num_users, h.factors);
  m.item_factors.resize(h.num_items, h.factors);
  std::vector<Array> arrays = {
      {m.user_factors.data(), uint64_t{h.num_users} * h.factors, "user factors"},
      {m.item_factors.data(), uint64_t{h.num_items} * h.factors, "item factors"}};
  if (p.use_biases) {
    m.user_bias.resize(h.num_users);
    m.item_bias.resize(h.num_items);
    arrays.push_back({m.user_bias.data(), h.num_users, "user biases"});
    arrays.push_back({m.item_bias.data(), h.num_items, "item biases"});
  } else {
    m.user_bias.resize(0);
    m.item_bias.resize(0);
  }
  for (const Array& a : arrays) {
    const uint8_t* src = cursor.Take(a.count * sizeof(float));
    if (src == nullptr) return Status::Corruption(std::string(a.what) + " overrun the file");
    DecodeFloats(src, a.count, a.dst);
  }
  const uint8_t* meta = cursor.Take(h.metadata_bytes);
  if (meta == nullptr) return Status::Corruption("metadata overruns the file");
  m.metadata_json.assign(reinterpret_cast<const char*>(meta), h.metadata_bytes);
  if (cursor.remaining() != 0) return Status::Corruption("unparsed bytes before the checksum");
  return Status::Ok();
}

Status WriteChecksummedFile(const std::string& path,
                            const std::function<bool(HashingWriter&)>& body) {
  AtomicFileWriter file;
  RECO_RETURN_IF_ERROR(file.Open(path));
  HashingWriter w(&file);
  const bool completed = body(w);
  RECO_RETURN_IF_ERROR(w.status());
  if (!completed) return Status::IOError("gave up writing " + file.temp_path());
  uint8_t checksum[kChecksumBytes];
  EncodeFixed64(checksum, w.digest());
  RECO_RETURN_IF_ERROR(
      file.Append(std::string_view(reinterpret_cast<const char*>(checksum), sizeof(checksum))));
  return file.Commit();
}

Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    if (errno == ENOENT) return Status::NotFound("model file " + path + " does not exist");
    return Status::IOError("cannot open " + path + ": " + ErrnoText(errno));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, &std::fclose);
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::IOError("cannot stat " + path + ": " + ec.message());
  // Sized by the file itself, never by a field inside it.
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && std::fread(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
    return Status::IOError("cannot read " + path + ": " +
                           (std::ferror(file) ? ErrnoText(errno) : "file shrank while reading"));
  }
  return bytes;
}

}  // namespace model_file

Status SaveModel(const FactorModel& model, const std::string& path) {
  using namespace model_file;  // NOLINT(google-build-using-namespace): the format's own helpers
  Status valid = model.Validate();
  if (!valid.ok()) return valid.WithContext("cannot save model to " + path);
  if (model.factors() > kMaxFactors) {
    return Status::InvalidArgument("cannot save model to " + path + ": more than " +
                                   std::to_string(kMaxFactors) + " factors");
  }
  if (model.params.nu != 0.0f || model.params.alpha0 != 1.0f) {
    return Status::InvalidArgument("cannot save model to " + path +
                                   ": format version 1 has no nu / alpha0 (SaveRecommender "
                                   "writes version 2)");
  }
  RECO_RETURN_IF_ERROR(CheckIdLengths(model.users, path));
  RECO_RETURN_IF_ERROR(CheckIdLengths(model.items, path));

  const bool biases = model.has_biases();
  uint8_t header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  EncodeFixed32(header + 4, kFormatVersion);
  header[8] = static_cast<uint8_t>(model.kind);
  header[9] = biases ? kFlagBiases : 0;
  header[10] = static_cast<uint8_t>(model.params.implicit_solver);
  header[11] = 0;
  EncodeFixed32(header + 12, model.factors());
  EncodeFixed32(header + 16, model.num_users());
  EncodeFixed32(header + 20, model.num_items());
  EncodeFixed32(header + 24, model.params.iterations);
  EncodeFixed32(header + 28, model.params.cg_steps);
  EncodeFixed32(header + 32, std::bit_cast<uint32_t>(model.params.regularization));
  EncodeFixed32(header + 36, std::bit_cast<uint32_t>(model.params.alpha));
  EncodeFixed32(header + 40, std::bit_cast<uint32_t>(model.params.init_scale));
  EncodeFixed32(header + 44, std::bit_cast<uint32_t>(model.global_bias));
  EncodeFixed64(header + 48, model.params.seed);
  EncodeFixed64(header + 56, IdSectionBytes(model.users));
  EncodeFixed64(header + 64, IdSectionBytes(model.items));
  EncodeFixed64(header + 72, model.metadata_json.size());

  return WriteChecksummedFile(path, [&](HashingWriter& w) {
    w.Bytes(header, sizeof(header));
    WriteIds(w, model.users);
    WriteIds(w, model.items);
    w.Floats(model.user_factors.data(), static_cast<size_t>(model.user_factors.size()));
    w.Floats(model.item_factors.data(), static_cast<size_t>(model.item_factors.size()));
    if (biases) {
      w.Floats(model.user_bias.data(), static_cast<size_t>(model.user_bias.size()));
      w.Floats(model.item_bias.data(), static_cast<size_t>(model.item_bias.size()));
    }
    w.Bytes(model.metadata_json.data(), model.metadata_json.size());
    return true;
  });
}

Result<FactorModel> LoadModel(const std::string& path) {
  RECO_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, model_file::ReadWholeFile(path));
  FactorModel model;
  Status st = model_file::ParseModelV1(bytes, &model);
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  return model;
}

}  // namespace reco
