#include "sync/scan_scheduler.h"

#include <gtest/gtest.h>

#include "sync/stage_harness.h"

namespace tandem::sync {
namespace {

class ScanSchedulerTest : public ::testing::Test {
 protected:
  fs::ChangedPaths Entries(std::initializer_list<const char*> paths) {
    fs::ChangedPaths changed;
    for (const char* path : paths) changed.AddEntry(path);
    return changed;
  }

  StageHarness h;
  bool pulling = false;
  std::vector<fs::ChangedPaths> scanned;  // each scan's paths, in order
  // While set, a scan does not end (a scan that takes a while).
  bool hold_scans = false;
  bool throw_next = false;  // the next scan throws
  ScanScheduler scheduler{h.context,
                          [this](fs::ChangedPaths changed) -> asio::awaitable<void> {
                            scanned.push_back(std::move(changed));
                            if (std::exchange(throw_next, false)) throw std::runtime_error("scan blew up");
                            while (hold_scans) {
                              asio::steady_timer turn(h.loop, std::chrono::milliseconds(1));
                              co_await turn.async_wait(asio::use_awaitable);
                            }
                          },
                          [this] { return pulling; },
                          {.debounce = std::chrono::milliseconds(5),
                           .pulls_settle = std::chrono::milliseconds(20),
                           .confirm_deletions = std::chrono::milliseconds(50)}};
};

TEST_F(ScanSchedulerTest, WatcherEventsThatComeTogetherAreOneScanOfTheirPaths) {
  scheduler.OnFolderChanged(Entries({"a.txt"}));
  scheduler.OnFolderChanged(Entries({"b/c.txt"}));
  ASSERT_TRUE(h.RunUntil([&] { return !scanned.empty(); }));
  ASSERT_EQ(scanned.size(), 1u);
  EXPECT_FALSE(scanned[0].everything);
  EXPECT_TRUE(scanned[0].Covers("a.txt"));
  EXPECT_TRUE(scanned[0].Covers("b/c.txt"));
  EXPECT_FALSE(scanned[0].Covers("d.txt"));
}

TEST_F(ScanSchedulerTest, ScansAskedWhileOneRunsAreOneScanRightAfterIt) {
  hold_scans = true;
  scheduler.ScanEntrySoon("first");
  ASSERT_TRUE(h.RunUntil([&] { return scanned.size() == 1; }));
  scheduler.ScanSoon(Entries({"second"}));
  scheduler.ScanSoon(Entries({"third"}));
  hold_scans = false;
  ASSERT_TRUE(h.RunUntil([&] { return scanned.size() == 2; }));
  EXPECT_TRUE(scanned[1].Covers("second"));
  EXPECT_TRUE(scanned[1].Covers("third"));
  EXPECT_FALSE(scanned[1].Covers("first"));
}

TEST_F(ScanSchedulerTest, PathsSeenWhilePullingWaitUntilThePullsHaveSettled) {
  pulling = true;
  scheduler.OnFolderChanged(Entries({"renamed-by-a-pull"}));
  scheduler.ScanEntrySoon("asked");
  ASSERT_TRUE(h.RunUntil([&] { return scanned.size() == 1; }));
  EXPECT_FALSE(scanned[0].Covers("renamed-by-a-pull"));
  pulling = false;
  scheduler.OnPullersIdle();
  ASSERT_TRUE(h.RunUntil([&] { return scanned.size() == 2; }));
  EXPECT_TRUE(scanned[1].Covers("renamed-by-a-pull"));
}

TEST_F(ScanSchedulerTest, HeldDeletionsAreScannedAgainOnceAMomentLater) {
  scheduler.HoldDeletions({"gone.txt", "old.txt"}, /*new_ones=*/true);
  // Scans of other paths do not push the second look back, nor repeat it.
  scheduler.HoldDeletions({"gone.txt"}, /*new_ones=*/true);
  ASSERT_TRUE(h.RunUntil([&] { return !scanned.empty(); }));
  ASSERT_EQ(scanned.size(), 1u);
  EXPECT_TRUE(scanned[0].Covers("gone.txt"));
  EXPECT_FALSE(scanned[0].Covers("old.txt"));  // held no longer, as of the latest scan
}

TEST_F(ScanSchedulerTest, AFailedScansPathsGoWithTheNextChange) {
  scheduler.ScanFailed(Entries({"unreadable"}));
  scheduler.OnFolderChanged(Entries({"next"}));
  ASSERT_TRUE(h.RunUntil([&] { return !scanned.empty(); }));
  EXPECT_TRUE(scanned[0].Covers("unreadable"));
  EXPECT_TRUE(scanned[0].Covers("next"));
}

TEST_F(ScanSchedulerTest, AScanThatThrewDoesNotKeepLaterScansFromStarting) {
  throw_next = true;
  scheduler.ScanEntrySoon("first");
  ASSERT_TRUE(h.RunUntil([&] { return h.failures.size() == 1; }));
  EXPECT_EQ(h.failures[0], "scan: scan blew up");
  scheduler.ScanEntrySoon("second");
  ASSERT_TRUE(h.RunUntil([&] { return scanned.size() == 2; }));
  EXPECT_TRUE(scanned[1].Covers("second"));
}

TEST_F(ScanSchedulerTest, NothingIsScannedOnceStopped) {
  scheduler.OnFolderChanged(Entries({"a.txt"}));
  scheduler.HoldDeletions({"b.txt"}, true);
  scheduler.Stop();
  scheduler.ScanEverythingSoon();
  // Every pause it had started ends at once, with no scan.
  ASSERT_TRUE(h.RunUntil([&] { return h.spawned_running == 0; }));
  EXPECT_TRUE(scanned.empty());
  EXPECT_TRUE(h.failures.empty());
}

}  // namespace
}  // namespace tandem::sync
