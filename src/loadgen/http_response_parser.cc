#include "http_response_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <string_view>

#include "reco/ascii.h"

namespace reco::loadgen_internal {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated header value lists `token` (any case).
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (EqualsIgnoreCase(TrimSpaces(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Index just past the line ending at or after `from` in s, or npos.
size_t LineEnd(std::string_view s, size_t from) {
  const size_t lf = s.find('\n', from);
  return lf == std::string_view::npos ? lf : lf + 1;
}

std::string_view StripEol(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

void HttpResponseParser::Reset() {
  phase_ = Phase::kHeaders;
  started_ = false;
  status_ = 0;
  keep_alive_ = true;
  remaining_ = 0;
  scanned_ = 0;
  trailer_bytes_ = 0;
  header_.clear();
  body_.clear();
  error_.clear();
}

bool HttpResponseParser::KeepBody(const char* data, size_t size) {
  if (body_limit_ == 0) return true;
  if (size > body_limit_ - body_.size()) return false;
  body_.append(data, size);
  return true;
}

HttpResponseParser::Outcome HttpResponseParser::Fail(std::string why) {
  phase_ = Phase::kError;
  error_ = std::move(why);
  return {State::kError, 0};
}

bool HttpResponseParser::ParseHeaders() {
  std::string_view block = header_;
  size_t pos = LineEnd(block, 0);
  std::string_view status_line = StripEol(block.substr(0, pos));
  // "HTTP/1.1 200 OK": version, then exactly three digits.
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" || status_line[6] != '.' ||
      status_line[8] != ' ' || !std::isdigit(static_cast<unsigned char>(status_line[5])) ||
      !std::isdigit(static_cast<unsigned char>(status_line[7]))) {
    error_ = "malformed status line";
    return false;
  }
  const bool http10 = status_line[5] == '1' && status_line[7] == '0';
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(status_line[i]))) {
      error_ = "malformed status code";
      return false;
    }
    status = status * 10 + (status_line[i] - '0');
  }
  if (status_line.size() > 12 && status_line[12] != ' ') {
    error_ = "malformed status code";
    return false;
  }
  status_ = status;

  bool chunked = false, other_coding = false, has_length = false;
  bool conn_close = false, conn_keep_alive = false;
  uint64_t length = 0;
  while (pos < block.size()) {
    const size_t next = LineEnd(block, pos);
    std::string_view line = StripEol(block.substr(pos, next - pos));
    pos = next;
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      error_ = "malformed header line";
      return false;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = TrimSpaces(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty()) {
        error_ = "bad Content-Length";
        return false;
      }
      if (has_length && n != length) {
        error_ = "conflicting Content-Length headers";
        return false;
      }
      has_length = true;
      length = n;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      // Chunked must be the last coding; anything else is delimited by close.
      const size_t comma = value.rfind(',');
      const std::string_view last =
          TrimSpaces(comma == std::string_view::npos ? value : value.substr(comma + 1));
      if (EqualsIgnoreCase(last, "chunked")) {
        chunked = true;
      } else {
        other_coding = true;
      }
    } else if (EqualsIgnoreCase(name, "connection")) {
      conn_close = conn_close || HasToken(value, "close");
      conn_keep_alive = conn_keep_alive || HasToken(value, "keep-alive");
    }
  }
  keep_alive_ = !conn_close && (!http10 || conn_keep_alive);

  header_.clear();
  if ((status >= 100 && status < 200) || status == 204 || status == 304) {
    phase_ = Phase::kDone;
  } else if (chunked && !other_coding) {
    phase_ = Phase::kChunkLine;
  } else if (other_coding) {
    phase_ = Phase::kUntilClose;
    keep_alive_ = false;
  } else if (has_length) {
    remaining_ = length;
    phase_ = length == 0 ? Phase::kDone : Phase::kFixedBody;
  } else {
    phase_ = Phase::kUntilClose;
    keep_alive_ = false;
  }
  return true;
}

HttpResponseParser::Outcome HttpResponseParser::Feed(const char* data, size_t size) {
  size_t pos = 0;
  if (size > 0) started_ = true;
  while (true) {
    switch (phase_) {
      case Phase::kDone:
        return {State::kDone, pos};
      case Phase::kError:
        return {State::kError, pos};
      case Phase::kHeaders: {
        if (pos == size) return {State::kNeedMore, pos};
        // Copy at most what still fits under the limit, then look for the
        // blank line only in the part not searched before.
        const size_t room = kMaxHeaderBytes + 1 - header_.size();
        const size_t take = std::min(room, size - pos);
        const size_t old_size = header_.size();
        header_.append(data + pos, take);
        const size_t from = scanned_ >= 3 ? scanned_ - 3 : 0;
        const size_t end = header_.find("\r\n\r\n", from);
        if (end == std::string::npos) {
          if (header_.size() > kMaxHeaderBytes) return Fail("response headers over 64 KiB");
          scanned_ = header_.size();
          pos += take;
          return {State::kNeedMore, pos};
        }
        const size_t block_end = end + 4;
        pos += block_end - old_size;
        header_.resize(block_end);
        scanned_ = 0;
        if (!ParseHeaders()) return Fail(error_);
        // An interim 1xx (not 101) is followed by the real response.
        if (status_ >= 100 && status_ < 200) {
          if (status_ == 101) return Fail("unexpected 101 Switching Protocols");
          phase_ = Phase::kHeaders;
        }
        break;
      }
      case Phase::kFixedBody: {
        const uint64_t take = std::min<uint64_t>(remaining_, size - pos);
        if (!KeepBody(data + pos, take)) return Fail("response body over the kept limit");
        remaining_ -= take;
        pos += take;
        if (remaining_ > 0) return {State::kNeedMore, pos};
        phase_ = Phase::kDone;
        break;
      }
      case Phase::kChunkLine:
      case Phase::kTrailers: {
        if (pos == size) return {State::kNeedMore, pos};
        const char* lf = static_cast<const char*>(std::memchr(data + pos, '\n', size - pos));
        const size_t take = lf == nullptr ? size - pos : static_cast<size_t>(lf - data) + 1 - pos;
        const size_t limit = phase_ == Phase::kChunkLine ? kMaxChunkLineBytes : kMaxTrailerBytes;
        if (header_.size() + take > limit) return Fail("chunk size line or trailers too long");
        header_.append(data + pos, take);
        pos += take;
        if (lf == nullptr) return {State::kNeedMore, pos};
        const std::string_view line = StripEol(header_);
        if (phase_ == Phase::kTrailers) {
          trailer_bytes_ += header_.size();
          if (trailer_bytes_ > kMaxTrailerBytes) return Fail("trailers over 64 KiB");
          if (line.empty()) phase_ = Phase::kDone;
          header_.clear();
          break;
        }
        const std::string_view hex = TrimSpaces(line.substr(0, line.find(';')));
        uint64_t chunk = 0;
        auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), chunk, 16);
        if (hex.empty() || hex.size() > 15 || ec != std::errc() || end != hex.data() + hex.size()) {
          return Fail("bad chunk size");
        }
        header_.clear();
        if (chunk == 0) {
          phase_ = Phase::kTrailers;
        } else {
          remaining_ = chunk;
          phase_ = Phase::kChunkData;
        }
        break;
      }
      case Phase::kChunkData: {
        const uint64_t take = std::min<uint64_t>(remaining_, size - pos);
        if (!KeepBody(data + pos, take)) return Fail("response body over the kept limit");
        remaining_ -= take;
        pos += take;
        if (remaining_ > 0) return {State::kNeedMore, pos};
        phase_ = Phase::kChunkDataEnd;
        remaining_ = 2;  // the CRLF after the data
        break;
      }
      case Phase::kChunkDataEnd: {
        while (remaining_ > 0 && pos < size) {
          const char expected = remaining_ == 2 ? '\r' : '\n';
          if (data[pos] != expected) return Fail("missing CRLF after chunk data");
          ++pos;
          --remaining_;
        }
        if (remaining_ > 0) return {State::kNeedMore, pos};
        phase_ = Phase::kChunkLine;
        break;
      }
      case Phase::kUntilClose:
        if (!KeepBody(data + pos, size - pos)) return Fail("response body over the kept limit");
        return {State::kNeedMore, size};
    }
  }
}

HttpResponseParser::State HttpResponseParser::FinishOnClose() {
  if (phase_ == Phase::kUntilClose) {
    phase_ = Phase::kDone;
    return State::kDone;
  }
  if (phase_ == Phase::kDone) return State::kDone;
  if (phase_ != Phase::kError) {
    phase_ = Phase::kError;
    error_ = started_ ? "connection closed mid-response" : "connection closed before a response";
  }
  return State::kError;
}

}  // namespace reco::loadgen_internal
