// Throttle: one bandwidth limit (one direction, of the device or of one
// share) that coroutines pass their bytes through. Waiters go one at a time
// in the order they came: the one at the front reserves its bytes from the
// TokenBucket and waits until they are paid for, so a hundred blocks asked
// at once never run the bucket a hundred blocks into debt. A rate changed at
// run time wakes the front waiter, which waits again at the new rate: a
// raised limit speeds up transfers already waiting, a lifted one lets them
// all go at once.
//
// Threads: one executor (the event loop); not thread-safe.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <deque>

#include "base/token_bucket.h"

namespace tandem {

class Throttle {
 public:
  // A rate of 0 is no limit.
  explicit Throttle(uint64_t bytes_per_second = 0);
  // Waiters still queued (their coroutines destroyed later, with the loop)
  // are let go of: they touch nothing of this once woken or destroyed.
  ~Throttle();
  Throttle(const Throttle&) = delete;
  Throttle& operator=(const Throttle&) = delete;

  void SetRate(uint64_t bytes_per_second);
  uint64_t rate() const { return bucket_.rate(); }

  // Returns when `bytes` may be sent (at once without a limit and nobody
  // waiting). A waiter whose coroutine is destroyed leaves its turn.
  asio::awaitable<void> Take(uint64_t bytes);
  size_t waiting() const { return queue_.size(); }

 private:
  struct Waiter {
    asio::steady_timer* timer;
    Throttle* throttle;  // null once the throttle is gone
    bool turn = false;
  };
  class InQueue;
  void WakeFront();

  TokenBucket bucket_;
  std::deque<Waiter*> queue_;
};

}  // namespace tandem
