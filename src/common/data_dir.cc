#include <cstdlib>

#include "reco/data_dir.h"

namespace reco {

std::string MovieLensDataDir() {
  const char* env = std::getenv("RECO_DATA_DIR");
  if (env != nullptr && *env != '\0') return env;
  return RECO_DEFAULT_DATA_DIR;
}

}  // namespace reco
