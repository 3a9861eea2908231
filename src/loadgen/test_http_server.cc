#include "test_http_server.h"

#include <boost/asio/write.hpp>
#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "reco/ascii.h"

namespace reco::loadgen_test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The value of header `name` in a request head ("" when absent).
std::string HeaderValue(const std::string& head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    pos += 2;
    const size_t end = head.find("\r\n", pos);
    const std::string_view line =
        std::string_view(head).substr(pos, end == std::string::npos ? end : end - pos);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && EqualsIgnoreCase(line.substr(0, colon), name)) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return std::string(value);
    }
    pos = end;
  }
  return "";
}

std::string JsonResponse(int status, const std::string& reason, const std::string& body,
                         const std::string& connection) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + connection + "\r\n" + body;
}

}  // namespace

class TestHttpServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(TestHttpServer* server, uint64_t id, tcp::socket socket)
      : server_(server), id_(id), socket_(std::move(socket)) {}

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
    size_t body_length = 0;
    const std::string length_text = HeaderValue(head, "content-length");
    if (!length_text.empty()) {
      std::from_chars(length_text.data(), length_text.data() + length_text.size(), body_length);
    }
    if (pending_.size() < end + 4 + body_length) return Read();
    const std::string body = pending_.substr(end + 4, body_length);
    pending_.erase(0, end + 4 + body_length);
    const size_t sp1 = head.find(' ');
    const size_t sp2 = head.find(' ', sp1 + 1);
    const std::string method = head.substr(0, sp1);
    const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    ++server_->requests_;
    if (target.find("slow") != std::string::npos) return Read();  // hold it forever

    const bool close =
        server_->options_.connection_close ||
        (server_->options_.close_after > 0 && served_ + 1 >= server_->options_.close_after);
    const std::string connection =
        server_->options_.connection_close ? "Connection: close\r\n" : "";
    bool is_500 = false;
    constexpr std::string_view kUsers = "/v1/users/";
    constexpr std::string_view kEvents = "/events";
    if (method == "POST" && target.size() >= kEvents.size() &&
        target.compare(target.size() - kEvents.size(), kEvents.size(), kEvents) == 0) {
      response_ = server_->HandleEvent(id_, head, body, &is_500);
      // HandleEvent ends the head with one CRLF; the connection header and
      // the blank line follow.
      const size_t blank = response_.find("\r\n\r\n");
      response_.insert(blank + 2, connection);
    } else if (target.rfind(kUsers, 0) == 0 &&
               target.find("/recommendations") != std::string::npos) {
      const std::string user =
          target.substr(kUsers.size(), target.find('/', kUsers.size()) - kUsers.size());
      response_ = JsonResponse(200, "OK", server_->HandleList(id_, user), connection);
    } else if (target.find("fail") != std::string::npos) {
      is_500 = true;
      response_ =
          "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n" + connection + "\r\nerror";
    } else if (target.find("chunked") != std::string::npos) {
      response_ = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" + connection +
                  "\r\n4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\n\r\n";
    } else {
      response_ = JsonResponse(200, "OK", "{\"target\":\"" + target + "\"}", connection);
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
  uint64_t id_;
  tcp::socket socket_;
  char buffer_[4096];
  std::string pending_;
  std::string response_;
  int served_ = 0;
};

std::string TestHttpServer::HandleEvent(uint64_t session, const std::string& head,
                                        const std::string& body, bool* is_500) {
  ++event_posts_;
  auto answer = [&](int status, const std::string& reason, const std::string& json) {
    *is_500 = status == 500;
    return JsonResponse(status, reason, json, "");
  };
  if (!options_.api_key.empty() &&
      HeaderValue(head, "authorization") != "Bearer " + options_.api_key) {
    return answer(401, "Unauthorized", "{\"error\":\"missing or wrong API key\"}");
  }
  const nlohmann::json event = nlohmann::json::parse(body, nullptr, false);
  const bool valid =
      event.is_object() && event.contains("user_id") && event["user_id"].is_string() &&
      event.contains("item_id") && event["item_id"].is_string() && event.contains("type") &&
      event["type"].is_string() && (!event.contains("value") || event["value"].is_number());
  if (!valid) return answer(400, "Bad Request", "{\"error\":\"not an event\"}");
  if (options_.event_status / 100 != 2) {
    return answer(options_.event_status, "Rejected", "{\"error\":\"rejected\"}");
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    users_[event["user_id"].get<std::string>()].pending.push_back(
        {event["item_id"].get<std::string>(), session, options_.fresh_after_gets});
    last_event_body_ = body;
  }
  ++events_accepted_;
  return answer(options_.event_status, "Accepted", "{\"accepted\":1}");
}

std::string TestHttpServer::HandleList(uint64_t session, const std::string& user) {
  ++list_gets_;
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> none;
  const std::set<std::string>* visible = &none;
  if (auto it = users_.find(user); it != users_.end()) {
    UserState& state = it->second;
    std::vector<Pending> still;
    for (Pending& p : state.pending) {
      if (p.gets_left == 0) {
        state.visible.insert(p.item);
      } else {
        if (p.session == session) --p.gets_left;
        still.push_back(p);
      }
    }
    state.pending = std::move(still);
    visible = &state.visible;
  }
  std::string items;
  int listed = 0;
  for (int i = 1; listed < options_.list_length; ++i) {
    const std::string item = "i" + std::to_string(i);
    if (visible->count(item) > 0) continue;
    items += (listed++ == 0 ? "" : ",") + std::string("{\"item_id\":\"") + item +
             "\",\"score\":" + std::to_string(100 - i) + "}";
  }
  return "{\"user_id\":\"" + user + "\",\"source\":\"model\",\"items\":[" + items + "]}";
}

std::map<std::string, std::set<std::string>> TestHttpServer::RatedItems() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [user, state] : users_) {
    std::set<std::string>& items = out[user];
    items = state.visible;
    for (const Pending& p : state.pending) items.insert(p.item);
  }
  return out;
}

std::string TestHttpServer::LastEventBody() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_event_body_;
}

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
    const uint64_t id = ++connections_;
    std::make_shared<Session>(this, id, std::move(socket))->Read();
    Accept();
  });
}

}  // namespace reco::loadgen_test
