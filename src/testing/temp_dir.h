// A scratch directory for one test: unique, created at construction, removed
// with everything in it at destruction. The one copy every test uses, so no
// test leaves files behind or shares a directory with a parallel run.
#pragma once

#include <string>
#include <string_view>

namespace reco::testing_util {

class TempDir {
 public:
  // $TMPDIR/<prefix>-XXXXXX ($TMPDIR unset or empty: /tmp). Aborts with the
  // reason when the directory cannot be made: a test without it would write
  // relative to its working directory instead.
  explicit TempDir(std::string_view prefix = "reco-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string PathOf(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace reco::testing_util
