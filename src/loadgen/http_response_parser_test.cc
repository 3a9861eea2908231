#include "http_response_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace reco::loadgen_internal {
namespace {

using State = HttpResponseParser::State;

// Feeds `bytes` in pieces of `step` bytes; returns the final state and the
// total bytes the parser claimed.
std::pair<State, size_t> FeedInSteps(HttpResponseParser& p, const std::string& bytes, size_t step) {
  size_t total = 0;
  for (size_t i = 0; i < bytes.size(); i += step) {
    const size_t n = std::min(step, bytes.size() - i);
    auto out = p.Feed(bytes.data() + i, n);
    total += out.consumed;
    if (out.state != State::kNeedMore) return {out.state, total};
  }
  return {State::kNeedMore, total};
}

TEST(HttpResponseParserTest, ContentLengthInAnySplit) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
      "{\"items\":1}";
  for (size_t step : {1, 2, 3, 7, 64, 4096}) {
    HttpResponseParser p;
    auto [state, consumed] = FeedInSteps(p, response, step);
    EXPECT_EQ(state, State::kDone) << step;
    EXPECT_EQ(consumed, response.size()) << step;
    EXPECT_EQ(p.status(), 200);
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(HttpResponseParserTest, StopsAtResponseEnd) {
  const std::string two =
      "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nnoHTTP/1.1 200 OK\r\n";
  HttpResponseParser p;
  auto out = p.Feed(two.data(), two.size());
  EXPECT_EQ(out.state, State::kDone);
  EXPECT_EQ(out.consumed, two.find("HTTP/1.1 200"));
  EXPECT_EQ(p.status(), 404);
}

TEST(HttpResponseParserTest, ChunkedWithExtensionsAndTrailers) {
  const std::string response =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "5\r\nhello\r\n"
      "A;name=value\r\n0123456789\r\n"
      "0\r\nX-Trailer: 1\r\n\r\n";
  for (size_t step : {1, 5, 4096}) {
    HttpResponseParser p;
    auto [state, consumed] = FeedInSteps(p, response, step);
    EXPECT_EQ(state, State::kDone) << step;
    EXPECT_EQ(consumed, response.size()) << step;
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(HttpResponseParserTest, NoBodyStatusesAndInterim) {
  HttpResponseParser p;
  const std::string no_content = "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n";
  auto out = p.Feed(no_content.data(), no_content.size());
  EXPECT_EQ(out.state, State::kDone);
  EXPECT_EQ(p.status(), 204);

  p.Reset();
  const std::string interim =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  out = p.Feed(interim.data(), interim.size());
  EXPECT_EQ(out.state, State::kDone);
  EXPECT_EQ(out.consumed, interim.size());
  EXPECT_EQ(p.status(), 201);
}

TEST(HttpResponseParserTest, ConnectionCloseAndHttp10) {
  HttpResponseParser p;
  const std::string close = "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n";
  p.Feed(close.data(), close.size());
  EXPECT_FALSE(p.keep_alive());

  p.Reset();
  const std::string old = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  p.Feed(old.data(), old.size());
  EXPECT_FALSE(p.keep_alive());

  p.Reset();
  const std::string old_ka =
      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n";
  p.Feed(old_ka.data(), old_ka.size());
  EXPECT_TRUE(p.keep_alive());
}

TEST(HttpResponseParserTest, BodyUntilClose) {
  HttpResponseParser p;
  const std::string response = "HTTP/1.1 200 OK\r\n\r\nsome body";
  auto out = p.Feed(response.data(), response.size());
  EXPECT_EQ(out.state, State::kNeedMore);
  EXPECT_EQ(p.FinishOnClose(), State::kDone);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpResponseParserTest, CloseMidResponseIsAnError) {
  HttpResponseParser p;
  EXPECT_EQ(p.FinishOnClose(), State::kError);
  EXPECT_FALSE(p.started());

  p.Reset();
  const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  p.Feed(partial.data(), partial.size());
  EXPECT_EQ(p.FinishOnClose(), State::kError);
  EXPECT_NE(p.error().find("mid-response"), std::string::npos);
}

TEST(HttpResponseParserTest, MalformedResponses) {
  const std::string bad[] = {
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTX/1.1 200 OK\r\n\r\n",
      "HTTP/1.1 200OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
      "HTTP/1.1 101 Switching Protocols\r\n\r\n",
  };
  for (const auto& response : bad) {
    HttpResponseParser p;
    auto out = p.Feed(response.data(), response.size());
    EXPECT_EQ(out.state, State::kError) << response;
    EXPECT_FALSE(p.error().empty());
  }
}

TEST(HttpResponseParserTest, LimitsAreEnforcedBeforeGrowing) {
  HttpResponseParser p;
  std::string header = "HTTP/1.1 200 OK\r\nX: " + std::string(70 * 1024, 'a');
  auto [state, consumed] = FeedInSteps(p, header, 4096);
  EXPECT_EQ(state, State::kError);
  EXPECT_LE(consumed, HttpResponseParser::kMaxHeaderBytes + 1);

  p.Reset();
  const std::string chunk_line =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(2000, '1');
  auto out = p.Feed(chunk_line.data(), chunk_line.size());
  EXPECT_EQ(out.state, State::kError);
}

TEST(HttpResponseParserTest, ResetAllowsReuse) {
  HttpResponseParser p;
  const std::string a = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1\r\n\r\nx";
  const std::string b = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(p.Feed(a.data(), a.size()).state, State::kDone);
  EXPECT_EQ(p.status(), 500);
  p.Reset();
  EXPECT_EQ(p.Feed(b.data(), b.size()).state, State::kDone);
  EXPECT_EQ(p.status(), 200);
}

TEST(HttpResponseParserTest, KeepsBodiesWhenAsked) {
  const std::string fixed = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"items\":1}";
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
      "chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=1\r\n:1}\r\n0\r\n\r\n";
  for (size_t step : {1, 3, 4096}) {
    HttpResponseParser p;
    p.set_body_limit(64);
    EXPECT_EQ(FeedInSteps(p, fixed, step).first, State::kDone) << step;
    EXPECT_EQ(p.body(), "{\"items\":1}") << step;
    p.Reset();  // the limit survives a reset, the body does not
    EXPECT_EQ(p.body(), "");
    EXPECT_EQ(FeedInSteps(p, chunked, step).first, State::kDone) << step;
    EXPECT_EQ(p.body(), "{\"a\":1}") << step;
  }
  HttpResponseParser until_close;
  until_close.set_body_limit(64);
  FeedInSteps(until_close, "HTTP/1.1 200 OK\r\n\r\nabc", 2);
  EXPECT_EQ(until_close.FinishOnClose(), State::kDone);
  EXPECT_EQ(until_close.body(), "abc");

  HttpResponseParser discard;  // default: bodies are skipped, not kept
  EXPECT_EQ(FeedInSteps(discard, fixed, 5).first, State::kDone);
  EXPECT_EQ(discard.body(), "");
}

TEST(HttpResponseParserTest, BodyOverTheKeptLimitIsAnError) {
  HttpResponseParser p;
  p.set_body_limit(10);
  const std::string fixed = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"items\":1}";
  EXPECT_EQ(FeedInSteps(p, fixed, 4).first, State::kError);
  EXPECT_NE(p.error().find("limit"), std::string::npos) << p.error();
}

}  // namespace
}  // namespace reco::loadgen_internal
