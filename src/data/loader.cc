#include "reco/loader.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>

#include "reco/errno_text.h"
#include "reco/file_util.h"
#include "reco/ids.h"
#include "reco/text.h"

namespace reco {
namespace {

constexpr size_t kChunkBytes = size_t{4} << 20;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
// Record indices are uint32 in the duplicate resolver; one slot is the sentinel.
constexpr uint64_t kMaxRecords = std::numeric_limits<uint32_t>::max() - 1;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Quotes untrusted text for an error message: at most 40 bytes, control and
// non-ASCII bytes escaped, so a binary file cannot flood or garble the log.
std::string Quote(std::string_view s) {
  constexpr size_t kMaxShown = 40;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

void SplitFields(std::string_view line, std::string_view delim,
                 std::vector<std::string_view>* fields) {
  fields->clear();
  if (delim.size() == 1) {
    const char* p = line.data();
    const char* end = p + line.size();
    for (;;) {
      const void* hit = std::memchr(p, delim[0], static_cast<size_t>(end - p));
      const char* stop = hit ? static_cast<const char*>(hit) : end;
      fields->push_back(Trim(std::string_view(p, static_cast<size_t>(stop - p))));
      if (!hit) return;
      p = stop + 1;
    }
  }
  size_t start = 0;
  for (;;) {
    size_t hit = line.find(delim, start);
    if (hit == std::string_view::npos) {
      fields->push_back(Trim(line.substr(start)));
      return;
    }
    fields->push_back(Trim(line.substr(start, hit - start)));
    start = hit + delim.size();
  }
}

// Empty string on success, else the reason the text is not a usable rating.
std::string ParseValue(std::string_view s, float* out) {
  if (s.empty()) return "empty rating";
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) return "rating out of range " + Quote(s);
  if (ec != std::errc() || ptr != s.data() + s.size()) return "non-numeric rating " + Quote(s);
  if (!std::isfinite(*out)) return "rating is not finite: " + Quote(s);
  // The same bound as the API's (interactions.h): one huge rating would make
  // every factor trained on the file non-finite.
  if (std::fabs(*out) > kMaxInteractionValue) {
    return "rating " + Quote(s) + " is outside [-1000000, 1000000]";
  }
  return {};
}

std::string ParseTimestamp(std::string_view s, int64_t* out) {
  if (s.empty()) return "empty timestamp";
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  if (ec == std::errc::result_out_of_range) return "timestamp out of range " + Quote(s);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return "non-numeric timestamp " + Quote(s);
  }
  return {};
}

// Whether a header sniffer should take `s` for a number ("nan" and "1e999" count).
bool LooksNumeric(std::string_view s) {
  double v;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ptr == s.data() + s.size() &&
         (ec == std::errc() || ec == std::errc::result_out_of_range);
}

std::string ShowDelimiter(std::string_view delim) {
  std::string out;
  for (char c : delim) {
    if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return "\"" + out + "\"";
}

// Number of '\n' bytes in the file (plus one if the last line has none),
// leaving the file positioned at its start again.
Result<uint64_t> CountLines(std::FILE* file, const std::string& path) {
  std::vector<char> buf(kChunkBytes);
  uint64_t lines = 0;
  char last = '\n';
  for (;;) {
    size_t got = std::fread(buf.data(), 1, buf.size(), file);
    for (const char* p = buf.data(); p < buf.data() + got; ++lines) {
      const void* nl = std::memchr(p, '\n', static_cast<size_t>(buf.data() + got - p));
      if (nl == nullptr) break;
      p = static_cast<const char*>(nl) + 1;
    }
    if (got > 0) last = buf[got - 1];
    if (got < buf.size()) {
      if (std::ferror(file)) {
        return Status::IOError(fmt::format("{}: read failed: {}", path, ErrnoText(errno)));
      }
      break;
    }
  }
  if (last != '\n') ++lines;
  if (std::fseek(file, 0, SEEK_SET) != 0) {
    return Status::IOError(fmt::format("{}: cannot seek: {}", path, ErrnoText(errno)));
  }
  return lines;
}

// Hands out the lines of a file as views into a large chunk buffer. A line is
// copied only when it straddles two chunks (moved to the buffer's front), and
// a line longer than the limit is skipped over unbuffered.
class LineReader {
 public:
  enum class Kind { kLine, kTooLong, kEnd };

  LineReader(std::FILE* file, std::string path, size_t max_line_bytes)
      : file_(file),
        path_(std::move(path)),
        max_line_(max_line_bytes),
        buf_(std::max(kChunkBytes, max_line_bytes + 2)) {}

  // On kLine, *line is valid until the next call and excludes the '\n'.
  Status Next(Kind* kind, std::string_view* line) {
    for (;;) {
      const char* begin = buf_.data() + pos_;
      size_t avail = end_ - pos_;
      const void* nl = avail ? std::memchr(begin, '\n', avail) : nullptr;
      if (nl != nullptr) {
        size_t len = static_cast<size_t>(static_cast<const char*>(nl) - begin);
        pos_ += len + 1;
        return Emit(begin, len, kind, line);
      }
      if (eof_) {
        if (avail == 0) {
          *kind = Kind::kEnd;
          return Status::Ok();
        }
        pos_ = end_;
        return Emit(begin, avail, kind, line);
      }
      if (avail > max_line_) {
        RECO_RETURN_IF_ERROR(DiscardRestOfLine());
        ++line_number_;
        *kind = Kind::kTooLong;
        return Status::Ok();
      }
      RECO_RETURN_IF_ERROR(Refill());
    }
  }

  uint64_t line_number() const { return line_number_; }

 private:
  Status Emit(const char* begin, size_t len, Kind* kind, std::string_view* line) {
    ++line_number_;
    if (len > max_line_) {
      *kind = Kind::kTooLong;
    } else {
      *kind = Kind::kLine;
      *line = std::string_view(begin, len);
    }
    return Status::Ok();
  }

  Status ReadMore() {
    size_t want = buf_.size() - end_;
    size_t got = std::fread(buf_.data() + end_, 1, want, file_);
    if (got < want) {
      if (std::ferror(file_)) {
        return Status::IOError(fmt::format("{}: read failed: {}", path_, ErrnoText(errno)));
      }
      eof_ = true;
    }
    end_ += got;
    bytes_read_ += got;
    return Status::Ok();
  }

  Status Refill() {
    size_t avail = end_ - pos_;
    if (pos_ > 0 && avail > 0) std::memmove(buf_.data(), buf_.data() + pos_, avail);
    pos_ = 0;
    end_ = avail;
    bool first = bytes_read_ == 0;
    RECO_RETURN_IF_ERROR(ReadMore());
    if (first && std::string_view(buf_.data(), end_).starts_with(kUtf8Bom)) {
      pos_ = kUtf8Bom.size();
    }
    return Status::Ok();
  }

  Status DiscardRestOfLine() {
    for (;;) {
      pos_ = end_ = 0;
      if (eof_) return Status::Ok();
      RECO_RETURN_IF_ERROR(ReadMore());
      const void* nl = std::memchr(buf_.data(), '\n', end_);
      if (nl != nullptr) {
        pos_ = static_cast<size_t>(static_cast<const char*>(nl) - buf_.data()) + 1;
        return Status::Ok();
      }
    }
  }

  std::FILE* file_;
  std::string path_;
  size_t max_line_;
  std::vector<char> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
  uint64_t line_number_ = 0;
};

// An open-addressing index in front of an IdMap for the parse loop. The
// map's node-based lookup cost two or three cache misses per ID and dominated
// load time on large files; here a probe touches one 16-byte slot, which
// holds IDs of up to 7 bytes inline (all MovieLens IDs) so that only longer
// IDs are compared against the map's copy. The IdMap stays the owner of the
// IDs and is consulted once per distinct ID.
class IdLookup {
 public:
  explicit IdLookup(IdMap* map) : map_(map) { Rebuild(1024); }

  uint32_t GetOrAdd(std::string_view id) {
    const uint64_t h = XXH3_64bits(id.data(), id.size());
    const auto tag = static_cast<uint32_t>(h >> 32);
    const size_t mask = slots_.size() - 1;
    for (size_t s = h & mask;; s = (s + 1) & mask) {
      Slot& slot = slots_[s];
      if (slot.index_plus_one == 0) {
        uint32_t index = map_->GetOrAdd(id);
        slot = MakeSlot(index, tag, id);
        if (++used_ * 2 > slots_.size()) Rebuild(slots_.size() * 2);
        return index;
      }
      if (slot.tag != tag) continue;
      const uint32_t index = slot.index_plus_one - 1;
      if (slot.length == kLongId ? map_->External(index) == id
                                 : id.size() == slot.length &&
                                       std::memcmp(slot.inline_id, id.data(), id.size()) == 0) {
        return index;
      }
    }
  }

 private:
  static constexpr size_t kInline = 7;
  static constexpr uint8_t kLongId = 0xff;
  struct Slot {
    uint32_t index_plus_one;  // 0 = empty
    uint32_t tag;             // high half of the hash
    uint8_t length;           // of inline_id, or kLongId
    char inline_id[kInline];
  };
  static_assert(sizeof(Slot) == 16);

  static Slot MakeSlot(uint32_t index, uint32_t tag, std::string_view id) {
    Slot slot{index + 1, tag, kLongId, {}};
    if (id.size() <= kInline) {
      slot.length = static_cast<uint8_t>(id.size());
      std::memcpy(slot.inline_id, id.data(), id.size());
    }
    return slot;
  }

  void Rebuild(size_t size) {
    slots_.assign(size, Slot{0, 0, 0, {}});
    used_ = map_->size();
    for (uint32_t i = 0; i < map_->size(); ++i) {
      const std::string& id = map_->External(i);
      const uint64_t h = XXH3_64bits(id.data(), id.size());
      size_t s = h & (size - 1);
      while (slots_[s].index_plus_one != 0) s = (s + 1) & (size - 1);
      slots_[s] = MakeSlot(i, static_cast<uint32_t>(h >> 32), id);
    }
  }

  IdMap* map_;
  std::vector<Slot> slots_;
  size_t used_ = 0;
};

// How the lines of one file are read, resolved from the options and (for
// kAuto, headers and named columns) the file's first non-blank line.
struct Layout {
  InputFormat format = InputFormat::kAuto;
  std::string delimiter;
  bool has_header = false;
  size_t fields = 0;  // every record line must have exactly this many
  size_t user = 0;
  size_t item = 1;
  std::optional<size_t> value;
  std::optional<size_t> timestamp;

  std::string Describe() const {
    auto col = [](const std::optional<size_t>& c) {
      return c ? std::to_string(*c) : std::string("none");
    };
    return fmt::format("delimiter {}, {}, {} fields, user={} item={} rating={} timestamp={}",
                       ShowDelimiter(delimiter), has_header ? "header" : "no header", fields, user,
                       item, col(value), col(timestamp));
  }
};

std::string_view DetectDelimiter(std::string_view line) {
  if (line.find("::") != std::string_view::npos) return "::";
  if (line.find('\t') != std::string_view::npos) return "\t";
  if (line.find(',') != std::string_view::npos) return ",";
  return {};
}

// Resolves one column reference against the first line (`header` is empty
// when the file has none). `fallback` is the Default() index, or nullopt when
// Default() means "absent" for a file this narrow.
Result<std::optional<size_t>> ResolveColumn(const ColumnRef& ref, const char* role,
                                            std::optional<size_t> fallback,
                                            const std::vector<std::string_view>& header,
                                            size_t fields, const std::string& where) {
  std::optional<size_t> index;
  switch (ref.kind()) {
    case ColumnRef::Kind::kDefault:
      index = fallback;
      break;
    case ColumnRef::Kind::kNone:
      break;
    case ColumnRef::Kind::kIndex:
      index = ref.index();
      break;
    case ColumnRef::Kind::kName: {
      if (header.empty()) {
        return Status::InvalidArgument(
            fmt::format("{}: {} column named {} but the file is read without a header line", where,
                        role, Quote(ref.name())));
      }
      auto it = std::find(header.begin(), header.end(), std::string_view(ref.name()));
      if (it == header.end()) {
        std::string names;
        for (std::string_view h : header) names += (names.empty() ? "" : ", ") + Quote(h);
        return Status::InvalidArgument(fmt::format("{}: header has no {} column {} (columns: {})",
                                                   where, role, Quote(ref.name()), names));
      }
      index = static_cast<size_t>(it - header.begin());
      break;
    }
  }
  if (index && *index >= fields) {
    return Status::InvalidArgument(fmt::format(
        "{}: {} column {} is past the {} fields of this line", where, role, *index, fields));
  }
  return index;
}

Result<Layout> ResolveLayout(const LoadOptions& opts, std::string_view first_line,
                             const std::string& where) {
  Layout layout;
  layout.format = opts.format;
  bool fixed_columns = true;  // the named formats ignore the *_column options
  switch (opts.format) {
    case InputFormat::kUData:
      layout.delimiter = "\t";
      break;
    case InputFormat::kRatingsDat:
      layout.delimiter = "::";
      break;
    case InputFormat::kRatingsCsv:
      layout.delimiter = ",";
      layout.has_header = true;
      break;
    case InputFormat::kDelimited:
      layout.delimiter = opts.delimiter;
      layout.has_header = opts.has_header;
      fixed_columns = false;
      break;
    case InputFormat::kAuto: {
      std::string_view delim = DetectDelimiter(first_line);
      if (delim.empty()) {
        return Status::InvalidArgument(
            fmt::format("{}: cannot detect the format: the first line has no \"::\", tab or "
                        "comma separator; pass the format and delimiter explicitly",
                        where));
      }
      layout.delimiter = std::string(delim);
      fixed_columns = false;
      break;
    }
  }

  std::vector<std::string_view> first;
  SplitFields(first_line, layout.delimiter, &first);
  if (opts.format == InputFormat::kAuto) {
    // A header is recognised by having no number past the two ID columns, so
    // a record with one bad number is still read (and rejected) as a record.
    // With only two columns both are IDs and nothing tells a header from data.
    layout.has_header =
        first.size() >= 3 && std::none_of(first.begin() + 2, first.end(), LooksNumeric);
  }
  if (fixed_columns) {
    // Record lines of the named formats are checked like any other record
    // (so skip_bad_lines applies to a bad first record); only a header is
    // checked here.
    if (layout.has_header && first.size() != 4) {
      return Status::InvalidArgument(fmt::format("{}: expected 4 fields separated by {}, got {}",
                                                 where, ShowDelimiter(layout.delimiter),
                                                 first.size()));
    }
    if (opts.format == InputFormat::kRatingsCsv && LooksNumeric(first[2])) {
      return Status::InvalidArgument(fmt::format(
          "{}: expected a header line like userId,movieId,rating,timestamp, got a record", where));
    }
    layout.fields = 4;
    layout.value = 2;
    layout.timestamp = 3;
  } else {
    if (first.size() < 2) {
      return Status::InvalidArgument(fmt::format(
          "{}: expected at least 2 fields separated by {}, got 1; is the delimiter right?", where,
          ShowDelimiter(layout.delimiter)));
    }
    layout.fields = first.size();
    std::vector<std::string_view> header;
    if (layout.has_header) header = first;
    auto wide = [&](size_t i) {
      return first.size() > i ? std::optional<size_t>(i) : std::nullopt;
    };
    RECO_ASSIGN_OR_RETURN(auto user,
                          ResolveColumn(opts.user_column, "user", 0, header, first.size(), where));
    RECO_ASSIGN_OR_RETURN(auto item,
                          ResolveColumn(opts.item_column, "item", 1, header, first.size(), where));
    RECO_ASSIGN_OR_RETURN(layout.value, ResolveColumn(opts.value_column, "rating", wide(2), header,
                                                      first.size(), where));
    RECO_ASSIGN_OR_RETURN(layout.timestamp, ResolveColumn(opts.timestamp_column, "timestamp",
                                                          wide(3), header, first.size(), where));
    if (!user || !item) {
      return Status::InvalidArgument(
          fmt::format("{}: the user and item columns are required", where));
    }
    layout.user = *user;
    layout.item = *item;
    std::vector<size_t> used = {layout.user, layout.item};
    if (layout.value) used.push_back(*layout.value);
    if (layout.timestamp) used.push_back(*layout.timestamp);
    std::sort(used.begin(), used.end());
    if (std::adjacent_find(used.begin(), used.end()) != used.end()) {
      return Status::InvalidArgument(
          fmt::format("{}: two roles map to the same column ({})", where, layout.Describe()));
    }
  }
  if (layout.format == InputFormat::kAuto) {
    // Report the named format when the detected layout is exactly one of them.
    bool standard = layout.fields == 4 && layout.user == 0 && layout.item == 1 &&
                    layout.value == 2u && layout.timestamp == 3u;
    if (layout.delimiter == "::" && !layout.has_header && standard) {
      layout.format = InputFormat::kRatingsDat;
    } else if (layout.delimiter == "\t" && !layout.has_header && standard) {
      layout.format = InputFormat::kUData;
    } else if (layout.delimiter == "," && layout.has_header && standard) {
      layout.format = InputFormat::kRatingsCsv;
    } else {
      layout.format = InputFormat::kDelimited;
    }
  }
  return layout;
}

// Collapses records with the same (user, item) according to `policy`,
// preserving file order of the survivors. Records are grouped by user with a
// counting sort (file order within a user); walking a user's records, owner
// and kept say whether an item was already seen for this user and which
// record represents it. O(n + users + items) time and 4 bytes per record
// (none when the file is grouped by user) plus 8 per item, where a hash set
// of pairs would need ~10x the memory.
Status ResolveDuplicates(const std::string& path, DuplicatePolicy policy,
                         const std::vector<uint64_t>& record_lines, Dataset* ds,
                         uint64_t* resolved) {
  std::vector<Interaction>& recs = ds->interactions;
  const uint32_t n = static_cast<uint32_t>(recs.size());
  // Files are usually grouped by user already (each user's lines in one run,
  // as MovieLens and `reco data synth` write them); then file order is the
  // grouped order and the 4-byte-a-record permutation is not needed.
  uint32_t runs = 0;
  for (uint32_t i = 0; i < n; ++i) runs += (i == 0 || recs[i].user != recs[i - 1].user) ? 1 : 0;
  const bool grouped = runs == ds->users.size();
  std::vector<uint32_t> order;
  if (!grouped) {
    std::vector<uint32_t> next(static_cast<size_t>(ds->users.size()) + 1, 0);
    for (const Interaction& r : recs) ++next[r.user + 1];
    for (size_t u = 1; u < next.size(); ++u) next[u] += next[u - 1];
    order.resize(n);
    for (uint32_t i = 0; i < n; ++i) order[next[recs[i].user]++] = i;
  }
  constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  std::vector<uint32_t> owner(ds->items.size(), kNone);  // last user that had the item
  std::vector<uint32_t> kept(ds->items.size());          // that user's record for it
  uint32_t first_dup = kNone;  // kError: the earliest line repeating an earlier one
  uint32_t first_dup_original = 0;
  uint64_t dropped = 0;
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = grouped ? k : order[k];
    const uint32_t u = recs[i].user;
    const uint32_t item = recs[i].item;
    if (owner[item] != u) {
      owner[item] = u;
      kept[item] = i;
      continue;
    }
    Interaction& rep = recs[kept[item]];
    Interaction& dup = recs[i];
    switch (policy) {
      case DuplicatePolicy::kError:
        if (i < first_dup) {
          first_dup = i;
          first_dup_original = kept[item];
        }
        continue;
      case DuplicatePolicy::kKeepFirst:
        dup.item = kNone;
        break;
      case DuplicatePolicy::kKeepLast:
        rep.item = kNone;
        kept[item] = i;
        break;
      case DuplicatePolicy::kSum:
        rep.value += dup.value;
        rep.timestamp = std::max(rep.timestamp, dup.timestamp);
        dup.item = kNone;
        break;
      case DuplicatePolicy::kMax:
        rep.value = std::max(rep.value, dup.value);
        rep.timestamp = std::max(rep.timestamp, dup.timestamp);
        dup.item = kNone;
        break;
    }
    ++dropped;
  }
  if (first_dup != kNone) {
    const Interaction& r = recs[first_dup];
    return Status::InvalidArgument(
        fmt::format("{}:{}: duplicate of line {} (user {}, item {})", path, record_lines[first_dup],
                    record_lines[first_dup_original], Quote(ds->users.External(r.user)),
                    Quote(ds->items.External(r.item))));
  }
  if (dropped > 0) {
    std::erase_if(recs, [](const Interaction& r) { return r.item == kNone; });
  }
  *resolved = dropped;
  return Status::Ok();
}

Status CheckOptions(const LoadOptions& opts) {
  if (opts.format == InputFormat::kDelimited) {
    if (opts.delimiter.empty()) return Status::InvalidArgument("the delimiter must not be empty");
    if (opts.delimiter.find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument("the delimiter must not contain a line break");
    }
  }
  if (opts.max_line_bytes == 0) return Status::InvalidArgument("max_line_bytes must be positive");
  return Status::Ok();
}

}  // namespace

Result<Dataset> LoadInteractions(const std::string& path, const LoadOptions& opts,
                                 LoadReport* report) {
  RECO_RETURN_IF_ERROR(CheckOptions(opts));
  LoadReport local_report;
  LoadReport& rep = report ? *report : local_report;
  rep = LoadReport();

  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Status::NotFound(fmt::format("{}: no such file", path));
    }
    return Status::IOError(fmt::format("{}: {}", path, ErrnoText(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(fmt::format("{}: is a directory, not a file", path));
  }
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) return Status::IOError(fmt::format("{}: cannot open: {}", path, ErrnoText(errno)));
  const uint64_t file_size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;

  Dataset ds;
  if (file_size > 0) {
    // The records array is the largest thing a load builds (24 bytes a
    // record). Sized exactly from a newline count, it never grows (a
    // reallocation holds old and new copies at once) and needs no
    // shrink_to_fit copy at the end; counting is one memchr pass over a file
    // the page cache then holds for the parse.
    RECO_ASSIGN_OR_RETURN(uint64_t lines, CountLines(file.get(), path));
    ds.interactions.reserve(static_cast<size_t>(std::min<uint64_t>(lines + 1, kMaxRecords)));
  }
  LineReader reader(file.get(), path, opts.max_line_bytes);
  std::optional<Layout> layout;
  std::vector<std::string_view> fields;
  std::vector<uint64_t> record_lines;  // only kError needs them, for its message
  const bool keep_lines = opts.duplicates == DuplicatePolicy::kError;
  std::optional<uint32_t> last_user;
  IdLookup user_ids(&ds.users);
  IdLookup item_ids(&ds.items);

  auto bad = [&](std::string reason) -> Status {
    std::string msg = fmt::format("{}:{}: {}", path, reader.line_number(), reason);
    if (!opts.skip_bad_lines) return Status::InvalidArgument(std::move(msg));
    ++rep.bad_lines_skipped;
    if (rep.bad_line_messages.size() < opts.max_bad_line_messages) {
      rep.bad_line_messages.push_back(std::move(msg));
    }
    return Status::Ok();
  };

  for (;;) {
    LineReader::Kind kind;
    std::string_view line;
    RECO_RETURN_IF_ERROR(reader.Next(&kind, &line));
    if (kind == LineReader::Kind::kEnd) break;
    if (kind == LineReader::Kind::kTooLong) {
      std::string reason = fmt::format("line is longer than {} bytes", opts.max_line_bytes);
      if (!layout) {
        return Status::InvalidArgument(
            fmt::format("{}:{}: {}", path, reader.line_number(), reason));
      }
      RECO_RETURN_IF_ERROR(bad(std::move(reason)));
      continue;
    }
    // Trailing blanks and the CR of CRLF files are not part of the last field.
    while (!line.empty() && IsBlank(line.back())) line.remove_suffix(1);
    if (Trim(line).empty()) {
      ++rep.blank_lines;
      continue;
    }
    if (!layout) {
      // The first non-blank line fixes the layout; its errors are never skippable.
      std::string where = fmt::format("{}:{}", path, reader.line_number());
      RECO_ASSIGN_OR_RETURN(layout, ResolveLayout(opts, line, where));
      if (layout->has_header) {
        continue;
      }
    }

    SplitFields(line, layout->delimiter, &fields);
    if (fields.size() != layout->fields) {
      RECO_RETURN_IF_ERROR(
          bad(fmt::format("expected {} fields separated by {}, got {}", layout->fields,
                          ShowDelimiter(layout->delimiter), fields.size())));
      continue;
    }
    std::string_view user = fields[layout->user];
    std::string_view item = fields[layout->item];
    if (user.empty()) {
      RECO_RETURN_IF_ERROR(bad("empty user id"));
      continue;
    }
    if (item.empty()) {
      RECO_RETURN_IF_ERROR(bad("empty item id"));
      continue;
    }
    // The API's ID rules, so every user and item trained on can be served
    // and sent events (a NUL, a control character or invalid UTF-8 here would
    // give a model entry no request can name).
    if (std::string reason = IdRuleViolation("user id", user); !reason.empty()) {
      RECO_RETURN_IF_ERROR(bad(std::move(reason)));
      continue;
    }
    if (std::string reason = IdRuleViolation("item id", item); !reason.empty()) {
      RECO_RETURN_IF_ERROR(bad(std::move(reason)));
      continue;
    }
    Interaction rec{0, 0, 1.0f, 0};
    if (layout->value) {
      std::string reason = ParseValue(fields[*layout->value], &rec.value);
      if (!reason.empty()) {
        RECO_RETURN_IF_ERROR(bad(std::move(reason)));
        continue;
      }
    }
    if (layout->timestamp) {
      std::string reason = ParseTimestamp(fields[*layout->timestamp], &rec.timestamp);
      if (!reason.empty()) {
        RECO_RETURN_IF_ERROR(bad(std::move(reason)));
        continue;
      }
    }
    if (ds.interactions.size() >= kMaxRecords) {
      return Status::InvalidArgument(fmt::format("{}:{}: more than {} records are not supported",
                                                 path, reader.line_number(), kMaxRecords));
    }
    // IDs are added only once the whole line is known good, so a skipped
    // line leaves no user or item behind. Files are usually grouped by user,
    // so the previous user is checked before hashing.
    if (last_user && ds.users.External(*last_user) == user) {
      rec.user = *last_user;
    } else {
      rec.user = user_ids.GetOrAdd(user);
      last_user = rec.user;
    }
    rec.item = item_ids.GetOrAdd(item);
    ds.interactions.push_back(rec);
    if (keep_lines) record_lines.push_back(reader.line_number());
  }
  rep.lines_read = reader.line_number();

  if (ds.interactions.empty()) {
    if (rep.lines_read == 0) {
      return Status::InvalidArgument(fmt::format("{}: file is empty", path));
    }
    if (!layout) {
      return Status::InvalidArgument(
          fmt::format("{}: no records: all {} lines are blank", path, rep.lines_read));
    }
    if (rep.bad_lines_skipped > 0) {
      return Status::InvalidArgument(fmt::format(
          "{}: no records loaded: all {} record lines were bad (first: {})", path,
          rep.bad_lines_skipped,
          rep.bad_line_messages.empty() ? std::string("?") : rep.bad_line_messages.front()));
    }
    return Status::InvalidArgument(fmt::format("{}: no records after the header line", path));
  }
  ds.has_values = layout->value.has_value();
  ds.has_timestamps = layout->timestamp.has_value();
  RECO_RETURN_IF_ERROR(
      ResolveDuplicates(path, opts.duplicates, record_lines, &ds, &rep.duplicates_resolved));
  // Shrinking copies the array; worth it only when much was dropped.
  if (ds.interactions.capacity() - ds.interactions.size() > ds.interactions.size() / 8) {
    ds.interactions.shrink_to_fit();
  }
  rep.format = layout->format;
  rep.layout = layout->Describe();
  rep.records_loaded = ds.interactions.size();
  return ds;
}

namespace {

// Whether an external ID survives a CSV write + LoadInteractions unchanged.
bool CsvSafeId(std::string_view id) {
  if (id.empty() || IsBlank(id.front()) || IsBlank(id.back())) return false;
  return id.find_first_of(",\r\n") == std::string_view::npos;
}

}  // namespace

Status WriteInteractions(const std::string& path, const Dataset& ds,
                         const std::vector<Interaction>& records) {
  // Validate everything before creating the file so a refusal leaves no debris.
  std::vector<uint8_t> user_checked(ds.users.size(), 0), item_checked(ds.items.size(), 0);
  for (size_t i = 0; i < records.size(); ++i) {
    const Interaction& r = records[i];
    if (r.user >= ds.users.size() || r.item >= ds.items.size()) {
      return Status::InvalidArgument(fmt::format(
          "{}: record {} refers to user {} / item {} but the dataset has {} users and {} items",
          path, i, r.user, r.item, ds.users.size(), ds.items.size()));
    }
    if (!std::isfinite(r.value)) {
      return Status::InvalidArgument(fmt::format("{}: record {} has a non-finite value", path, i));
    }
    if (!user_checked[r.user]) {
      if (!CsvSafeId(ds.users.External(r.user))) {
        return Status::InvalidArgument(fmt::format("{}: user id {} cannot be written to CSV", path,
                                                   Quote(ds.users.External(r.user))));
      }
      user_checked[r.user] = 1;
    }
    if (!item_checked[r.item]) {
      if (!CsvSafeId(ds.items.External(r.item))) {
        return Status::InvalidArgument(fmt::format("{}: item id {} cannot be written to CSV", path,
                                                   Quote(ds.items.External(r.item))));
      }
      item_checked[r.item] = 1;
    }
  }

  AtomicFileWriter file;
  RECO_RETURN_IF_ERROR(file.Open(path));
  std::string buf;
  buf.reserve(kChunkBytes + 256);
  auto flush = [&] {
    Status st = file.Append(buf);
    buf.clear();
    return st;
  };
  buf += "user_id,item_id,rating,timestamp\n";
  char num[64];
  for (const Interaction& r : records) {
    buf += ds.users.External(r.user);
    buf += ',';
    buf += ds.items.External(r.item);
    buf += ',';
    // Shortest form that parses back to the same float.
    buf.append(num, std::to_chars(num, num + sizeof(num), r.value).ptr);
    buf += ',';
    buf.append(num, std::to_chars(num, num + sizeof(num), r.timestamp).ptr);
    buf += '\n';
    if (buf.size() >= kChunkBytes) RECO_RETURN_IF_ERROR(flush());
  }
  RECO_RETURN_IF_ERROR(flush());
  return file.Commit();
}

std::string_view InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kAuto:
      return "auto";
    case InputFormat::kUData:
      return "udata";
    case InputFormat::kRatingsDat:
      return "dat";
    case InputFormat::kRatingsCsv:
      return "csv";
    case InputFormat::kDelimited:
      return "delimited";
  }
  return "unknown";
}

Result<InputFormat> ParseInputFormat(std::string_view name) {
  for (InputFormat f : {InputFormat::kAuto, InputFormat::kUData, InputFormat::kRatingsDat,
                        InputFormat::kRatingsCsv, InputFormat::kDelimited}) {
    if (name == InputFormatName(f)) return f;
  }
  return Status::InvalidArgument(fmt::format(
      "unknown input format {} (expected auto, udata, dat, csv or delimited)", Quote(name)));
}

std::string_view DuplicatePolicyName(DuplicatePolicy policy) {
  switch (policy) {
    case DuplicatePolicy::kKeepLast:
      return "keep_last";
    case DuplicatePolicy::kKeepFirst:
      return "keep_first";
    case DuplicatePolicy::kSum:
      return "sum";
    case DuplicatePolicy::kMax:
      return "max";
    case DuplicatePolicy::kError:
      return "error";
  }
  return "unknown";
}

Result<DuplicatePolicy> ParseDuplicatePolicy(std::string_view name) {
  for (DuplicatePolicy p :
       {DuplicatePolicy::kKeepLast, DuplicatePolicy::kKeepFirst, DuplicatePolicy::kSum,
        DuplicatePolicy::kMax, DuplicatePolicy::kError}) {
    if (name == DuplicatePolicyName(p)) return p;
  }
  return Status::InvalidArgument(
      fmt::format("unknown duplicate policy {} (expected keep_last, keep_first, sum, max or error)",
                  Quote(name)));
}

}  // namespace reco
