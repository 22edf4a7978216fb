#include "base/rate_meter.h"

namespace tandem {

int64_t RateMeter::SecondOf(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void RateMeter::Add(uint64_t bytes, Clock::time_point now) {
  const int64_t second = SecondOf(now);
  const size_t k = static_cast<size_t>(second % static_cast<int64_t>(bytes_.size()));
  if (seconds_[k] != second) {
    seconds_[k] = second;
    bytes_[k] = 0;
  }
  bytes_[k] += bytes;
  total_ += bytes;
}

uint64_t RateMeter::PerSecond(Clock::time_point now) const {
  // The second under way is left out: it has only just begun.
  const int64_t current = SecondOf(now);
  uint64_t sum = 0;
  for (size_t k = 0; k < bytes_.size(); ++k) {
    if (seconds_[k] < current && seconds_[k] >= current - kWindow) sum += bytes_[k];
  }
  return sum / kWindow;
}

}  // namespace tandem
