// Progress of long work on standard error, rewritten in place, shown only when
// standard error is a terminal (so scripts and logs stay clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cli/commands.h"

namespace trialcore::cli {

class Progress {
 public:
  Progress(Context& ctx, std::string what, uint64_t total);
  void Update(uint64_t done);  // at most a few times a second
  void Done();                 // clears the line

 private:
  Context& ctx_;
  std::string what_;
  uint64_t total_;
  bool shown_ = false;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace trialcore::cli
