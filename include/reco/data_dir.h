// Where MovieLens copies live on a developer/CI machine: $RECO_DATA_DIR if
// set, else the build-time default (../shared/data/movielens beside the repo).
// Tests and benchmarks read data from here; nothing here downloads.
#pragma once

#include <string>

namespace reco {

std::string MovieLensDataDir();

}  // namespace reco
