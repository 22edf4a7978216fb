#include "base/async.h"

#include <gtest/gtest.h>

#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <stdexcept>
#include <vector>

namespace tandem {
namespace {

TEST(AsyncSlots, AWaiterGetsTheFirstSlotFreedAndGivesUpWhenNoLongerWanted) {
  asio::io_context io;
  AsyncSlots slots(io.get_executor(), 2);
  bool wanted = true;
  std::vector<AsyncSlots::Held> held;
  std::vector<int> got;  // which coroutines came away with a slot, in order
  int gave_up = 0;
  // Runs whatever is ready, without waiting: nothing here waits on time.
  auto settle = [&] {
    io.restart();
    while (io.poll() > 0) {
    }
  };
  auto take = [&](int who) -> asio::awaitable<void> {
    AsyncSlots::Held slot = co_await slots.Acquire([&] { return wanted; });
    if (!slot) {
      ++gave_up;
      co_return;
    }
    got.push_back(who);
    held.push_back(std::move(slot));
  };
  for (int who = 0; who < 4; ++who) asio::co_spawn(io, take(who), asio::detached);
  settle();
  EXPECT_EQ(got, (std::vector<int>{0, 1}));
  EXPECT_EQ(slots.used(), 2u);

  held.erase(held.begin());  // a slot freed: one waiter takes it
  settle();
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(slots.used(), 2u);

  wanted = false;  // the last waiter gives up once woken, and holds nothing
  slots.WakeAll();
  settle();
  EXPECT_EQ(gave_up, 1);
  EXPECT_EQ(got.size(), 3u);
  held.clear();
  EXPECT_EQ(slots.used(), 0u);
}

TEST(ClearOnExit, ClearsTheFlagWhenTheScopeEndsAndWhenItThrows) {
  bool running = true;
  { ClearOnExit clear(running); }
  EXPECT_FALSE(running);
  running = true;
  try {
    ClearOnExit clear(running);
    throw std::runtime_error("the store failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(running);
}

}  // namespace
}  // namespace tandem
