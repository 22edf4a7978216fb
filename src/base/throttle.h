// Throttle: one bandwidth limit (one direction, of the device or of one
// share) that coroutines pass their bytes through. One waiter at a time
// holds the turn: it reserves its bytes from the TokenBucket and waits until
// they are paid for, so a hundred blocks asked at once never run the bucket
// a hundred blocks into debt. Turns go round the waiters' keys (a peer
// session each), first come first served within a key: a peer that queued
// 64 blocks does not make another wait for all of them. A rate changed at
// run time wakes the waiter holding the turn, which waits again at the new
// rate: a raised limit speeds up transfers already waiting, a lifted one
// lets them all go at once.
//
// Threads: one executor (the event loop); not thread-safe.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>

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
  // waiting). `key` groups the waiters that take turns with other keys'.
  // `wanted`, asked when the turn comes, lets a waiter whose bytes are no
  // longer wanted (its connection closed) leave without spending any. A
  // waiter whose coroutine is destroyed leaves its place.
  asio::awaitable<void> Take(uint64_t bytes, uintptr_t key = 0, std::function<bool()> wanted = nullptr);
  size_t waiting() const;

 private:
  struct Waiter {
    asio::steady_timer* timer;
    Throttle* throttle;  // null once the throttle is gone
    uintptr_t key;
    bool turn = false;
  };
  class InQueue;
  // The next key's first waiter gets the turn.
  void PassTurn();

  TokenBucket bucket_;
  std::map<uintptr_t, std::deque<Waiter*>> queued_;  // by key, in the order they came
  std::deque<uintptr_t> keys_;                       // keys with waiters, in turn order
  Waiter* turn_ = nullptr;                           // the waiter holding the turn
};

}  // namespace tandem
