#include "service/event_log.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <malloc.h>
#include <sanitizer/allocator_interface.h>

#include <optional>

namespace tandem::service {
namespace {

// Bytes of heap in use. ASan serves the heap itself, where glibc's
// mallinfo2 does not see it (it reads 0): its allocator is asked instead.
size_t HeapInUse() {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  return __sanitizer_get_current_allocated_bytes();
#endif
#endif
  malloc_trim(0);
  return mallinfo2().uordblks;
}

using namespace std::chrono_literals;
using sync::EventType;

asio::awaitable<void> PollInto(EventLog* log, uint64_t since, std::chrono::milliseconds timeout, EventFilter filter,
                               std::optional<Result<EventPage>>* out) {
  out->emplace(co_await log->Poll(since, timeout, std::move(filter), EventLog::kMaxPage));
}

// Runs a poll on `io` to its end, with `during` started beside it.
Result<EventPage> RunPoll(asio::io_context& io, EventLog& log, uint64_t since, std::chrono::milliseconds timeout,
                          EventFilter filter = {}, std::function<asio::awaitable<void>()> during = nullptr) {
  std::optional<Result<EventPage>> out;
  asio::co_spawn(io, PollInto(&log, since, timeout, std::move(filter), &out), asio::detached);
  if (during) asio::co_spawn(io, during(), asio::detached);
  io.run();
  io.restart();
  return std::move(*out);
}

TEST(EventLogTest, EventsHaveIdsOneAfterAnotherAndAUtcTime) {
  asio::io_context io;
  EventLog log(io);
  const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_EQ(log.Add(EventType::kShareStateChanged, "s", {{"state", "idle"}}), 1u);
  EXPECT_EQ(log.Add(EventType::kPeerConnected, "", {{"device", "D"}}), 2u);
  auto page = log.Read(0, {}, EventLog::kMaxPage);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].id, 1u);
  EXPECT_EQ(page->events[1].id, 2u);
  EXPECT_GE(page->events[0].time_ms, before);
  EXPECT_EQ(page->last_id, 2u);
  EXPECT_EQ(page->missed, 0u);
  nlohmann::json j = ToJson(page->events[0]);
  EXPECT_EQ(j["type"], "share_state_changed");
  EXPECT_EQ(j["share"], "s");
  EXPECT_EQ(j["data"]["state"], "idle");
  EXPECT_EQ(j["time"].get<std::string>().back(), 'Z');
  EXPECT_EQ(Rfc3339(1'764'950'663'123), "2025-12-05T16:04:23.123Z");
}

TEST(EventLogTest, AReaderGetsOnlyWhatCameAfterItsId) {
  asio::io_context io;
  EventLog log(io);
  for (int i = 0; i < 5; ++i) log.Add(EventType::kItemStarted, "s", {{"n", i}});
  auto page = log.Read(3, {}, EventLog::kMaxPage);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_EQ(page->events[0].id, 4u);
  EXPECT_EQ(page->last_id, 5u);
  auto none = log.Read(5, {}, EventLog::kMaxPage);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->events.empty());
  EXPECT_EQ(none->last_id, 5u);
}

TEST(EventLogTest, ASinceFromTheFutureIsRefusedAndChangesNothing) {
  asio::io_context io;
  EventLog log(io);
  log.Add(EventType::kItemStarted, "s", {});
  auto page = log.Read(7, {}, EventLog::kMaxPage);
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(page.error().message.find("start again from 0"), std::string::npos);
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(log.last_id(), 1u);
}

TEST(EventLogTest, AFilterKeepsTypesAndShareButTheIdStillMovesOn) {
  asio::io_context io;
  EventLog log(io);
  log.Add(EventType::kItemStarted, "a", {});
  log.Add(EventType::kItemFinished, "a", {});
  log.Add(EventType::kItemStarted, "b", {});
  EventFilter filter{{EventType::kItemStarted}, "a"};
  auto page = log.Read(0, filter, EventLog::kMaxPage);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].id, 1u);
  EXPECT_EQ(page->last_id, 3u);  // the others were looked at, not for this reader
}

TEST(EventLogTest, ALimitEndsThePageAtTheLastEventReturned) {
  asio::io_context io;
  EventLog log(io);
  for (int i = 0; i < 10; ++i) log.Add(EventType::kItemStarted, "s", {});
  auto page = log.Read(0, {}, 4);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->events.size(), 4u);
  EXPECT_EQ(page->last_id, 4u);
  auto next = log.Read(page->last_id, {}, 100);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->events.front().id, 5u);
}

TEST(EventLogTest, AReaderBehindTheRingIsToldHowManyItMissed) {
  asio::io_context io;
  EventLog log(io, 100);
  for (int i = 0; i < 250; ++i) log.Add(EventType::kItemStarted, "s", {{"n", i}});
  auto page = log.Read(20, {}, EventLog::kMaxPage);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->missed, 150u - 20u);  // 21..150 are gone
  ASSERT_EQ(page->events.size(), 100u);
  EXPECT_EQ(page->events.front().id, 151u);
  EXPECT_EQ(page->events.back().id, 250u);
  // Nothing missed by a reader that is up to date, or that asks for all kept.
  EXPECT_EQ(log.Read(150, {}, EventLog::kMaxPage)->missed, 0u);
  EXPECT_EQ(log.Read(0, {}, EventLog::kMaxPage)->missed, 0u);
}

TEST(EventLogTest, TheRingStaysBoundedWhile100000EventsPassWithNoReader) {
  asio::io_context io;
  EventLog log(io);
  auto payload = [](int i) {
    return nlohmann::json{{"path", "some/folder/file-" + std::to_string(i) + ".txt"}, {"size", i}, {"action", "update"}};
  };
  for (int i = 0; i < 10'000; ++i) log.Add(EventType::kItemFinished, "share", payload(i));
  const size_t full = HeapInUse();
  for (int i = 10'000; i < 100'000; ++i) {
    log.Add(EventType::kItemFinished, "share", payload(i));
    ASSERT_LE(log.size(), EventLog::kDefaultCapacity);
  }
  const size_t after = HeapInUse();
  EXPECT_EQ(log.size(), EventLog::kDefaultCapacity);
  EXPECT_EQ(log.last_id(), 100'000u);
  // Memory in use is what a full ring takes, give or take a little: not
  // ten times as much.
  EXPECT_LT(after, full + full / 4) << "in use with 10,000 events: " << full << ", with 100,000 passed: " << after;
}

TEST(EventLogTest, APollWithSomethingNewReturnsAtOnce) {
  asio::io_context io;
  EventLog log(io);
  log.Add(EventType::kItemStarted, "s", {});
  const auto start = std::chrono::steady_clock::now();
  auto page = RunPoll(io, log, 0, 60s);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->events.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

TEST(EventLogTest, APollWakesWhenAnEventArrives) {
  asio::io_context io;
  EventLog log(io);
  log.Add(EventType::kItemStarted, "s", {});
  const auto start = std::chrono::steady_clock::now();
  auto page = RunPoll(io, log, 1, 60s, {}, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io, 20ms);
    co_await t.async_wait(asio::use_awaitable);
    log.Add(EventType::kItemFinished, "s", {{"path", "x"}});
  });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].id, 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);  // woken, not timed out
}

TEST(EventLogTest, AWaitingPollIsAnsweredWithTheEventThatWokeItNotLater) {
  asio::io_context io;
  EventLog log(io);
  auto page = RunPoll(io, log, 0, 60s, {}, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io, 10ms);
    co_await t.async_wait(asio::use_awaitable);
    log.Add(EventType::kItemStarted, "s", {{"path", "x"}});
    // Within the gathering time of a burst: a waiting reader is not held for it.
    t.expires_after(EventLog::kGather / 2);
    co_await t.async_wait(asio::use_awaitable);
    log.Add(EventType::kItemFinished, "s", {{"path", "x"}});
  });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].type, EventType::kItemStarted);
}

TEST(EventLogTest, APollSleepsThroughEventsItsFilterDoesNotWant) {
  asio::io_context io;
  EventLog log(io);
  EventFilter only_failures{{EventType::kItemFailed}, ""};
  auto page = RunPoll(io, log, 0, 60s, only_failures, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(io, 10ms);
    co_await t.async_wait(asio::use_awaitable);
    log.Add(EventType::kItemStarted, "s", {});
    co_await t.async_wait(asio::use_awaitable);
    t.expires_after(10ms);
    co_await t.async_wait(asio::use_awaitable);
    log.Add(EventType::kItemFailed, "s", {{"path", "x"}});
  });
  ASSERT_TRUE(page);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].type, EventType::kItemFailed);
  EXPECT_EQ(page->last_id, 2u);
}

TEST(EventLogTest, APollWithNothingNewReturnsEmptyAtItsTimeout) {
  asio::io_context io;
  EventLog log(io);
  log.Add(EventType::kItemStarted, "s", {});
  const auto start = std::chrono::steady_clock::now();
  auto page = RunPoll(io, log, 1, 150ms);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->events.empty());
  EXPECT_EQ(page->last_id, 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
}

}  // namespace
}  // namespace tandem::service
