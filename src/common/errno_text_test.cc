#include "reco/errno_text.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <thread>
#include <vector>

namespace reco {
namespace {

TEST(ErrnoTextTest, NamesTheError) {
  EXPECT_EQ(ErrnoText(ENOENT), "No such file or directory");
  EXPECT_EQ(ErrnoText(EACCES), "Permission denied");
  EXPECT_FALSE(ErrnoText(99999).empty());
}

TEST(ErrnoTextTest, StatusIsIOErrorWithWhatAndText) {
  const Status st = ErrnoStatus("cannot open /x/y", ENOENT);
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_EQ(st.message(), "cannot open /x/y: No such file or directory");
}

TEST(ErrnoTextTest, ThreadsGetTheirOwnText) {
  std::vector<std::thread> threads;
  std::vector<std::string> seen(4);
  const int codes[4] = {ENOENT, EACCES, EEXIST, ENOSPC};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) seen[t] = ErrnoText(codes[t]);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen[0], "No such file or directory");
  EXPECT_EQ(seen[1], "Permission denied");
  EXPECT_EQ(seen[2], "File exists");
  EXPECT_EQ(seen[3], "No space left on device");
}

}  // namespace
}  // namespace reco
