// Model file version 2: one container for every family (docs/formats.md,
// "Model file", is the spec; keep the two in step). Version-1 files (ALS
// only) are read by model_file.cc's parser and come back as ALS models.
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "family.h"
#include "model_file_internal.h"
#include "reco/recommender.h"

namespace reco {
namespace {

using namespace model_file;  // NOLINT(google-build-using-namespace): the format's own helpers

constexpr uint32_t kVersion1 = 1;
constexpr uint32_t kVersion2 = 2;
constexpr size_t kHeaderBytes = 64;

struct Header {
  uint8_t family;
  uint32_t num_users;
  uint32_t num_items;
  uint64_t user_id_bytes;
  uint64_t item_id_bytes;
  uint64_t config_bytes;
  uint64_t payload_bytes;
  uint64_t metadata_bytes;
};

bool KnownFamily(uint8_t f) {
  return f >= static_cast<uint8_t>(ModelFamily::kExplicitAls) &&
         f <= static_cast<uint8_t>(ModelFamily::kItemKnn);
}

Result<std::unique_ptr<Recommender>> ParseVersion2(const std::vector<uint8_t>& bytes) {
  const size_t size = bytes.size();
  const uint8_t* data = bytes.data();
  if (size < kHeaderBytes) {
    return Status::Corruption("truncated inside the header: " + std::to_string(size) +
                              " bytes, the header alone needs " + std::to_string(kHeaderBytes));
  }
  Header h;
  h.family = data[8];
  h.num_users = DecodeFixed32(data + 12);
  h.num_items = DecodeFixed32(data + 16);
  h.user_id_bytes = DecodeFixed64(data + 24);
  h.item_id_bytes = DecodeFixed64(data + 32);
  h.config_bytes = DecodeFixed64(data + 40);
  h.payload_bytes = DecodeFixed64(data + 48);
  h.metadata_bytes = DecodeFixed64(data + 56);
  if (!KnownFamily(h.family)) {
    return Status::Corruption("unknown model family " + std::to_string(h.family));
  }
  if (data[9] != 0 || data[10] != 0 || data[11] != 0 || DecodeFixed32(data + 20) != 0) {
    return Status::Corruption("reserved header bytes are not zero");
  }
  uint64_t expected = kHeaderBytes + kChecksumBytes;
  for (uint64_t part :
       {h.user_id_bytes, h.item_id_bytes, h.config_bytes, h.payload_bytes, h.metadata_bytes}) {
    if (__builtin_add_overflow(expected, part, &expected)) {
      return Status::Corruption("section sizes in the header overflow");
    }
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

  // From here on every section size is backed by bytes in the file.
  Cursor cursor(data, size - kChecksumBytes);
  cursor.Skip(kHeaderBytes);
  IdMap users, items;
  RECO_RETURN_IF_ERROR(ReadIds(cursor, h.num_users, h.user_id_bytes, "user", &users));
  RECO_RETURN_IF_ERROR(ReadIds(cursor, h.num_items, h.item_id_bytes, "item", &items));
  const uint8_t* config_text = cursor.Take(h.config_bytes);
  if (config_text == nullptr) return Status::Corruption("config overruns the file");
  Result<ModelConfig> config = ModelConfigFromJson(
      std::string_view(reinterpret_cast<const char*>(config_text), h.config_bytes));
  if (!config.ok()) return Status::Corruption("config: " + config.status().message());
  if (static_cast<uint8_t>(config->family) != h.family) {
    return Status::Corruption(std::string("config is for family ") +
                              ModelFamilyName(config->family) + " but the header says " +
                              ModelFamilyName(static_cast<ModelFamily>(h.family)));
  }
  const uint8_t* payload = cursor.Take(h.payload_bytes);
  if (payload == nullptr) return Status::Corruption("payload overruns the file");
  Result<std::unique_ptr<Recommender>> model = Status::Internal("unreachable");
  switch (config->family) {
    case ModelFamily::kExplicitAls:
    case ModelFamily::kImplicitAls:
      model = LoadAlsPayload(*config, std::move(users), std::move(items), payload, h.payload_bytes);
      break;
    case ModelFamily::kEase:
      model =
          LoadEasePayload(*config, std::move(users), std::move(items), payload, h.payload_bytes);
      break;
    case ModelFamily::kItemKnn:
      model = LoadKnnPayload(*config, std::move(users), std::move(items), payload, h.payload_bytes);
      break;
  }
  if (!model.ok()) return model.status();
  const uint8_t* meta = cursor.Take(h.metadata_bytes);
  if (meta == nullptr) return Status::Corruption("metadata overruns the file");
  if (cursor.remaining() != 0) return Status::Corruption("unparsed bytes before the checksum");
  (*model)->set_metadata_json(std::string(reinterpret_cast<const char*>(meta), h.metadata_bytes));
  return model;
}

Result<std::unique_ptr<Recommender>> ParseAnyVersion(const std::vector<uint8_t>& bytes) {
  const size_t size = bytes.size();
  if (size < sizeof(kMagic)) {
    return Status::Corruption("truncated: " + std::to_string(size) +
                              " bytes, too short for a model file");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not a reco model file (bad magic, expected \"RCFM\")");
  }
  if (size < 8) {
    return Status::Corruption("truncated inside the header (" + std::to_string(size) + " bytes)");
  }
  const uint32_t version = DecodeFixed32(bytes.data() + 4);
  if (version == kVersion1) {
    // Version 1 predates value transforms: its implicit models read raw values.
    FactorModel m;
    RECO_RETURN_IF_ERROR(ParseModelV1(bytes, &m));
    return MakeAlsRecommender(std::move(m), ValueOptions{});
  }
  if (version != kVersion2) {
    return Status::Corruption("unsupported model format version " + std::to_string(version) +
                              " (this build reads versions 1 and 2)");
  }
  return ParseVersion2(bytes);
}

}  // namespace

Status SaveRecommender(const Recommender& model, const std::string& path) {
  const std::string context = "cannot save model to " + path;
  const auto* family = dynamic_cast<const FamilyRecommender*>(&model);
  if (family == nullptr) {
    return Status::InvalidArgument(context + ": not a model made by this library");
  }
  Status finite = model.CheckFinite();
  if (!finite.ok()) return Status::FailedPrecondition(context + ": " + finite.message());
  const std::string config = model.config().ToJson();
  if (static_cast<uint8_t>(model.config().family) != static_cast<uint8_t>(model.family())) {
    return Status::InvalidArgument(context + ": config family does not match the model");
  }
  RECO_RETURN_IF_ERROR(CheckIdLengths(model.users(), path));
  RECO_RETURN_IF_ERROR(CheckIdLengths(model.items(), path));
  const std::string& metadata = model.metadata_json();
  const uint64_t payload_bytes = family->payload_bytes();

  uint8_t header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  EncodeFixed32(header + 4, kVersion2);
  header[8] = static_cast<uint8_t>(model.family());
  EncodeFixed32(header + 12, model.num_users());
  EncodeFixed32(header + 16, model.num_items());
  EncodeFixed64(header + 24, IdSectionBytes(model.users()));
  EncodeFixed64(header + 32, IdSectionBytes(model.items()));
  EncodeFixed64(header + 40, config.size());
  EncodeFixed64(header + 48, payload_bytes);
  EncodeFixed64(header + 56, metadata.size());

  bool payload_size_ok = true;
  Status st = WriteChecksummedFile(path, [&](HashingWriter& w) {
    w.Bytes(header, sizeof(header));
    WriteIds(w, model.users());
    WriteIds(w, model.items());
    w.Bytes(config.data(), config.size());
    const uint64_t before = w.written();
    family->WritePayload(w);
    // A payload writer that disagrees with its own size would make a file
    // that does not load: give up before the rename.
    payload_size_ok = w.written() - before == payload_bytes;
    w.Bytes(metadata.data(), metadata.size());
    return payload_size_ok;
  });
  if (!payload_size_ok) {
    return Status::Internal(context + ": " + ModelFamilyName(model.family()) +
                            " payload size disagrees with its writer");
  }
  return st;
}

Result<std::unique_ptr<Recommender>> LoadRecommender(const std::string& path) {
  RECO_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWholeFile(path));
  Result<std::unique_ptr<Recommender>> model = ParseAnyVersion(bytes);
  if (!model.ok()) return Status::Corruption(path + ": " + model.status().message());
  // Writers refuse such models, so a non-finite weight is damage (or a file
  // written before they did): never serve it.
  Status finite = (*model)->CheckFinite();
  if (!finite.ok()) return Status::Corruption(path + ": " + finite.message());
  return model;
}

}  // namespace reco
