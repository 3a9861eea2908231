// Loading interaction files (MovieLens and generic CSV/TSV) into a Dataset,
// and writing records back out as CSV.
//
// The loader is a strict, streaming parser: the file is read in large chunks,
// lines are split in place (string_views into the chunk) and numbers are
// parsed with std::from_chars, so the only allocations per line are new
// entries in the ID maps. Every malformed line is an error naming the file
// and line ("ratings.csv:12: expected 4 fields, got 3") unless the caller
// opts into skipping, in which case the skipped lines are counted in the
// LoadReport. Formats, detection rule and messages: docs/input-formats.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reco/interactions.h"
#include "reco/status.h"

namespace reco {

enum class InputFormat {
  kAuto,        // sniff the first non-blank line (see docs/input-formats.md)
  kUData,       // ml-100k u.data / u1.base: user \t item \t rating \t timestamp
  kRatingsDat,  // ml-1m/ml-10m ratings.dat: user::item::rating::timestamp
  kRatingsCsv,  // ratings.csv: header line, then user,item,rating,timestamp
  kDelimited,   // generic: LoadOptions::delimiter / has_header / *_column
};

// What to do when the same (user, item) pair appears on several lines. The
// output holds each pair at most once, at the file position of the record
// kept (keep_last: the last occurrence; the others: the first).
enum class DuplicatePolicy {
  kKeepLast,   // the last line wins (a later rating replaces an earlier one)
  kKeepFirst,  // the first line wins
  kSum,        // values added (click counts); timestamp = the latest
  kMax,        // the largest value; timestamp = the latest
  kError,      // a duplicate is an error naming both lines
};

// A column picked by 0-based index or by header name.
class ColumnRef {
 public:
  enum class Kind { kDefault, kNone, kIndex, kName };
  // user 0, item 1, value 2 and timestamp 3 when the file has that many fields.
  static ColumnRef Default() { return ColumnRef(Kind::kDefault, 0, {}); }
  // The column is absent: no value = implicit clicks, no timestamp = unknown.
  static ColumnRef None() { return ColumnRef(Kind::kNone, 0, {}); }
  static ColumnRef Index(size_t index) { return ColumnRef(Kind::kIndex, index, {}); }
  static ColumnRef Named(std::string name) { return ColumnRef(Kind::kName, 0, std::move(name)); }

  Kind kind() const { return kind_; }
  size_t index() const { return index_; }
  const std::string& name() const { return name_; }

 private:
  ColumnRef(Kind kind, size_t index, std::string name)
      : kind_(kind), index_(index), name_(std::move(name)) {}
  Kind kind_;
  size_t index_;
  std::string name_;
};

struct LoadOptions {
  InputFormat format = InputFormat::kAuto;
  // kDelimited only (the named formats fix these; kAuto detects them).
  std::string delimiter = ",";  // any non-empty string: ",", "\t", "::", " | "
  bool has_header = false;
  // kDelimited and kAuto; named columns need a header line.
  ColumnRef user_column = ColumnRef::Default();
  ColumnRef item_column = ColumnRef::Default();
  ColumnRef value_column = ColumnRef::Default();
  ColumnRef timestamp_column = ColumnRef::Default();

  DuplicatePolicy duplicates = DuplicatePolicy::kKeepLast;
  // Count and skip malformed lines instead of failing on the first one.
  bool skip_bad_lines = false;
  // Longer lines are errors; checked before the line is buffered.
  size_t max_line_bytes = 1 << 16;
  // How many skipped-line messages LoadReport keeps.
  size_t max_bad_line_messages = 10;
};

struct LoadReport {
  InputFormat format = InputFormat::kAuto;  // as resolved (never kAuto after a load)
  std::string layout;                       // e.g. `delimiter "\t", no header, user=0 item=1 ...`
  uint64_t lines_read = 0;                  // physical lines, including header and blank lines
  uint64_t blank_lines = 0;                 // empty or whitespace-only, ignored
  uint64_t bad_lines_skipped = 0;
  std::vector<std::string> bad_line_messages;  // the first few, "path:LINE: reason"
  uint64_t duplicates_resolved = 0;            // records merged away by the policy
  uint64_t records_loaded = 0;                 // Dataset::interactions.size()
};

// Loads `path`. Errors: NotFound (no such file), InvalidArgument (malformed
// content, empty file, no records, bad options), IOError (read failure).
Result<Dataset> LoadInteractions(const std::string& path, const LoadOptions& opts,
                                 LoadReport* report = nullptr);

// Writes `records` (indices into ds.users / ds.items) as CSV with the header
// `user_id,item_id,rating,timestamp`, external IDs, and values printed in
// shortest round-trip form, so LoadInteractions(kRatingsCsv) reads back the
// same records. Written to a temporary file and renamed into place. IDs that
// the CSV could not carry (containing ',', CR, LF or surrounding blanks) are
// an error rather than a silently different file.
Status WriteInteractions(const std::string& path, const Dataset& ds,
                         const std::vector<Interaction>& records);

// Names as used on the command line: auto, udata, dat, csv, delimited.
std::string_view InputFormatName(InputFormat format);
Result<InputFormat> ParseInputFormat(std::string_view name);
// keep_last, keep_first, sum, max, error.
std::string_view DuplicatePolicyName(DuplicatePolicy policy);
Result<DuplicatePolicy> ParseDuplicatePolicy(std::string_view name);

}  // namespace reco
