#include "sync/scan_report.h"

#include <gtest/gtest.h>

namespace tandem::sync {
namespace {

using Kind = scan::LocalChange::Kind;

scan::ScanStats ScanOf(std::initializer_list<const char*> entries, bool everything = false) {
  scan::ScanStats stats;
  stats.covered.everything = everything;
  for (const char* path : entries) stats.covered.AddEntry(path);
  return stats;
}

std::vector<std::string> Paths(const std::vector<scan::LocalChange>& changes) {
  std::vector<std::string> out;
  for (const auto& change : changes) out.push_back(change.path);
  return out;
}

TEST(ScanReport, ASkippedPathStaysListedUntilAScanReadsItAgain) {
  ScanReport report;
  auto full = ScanOf({}, true);
  full.skipped_keys = {"fifo", "locked/"};
  full.skipped_paths = {"fifo: a special file", "locked: cannot be listed"};
  report.Take(full, {}, 100);
  EXPECT_EQ(report.skipped(), (std::vector<std::string>{"fifo: a special file", "locked: cannot be listed"}));
  report.Take(ScanOf({"other.txt"}), {}, 101);  // elsewhere: both stay
  EXPECT_EQ(report.skipped().size(), 2u);
  report.Take(ScanOf({"fifo"}), {}, 102);  // read again, fine now
  EXPECT_EQ(report.skipped(), std::vector<std::string>{"locked: cannot be listed"});
  EXPECT_EQ(report.last_scan_unix(), 102);
}

TEST(ScanReport, APartialScanReplacesOnlyTheLocalChangesOfWhatItRead) {
  ScanReport report;
  EXPECT_TRUE(report.Take(ScanOf({}, true), {{"b.txt", Kind::kModified}, {"a.txt", Kind::kAdded}}, 1));
  EXPECT_EQ(Paths(report.local_changes()), (std::vector<std::string>{"a.txt", "b.txt"}));
  // b.txt reverted by hand, c.txt deleted: a.txt, not read, stays.
  EXPECT_FALSE(report.Take(ScanOf({"b.txt", "c.txt"}), {{"c.txt", Kind::kDeleted}}, 2));
  EXPECT_EQ(Paths(report.local_changes()), (std::vector<std::string>{"a.txt", "c.txt"}));
  EXPECT_TRUE(report.Take(ScanOf({}, true), {}, 3));
  EXPECT_TRUE(report.local_changes().empty());
}

}  // namespace
}  // namespace tandem::sync
