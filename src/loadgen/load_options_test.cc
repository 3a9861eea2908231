#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../testing/temp_dir.h"
#include "reco/loadgen.h"

namespace reco {
namespace {

TEST(UrlTemplateTest, SplitsAtUserPlaceholder) {
  auto url = ParseUrlTemplate("http://127.0.0.1:8080/v1/users/{user}/recommendations?k=10");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->host_header, "127.0.0.1:8080");
  ASSERT_EQ(url->target_parts.size(), 2u);
  EXPECT_EQ(url->target_parts[0], "/v1/users/");
  EXPECT_EQ(url->target_parts[1], "/recommendations?k=10");
  std::string target;
  url->AppendTarget("42", &target);
  EXPECT_EQ(target, "/v1/users/42/recommendations?k=10");
}

TEST(UrlTemplateTest, DefaultsAndVariants) {
  auto plain = ParseUrlTemplate("http://localhost");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 80);
  EXPECT_EQ(plain->host_header, "localhost");
  ASSERT_EQ(plain->target_parts.size(), 1u);
  EXPECT_EQ(plain->target_parts[0], "/");
  EXPECT_FALSE(plain->has_user_placeholder());

  auto query_only = ParseUrlTemplate("HTTP://localhost:9000?u={user}&v={user}");
  ASSERT_TRUE(query_only.ok());
  std::string target;
  query_only->AppendTarget("7", &target);
  EXPECT_EQ(target, "/?u=7&v=7");

  auto v6 = ParseUrlTemplate("http://[::1]:81/x");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 81);
  EXPECT_EQ(v6->host_header, "[::1]:81");
}

TEST(UrlTemplateTest, RejectsBadUrls) {
  const char* bad[] = {
      "https://127.0.0.1/",         // no TLS
      "ftp://127.0.0.1/",           // not http
      "127.0.0.1:8080/",            // no scheme
      "http:///path",               // no host
      "http://127.0.0.1:/",         // empty port
      "http://127.0.0.1:0/",        // port out of range
      "http://127.0.0.1:70000/",    // port out of range
      "http://127.0.0.1:80x/",      // port not a number
      "http://{user}.example/",     // placeholder in host
      "http://127.0.0.1/u/{id}",    // unknown placeholder
      "http://127.0.0.1/u/{user",   // unbalanced
      "http://127.0.0.1/u/}",       // unbalanced
      "http://127.0.0.1/a b",       // space
      "http://127.0.0.1/a#frag",    // fragment
      "http://user:pw@127.0.0.1/",  // userinfo
      "http://[::1/",               // unterminated IPv6
      "http://[nothex]/",           // not an IPv6 address
      "http://host!/",              // bad host char
  };
  for (const char* url : bad) {
    auto parsed = ParseUrlTemplate(url);
    EXPECT_FALSE(parsed.ok()) << url;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), Status::Code::kInvalidArgument) << url;
      EXPECT_NE(parsed.status().message().find(url), std::string::npos)
          << "message should quote the URL: " << parsed.status().message();
    }
  }
  auto tls = ParseUrlTemplate("https://127.0.0.1/");
  EXPECT_NE(tls.status().message().find("https is not supported"), std::string::npos);
  auto placeholder = ParseUrlTemplate("http://127.0.0.1/u/{id}");
  EXPECT_NE(placeholder.status().message().find("{id}"), std::string::npos);
}

TEST(UrlTemplateTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("LocalHost"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.3.2.1"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("example.com"));
  EXPECT_FALSE(IsLoopbackHost("localhost.example.com"));
  EXPECT_FALSE(IsLoopbackHost("127.1"));  // not a dotted-quad literal
}

TEST(UrlTemplateTest, PercentEncodeKeepsUnreservedOnly) {
  EXPECT_EQ(PercentEncode("abc-XYZ_0.9~"), "abc-XYZ_0.9~");
  EXPECT_EQ(PercentEncode("a/b c?&"), "a%2Fb%20c%3F%26");
  EXPECT_EQ(PercentEncode("\xC3\xA9"), "%C3%A9");
}

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(ParseDuration("30s")->count(), 30000000000);
  EXPECT_EQ(ParseDuration("30")->count(), 30000000000);
  EXPECT_EQ(ParseDuration("1.5s")->count(), 1500000000);
  EXPECT_EQ(ParseDuration("500ms")->count(), 500000000);
  EXPECT_EQ(ParseDuration("250us")->count(), 250000);
  EXPECT_EQ(ParseDuration("2m")->count(), 120000000000);
  EXPECT_EQ(ParseDuration("1h")->count(), 3600000000000);
  EXPECT_EQ(ParseDuration("0s")->count(), 0);
  for (const char* bad : {"", "s", "-1s", "10x", "1.2.3s", "abc", "1e400"}) {
    auto d = ParseDuration(bad);
    EXPECT_FALSE(d.ok()) << bad;
  }
}

class UsersFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  testing_util::TempDir scratch_{"reco-loadgen-users"};
  const std::string dir_ = scratch_.path();
};

TEST_F(UsersFileTest, OneIdPerLineWithBlanksAndDuplicates) {
  auto ids = LoadUserIds(Write("plain.txt", "3\n1\n\n  2  \r\n3\n1\n\n"));
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"3", "1", "2"}));
}

TEST_F(UsersFileTest, CsvWithNamedHeader) {
  auto ids = LoadUserIds(Write("ratings.csv", "userId,movieId,rating\n7,1,5\n9,2,3\n7,3,4\n"));
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"7", "9"}));
}

TEST_F(UsersFileTest, CsvWithOtherHeaderAboveNumericIds) {
  auto ids = LoadUserIds(Write("h.csv",
                               "\xEF\xBB\xBF"
                               "customer,x\n10,a\n11,b\n"));
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"10", "11"}));
}

TEST_F(UsersFileTest, StringIdsAreKeptAndQuotesStripped) {
  // No header: "alice" is followed by a non-integer id too.
  auto ids = LoadUserIds(Write("s.csv", "alice,1\n\"bob\",2\ntab\tseparated\n"));
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"alice", "bob", "tab"}));
}

TEST_F(UsersFileTest, Errors) {
  auto missing = LoadUserIds(dir_ + "/nope.txt");
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);

  auto empty = LoadUserIds(Write("empty.txt", ""));
  EXPECT_EQ(empty.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("no user ids"), std::string::npos);

  auto blank = LoadUserIds(Write("blank.txt", "\n  \n\r\n"));
  EXPECT_FALSE(blank.ok());

  auto header_only = LoadUserIds(Write("header.csv", "user_id,item\n"));
  EXPECT_FALSE(header_only.ok());

  auto inner_space = LoadUserIds(Write("space.txt", "1\n2 3\n"));
  ASSERT_FALSE(inner_space.ok());
  EXPECT_NE(inner_space.status().message().find("space.txt:2:"), std::string::npos)
      << inner_space.status().message();

  auto empty_field = LoadUserIds(Write("field.csv", "1,a\n,b\n"));
  ASSERT_FALSE(empty_field.ok());
  EXPECT_NE(empty_field.status().message().find("field.csv:2:"), std::string::npos);

  auto too_long = LoadUserIds(Write("long.txt", std::string(300, 'x') + "\n"));
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("long.txt:1:"), std::string::npos);
}

TEST(LoadOptionsTest, ParseIdRange) {
  EXPECT_EQ(*ParseIdRange("1:3"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(*ParseIdRange(" -1 : 1 "), (std::vector<std::string>{"-1", "0", "1"}));
  EXPECT_EQ(*ParseIdRange("7:7"), (std::vector<std::string>{"7"}));
  EXPECT_EQ(ParseIdRange("1:943")->size(), 943u);
  for (const char* bad : {"", "5", "3:1", "a:2", "1:", ":4", "1:2x", "0:99999999999"}) {
    auto r = ParseIdRange(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("FIRST:LAST"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace reco
