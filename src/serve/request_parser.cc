#include "request_parser.h"

namespace reco::serve {

Rejection RejectionFor(const RequestParser& parser, boost::system::error_code ec,
                       std::string_view buffered, uint32_t max_url_bytes) {
  namespace http = boost::beast::http;
  if (parser.uri_too_long()) return {414, "request target is too long"};
  if (ec == http::error::header_limit && !parser.header_too_large() && !parser.got_request_line()) {
    // Beast checks the limit before parsing the request line, so tell an
    // oversized target from oversized headers by the first line's length:
    // "GET " + target + " HTTP/1.1\r".
    const size_t eol = buffered.find('\n');
    const size_t line = eol == std::string_view::npos ? buffered.size() : eol;
    if (line > max_url_bytes + 16) return {414, "request target is too long"};
    return {431, "request header is too large"};
  }
  if (ec == http::error::header_limit) return {431, "request header is too large"};
  if (ec == http::error::body_limit) return {413, "request body is too large"};
  if (parser.bad_transfer_coding()) {
    return {400, "Transfer-Encoding must be exactly chunked (HTTP/1.1 only)"};
  }
  return {400, "malformed HTTP request"};
}

}  // namespace reco::serve
