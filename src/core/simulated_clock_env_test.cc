#include "core/simulated_clock_env.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/test_env.h"

namespace trialcore {
namespace {

constexpr int64_t kNow = 1'795'000'000'000'000;
constexpr int64_t kDay = 86'400'000'000;

TEST(SimulatedClockEnvTest, AThreadReadsTheTimeItSetAndOthersTheBaseClock) {
  MemEnv base(1, kNow);
  SimulatedClockEnv clock(&base);
  EXPECT_EQ(clock.NowMicros(), kNow);
  clock.SetThreadTime(kNow - 90 * kDay);
  EXPECT_EQ(clock.NowMicros(), kNow - 90 * kDay);
  int64_t other = 0;
  std::thread([&] { other = clock.NowMicros(); }).join();
  EXPECT_EQ(other, kNow) << "another thread is not moved";
  SimulatedClockEnv second(&base);
  EXPECT_EQ(second.NowMicros(), kNow) << "another Env on the same thread is not moved";
  clock.ClearThreadTime();
  EXPECT_EQ(clock.NowMicros(), kNow);
}

TEST(SimulatedClockEnvTest, NeverReadsLaterThanTheBaseClock) {
  MemEnv base(1, kNow);
  SimulatedClockEnv clock(&base);
  SimulatedTimeScope later(&clock, kNow + kDay);
  EXPECT_EQ(clock.NowMicros(), kNow);
  base.AdvanceMicros(2 * kDay);
  EXPECT_EQ(clock.NowMicros(), kNow + kDay);
}

TEST(SimulatedClockEnvTest, AScopeRestoresTheBaseClock) {
  MemEnv base(1, kNow);
  SimulatedClockEnv clock(&base);
  {
    SimulatedTimeScope scope(&clock, kNow - kDay);
    EXPECT_EQ(clock.NowMicros(), kNow - kDay);
  }
  EXPECT_EQ(clock.NowMicros(), kNow);
}

}  // namespace
}  // namespace trialcore
