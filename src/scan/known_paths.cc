#include "scan/known_paths.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <stdexcept>

namespace tandem::scan {

void KnownPaths::Add(const store::LocalFileState& state) {
  assert(!sealed_);
  // The offsets are 32 bits and a vector's length 16: a share past that
  // (4 GiB of path names) fails the scan with this, never a wrong answer.
  if (paths_.size() + state.path.size() > UINT32_MAX || counters_.size() + state.vector.counters().size() > UINT32_MAX ||
      state.vector.counters().size() > UINT16_MAX) {
    throw std::length_error("the index holds more than one scan can compare (over 4 GiB of path names, or a version of over 65,535 devices)");
  }
  Item item;
  item.path_at = static_cast<uint32_t>(paths_.size());
  item.path_size = static_cast<uint32_t>(state.path.size());
  paths_ += state.path;
  item.counters_at = static_cast<uint32_t>(counters_.size());
  item.counters_size = static_cast<uint16_t>(state.vector.counters().size());
  counters_.insert(counters_.end(), state.vector.counters().begin(), state.vector.counters().end());
  item.kind = state.kind;
  item.mode = state.mode;
  item.size = state.size;
  item.mtime_ns = state.mtime_ns;
  item.ctime_ns = state.ctime_ns;
  item.inode = state.inode;
  items_.push_back(item);
}

void KnownPaths::Seal() {
  std::stable_sort(items_.begin(), items_.end(), [&](const Item& a, const Item& b) {
    return PathOf(a) < PathOf(b);
  });
  // Of equal paths the last added wins: keep the last of each run.
  auto last = std::unique(items_.rbegin(), items_.rend(), [&](const Item& a, const Item& b) {
    return PathOf(a) == PathOf(b);
  });
  items_.erase(items_.begin(), last.base());
  items_.shrink_to_fit();
  sealed_ = true;
}

size_t KnownPaths::IndexOf(std::string_view path) const {
  assert(sealed_ || items_.empty());
  auto it = std::lower_bound(items_.begin(), items_.end(), path,
                             [&](const Item& item, std::string_view p) { return PathOf(item) < p; });
  if (it == items_.end() || PathOf(*it) != path || it->taken) return npos;
  return static_cast<size_t>(it - items_.begin());
}

store::LocalFileState KnownPaths::StateOf(const Item& item) const {
  store::LocalFileState state{.kind = item.kind, .size = item.size, .mtime_ns = item.mtime_ns,
                              .ctime_ns = item.ctime_ns, .inode = item.inode, .mode = item.mode};
  for (uint32_t i = 0; i < item.counters_size; ++i) {
    const auto& [device, counter] = counters_[item.counters_at + i];
    state.vector.Set(device, counter);
  }
  return state;
}

std::optional<store::LocalFileState> KnownPaths::Take(std::string_view path) {
  const size_t i = IndexOf(path);
  if (i == npos) return std::nullopt;
  items_[i].taken = true;
  return StateOf(items_[i]);
}

std::optional<store::LocalFileState> KnownPaths::Peek(std::string_view path) const {
  const size_t i = IndexOf(path);
  if (i == npos) return std::nullopt;
  return StateOf(items_[i]);
}

void KnownPaths::ForEachUnseen(const std::function<void(const std::string& path)>& visit) const {
  for (const Item& item : items_) {
    if (!item.taken) visit(std::string(PathOf(item)));
  }
}

}  // namespace tandem::scan
