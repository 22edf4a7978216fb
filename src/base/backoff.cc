#include "base/backoff.h"

#include <algorithm>

namespace tandem {

Backoff::Backoff(std::chrono::milliseconds first, std::chrono::milliseconds cap)
    : first_(first), cap_(std::max(cap, first)), step_(first), random_(std::random_device{}()) {}

std::chrono::milliseconds Backoff::Next() {
  const int64_t full = step_.count();
  const int64_t half = full / 2;
  std::uniform_int_distribution<int64_t> jitter(0, full - half);
  step_ = std::min(step_ * 2, cap_);
  return std::chrono::milliseconds(half + jitter(random_));
}

}  // namespace tandem
