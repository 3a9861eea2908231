// The server's HTTP/1.1 request parser (src/serve/request_parser.h) as a
// connection drives it: bytes arrive in pieces whose size the first input byte
// picks (Beast consumes complete lines only, so piece boundaries matter), each
// finished request is followed by the next one on the same bytes (pipelining),
// and a refused request must map to one of the statuses the server sends.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "../src/serve/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  reco::ServerOptions options;  // the defaults, as `reco serve` runs
  options.max_event_body_bytes = 4096;
  options.max_body_bytes = 4096;
  std::string target, body, authorization;
  std::optional<reco::serve::RequestParser> parser;
  std::string buffered;  // received and not yet consumed, as the connection's buffer
  size_t fed = 0;
  for (int requests = 0; requests < 64;) {
    if (!parser) {
      parser.emplace(&target, &body, &authorization, options);
      parser->eager(true);
      parser->header_limit(options.max_header_bytes);
      parser->body_limit(options.max_body_bytes);
    }
    if (buffered.empty() || fed < input.size()) {
      if (fed == input.size() && buffered.empty()) break;
      const size_t n = std::min(piece, input.size() - fed);
      buffered.append(input.substr(fed, n));
      fed += n;
    }
    boost::system::error_code ec;
    const size_t used =
        parser->put(boost::asio::const_buffer(buffered.data(), buffered.size()), ec);
    if (ec == boost::beast::http::error::need_more) {
      buffered.erase(0, used);
      if (fed == input.size()) break;  // the client stopped mid-request
      continue;
    }
    if (ec) {
      const auto r = reco::serve::RejectionFor(*parser, ec, buffered, options.max_url_bytes);
      if (r.status != 400 && r.status != 413 && r.status != 414 && r.status != 431) {
        __builtin_trap();
      }
      if (r.message.empty()) __builtin_trap();
      break;  // the connection closes after a refusal
    }
    buffered.erase(0, used);
    if (used == 0 && !parser->is_done() && fed == input.size()) break;  // no progress left
    if (parser->is_done()) {
      // What routing reads of a finished request.
      if (parser->got_request_line() && target.size() > options.max_url_bytes) __builtin_trap();
      if (body.size() > options.max_event_body_bytes) __builtin_trap();
      (void)parser->keep_alive();
      parser.reset();
      ++requests;
    }
  }
  return 0;
}
