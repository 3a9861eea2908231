// Turning ranked rows into store lists, shared by single-process precompute
// (precompute.cc) and the MPI one (src/distributed/). Internal to the library.
#pragma once

#include <cstdint>
#include <vector>

#include "reco/model.h"
#include "reco/rec_store.h"
#include "reco/status.h"
#include "reco/topk.h"

namespace reco::pipeline_internal {

// Writes lists[r] for rows r through put(owner(r), items), the items named by
// `items` (a row without scores gets 0).
template <typename OwnerFn, typename PutFn>
Status WriteLists(const RankedLists& lists, const IdMap& items, OwnerFn owner, PutFn put,
                  std::vector<RecItem>* scratch) {
  for (uint32_t r = 0; r < lists.rows(); ++r) {
    auto ids = lists.Items(r);
    auto scores = lists.Scores(r);
    scratch->clear();
    for (size_t p = 0; p < ids.size(); ++p) {
      scratch->push_back({items.External(ids[p]), scores.empty() ? 0.f : scores[p]});
    }
    RECO_RETURN_IF_ERROR(put(owner(r), *scratch));
  }
  return Status::Ok();
}

}  // namespace reco::pipeline_internal
