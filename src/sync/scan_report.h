// ScanReport: what the scans of one share have found, as the user sees it
// (tandem info, status): the last scan's figures, the paths no scan could
// index with why, and a read replica's local changes. A scan of part of
// the tree replaces only what earlier scans said of that part.
//
// Threads: plain data, on the event loop (owned by the ShareEngine).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scan/scanner.h"

namespace tandem::sync {

class ScanReport {
 public:
  // Takes in a scan that ended at `unix_time`; a read replica's scan also
  // brings the local changes it found. Returns whether the number of local
  // changes changed (worth a line in the log).
  bool Take(const scan::ScanStats& stats, std::vector<scan::LocalChange> local_changes, int64_t unix_time);

  const scan::ScanStats& last_scan() const { return last_scan_; }
  int64_t last_scan_unix() const { return last_scan_unix_; }
  // Each path no scan could index, with why, in path order.
  std::vector<std::string> skipped() const;
  // By path.
  const std::vector<scan::LocalChange>& local_changes() const { return local_changes_; }
  // The ignored paths the scans met (a folder ignored whole counts once).
  size_t ignored() const { return ignored_.size(); }
  // Forgets them: the rules changed, and a scan of everything follows.
  void ForgetIgnored() { ignored_.clear(); }

 private:
  scan::ScanStats last_scan_;
  int64_t last_scan_unix_ = 0;
  std::map<std::string, std::string> skipped_;  // why, by key (scan::ScanStats::skipped_keys)
  std::vector<scan::LocalChange> local_changes_;
  std::set<std::string> ignored_;
};

}  // namespace tandem::sync
