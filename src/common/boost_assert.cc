// The handler of BOOST_ASSERT in builds without NDEBUG (CMakeLists.txt defines
// BOOST_ENABLE_ASSERT_DEBUG_HANDLER everywhere; with NDEBUG the assertions
// compile to nothing, as before). It does what assert() does, except for one
// assertion that is wrong in Debian 12's Boost 1.81:
//
// Beast's basic_parser::parse_chunk_header asserts `n >= 5` when it re-enters
// the final chunk ("0\r\n") to look for the end of the trailer, but a client
// that sends "0\r\n" and then one byte gives it 4 bytes; the code after the
// assertion handles that (it answers need_more). Found by
// fuzz/http_request_fuzz.cc (a byte-at-a-time chunked body); fixed upstream by
// boostorg/beast#2861 (Boost 1.86). Aborting there would let any client crash
// a debug or sanitizer build of `reco serve`.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {

namespace {

bool KnownWrongAssertion(std::string_view expr, std::string_view file) {
  return expr == "n >= 5" && file.ends_with("beast/http/impl/basic_parser.ipp");
}

[[noreturn]] void Fail(const char* expr, const char* msg, const char* function, const char* file,
                       long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed%s%s.\n", file, line, function, expr,
               msg != nullptr ? ": " : "", msg != nullptr ? msg : "");
  std::abort();
}

}  // namespace

void assertion_failed(const char* expr, const char* function, const char* file, long line) {
  if (KnownWrongAssertion(expr, file)) return;
  Fail(expr, nullptr, function, file, line);
}

void assertion_failed_msg(const char* expr, const char* msg, const char* function, const char* file,
                          long line) {
  if (KnownWrongAssertion(expr, file)) return;
  Fail(expr, msg, function, file, line);
}

}  // namespace boost
