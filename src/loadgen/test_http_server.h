// A small keep-alive HTTP/1.1 server for the load generator's end-to-end
// tests, on an ephemeral loopback port with its own thread. What it answers
// depends on the request target:
//   contains "fail"    -> 500 with a Content-Length body
//   contains "chunked" -> 200 with a chunked body
//   contains "slow"    -> never answers (the client must time out)
//   anything else      -> 200 with a small JSON body
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <thread>

namespace reco::loadgen_test {

struct TestServerOptions {
  // > 0: after this many responses on a connection, close it without saying
  // so; the client's next request on it fails.
  int close_after = 0;
  // Answer with "Connection: close" and close after each response.
  bool connection_close = false;
};

class TestHttpServer {
 public:
  explicit TestHttpServer(TestServerOptions options = {});
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  uint16_t port() const { return port_; }
  uint64_t connections() const { return connections_.load(); }
  uint64_t requests() const { return requests_.load(); }
  // Responses handed to the socket, and how many of them were 500s.
  uint64_t responses() const { return responses_.load(); }
  uint64_t responses_500() const { return responses_500_.load(); }

 private:
  class Session;
  void Accept();

  TestServerOptions options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> responses_{0};
  std::atomic<uint64_t> responses_500_{0};
  std::thread thread_;
};

}  // namespace reco::loadgen_test
