#include "base/token_bucket.h"

#include <algorithm>

namespace tandem {

TokenBucket::TokenBucket(uint64_t bytes_per_second, Clock::time_point now)
    : rate_(bytes_per_second), burst_(BurstFor(bytes_per_second)), tokens_(static_cast<double>(burst_)), last_(now) {}

uint64_t TokenBucket::BurstFor(uint64_t rate) { return std::max<uint64_t>(rate / 4, 64 * 1024); }

void TokenBucket::Refill(Clock::time_point now) {
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(tokens_ + seconds * static_cast<double>(rate_), static_cast<double>(burst_));
  last_ = now;
}

void TokenBucket::SetRate(uint64_t bytes_per_second, Clock::time_point now) {
  Refill(now);
  const bool was_limited = rate_ != 0;
  rate_ = bytes_per_second;
  burst_ = BurstFor(bytes_per_second);
  // From no limit (or to none) the bucket starts full; otherwise what was
  // saved stays, up to the new burst, and what was owed is still owed.
  tokens_ = was_limited && rate_ != 0 ? std::min(tokens_, static_cast<double>(burst_)) : static_cast<double>(burst_);
  last_ = now;
}

TokenBucket::Clock::duration TokenBucket::Reserve(uint64_t bytes, Clock::time_point now) {
  if (rate_ == 0) return Clock::duration::zero();
  Refill(now);
  tokens_ -= static_cast<double>(bytes);
  return Owed(now);
}

TokenBucket::Clock::duration TokenBucket::Owed(Clock::time_point now) {
  if (rate_ == 0) return Clock::duration::zero();
  Refill(now);
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(-tokens_ / static_cast<double>(rate_)));
}

}  // namespace tandem
