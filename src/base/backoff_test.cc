#include "base/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace tandem {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, PausesDoubleUpToTheCapWithinTheUpperHalfOfEachStep) {
  Backoff backoff(milliseconds(100), milliseconds(1000));
  const int64_t steps[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (int64_t step : steps) {
    EXPECT_EQ(backoff.upcoming().count(), step);
    milliseconds pause = backoff.Next();
    EXPECT_GE(pause.count(), step / 2);
    EXPECT_LE(pause.count(), step);
  }
}

TEST(Backoff, ResetStartsAgainFromTheFirstPause) {
  Backoff backoff(milliseconds(50), milliseconds(400));
  for (int i = 0; i < 5; ++i) backoff.Next();
  EXPECT_EQ(backoff.upcoming().count(), 400);
  backoff.Reset();
  EXPECT_EQ(backoff.upcoming().count(), 50);
  EXPECT_LE(backoff.Next().count(), 50);
}

TEST(Backoff, PausesAreSpreadNotAllTheSame) {
  // Devices that failed together must not retry in the same instant.
  std::set<int64_t> seen;
  for (int i = 0; i < 20; ++i) {
    Backoff backoff(milliseconds(10000), milliseconds(10000));
    seen.insert(backoff.Next().count());
  }
  EXPECT_GT(seen.size(), 5u);
}

}  // namespace
}  // namespace tandem
