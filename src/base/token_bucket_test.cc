#include "base/token_bucket.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kBlock = 256 * 1024;

// Sends `total` bytes in blocks through `bucket` from `start`, each block
// when the bucket allows it; returns when the last one may go.
Clock::time_point SendAll(TokenBucket& bucket, uint64_t total, Clock::time_point start) {
  Clock::time_point now = start;
  for (uint64_t sent = 0; sent < total; sent += kBlock) now += bucket.Reserve(kBlock, now);
  return now;
}

TEST(TokenBucket, WithoutALimitNothingWaits) {
  const Clock::time_point t0{};
  TokenBucket bucket(0, t0);
  EXPECT_FALSE(bucket.limited());
  EXPECT_EQ(SendAll(bucket, 100 * kMiB, t0), t0);
}

TEST(TokenBucket, TenMiBAtOneMiBASecondTakesAboutTenSecondsLessTheBurst) {
  const Clock::time_point t0{};
  TokenBucket bucket(kMiB, t0);
  const double seconds = std::chrono::duration<double>(SendAll(bucket, 10 * kMiB, t0) - t0).count();
  // The first block goes from the burst; each of the other 39 waits its
  // quarter second: the last may go at 9.75 s.
  EXPECT_NEAR(seconds, 9.75, 0.01);
  // And the next second's worth waits a whole second more.
  EXPECT_NEAR(std::chrono::duration<double>(bucket.Reserve(kMiB, t0 + 10s)).count(), 0.75, 0.26);
}

TEST(TokenBucket, CallersThatReserveAtOnceAreSpacedOutInTurn) {
  const Clock::time_point t0{};
  TokenBucket bucket(kMiB, t0);
  EXPECT_EQ(bucket.Reserve(kBlock, t0), Clock::duration::zero());  // the burst
  const auto second = bucket.Reserve(kBlock, t0);
  const auto third = bucket.Reserve(kBlock, t0);
  EXPECT_NEAR(std::chrono::duration<double>(second).count(), 0.25, 0.001);
  EXPECT_NEAR(std::chrono::duration<double>(third).count(), 0.5, 0.001);
}

TEST(TokenBucket, AQuietBucketSavesUpOnlyItsBurst) {
  const Clock::time_point t0{};
  TokenBucket bucket(kMiB, t0);
  (void)SendAll(bucket, 4 * kMiB, t0);
  // An hour later: a quarter second's bytes go at once, the rest at the rate.
  const Clock::time_point later = t0 + 1h;
  EXPECT_EQ(bucket.Reserve(kBlock, later), Clock::duration::zero());
  EXPECT_GT(bucket.Reserve(kBlock, later), Clock::duration::zero());
  // The burst is at least one 64 KiB block at a very low rate.
  TokenBucket slow(1024, t0);
  EXPECT_EQ(slow.Reserve(64 * 1024, t0), Clock::duration::zero());
  EXPECT_GT(slow.Reserve(1, t0), 0s);
}

TEST(TokenBucket, RaisingTheRateMidWaySpeedsTheRestUpAndLoweringSlowsIt) {
  const Clock::time_point t0{};
  TokenBucket bucket(kMiB, t0);
  const Clock::time_point half = SendAll(bucket, 5 * kMiB, t0);
  bucket.SetRate(4 * kMiB, half);
  EXPECT_EQ(bucket.rate(), 4 * kMiB);
  const double rest = std::chrono::duration<double>(SendAll(bucket, 5 * kMiB, half) - half).count();
  EXPECT_LT(rest, 1.5);  // 5 MiB at 4 MiB/s, less its burst
  EXPECT_GT(rest, 0.9);
  bucket.SetRate(kMiB / 2, half + 10s);
  const Clock::time_point t1 = half + 10s;
  const double slow = std::chrono::duration<double>(SendAll(bucket, 2 * kMiB, t1) - t1).count();
  EXPECT_NEAR(slow, 3.75, 0.3);  // 2 MiB at 0.5 MiB/s, less the first block
}

TEST(TokenBucket, WhatIsOwedIsPaidFasterAfterTheRateIsRaised) {
  const Clock::time_point t0{};
  TokenBucket bucket(kMiB, t0);
  (void)bucket.Reserve(kMiB / 4, t0);  // the burst
  EXPECT_NEAR(std::chrono::duration<double>(bucket.Reserve(kMiB, t0)).count(), 1.0, 0.001);
  EXPECT_NEAR(std::chrono::duration<double>(bucket.Owed(t0 + 500ms)).count(), 0.5, 0.001);
  bucket.SetRate(4 * kMiB, t0 + 500ms);
  EXPECT_NEAR(std::chrono::duration<double>(bucket.Owed(t0 + 500ms)).count(), 0.125, 0.001);
  EXPECT_EQ(bucket.Owed(t0 + 700ms), Clock::duration::zero());
}

TEST(TokenBucket, LiftingTheLimitForgivesWhatWasOwed) {
  const Clock::time_point t0{};
  TokenBucket bucket(kMiB, t0);
  EXPECT_GT(SendAll(bucket, 20 * kMiB, t0), t0 + 10s);  // deep in debt
  bucket.SetRate(0, t0);
  EXPECT_EQ(bucket.Reserve(100 * kMiB, t0), Clock::duration::zero());
  bucket.SetRate(kMiB, t0);  // limited again, starting from a full burst
  EXPECT_EQ(bucket.Reserve(kBlock, t0), Clock::duration::zero());
}

}  // namespace
}  // namespace tandem
