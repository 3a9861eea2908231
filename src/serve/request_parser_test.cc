// RequestParser fed as a connection feeds it, in pieces of every size, and
// the status each refusal maps to. The byte-at-a-time chunked cases are the
// regression test of the Boost 1.81 assertion found by fuzz/http_request_fuzz
// (src/common/boost_assert.cc): in a build with assertions on, they aborted.
#include "request_parser.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace reco::serve {
namespace {

struct Outcome {
  bool done = false;
  int status = 0;  // of the refusal, 0 when none
  std::string body;
  Method method = Method::kOther;
};

// Feeds `request` to a fresh parser `piece` bytes at a time, keeping what the
// parser has not consumed, as Connection::ProcessInput does.
Outcome Feed(std::string_view request, size_t piece, const ServerOptions& options = {}) {
  std::string target, body, authorization;
  RequestParser parser(&target, &body, &authorization, options);
  parser.eager(true);
  parser.header_limit(options.max_header_bytes);
  parser.body_limit(options.max_body_bytes);
  std::string buffered;
  size_t fed = 0;
  Outcome out;
  while (!parser.is_done()) {
    if (fed == request.size() && buffered.empty()) break;
    const size_t n = std::min(piece, request.size() - fed);
    buffered.append(request.substr(fed, n));
    fed += n;
    boost::system::error_code ec;
    const size_t used = parser.put(boost::asio::const_buffer(buffered.data(), buffered.size()), ec);
    if (ec && ec != boost::beast::http::error::need_more) {
      out.status = RejectionFor(parser, ec, buffered, options.max_url_bytes).status;
      return out;
    }
    buffered.erase(0, used);
    if (n == 0 && used == 0) break;  // nothing left to feed and no progress
  }
  out.done = parser.is_done();
  out.body = body;
  out.method = parser.method();
  return out;
}

constexpr std::string_view kChunked =
    "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5\r\nhello\r\n3\r\n, w\r\n0\r\n\r\n";

TEST(RequestParserTest, ChunkedBodyInPiecesOfEverySize) {
  for (size_t piece = 1; piece <= kChunked.size(); ++piece) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    const Outcome out = Feed(kChunked, piece);
    EXPECT_TRUE(out.done);
    EXPECT_EQ(out.status, 0);
    EXPECT_EQ(out.body, "hello, w");
    EXPECT_EQ(out.method, Method::kPost);
  }
}

TEST(RequestParserTest, EmptyChunkedBodyAndTrailerByteAtATime) {
  const Outcome empty =
      Feed("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 1);
  EXPECT_TRUE(empty.done);
  EXPECT_EQ(empty.body, "");
  const Outcome trailer = Feed(
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nok\r\n0\r\nX-Trailer: 1\r\n\r\n",
      1);
  EXPECT_TRUE(trailer.done);
  EXPECT_EQ(trailer.body, "ok");
}

TEST(RequestParserTest, RefusalsMapToTheirStatus) {
  ServerOptions options;
  options.max_header_bytes = 256;
  options.max_url_bytes = 64;
  options.max_body_bytes = 16;
  options.max_event_body_bytes = 16;
  EXPECT_EQ(Feed("GET /" + std::string(100, 'a') + " HTTP/1.1\r\n\r\n", 7, options).status, 414);
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nX: " + std::string(300, 'b') + "\r\n\r\n", 7, options).status,
            431);
  EXPECT_EQ(Feed("POST /v1/events HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 7, options).status, 413);
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 7, options).status, 400);
  EXPECT_EQ(Feed("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 7, options).status, 400);
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 7, options).status, 400);
  EXPECT_EQ(Feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 7, options).status, 0);
}

}  // namespace
}  // namespace reco::serve
