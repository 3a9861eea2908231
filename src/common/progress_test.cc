#include "reco/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace reco {
namespace {

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressBarTest, PlainOutputWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(ProgressBar::IsInteractive(f));
  {
    ProgressBar bar("train", 10, f);
    bar.Update(5, "loss 1.5");
    bar.Finish("loss 0.9");
  }
  std::string out = ReadAll(f);
  std::fclose(f);
  // No carriage returns or escape codes in a log file; one final summary line.
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\033'), std::string::npos);
  EXPECT_NE(out.find("train 10/10 (100%)"), std::string::npos) << out;
  EXPECT_NE(out.find("loss 0.9"), std::string::npos) << out;
}

TEST(ProgressBarTest, UnknownTotalShowsCount) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar("download", 0, f);
    bar.Update(1234);
  }
  std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_NE(out.find("download 1234"), std::string::npos) << out;
}

}  // namespace
}  // namespace reco
