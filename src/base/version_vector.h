// VersionVector: which device made how many changes to one path, keyed by
// the device's short id. Comparing two vectors tells whether one version
// descends from the other or whether they were made concurrently (a conflict).
#pragma once

#include <cstdint>
#include <map>

#include "base/bytes.h"

namespace tandem {

enum class Ordering { kEqual, kBefore, kAfter, kConcurrent };

class VersionVector {
 public:
  VersionVector() = default;

  uint64_t Get(uint64_t device) const;
  void Set(uint64_t device, uint64_t counter);

  // `device`'s counter becomes one more than the largest counter present, so
  // a new local version is strictly newer than everything this one has seen.
  void Bump(uint64_t device);

  // Element-wise maximum.
  void Merge(const VersionVector& other);

  // kBefore: *this is an ancestor of `other`; kAfter: the reverse.
  Ordering Compare(const VersionVector& other) const;

  // Sorted (device, counter) pairs as 16 big-endian bytes each: the form
  // covered by record signatures.
  Bytes Canonical() const;

  const std::map<uint64_t, uint64_t>& counters() const { return counters_; }
  bool empty() const { return counters_.empty(); }
  bool operator==(const VersionVector&) const = default;

 private:
  std::map<uint64_t, uint64_t> counters_;  // zero counters are never stored
};

}  // namespace tandem
