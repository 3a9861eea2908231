// A small keep-alive HTTP/1.1 server for the load generator's end-to-end
// tests, on an ephemeral loopback port with its own thread. What it answers
// depends on the request:
//   POST to a target ending in "/events" -> an event ingest (below)
//   GET /v1/users/{user}/recommendations -> the user's list (below)
//   target contains "fail"    -> 500 with a Content-Length body
//   target contains "chunked" -> 200 with a chunked body
//   target contains "slow"    -> never answers (the client must time out)
//   anything else             -> 200 with a small JSON body
//
// Events and lists imitate reco serve with an online refresher, without
// clocks: every user's list is the first `list_length` items of the catalog
// i1, i2, ... that the user has not rated, as of the user's ratings that are
// visible. A rating becomes visible once `fresh_after_gets` later GETs of
// that user on the connection that posted it have answered without it, so a
// freshness probe polls exactly fresh_after_gets + 1 times whatever the load
// reads meanwhile.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace reco::loadgen_test {

struct TestServerOptions {
  // > 0: after this many responses on a connection, close it without saying
  // so; the client's next request on it fails.
  int close_after = 0;
  // Answer with "Connection: close" and close after each response.
  bool connection_close = false;

  // Events: a POST without "Authorization: Bearer <api_key>" gets 401 (when
  // api_key is set), a body that is not an event object 400, and otherwise
  // `event_status` (202; anything else rejects the event).
  std::string api_key;
  int event_status = 202;
  int list_length = 3;
  int fresh_after_gets = 0;
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
  // POSTs to .../events, and how many were accepted (got event_status 2xx).
  uint64_t event_posts() const { return event_posts_.load(); }
  uint64_t events_accepted() const { return events_accepted_.load(); }
  uint64_t list_gets() const { return list_gets_.load(); }
  // Users that had events accepted, and the items they rated.
  std::map<std::string, std::set<std::string>> RatedItems() const;
  // The last accepted event body, as received.
  std::string LastEventBody() const;

 private:
  class Session;
  struct Pending {
    std::string item;
    uint64_t session;  // the connection that posted it
    int gets_left;     // its GETs still answered without this rating
  };
  struct UserState {
    std::set<std::string> visible;  // ratings the list already reflects
    std::vector<Pending> pending;
  };
  void Accept();
  std::string HandleEvent(uint64_t session, const std::string& head, const std::string& body,
                          bool* is_500);
  std::string HandleList(uint64_t session, const std::string& user);

  TestServerOptions options_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> responses_{0};
  std::atomic<uint64_t> responses_500_{0};
  std::atomic<uint64_t> event_posts_{0};
  std::atomic<uint64_t> events_accepted_{0};
  std::atomic<uint64_t> list_gets_{0};
  mutable std::mutex mu_;  // the server thread writes, tests read
  std::map<std::string, UserState> users_;
  std::string last_event_body_;
  std::thread thread_;
};

}  // namespace reco::loadgen_test
