// Routing and rendering, without sockets: each request's full response text.
#include "router.h"

#include <gtest/gtest.h>

#include "test_http_client.h"

namespace reco::serve {
namespace {

using testing::HttpResponse;
using testing::ParseResponse;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() : metrics_(1), router_(options_, &source_, &metrics_, 0) {
    source_.SetActiveVersion("v7");
    source_.SetUserRecommendations("alice", {{"i1", 0.9f}, {"i2", 0.5f}, {"i3", 0.25f}});
    source_.SetUserRecommendations("a\\b", {{"i1", 1.0f}});
    source_.SetUserRecommendations("caf\xC3\xA9", {{"i2", 2.0f}});
    source_.SetPopularItems({{"p1", 3.0f}, {"p2", 2.0f}});
    source_.SetSimilarItems("i1", {{"i2", 0.75f}, {"i3", 0.125f}});
  }

  HttpResponse Call(std::string_view target, Method method = Method::kGet, bool keep_alive = true,
                    int http_minor = 1) {
    std::string out;
    router_.Handle(method, target, http_minor, keep_alive, &out);
    raw_ = out;
    auto r = ParseResponse(&out, method == Method::kHead);
    EXPECT_TRUE(r.has_value()) << raw_;
    EXPECT_TRUE(out.empty()) << "trailing bytes after the response: " << out;
    return r.value_or(HttpResponse{});
  }

  void ExpectError(std::string_view target, int status, std::string_view code) {
    const HttpResponse r = Call(target);
    EXPECT_EQ(r.status, status) << target;
    EXPECT_EQ(r.header("content-type"), "application/json") << target;
    EXPECT_TRUE(r.body.starts_with("{\"error\":{\"code\":\"" + std::string(code) + "\""))
        << target << " -> " << r.body;
  }

  ServerOptions options_;
  InMemoryRecommendationSource source_;
  ServerMetrics metrics_;
  Router router_;
  std::string raw_;
};

TEST_F(RouterTest, UserRecommendationsRendersExactJson) {
  const HttpResponse r = Call("/v1/users/alice/recommendations?k=2");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  EXPECT_FALSE(r.header("date").empty());
  EXPECT_EQ(r.header("connection"), "");  // HTTP/1.1 keep-alive is the default
  EXPECT_EQ(r.body,
            "{\"user_id\":\"alice\",\"model_version\":\"v7\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"i1\",\"score\":0.9},{\"item_id\":\"i2\",\"score\":0.5}]}");
}

TEST_F(RouterTest, MissingKServesDefaultCappedAtListLength) {
  // default_k is 10 but alice has 3 items: a request without k is not an error.
  const HttpResponse r = Call("/v1/users/alice/recommendations");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"i3\""), std::string::npos);
  // Unrelated query parameters are ignored.
  EXPECT_EQ(Call("/v1/users/alice/recommendations?x=1&k=1&y").body,
            "{\"user_id\":\"alice\",\"model_version\":\"v7\",\"source\":\"model\",\"items\":["
            "{\"item_id\":\"i1\",\"score\":0.9}]}");
}

TEST_F(RouterTest, UnknownUserGetsPopularList) {
  const HttpResponse r = Call("/v1/users/nobody/recommendations?k=2");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"user_id\":\"nobody\",\"model_version\":\"v7\",\"source\":\"popular\",\"items\":["
            "{\"item_id\":\"p1\",\"score\":3},{\"item_id\":\"p2\",\"score\":2}]}");
}

TEST_F(RouterTest, BadKIsA400) {
  ExpectError("/v1/users/alice/recommendations?k=4", 400, "bad_request");  // above list length
  ExpectError("/v1/users/alice/recommendations?k=0", 400, "bad_request");
  ExpectError("/v1/users/alice/recommendations?k=-1", 400, "bad_request");
  ExpectError("/v1/users/alice/recommendations?k=abc", 400, "bad_request");
  ExpectError("/v1/users/alice/recommendations?k=", 400, "bad_request");
  ExpectError("/v1/users/alice/recommendations?k", 400, "bad_request");
  ExpectError("/v1/users/alice/recommendations?k=1&k=2", 400, "bad_request");
  ExpectError("/v1/users/alice/recommendations?k=%zz", 400, "bad_request");
  ExpectError("/v1/users/nobody/recommendations?k=3", 400, "bad_request");  // popular has 2
  EXPECT_EQ(Call("/v1/users/alice/recommendations?k=4").body,
            "{\"error\":{\"code\":\"bad_request\",\"message\":"
            "\"k must be between 1 and 3 (the stored list length)\"}}");
  EXPECT_EQ(Call("/v1/users/alice/recommendations?k=%32").status, 200);  // "%32" is "2"
}

TEST_F(RouterTest, SimilarItems) {
  const HttpResponse r = Call("/v1/items/i1/similar?k=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "{\"item_id\":\"i1\",\"model_version\":\"v7\",\"items\":["
            "{\"item_id\":\"i2\",\"score\":0.75}]}");
  ExpectError("/v1/items/nope/similar", 404, "not_found");
  ExpectError("/v1/items/i1/similar?k=3", 400, "bad_request");
}

TEST_F(RouterTest, IdsArePercentDecodedAndValidated) {
  EXPECT_EQ(Call("/v1/users/al%69ce/recommendations?k=1").status, 200);
  const HttpResponse escaped = Call("/v1/users/a%5Cb/recommendations");
  EXPECT_EQ(escaped.status, 200);
  EXPECT_TRUE(escaped.body.starts_with("{\"user_id\":\"a\\\\b\",")) << escaped.body;
  const HttpResponse utf8 = Call("/v1/users/caf%C3%A9/recommendations");
  EXPECT_EQ(utf8.status, 200);
  EXPECT_EQ(utf8.body.find("popular"), std::string::npos);

  ExpectError("/v1/users/al%2/recommendations", 400, "bad_request");
  ExpectError("/v1/users/%00/recommendations", 400, "bad_request");
  ExpectError("/v1/users/a%0Ab/recommendations", 400, "bad_request");
  ExpectError("/v1/users/%C3%28/recommendations", 400, "bad_request");  // invalid UTF-8
  ExpectError("/v1/users//recommendations", 400, "bad_request");
  ExpectError("/v1/items//similar", 400, "bad_request");
  // The same ID rules as events and training files (reco/ids.h): no such ID
  // can be stored, so none is looked up.
  ExpectError("/v1/users/a%22b/recommendations", 400, "bad_request");
  ExpectError("/v1/users/a%2Cb/recommendations", 400, "bad_request");
  ExpectError("/v1/users/%20alice/recommendations", 400, "bad_request");
  ExpectError("/v1/items/i1%20/similar", 400, "bad_request");
  ExpectError("/v1/items/i%7F/similar", 400, "bad_request");
  ExpectError("/v1/users/" + std::string(options_.max_id_bytes + 1, 'x') + "/recommendations", 400,
              "bad_request");
  // Exactly at the limit is fine (unknown, so the popular list).
  EXPECT_EQ(
      Call("/v1/users/" + std::string(options_.max_id_bytes, 'x') + "/recommendations").status,
      200);
}

TEST_F(RouterTest, UnknownPathsAndMethods) {
  ExpectError("/", 404, "not_found");
  ExpectError("/v1/users/alice", 404, "not_found");
  ExpectError("/v1/users/alice/recommendations/", 404, "not_found");
  ExpectError("/v1/users/alice/similar", 404, "not_found");
  ExpectError("/v1/items/i1/recommendations", 404, "not_found");
  ExpectError("/v2/users/alice/recommendations", 404, "not_found");
  ExpectError("/healthz/", 404, "not_found");

  const HttpResponse post = Call("/v1/users/alice/recommendations", Method::kOther);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET, HEAD");
  EXPECT_EQ(Call("/metrics", Method::kOther).status, 405);
  EXPECT_EQ(Call("/nope", Method::kOther).status, 404);
}

TEST_F(RouterTest, HeadHasHeadersButNoBody) {
  const HttpResponse get = Call("/v1/users/alice/recommendations");
  std::string out;
  router_.Handle(Method::kHead, "/v1/users/alice/recommendations", 1, true, &out);
  auto head = ParseResponse(&out, /*head_only=*/true);
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), std::to_string(get.body.size()));
  EXPECT_TRUE(out.empty());
}

TEST_F(RouterTest, AbsoluteFormTarget) {
  EXPECT_EQ(Call("http://example.com/v1/users/alice/recommendations?k=1").status, 200);
  EXPECT_EQ(Call("http://example.com").status, 404);
}

TEST_F(RouterTest, ConnectionHeader) {
  EXPECT_EQ(Call("/healthz", Method::kGet, /*keep_alive=*/false).header("connection"), "close");
  EXPECT_EQ(Call("/healthz", Method::kGet, true, /*http_minor=*/0).header("connection"),
            "keep-alive");
}

TEST_F(RouterTest, HealthAndReadiness) {
  EXPECT_EQ(Call("/healthz").body, "{\"status\":\"ok\"}");
  const HttpResponse ready = Call("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "{\"status\":\"ready\",\"model_version\":\"v7\"}");

  source_.SetActiveVersion("");
  ExpectError("/readyz", 503, "unavailable");
  ExpectError("/v1/users/alice/recommendations", 503, "unavailable");
  EXPECT_NE(Call("/readyz").body.find("no active model version"), std::string::npos);
  EXPECT_EQ(Call("/healthz").status, 200);  // the process is still up
}

TEST_F(RouterTest, StoreFailuresDoNotLeakDetails) {
  source_.SetStoreStatus(Status::Unavailable("redis 10.1.2.3:6379: connection refused"));
  for (const char* target :
       {"/readyz", "/v1/users/alice/recommendations", "/v1/items/i1/similar"}) {
    const HttpResponse r = Call(target);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_EQ(r.body.find("10.1.2.3"), std::string::npos) << r.body;
  }
  source_.SetStoreStatus(Status::Corruption("users/v7/alice: checksum mismatch at byte 12"));
  const HttpResponse r = Call("/v1/users/alice/recommendations");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}");

  std::string text;
  metrics_.Render("v7", &text);
  EXPECT_NE(text.find("reco_store_errors_total 3\n"), std::string::npos) << text;
}

TEST_F(RouterTest, RejectClosesWithJsonError) {
  std::string out;
  router_.Reject(431, "request header is too large", &out);
  auto r = ParseResponse(&out);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_EQ(r->body,
            "{\"error\":{\"code\":\"header_too_large\",\"message\":\"request header is too "
            "large\"}}");
}

TEST_F(RouterTest, MetricsCountRequestsPerRouteAndCode) {
  Call("/v1/users/alice/recommendations");
  Call("/v1/users/alice/recommendations");
  Call("/v1/users/nobody/recommendations");
  Call("/v1/users/alice/recommendations?k=99");
  Call("/nope");
  const HttpResponse r = Call("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& m = r.body;
  EXPECT_NE(m.find("reco_http_requests_total{route=\"/v1/users/{user_id}/recommendations\","
                   "code=\"200\"} 3\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("reco_http_requests_total{route=\"/v1/users/{user_id}/recommendations\","
                   "code=\"400\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("reco_http_requests_total{route=\"other\",code=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("reco_http_request_duration_seconds_count{route=\"/v1/users/{user_id}/"
                   "recommendations\"} 4\n"),
            std::string::npos);
  EXPECT_NE(m.find("reco_http_request_duration_seconds_bucket{route=\"/v1/users/{user_id}/"
                   "recommendations\",le=\"+Inf\"} 4\n"),
            std::string::npos);
  EXPECT_NE(m.find("reco_popular_fallback_total 1\n"), std::string::npos);
  EXPECT_NE(m.find("reco_active_model_version{version=\"v7\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace reco::serve
