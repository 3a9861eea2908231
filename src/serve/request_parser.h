// The HTTP/1.1 request parser of HttpServer (a Beast basic_parser that keeps
// only what routing needs) and the mapping of its errors to the status the
// server answers with. Apart from http_server.cc so that the fuzz target
// (fuzz/http_request_fuzz.cc) drives exactly the code the server runs.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "metrics.h"
#include "reco/ascii.h"
#include "reco/server.h"
#include "reco/text.h"
#include "router.h"

namespace reco::serve {

// Keeps what routing needs (method, target, version, Authorization); Beast
// still validates every header and enforces the limits. Bodies are counted
// and dropped, except a write route's, which is kept (under its own limit).
class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // The strings are the connection's, reused across requests.
  RequestParser(std::string* target, std::string* body, std::string* authorization,
                const ServerOptions& options)
      : target_(target),
        body_(body),
        authorization_(authorization),
        max_url_bytes_(options.max_url_bytes),
        max_header_bytes_(options.max_header_bytes),
        max_event_body_bytes_(options.max_event_body_bytes) {}

  Method method() const { return method_; }
  int http_minor() const { return version_ % 10; }
  bool got_request_line() const { return got_request_line_; }
  bool uri_too_long() const { return uri_too_long_; }
  bool header_too_large() const { return header_too_large_; }
  bool bad_transfer_coding() const { return bad_transfer_coding_; }
  int authorization_headers() const { return authorization_headers_; }
  Route body_route() const { return body_route_; }
  // "Expect: 100-continue" and no interim answer sent yet.
  bool wants_continue() const { return expect_continue_ && !continue_sent_; }
  void set_continue_sent() { continue_sent_ = true; }

 private:
  void on_request_impl(boost::beast::http::verb verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version,
                       boost::system::error_code& ec) override {
    if (target.size() > max_url_bytes_) {
      uri_too_long_ = true;
      ec = boost::beast::http::error::bad_target;
      return;
    }
    got_request_line_ = true;
    header_bytes_ = method.size() + target.size() + 11;  // "M T HTTP/1.1\r\n"
    target_->assign(target.data(), target.size());
    method_ = verb == boost::beast::http::verb::get    ? Method::kGet
              : verb == boost::beast::http::verb::head ? Method::kHead
              : verb == boost::beast::http::verb::post ? Method::kPost
                                                       : Method::kOther;
    version_ = version;
    authorization_->clear();
    body_->clear();
    const std::string_view t(target.data(), target.size());
    if (method_ == Method::kPost && IsWriteTarget(t)) {
      keep_body_ = true;
      if (IsEventsTarget(t)) {
        body_route_ = Route::kEvents;
        // Set here because Beast checks Content-Length against the limit
        // before the header callback.
        body_limit(max_event_body_bytes_);
      } else {
        body_route_ = Route::kAdminActivate;
      }
    }
  }
  void on_response_impl(int, boost::beast::string_view, int, boost::system::error_code&) override {}
  // Beast applies header_limit to the bytes of one put() call, and it consumes
  // complete lines as they arrive, so a header fed in small pieces would slip
  // past it: the total is counted here.
  void on_field_impl(boost::beast::http::field field, boost::beast::string_view name,
                     boost::beast::string_view value, boost::system::error_code& ec) override {
    header_bytes_ += name.size() + value.size() + 4;  // ": " and CRLF
    if (header_bytes_ > max_header_bytes_) {
      header_too_large_ = true;
      ec = boost::beast::http::error::header_limit;
      return;
    }
    if (field == boost::beast::http::field::authorization) {
      ++authorization_headers_;
      authorization_->assign(value.data(), value.size());
    } else if (field == boost::beast::http::field::expect) {
      expect_continue_ =
          EqualsIgnoreCase(std::string_view(value.data(), value.size()), "100-continue");
    } else if (field == boost::beast::http::field::transfer_encoding) {
      // Beast frames a body as chunked only when "chunked" is the final coding
      // and otherwise ignores the field, so "Transfer-Encoding: gzip" (or
      // "chunked, gzip") would leave the body to be parsed as the next request:
      // a proxy that honours the field sees one request, we would see two
      // (request smuggling). RFC 9112 sections 6.1 and 6.3: a request with a
      // coding we do not implement, or with any coding in HTTP/1.0, has no
      // reliable framing, so it gets 400 and the connection closes. chunked is
      // the only coding a server must implement and the only one we accept.
      const std::string_view coding = Trim(std::string_view(value.data(), value.size()));
      if (!EqualsIgnoreCase(coding, "chunked") || http_minor() == 0) {
        bad_transfer_coding_ = true;
        ec = boost::beast::http::error::bad_transfer_encoding;
      }
    }
  }
  void on_header_impl(boost::system::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         boost::system::error_code&) override {
    // Within the body limit, checked by Beast before this call.
    if (keep_body_ && length) body_->reserve(static_cast<size_t>(*length));
  }
  size_t on_body_impl(boost::beast::string_view body, boost::system::error_code&) override {
    if (keep_body_) body_->append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::system::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                            boost::system::error_code&) override {
    if (keep_body_) body_->append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(boost::system::error_code&) override {}

  std::string* target_;
  std::string* body_;
  std::string* authorization_;
  uint32_t max_url_bytes_;
  uint32_t max_header_bytes_;
  uint32_t max_event_body_bytes_;
  size_t header_bytes_ = 0;
  int authorization_headers_ = 0;
  bool keep_body_ = false;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  Route body_route_ = Route::kOther;
  Method method_ = Method::kOther;
  int version_ = 11;
  bool got_request_line_ = false;
  bool uri_too_long_ = false;
  bool header_too_large_ = false;
  bool bad_transfer_coding_ = false;
};

// What a connection answers to a request the parser refused; the connection
// then closes. `buffered` is the input not yet consumed by the parser (used
// to tell an oversized request line from oversized headers).
struct Rejection {
  int status;
  std::string_view message;  // static text
};
Rejection RejectionFor(const RequestParser& parser, boost::system::error_code ec,
                       std::string_view buffered, uint32_t max_url_bytes);

}  // namespace reco::serve
