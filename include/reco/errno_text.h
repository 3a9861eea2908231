// The text of an errno value, and the IOError that carries it. Every file and
// socket call in reco reports its failure through these, so messages read the
// same everywhere: "<what>: <strerror text>".
#pragma once

#include <string>
#include <string_view>

#include "reco/status.h"

namespace reco {

// strerror(err), but thread-safe (strerror may share one buffer between
// threads) and never empty.
std::string ErrnoText(int err);

// IOError("<what>: <ErrnoText(err)>"). Pass errno explicitly, saved right
// after the failing call: anything in between (even a close) may change it.
Status ErrnoStatus(std::string_view what, int err);

}  // namespace reco
