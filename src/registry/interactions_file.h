// The interactions.rcsr encoding (docs/formats.md, "Model registry"), split
// from the file I/O so that Register can hash the bytes it writes.
#pragma once

#include <string>
#include <string_view>

#include "reco/interactions.h"
#include "reco/status.h"

namespace reco::registry_internal {

// InvalidArgument describing the first broken CSR invariant: indptr has
// rows + 1 entries from 0 to nnz, never decreasing; values has nnz entries;
// column indices strictly increase within a row and are < cols; values are
// finite.
Status CheckCsr(const CsrMatrix& matrix);

// The whole file; the matrix must pass CheckCsr.
std::string EncodeInteractions(const CsrMatrix& matrix);

// Corruption (without the file name) for anything that is not a valid file.
Result<CsrMatrix> DecodeInteractions(std::string_view bytes);

}  // namespace reco::registry_internal
