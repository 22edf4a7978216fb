#include "base/rate_meter.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

using namespace std::chrono_literals;

TEST(RateMeterTest, BytesOverTheLastSecondsGiveTheRate) {
  RateMeter meter;
  const auto t0 = RateMeter::Clock::time_point(1000s);
  for (int s = 0; s < RateMeter::kWindow; ++s) meter.Add(1000, t0 + std::chrono::seconds(s) + 100ms);
  EXPECT_EQ(meter.PerSecond(t0 + std::chrono::seconds(RateMeter::kWindow) + 1ms), 1000u);
  EXPECT_EQ(meter.total(), 1000u * RateMeter::kWindow);
}

TEST(RateMeterTest, TheSecondUnderWayIsNotCountedYet) {
  RateMeter meter;
  const auto t0 = RateMeter::Clock::time_point(1000s);
  meter.Add(5000, t0);
  EXPECT_EQ(meter.PerSecond(t0 + 500ms), 0u);
  EXPECT_EQ(meter.PerSecond(t0 + 1s), 1000u);
}

TEST(RateMeterTest, AQuietSpellBringsTheRateToZero) {
  RateMeter meter;
  const auto t0 = RateMeter::Clock::time_point(1000s);
  meter.Add(1 << 20, t0);
  EXPECT_GT(meter.PerSecond(t0 + 1s), 0u);
  EXPECT_EQ(meter.PerSecond(t0 + 60s), 0u);
  // A bucket reused for a later second starts from nothing.
  meter.Add(600, t0 + 60s);
  EXPECT_EQ(meter.PerSecond(t0 + 61s), 600u / RateMeter::kWindow);
}

}  // namespace
}  // namespace tandem
