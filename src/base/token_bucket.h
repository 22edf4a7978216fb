// TokenBucket: a bandwidth limit in bytes a second (issue 23), as
// arithmetic over the caller's clock. A sender reserves the bytes it is
// about to send and is told how long to wait first; reservations may run
// the bucket into debt, so callers that reserve at once are spaced out in
// the order they came, and the average never passes the rate. An idle
// bucket saves up at most `burst` bytes, so a sender that was quiet may
// send that much at once and then keeps to the rate.
//
// Threads: none of its own; one owner thread (the event loop).
#pragma once

#include <chrono>
#include <cstdint>

namespace tandem {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // A rate of 0 is no limit. The burst defaults to a quarter of a second's
  // bytes, and at least 64 KiB (one block goes without waiting).
  explicit TokenBucket(uint64_t bytes_per_second = 0, Clock::time_point now = Clock::now());

  // Changes the rate from `now` on: what was saved or owed so far is
  // counted at the old rate; no limit forgives any debt.
  void SetRate(uint64_t bytes_per_second, Clock::time_point now);
  uint64_t rate() const { return rate_; }
  bool limited() const { return rate_ != 0; }

  // Reserves `bytes` and returns how long to wait before sending them
  // (zero when the bucket held them, always zero without a limit).
  Clock::duration Reserve(uint64_t bytes, Clock::time_point now);
  // How long until what was reserved is paid for, at the rate in force now
  // (a caller woken by a rate change asks again rather than keeping the
  // wait it was given).
  Clock::duration Owed(Clock::time_point now);

 private:
  void Refill(Clock::time_point now);
  static uint64_t BurstFor(uint64_t rate);

  uint64_t rate_ = 0;
  uint64_t burst_ = 0;
  double tokens_ = 0;  // bytes that may go now; negative: owed
  Clock::time_point last_;
};

}  // namespace tandem
