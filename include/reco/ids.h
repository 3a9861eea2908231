// The ID rules of docs/api.md, in one place for every door an ID comes in by:
// the event API, the event log's reader and the training-file loader. Were the
// loader laxer than the API, a model could hold users that no request can name
// and no event can reach (a NUL or a stray byte of Latin-1 in a training file).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace reco {

inline constexpr size_t kMaxIdBytes = 256;

enum class IdEncoding {
  kUtf8,      // every ID that enters today
  kAnyBytes,  // event logs written before UTF-8 was required still open
};

// "" when `id` is 1..max_bytes bytes of valid UTF-8 (unless kAnyBytes) with no
// control character (C0 including NUL and newline, DEL), no ',' or '"' (the
// CSV files reco writes do not quote), and no leading or trailing blank;
// otherwise the first rule broken, as "<field> ...".
std::string IdRuleViolation(std::string_view field, std::string_view id,
                            size_t max_bytes = kMaxIdBytes,
                            IdEncoding encoding = IdEncoding::kUtf8);

}  // namespace reco
