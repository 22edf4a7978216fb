#include "base/throttle.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <vector>

namespace tandem {
namespace {

using namespace std::chrono_literals;
constexpr uint64_t kKiB = 1024;

// Runs what is ready without waiting on time.
void Settle(asio::io_context& io) {
  io.restart();
  while (io.poll() > 0) {
  }
}

// Runs the loop until `done` holds or `deadline` passes.
template <typename Done>
bool RunUntil(asio::io_context& io, Done done, std::chrono::milliseconds deadline = 10s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  io.restart();
  while (!done() && std::chrono::steady_clock::now() < end) io.run_one_for(50ms);
  return done();
}

// `count` coroutines, each sending `bytes` through `throttle`, counted in `sent` once let through.
void SpawnSenders(asio::io_context& io, Throttle& throttle, int count, uint64_t bytes, int& sent) {
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(io, [&throttle, &sent, bytes]() -> asio::awaitable<void> {
      co_await throttle.Take(bytes);
      ++sent;
    }, asio::detached);
  }
}

TEST(Throttle, WithoutALimitNothingWaits) {
  asio::io_context io;
  Throttle throttle;
  int sent = 0;
  SpawnSenders(io, throttle, 100, 1 << 20, sent);
  Settle(io);
  EXPECT_EQ(sent, 100);
}

TEST(Throttle, WaitersGoInTheOrderTheyCameAndLiftingTheLimitLetsThemAllGo) {
  asio::io_context io;
  Throttle throttle(64 * kKiB);  // its burst is one 64 KiB block: the first goes, the others wait seconds
  std::vector<int> sent;
  for (int who = 0; who < 4; ++who) {
    asio::co_spawn(io, [&, who]() -> asio::awaitable<void> {
      co_await throttle.Take(64 * kKiB);
      sent.push_back(who);
    }, asio::detached);
  }
  Settle(io);
  EXPECT_EQ(sent, std::vector<int>{0});
  EXPECT_EQ(throttle.waiting(), 3u);
  throttle.SetRate(0);
  Settle(io);
  EXPECT_EQ(sent, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(throttle.waiting(), 0u);
}

TEST(Throttle, TurnsGoRoundTheKeysSoOnePeersQueueDoesNotHoldUpAnother) {
  asio::io_context io;
  Throttle throttle(64 * kKiB);
  std::vector<int> sent;
  // Four blocks of one peer (key 1), then one of another (key 2). The first
  // goes on the burst, the second holds the turn; then the keys alternate.
  for (int who = 0; who < 5; ++who) {
    asio::co_spawn(io, [&, who]() -> asio::awaitable<void> {
      co_await throttle.Take(64 * kKiB, who < 4 ? 1 : 2);
      sent.push_back(who);
    }, asio::detached);
  }
  Settle(io);
  throttle.SetRate(0);
  Settle(io);
  EXPECT_EQ(sent, (std::vector<int>{0, 1, 2, 4, 3}));
}

TEST(Throttle, AWaiterNoLongerWantedLeavesWithoutSpendingTheLimit) {
  asio::io_context io;
  Throttle throttle(64 * kKiB);  // a burst of one 64 KiB block
  std::vector<int> sent;
  for (int who = 0; who < 2; ++who) {
    asio::co_spawn(io, [&, who]() -> asio::awaitable<void> {
      co_await throttle.Take(64 * kKiB, 0, [who] { return who != 0; });  // the first one's session closed
      sent.push_back(who);
    }, asio::detached);
  }
  Settle(io);
  EXPECT_EQ(sent, (std::vector<int>{0, 1})) << "the second went at once, on the burst the first did not spend";
}

TEST(Throttle, RaisingTheRateShortensTheWaitOfTransfersAlreadyWaiting) {
  asio::io_context io;
  Throttle throttle(1 * kKiB);  // 64 KiB beyond the burst: a wait of a minute
  int sent = 0;
  SpawnSenders(io, throttle, 2, 64 * kKiB, sent);
  Settle(io);
  ASSERT_EQ(sent, 1);
  throttle.SetRate(64 * 1024 * kKiB);  // now a millisecond
  EXPECT_TRUE(RunUntil(io, [&] { return sent == 2; }));
}

TEST(Throttle, WaitersOutliveTheThrottleSafely) {
  asio::io_context io;
  int sent = 0;
  {
    Throttle throttle(64 * kKiB);
    SpawnSenders(io, throttle, 3, 64 * kKiB, sent);
    Settle(io);
    ASSERT_EQ(sent, 1);
  }
  // Woken by the throttle's end, they return without touching it.
  Settle(io);
  EXPECT_EQ(sent, 3);
}

TEST(Throttle, BytesGoNoFasterThanTheRate) {
  asio::io_context io;
  Throttle throttle(1024 * kKiB);
  int sent = 0;
  const auto start = std::chrono::steady_clock::now();
  SpawnSenders(io, throttle, 5, 256 * kKiB, sent);
  ASSERT_TRUE(RunUntil(io, [&] { return sent == 5; }));
  // The first quarter MiB is the burst; the other four wait a quarter second each.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 990ms);
}

}  // namespace
}  // namespace tandem
