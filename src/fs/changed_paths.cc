#include "fs/changed_paths.h"

namespace tandem::fs {

void ChangedPaths::AddEntry(std::string path) {
  if (everything || path.empty()) return;
  entries.insert(std::move(path));
  LimitSize();
}

void ChangedPaths::AddTree(std::string path) {
  if (everything) return;
  if (path.empty()) {
    everything = true;
    LimitSize();
    return;
  }
  trees.insert(std::move(path));
  LimitSize();
}

void ChangedPaths::AddAsked(std::string path) {
  if (everything || path.empty()) return;
  unlisted.insert(path);
  AddEntry(std::move(path));
}

void ChangedPaths::Merge(const ChangedPaths& other) {
  everything = everything || other.everything;
  if (!everything) {
    entries.insert(other.entries.begin(), other.entries.end());
    trees.insert(other.trees.begin(), other.trees.end());
    unlisted.insert(other.unlisted.begin(), other.unlisted.end());
  }
  LimitSize();
}

bool ChangedPaths::Covers(std::string_view path) const {
  if (everything) return true;
  if (entries.count(std::string(path))) return true;
  // Each folder above `path`, and `path` itself, may be a tree.
  for (size_t slash = path.find('/'); ; slash = path.find('/', slash + 1)) {
    std::string_view prefix = slash == std::string_view::npos ? path : path.substr(0, slash);
    if (trees.count(std::string(prefix))) return true;
    if (slash == std::string_view::npos) return false;
  }
}

void ChangedPaths::LimitSize() {
  if (everything || entries.size() + trees.size() > kMaxPaths) {
    everything = true;
    entries.clear();
    trees.clear();
    unlisted.clear();
  }
}

}  // namespace tandem::fs
