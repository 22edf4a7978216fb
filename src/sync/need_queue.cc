#include "sync/need_queue.h"

#include <algorithm>

namespace tandem::sync {

void NeedQueue::Add(const std::vector<std::pair<crypto::Locator, Need>>& needs) {
  for (const auto& [locator, need] : needs) {
    // A newer record replaces a pending revert: it is a new share version,
    // and a local edit then is kept beside it, as for any read replica.
    auto [it, fresh] = needs_.insert_or_assign(locator, Entry{need.bytes, ++generation_, need.deletion});
    if (need.revert) {
      reverts_.insert_or_assign(locator, need.revert_disk);
    } else {
      reverts_.erase(locator);
    }
    bool was_blocked = blocked_.erase(locator) > 0;
    // A need being pulled right now is looked at again when that pull ends.
    if (fresh || was_blocked) queue_.push_back(locator);
  }
}

std::optional<std::pair<crypto::Locator, uint64_t>> NeedQueue::Take() {
  while (!queue_.empty()) {
    crypto::Locator locator = queue_.front();
    queue_.pop_front();
    auto it = needs_.find(locator);
    if (it == needs_.end() || blocked_.count(locator)) continue;
    return std::make_pair(locator, it->second.generation);
  }
  return std::nullopt;
}

NeedQueue::Next NeedQueue::Finish(const crypto::Locator& locator, uint64_t generation, Outcome outcome,
                                  const std::string& why, bool* why_is_new, const std::string& path) {
  if (why_is_new) *why_is_new = false;
  auto it = needs_.find(locator);
  if (it == needs_.end()) return Next::kDone;  // cleared meanwhile
  if (it->second.generation != generation) {
    queue_.push_back(locator);
    return Next::kPullAgain;
  }
  switch (outcome) {
    case Outcome::kPulled:
      needs_.erase(it);
      reverts_.erase(locator);
      failed_.erase(locator);
      return Next::kDone;
    case Outcome::kWaiting:
      blocked_.insert(locator);
      return Next::kRetryLater;
    case Outcome::kFailed: {
      blocked_.insert(locator);
      // Retries of the same failure stay quiet; the status lists it meanwhile.
      Failure& failure = failed_[locator];
      if (failure.reason != why) {
        failure = {path, why};
        if (why_is_new) *why_is_new = true;
      }
      return Next::kRetryLater;
    }
  }
  return Next::kDone;
}

void NeedQueue::RetryBlocked() {
  for (const crypto::Locator& locator : blocked_) queue_.push_back(locator);
  blocked_.clear();
}

void NeedQueue::BlockQueued() {
  for (const crypto::Locator& locator : queue_) blocked_.insert(locator);
  queue_.clear();
}

void NeedQueue::Clear() {
  queue_.clear();
  needs_.clear();
  reverts_.clear();
  blocked_.clear();
}

std::optional<Need> NeedQueue::Find(const crypto::Locator& locator) const {
  auto it = needs_.find(locator);
  if (it == needs_.end()) return std::nullopt;
  Need need{it->second.bytes, it->second.deletion};
  if (auto revert = reverts_.find(locator); revert != reverts_.end()) {
    need.revert = true;
    need.revert_disk = revert->second;
  }
  return need;
}

uint64_t NeedQueue::bytes() const {
  uint64_t total = 0;
  for (const auto& [locator, entry] : needs_) total += entry.bytes;
  return total;
}

size_t NeedQueue::deletions() const {
  return static_cast<size_t>(
      std::count_if(needs_.begin(), needs_.end(), [](const auto& need) { return need.second.deletion; }));
}

std::vector<crypto::Locator> NeedQueue::locators() const {
  std::vector<crypto::Locator> out;
  out.reserve(needs_.size());
  for (const auto& [locator, entry] : needs_) out.push_back(locator);
  return out;
}

std::vector<NeedQueue::Failure> NeedQueue::failures() const {
  std::vector<Failure> out;
  for (const auto& [locator, failure] : failed_) out.push_back(failure);
  std::sort(out.begin(), out.end(), [](const Failure& a, const Failure& b) { return a.reason < b.reason; });
  return out;
}

}  // namespace tandem::sync
