#include "test_http_server.h"

#include <boost/asio/write.hpp>
#include <memory>
#include <string>

namespace reco::loadgen_test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class TestHttpServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(TestHttpServer* server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)) {}

  void Read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buffer_),
                            [this, self](const boost::system::error_code& ec, size_t n) {
                              if (ec) return;
                              pending_.append(buffer_, n);
                              HandleRequests();
                            });
  }

 private:
  // Answers the first complete request in pending_, or reads more.
  void HandleRequests() {
    const size_t end = pending_.find("\r\n\r\n");
    if (end == std::string::npos) return Read();
    const std::string head = pending_.substr(0, end);
    pending_.erase(0, end + 4);
    const size_t sp1 = head.find(' ');
    const size_t sp2 = head.find(' ', sp1 + 1);
    const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    ++server_->requests_;
    if (target.find("slow") != std::string::npos) return Read();  // hold it forever

    const bool close =
        server_->options_.connection_close ||
        (server_->options_.close_after > 0 && served_ + 1 >= server_->options_.close_after);
    const std::string connection =
        server_->options_.connection_close ? "Connection: close\r\n" : "";
    bool is_500 = false;
    if (target.find("fail") != std::string::npos) {
      is_500 = true;
      response_ =
          "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n" + connection + "\r\nerror";
    } else if (target.find("chunked") != std::string::npos) {
      response_ = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + connection +
                  "\r\n4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n";
    } else {
      const std::string body = "{\"target\":\"" + target + "\"}";
      response_ = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n" + connection + "\r\n" + body;
    }
    // Counted before writing, so a client that has read the response never
    // sees the counter lag behind.
    ++served_;
    ++server_->responses_;
    if (is_500) ++server_->responses_500_;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(response_),
                      [this, self, close](const boost::system::error_code& ec, size_t) {
                        if (ec) return;
                        if (close) {
                          boost::system::error_code ignored;
                          socket_.close(ignored);
                          return;
                        }
                        HandleRequests();
                      });
  }

  TestHttpServer* server_;
  tcp::socket socket_;
  char buffer_[4096];
  std::string pending_;
  std::string response_;
  int served_ = 0;
};

TestHttpServer::TestHttpServer(TestServerOptions options)
    : options_(options), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
  port_ = acceptor_.local_endpoint().port();
  Accept();
  thread_ = std::thread([this] { io_.run(); });
}

TestHttpServer::~TestHttpServer() {
  io_.stop();
  thread_.join();
}

void TestHttpServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) return;
    ++connections_;
    std::make_shared<Session>(this, std::move(socket))->Read();
    Accept();
  });
}

}  // namespace reco::loadgen_test
