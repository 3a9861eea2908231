#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../testing/temp_dir.h"
#include "reco/server.h"

namespace reco {
namespace {

TEST(ApiKeysTest, VerifiesOnlyConfiguredKeys) {
  ApiKeys keys;
  EXPECT_TRUE(keys.empty());
  ASSERT_TRUE(keys.Add("0123456789abcdef").ok());
  ASSERT_TRUE(keys.Add("second-key-0000000000").ok());
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.Verify("0123456789abcdef"));
  EXPECT_TRUE(keys.Verify("second-key-0000000000"));
  EXPECT_FALSE(keys.Verify("0123456789abcdeF"));
  EXPECT_FALSE(keys.Verify("0123456789abcde"));    // a prefix
  EXPECT_FALSE(keys.Verify("0123456789abcdef0"));  // an extension
  EXPECT_FALSE(keys.Verify(""));
}

TEST(ApiKeysTest, RefusesWeakOrUnprintableKeys) {
  ApiKeys keys;
  EXPECT_FALSE(keys.Add("short").ok());
  EXPECT_FALSE(keys.Add("has a blank inside it").ok());
  EXPECT_FALSE(keys.Add(std::string("0123456789abcde\x01", 16)).ok());
  EXPECT_FALSE(keys.Add(std::string(257, 'k')).ok());
  EXPECT_TRUE(keys.empty());
}

TEST(ApiKeysTest, FileSkipsCommentsAndNamesTheBadLine) {
  const testing_util::TempDir scratch("reco-api-keys-test");
  const std::filesystem::path dir = scratch.path();
  const std::string good = (dir / "good").string();
  std::ofstream(good) << "# writers\n\n  key-one-0123456789  \r\nkey-two-0123456789\n";
  ApiKeys keys;
  ASSERT_TRUE(keys.AddFromFile(good).ok());
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.Verify("key-one-0123456789"));

  const std::string bad = (dir / "bad").string();
  std::ofstream(bad) << "# ok\nkey-one-0123456789\ntoo short\n";
  ApiKeys other;
  const Status st = other.AddFromFile(bad);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(st.message().find(bad + ":3"), std::string::npos) << st.message();
  EXPECT_EQ(other.AddFromFile((dir / "missing").string()).code(), Status::Code::kNotFound);
}

TEST(ApiKeysTest, CommaSeparatedList) {
  ApiKeys keys;
  ASSERT_TRUE(keys.AddFromList(" key-one-0123456789 ,,key-two-0123456789").ok());
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys.Verify("key-two-0123456789"));
  const Status st = keys.AddFromList("key-three-0123456789,nope");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("RECO_API_KEYS key 2"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace reco
