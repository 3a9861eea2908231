// The registry's meta.json reader (src/registry/model_registry.cc): the bytes
// are the meta.json of one version directory, read by List and by Load.
#include <filesystem>

#include "fuzz_util.h"
#include "reco/model_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string root = reco::fuzz::ScratchDir() + "/registry";
  static auto registry = [] {
    auto opened = reco::ModelRegistry::Open(root);
    if (!opened.ok()) std::abort();
    return std::move(*opened);
  }();
  const std::string version_dir = root + "/versions/v1";
  std::filesystem::create_directories(version_dir);
  reco::fuzz::WriteFileOrDie(version_dir + "/meta.json", data, size);
  (void)registry->List();
  (void)registry->Load("v1");
  return 0;
}
