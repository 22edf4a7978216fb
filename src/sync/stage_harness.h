// StageHarness: what a unit test of one engine stage needs. A loop turned
// on the test's own thread (so the test reads a stage's state between
// turns), a pool of two threads, a share folder seen through a
// FaultFilesystem, a share's write secrets, and the ShareContext the stages
// take, whose spawn runs work on the loop and keeps what it threw.
//
// Threads: the test's thread only; the pool runs what stages post to it.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <gtest/gtest.h>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/async.h"
#include "crypto/keys.h"
#include "sync/share_context.h"
#include "testing/fault_filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::sync {

class StageHarness {
 public:
  StageHarness()
      : context{loop,
                pool,
                asio::make_strand(pool.get_executor()),
                fs,
                "stage-test",
                dir.path(),
                secrets,
                [this](asio::awaitable<void> work, const char* what) {
                  ++spawned_running;
                  asio::co_spawn(loop, std::move(work), [this, what](std::exception_ptr e) {
                    --spawned_running;
                    if (e) failures.push_back(std::string(what) + ": " + WhatThrew(e));
                  });
                }} {}
  ~StageHarness() {
    loop.stop();
    pool.join();
  }

  // Turns the loop until `done` holds, for at most `limit`.
  template <typename Condition>
  bool RunUntil(Condition done, std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      loop.restart();
      loop.run_one_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  // Runs `work` on the loop to its end and returns its value.
  template <typename T>
  T Await(asio::awaitable<T> work) {
    std::optional<T> result;
    std::exception_ptr threw;
    bool done = false;
    auto run = [](asio::awaitable<T> work, std::optional<T>& out) -> asio::awaitable<void> {
      out.emplace(co_await std::move(work));
    };
    asio::co_spawn(loop, run(std::move(work), result), [&](std::exception_ptr e) {
      threw = e;
      done = true;
    });
    EXPECT_TRUE(RunUntil([&] { return done; }, std::chrono::seconds(30)));
    if (threw) std::rethrow_exception(threw);
    return std::move(*result);
  }

  void Await(asio::awaitable<void> work) {
    auto ended = [](asio::awaitable<void> work) -> asio::awaitable<bool> {
      co_await std::move(work);
      co_return true;
    };
    Await(ended(std::move(work)));
  }

  asio::io_context loop;
  asio::thread_pool pool{2};
  testing::TempDir dir;
  testing::FaultFilesystem fs;
  crypto::ShareSecrets secrets = crypto::ShareSecrets::GenerateWrite();
  const ShareContext context;
  std::vector<std::string> failures;  // what spawned work threw, by `what`
  int spawned_running = 0;            // work started by a stage, not ended yet
};

}  // namespace tandem::sync
