// Parsing of what a user hands `reco loadtest`: the URL template, the users
// file and durations. Every error says what was wrong and where.
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <unordered_set>

#include "reco/ascii.h"
#include "reco/loadgen.h"
#include "reco/text.h"

namespace reco {
namespace {

constexpr std::string_view kPlaceholder = "{user}";
constexpr size_t kMaxUserIdBytes = 256;

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

bool IsInteger(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

void UrlTemplate::AppendTarget(std::string_view encoded_user, std::string* out) const {
  for (size_t i = 0; i < target_parts.size(); ++i) {
    if (i > 0) out->append(encoded_user);
    out->append(target_parts[i]);
  }
}

Result<UrlTemplate> ParseUrlTemplate(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad URL '" + std::string(url) + "': " + why);
  };
  for (size_t i = 0; i < url.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(url[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return bad("space, control or non-ASCII byte at position " + std::to_string(i) +
                 " (percent-encode it)");
    }
  }
  if (StartsWithIgnoreCase(url, "https://")) {
    return bad("https is not supported (the load generator speaks plain HTTP only)");
  }
  if (!StartsWithIgnoreCase(url, "http://")) return bad("must start with http://");
  std::string_view rest = url.substr(7);

  const size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('{') != std::string_view::npos) {
    return bad("{user} may only appear in the path or query, not in the host");
  }
  if (authority.find('@') != std::string_view::npos) return bad("user:password@ is not supported");

  UrlTemplate out;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated '[' in IPv6 host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected characters after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(out.host, ec);
    if (ec) return bad("'" + out.host + "' is not an IPv6 address");
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
    for (char c : out.host) {
      if (!IsHostChar(c)) return bad(std::string("invalid character '") + c + "' in host");
    }
  }
  if (out.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return bad("port '" + std::string(port_text) + "' is not a number in 1..65535");
    }
    out.port = static_cast<uint16_t>(port);
  }
  const bool ipv6 = out.host.find(':') != std::string::npos;
  out.host_header = ipv6 ? "[" + out.host + "]" : out.host;
  if (out.port != 80) out.host_header += ":" + std::to_string(out.port);

  if (target.find('#') != std::string_view::npos) {
    return bad("a #fragment is never sent to the server; remove it");
  }
  std::string normalized = target.empty() || target.front() == '?' ? "/" : "";
  normalized.append(target);

  // Split at {user}; any other brace is a typo worth reporting, not sending.
  std::string_view t = normalized;
  std::string part;
  for (size_t i = 0; i < t.size();) {
    if (t.compare(i, kPlaceholder.size(), kPlaceholder) == 0) {
      out.target_parts.push_back(part);
      part.clear();
      i += kPlaceholder.size();
    } else if (t[i] == '{' || t[i] == '}') {
      const size_t close = t.find('}', i);
      std::string what = t[i] == '}' || close == std::string_view::npos
                             ? std::string("unbalanced '") + t[i] + "'"
                             : "unknown placeholder " + std::string(t.substr(i, close - i + 1));
      return bad(what + "; only {user} is supported");
    } else {
      part.push_back(t[i++]);
    }
  }
  out.target_parts.push_back(part);
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (EqualsIgnoreCase(host, "localhost")) return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

std::string PercentEncode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char ch : raw) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::vector<std::string>> LoadUserIds(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open users file");

  // First fields of the non-blank lines, with their line numbers.
  std::vector<std::pair<std::string, uint64_t>> fields;
  std::string line;
  uint64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view field = line;
    if (line_no == 1 && field.starts_with("\xEF\xBB\xBF")) field.remove_prefix(3);  // UTF-8 BOM
    field = field.substr(0, field.find_first_of(",\t"));
    field = Trim(field);
    if (field.size() >= 2 && field.front() == '"' && field.back() == '"') {
      field = Trim(field.substr(1, field.size() - 2));
    }
    if (field.empty()) {
      if (Trim(line).empty()) continue;
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) +
                                     ": empty user id in the first column");
    }
    if (field.size() > kMaxUserIdBytes) {
      return Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": user id is over " +
                                     std::to_string(kMaxUserIdBytes) + " bytes");
    }
    for (char c : field) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        return Status::InvalidArgument(path + ":" + std::to_string(line_no) +
                                       ": user id contains whitespace");
      }
    }
    fields.emplace_back(std::string(field), line_no);
  }
  if (in.bad()) return Status::IOError(path + ": read failed");

  size_t first = 0;
  if (!fields.empty()) {
    const std::string& head = fields[0].first;
    static constexpr std::string_view kHeaderNames[] = {"user", "user_id", "userid", "uid", "id"};
    bool named = false;
    for (std::string_view name : kHeaderNames) named = named || EqualsIgnoreCase(head, name);
    const bool numeric_below = fields.size() > 1 && IsInteger(fields[1].first);
    if (named || (!IsInteger(head) && numeric_below)) first = 1;
  }

  std::vector<std::string> ids;
  std::unordered_set<std::string> seen;
  for (size_t i = first; i < fields.size(); ++i) {
    if (seen.insert(fields[i].first).second) ids.push_back(std::move(fields[i].first));
  }
  if (ids.empty()) return Status::InvalidArgument(path + ": no user ids in the file");
  return ids;
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  const std::string_view original = text;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad duration '" + std::string(original) + "': " + why +
                                   " (examples: 30s, 500ms, 2m, 1.5s)");
  };
  text = Trim(text);
  size_t unit_start = 0;
  while (unit_start < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[unit_start])) || text[unit_start] == '.')) {
    ++unit_start;
  }
  const std::string_view number = text.substr(0, unit_start);
  const std::string_view unit = text.substr(unit_start);
  if (number.empty()) return bad("expected a non-negative number");
  double value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size()) return bad("not a number");

  double scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1e9;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ns") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else {
    return bad("unknown unit '" + std::string(unit) + "'");
  }
  const double nanos = std::round(value * scale);
  if (!std::isfinite(nanos) || nanos > 1e18) return bad("too long");
  return std::chrono::nanoseconds(static_cast<int64_t>(nanos));
}

Result<std::vector<std::string>> ParseIdRange(std::string_view text) {
  constexpr int64_t kMaxIds = 10'000'000;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad id range '" + std::string(text) + "': " + why +
                                   " (expected FIRST:LAST, e.g. 1:943)");
  };
  const std::string_view trimmed = Trim(text);
  const size_t colon = trimmed.find(':');
  if (colon == std::string_view::npos) return bad("no ':'");
  const std::string_view first_text = Trim(trimmed.substr(0, colon));
  const std::string_view last_text = Trim(trimmed.substr(colon + 1));
  int64_t first = 0, last = 0;
  for (auto [part, out] : {std::pair{first_text, &first}, std::pair{last_text, &last}}) {
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), *out);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size()) {
      // append(), not operator+ chains: GCC 12 -O3 reports a false -Wrestrict there.
      std::string what = "'";
      what.append(part).append("' is not an integer");
      return bad(what);
    }
  }
  if (first > last) return bad("first is greater than last");
  // Differences of int64 may overflow; compare in the unsigned domain.
  if (static_cast<uint64_t>(last) - static_cast<uint64_t>(first) >= uint64_t{kMaxIds}) {
    return bad("more than 10 million ids");
  }
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(last - first + 1));
  for (int64_t id = first;; ++id) {
    ids.push_back(std::to_string(id));
    if (id == last) break;
  }
  return ids;
}

}  // namespace reco
