// RateMeter: bytes per second over the last few seconds, for the transfer
// rates a status shows. Bytes are counted into one-second buckets as they
// pass, so a rate read after a long quiet spell is zero, not an average
// that reaches back to the last transfer.
//
// Threads: none of its own; one owner thread (the engine's event loop).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace tandem {

class RateMeter {
 public:
  using Clock = std::chrono::steady_clock;

  void Add(uint64_t bytes, Clock::time_point now = Clock::now());
  // Bytes per second over the last kWindow full seconds before `now`.
  uint64_t PerSecond(Clock::time_point now = Clock::now()) const;
  uint64_t total() const { return total_; }

  static constexpr int64_t kWindow = 5;

 private:
  static int64_t SecondOf(Clock::time_point t);
  // Bucket k holds the bytes of second seconds_[k] (a second's bucket is
  // its number modulo the ring's size).
  std::array<uint64_t, kWindow + 1> bytes_{};
  std::array<int64_t, kWindow + 1> seconds_{};
  uint64_t total_ = 0;
};

}  // namespace tandem
