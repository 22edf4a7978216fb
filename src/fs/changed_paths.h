// ChangedPaths: which part of a share's folder changed, as the watcher saw
// it, and so which part a scan must read again (scan::Scanner::ScanChanged).
// Paths are relative to the share's root, '/'-separated, never ".tandem".
// Plain data: any thread, one at a time.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace tandem::fs {

struct ChangedPaths {
  // The whole tree: the watcher's queue overflowed, a folder could not be
  // watched, or a full scan was asked for.
  bool everything = false;
  // Each entry itself: a file or symlink written, created or removed, or a
  // folder's own metadata. A folder listed here is read whole only if it is
  // new to the index or was something else before.
  std::set<std::string> entries;
  // Each entry and everything below it: a folder created, moved in or away.
  std::set<std::string> trees;
  // Those of the paths named by something other than the disk (a pull
  // asking for a scan of a record's path): on a filesystem that ignores
  // case, such a name may find another name's file, so it is read only if
  // its folder lists it spelled so.
  std::set<std::string> unlisted;

  // Beyond this many paths one walk of the tree is cheaper than remembering them.
  static constexpr size_t kMaxPaths = 20000;

  bool empty() const { return !everything && entries.empty() && trees.empty(); }
  void AddEntry(std::string path);
  void AddTree(std::string path);
  // An entry named by a record, not by the disk (see `unlisted`).
  void AddAsked(std::string path);
  // Takes in `other`'s paths (everything, if either is).
  void Merge(const ChangedPaths& other);
  // Whether `path` is one of the entries, a tree or below one.
  bool Covers(std::string_view path) const;

 private:
  void LimitSize();
};

}  // namespace tandem::fs
