// Progress reporting for long work (training iterations, downloads,
// precompute). On a terminal it redraws one bar line in place; otherwise
// (CI, pipes, log files) it prints a plain log line at most every few
// seconds and at the end, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace reco {

class ProgressBar {
 public:
  // total == 0 means unknown (a spinner-style counter is shown).
  ProgressBar(std::string label, uint64_t total, std::FILE* out = stderr);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Sets the absolute position and an optional status text ("loss 0.812").
  void Update(uint64_t done, const std::string& status = "");
  void Finish(const std::string& status = "");

  // Off when stdout/stderr is not a TTY, or RECO_PROGRESS=0.
  static bool IsInteractive(std::FILE* out);

 private:
  void Draw(bool final_line);

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  std::string status_;
  std::FILE* out_;
  bool interactive_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace reco
