#include "core/simulated_clock_env.h"

#include <algorithm>

namespace trialcore {
namespace {

// The time the calling thread set, and on which Env (a thread may use several).
struct ThreadTime {
  const SimulatedClockEnv* env = nullptr;
  int64_t time_us = 0;
};
thread_local ThreadTime tl_time;

}  // namespace

void SimulatedClockEnv::SetThreadTime(int64_t time_us) { tl_time = ThreadTime{this, time_us}; }

void SimulatedClockEnv::ClearThreadTime() {
  if (tl_time.env == this) tl_time = ThreadTime{};
}

int64_t SimulatedClockEnv::NowMicros() {
  const int64_t now = base_->NowMicros();
  return tl_time.env == this ? std::min(tl_time.time_us, now) : now;
}

}  // namespace trialcore
