#include "sync/scan_report.h"

#include <algorithm>

namespace tandem::sync {

bool ScanReport::Take(const scan::ScanStats& stats, std::vector<scan::LocalChange> found, int64_t unix_time) {
  last_scan_ = stats;
  last_scan_unix_ = unix_time;
  const fs::ChangedPaths& covered = stats.covered;
  // A folder's key ("d/": it could not be listed) is replaced only by a
  // scan that read what is in it.
  std::erase_if(skipped_, [&](const auto& skipped) { return covered.Covers(skipped.first); });
  for (size_t i = 0; i < stats.skipped_keys.size(); ++i) skipped_[stats.skipped_keys[i]] = stats.skipped_paths[i];
  std::erase_if(ignored_, [&](const std::string& path) { return covered.Covers(path); });
  ignored_.insert(stats.ignored.begin(), stats.ignored.end());
  last_scan_.ignored = {};  // counted here; not copied with every status
  const size_t before = local_changes_.size();
  std::erase_if(local_changes_, [&](const scan::LocalChange& change) { return covered.Covers(change.path); });
  local_changes_.insert(local_changes_.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  std::sort(local_changes_.begin(), local_changes_.end(),
            [](const scan::LocalChange& a, const scan::LocalChange& b) { return a.path < b.path; });
  return local_changes_.size() != before;
}

std::vector<std::string> ScanReport::skipped() const {
  std::vector<std::string> out;
  out.reserve(skipped_.size());
  for (const auto& [key, why] : skipped_) out.push_back(why);
  return out;
}

}  // namespace tandem::sync
