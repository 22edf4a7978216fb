// KnownPaths: the indexed state of every path a scan may meet, held while
// the scan walks, so that each path on disk is compared with its index
// entry and what the walk never met becomes a tombstone. A full scan holds
// the whole index here: it is kept compact (one array of fixed-size items,
// one of path bytes, one of version counters, about 100 bytes a path),
// where a map of store::LocalFileState took about 300 and set the daemon's
// peak memory on a large share.
//
// Threads: plain data, the scan's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/repository.h"

namespace tandem::scan {

class KnownPaths {
 public:
  // Before Seal: the indexed state of one path (its blocks are not kept).
  void Add(const store::LocalFileState& state);
  // After the last Add: a path added twice keeps its last state.
  void Seal();

  // The state of `path` (without its path and blocks), once: a later Take
  // or ForEachUnseen no longer has it. nullopt when not known, or taken.
  std::optional<store::LocalFileState> Take(std::string_view path);
  // The state of a path not taken, as Take gives it, without taking it.
  std::optional<store::LocalFileState> Peek(std::string_view path) const;
  // Every path not taken, in path order.
  void ForEachUnseen(const std::function<void(const std::string& path)>& visit) const;

  size_t size() const { return items_.size(); }

 private:
  struct Item {
    uint32_t path_at = 0;
    uint32_t path_size = 0;
    uint32_t counters_at = 0;
    uint16_t counters_size = 0;
    crypto::EntryKind kind = crypto::EntryKind::kFile;
    bool taken = false;
    uint32_t mode = 0;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    uint64_t inode = 0;
  };
  std::string_view PathOf(const Item& item) const { return std::string_view(paths_).substr(item.path_at, item.path_size); }
  // The index of `path` among items_ if it is there and not taken; npos otherwise.
  size_t IndexOf(std::string_view path) const;
  static constexpr size_t npos = static_cast<size_t>(-1);
  store::LocalFileState StateOf(const Item& item) const;

  std::vector<Item> items_;
  std::string paths_;
  std::vector<std::pair<uint64_t, uint64_t>> counters_;  // each item's version vector
  bool sealed_ = false;
};

}  // namespace tandem::scan
