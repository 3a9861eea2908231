// Incremental HTTP/1.1 response parser for the load generator: it finds the
// status and where the response ends (Content-Length, chunked, or the
// connection closing) and discards the body, so a connection needs only its
// read buffer and a small reused header buffer. Limits are checked before
// anything grows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace reco::loadgen_internal {

class HttpResponseParser {
 public:
  static constexpr size_t kMaxHeaderBytes = 64 * 1024;  // status line + headers
  static constexpr size_t kMaxChunkLineBytes = 1024;    // size + extensions
  static constexpr size_t kMaxTrailerBytes = 64 * 1024;

  enum class State { kNeedMore, kDone, kError };
  struct Outcome {
    State state;
    size_t consumed;  // bytes of this call's input belonging to the response
  };

  HttpResponseParser() { Reset(); }

  // Forgets the previous response; buffers keep their capacity.
  void Reset();
  // Consumes bytes of one response. kDone: the response is complete and the
  // bytes after `consumed` belong to whatever comes next. kError: error().
  Outcome Feed(const char* data, size_t size);
  // The peer closed the connection: completes a response whose body runs to
  // the close; anything else still unfinished is an error.
  State FinishOnClose();

  // Keep up to `max_bytes` of each body (0, the default: discard bodies);
  // a longer body is an error. The freshness probe reads the list it gets.
  void set_body_limit(size_t max_bytes) { body_limit_ = max_bytes; }
  const std::string& body() const { return body_; }

  bool started() const { return started_; }  // any byte of a response seen
  int status() const { return status_; }
  // false when the server asked to close (Connection: close, HTTP/1.0
  // without keep-alive) or delimited the body by closing.
  bool keep_alive() const { return keep_alive_; }
  const std::string& error() const { return error_; }

 private:
  enum class Phase {
    kHeaders,
    kFixedBody,
    kChunkLine,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kUntilClose,
    kDone,
    kError
  };

  Outcome Fail(std::string why);
  // Appends body bytes to body_ when bodies are kept; false past the limit.
  bool KeepBody(const char* data, size_t size);
  // Interprets the complete header block in header_; sets the body phase.
  bool ParseHeaders();

  Phase phase_ = Phase::kHeaders;
  bool started_ = false;
  int status_ = 0;
  bool keep_alive_ = true;
  uint64_t remaining_ = 0;  // body or chunk bytes still to skip
  size_t scanned_ = 0;      // header_ prefix already searched for the blank line
  size_t trailer_bytes_ = 0;
  std::string header_;  // header block, or the current chunk/trailer line
  size_t body_limit_ = 0;
  std::string body_;
  std::string error_;
};

}  // namespace reco::loadgen_internal
