#include "base/version_vector.h"

#include <algorithm>

namespace tandem {

uint64_t VersionVector::Get(uint64_t device) const {
  auto it = counters_.find(device);
  return it == counters_.end() ? 0 : it->second;
}

void VersionVector::Set(uint64_t device, uint64_t counter) {
  if (counter == 0) {
    counters_.erase(device);
  } else {
    counters_[device] = counter;
  }
}

void VersionVector::Bump(uint64_t device) {
  uint64_t highest = 0;
  for (const auto& [_, counter] : counters_) highest = std::max(highest, counter);
  counters_[device] = highest + 1;
}

void VersionVector::Merge(const VersionVector& other) {
  for (const auto& [device, counter] : other.counters_) {
    uint64_t& mine = counters_[device];
    mine = std::max(mine, counter);
  }
}

Ordering VersionVector::Compare(const VersionVector& other) const {
  bool some_less = false;
  bool some_greater = false;
  auto a = counters_.begin();
  auto b = other.counters_.begin();
  while (a != counters_.end() || b != other.counters_.end()) {
    if (b == other.counters_.end() || (a != counters_.end() && a->first < b->first)) {
      some_greater = true;
      ++a;
    } else if (a == counters_.end() || b->first < a->first) {
      some_less = true;
      ++b;
    } else {
      some_greater |= a->second > b->second;
      some_less |= a->second < b->second;
      ++a, ++b;
    }
  }
  if (some_less && some_greater) return Ordering::kConcurrent;
  if (some_less) return Ordering::kBefore;
  if (some_greater) return Ordering::kAfter;
  return Ordering::kEqual;
}

Bytes VersionVector::Canonical() const {
  Bytes out;
  out.reserve(counters_.size() * 16);
  for (const auto& [device, counter] : counters_) {
    AppendU64BE(out, device);
    AppendU64BE(out, counter);
  }
  return out;
}

}  // namespace tandem
