// Test-only helpers: a blocking HTTP/1.1 client over a raw socket (so tests
// can send arbitrary bytes) and a parser for the responses the server writes.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace reco::serve::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Parses one response from the front of *buffer and removes it. Returns
// nullopt if the buffer does not hold a complete response yet. head_only:
// the response answers a HEAD request (Content-Length but no body).
inline std::optional<HttpResponse> ParseResponse(std::string* buffer, bool head_only = false) {
  const size_t end = buffer->find("\r\n\r\n");
  if (end == std::string::npos) return std::nullopt;
  HttpResponse r;
  std::string_view head(buffer->data(), end);
  const size_t first_eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, first_eol);
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.1 ")) return std::nullopt;
  r.status = std::stoi(std::string(status_line.substr(9, 3)));
  size_t pos = first_eol == std::string_view::npos ? head.size() : first_eol + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    const std::string_view line = head.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers[name] = std::string(value);
    pos = eol + 2;
  }
  // An interim 1xx response (100 Continue) has no body and no Content-Length.
  const std::string content_length = r.header("content-length");
  const size_t length = head_only || content_length.empty() ? 0 : std::stoul(content_length);
  if (buffer->size() < end + 4 + length) return std::nullopt;
  r.body = buffer->substr(end + 4, length);
  buffer->erase(0, end + 4 + length);
  return r;
}

class TestClient {
 public:
  explicit TestClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    // A safety net so a server bug fails the test instead of hanging it.
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~TestClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until one full response is buffered; nullopt if the server closed
  // (or the safety-net timeout hit) first.
  std::optional<HttpResponse> Read(bool head_only = false) {
    for (;;) {
      if (auto r = ParseResponse(&buffer_, head_only)) return r;
      if (!Fill()) return std::nullopt;
    }
  }

  std::optional<HttpResponse> Get(const std::string& target) {
    if (!Send("GET " + target + " HTTP/1.1\r\nHost: test\r\n\r\n")) return std::nullopt;
    return Read();
  }

  // True once the server has closed the connection (EOF or reset), after
  // draining any bytes still in flight.
  bool WaitForClose() {
    for (;;) {
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

 private:
  bool Fill() {
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace reco::serve::testing
