#include "reco/progress.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace reco {
namespace {

constexpr int kBarWidth = 30;
// Non-interactive output logs at most this often, so CI logs stay short.
constexpr auto kPlainInterval = std::chrono::seconds(5);
constexpr auto kTtyInterval = std::chrono::milliseconds(100);

std::string FormatSeconds(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  }
  return buf;
}

}  // namespace

bool ProgressBar::IsInteractive(std::FILE* out) {
  const char* env = std::getenv("RECO_PROGRESS");
  if (env != nullptr && std::strcmp(env, "0") == 0) return false;
  return isatty(fileno(out)) != 0;
}

ProgressBar::ProgressBar(std::string label, uint64_t total, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      interactive_(IsInteractive(out)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (interactive_) Draw(false);
}

ProgressBar::~ProgressBar() {
  if (!finished_) Finish(status_);
}

void ProgressBar::Update(uint64_t done, const std::string& status) {
  done_ = done;
  if (!status.empty()) status_ = status;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < (interactive_ ? kTtyInterval : kPlainInterval)) return;
  last_draw_ = now;
  Draw(false);
}

void ProgressBar::Finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (total_ > 0) done_ = total_;
  if (!status.empty()) status_ = status;
  Draw(true);
}

void ProgressBar::Draw(bool final_line) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = label_;
  if (total_ > 0) {
    double frac = static_cast<double>(done_) / static_cast<double>(total_);
    if (frac > 1) frac = 1;
    if (interactive_) {
      int filled = static_cast<int>(frac * kBarWidth);
      line.append(" [").append(filled, '#').append(kBarWidth - filled, '.').append("]");
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, " %llu/%llu (%3.0f%%)", static_cast<unsigned long long>(done_),
                  static_cast<unsigned long long>(total_), frac * 100);
    line += buf;
    if (!final_line && frac > 0 && frac < 1) {
      line.append(" eta ").append(FormatSeconds(elapsed / frac - elapsed));
    }
  } else {
    line.append(" ").append(std::to_string(done_));
  }
  // append() rather than operator+ chains: GCC 12 -O3 reports a false
  // -Wrestrict on the temporaries those build.
  line.append(" ").append(FormatSeconds(elapsed));
  if (!status_.empty()) line.append("  ").append(status_);
  if (interactive_) {
    std::fprintf(out_, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

}  // namespace reco
