#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <ostream>

namespace trialcore::cli {

Progress::Progress(Context& ctx, std::string what, uint64_t total)
    : ctx_(ctx),
      what_(std::move(what)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void Progress::Update(uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  char line[200];
  std::snprintf(line, sizeof line, "\r%s: %llu of %llu events (%.0f%%), %.0f events/s   ", what_.c_str(),
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_),
                total_ ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0,
                secs > 0 ? static_cast<double>(done) / secs : 0.0);
  ctx_.err << line << std::flush;
  shown_ = true;
}

void Progress::Done() {
  if (shown_) ctx_.err << "\r" << std::string(100, ' ') << "\r" << std::flush;
  shown_ = false;
}

}  // namespace trialcore::cli
