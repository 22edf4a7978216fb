// The watcher on a real folder: what it reports for each kind of change.
// Each test drives the loop until the paths it expects have been reported,
// with a deadline.
#include "fs/watcher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>

#include "testing/temp_dir.h"

namespace tandem::fs {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;
using tandem::testing::TempDir;
using tandem::testing::WriteFile;

class WatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(dir_ / "docs/old");
    stdfs::create_directories(dir_ / ".tandem");
    watcher_ = std::make_shared<Watcher>(io_, dir_.path(), [this](ChangedPaths changed) { seen_.Merge(changed); });
    ASSERT_TRUE(watcher_->Start());
  }
  void TearDown() override { watcher_->Stop(); }

  // Runs the loop until `done` holds for what was reported, for at most 10 s.
  bool ReportedUntil(const std::function<bool(const ChangedPaths&)>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done(seen_) && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(20ms);
    }
    return done(seen_);
  }
  // Runs the loop until the events so far have been read (a marker file is
  // written last, and the kernel reports events in order); then forgets
  // them, marker and all, when `forget`.
  void Drain(bool forget = true) {
    WriteFile(dir_ / "marker", std::to_string(++markers_));
    ASSERT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.entries.count("marker") > 0; }));
    if (forget) seen_ = {};
  }

  TempDir dir_;
  asio::io_context io_;
  std::shared_ptr<Watcher> watcher_;
  ChangedPaths seen_;
  int markers_ = 0;
};

TEST_F(WatcherTest, AFileWrittenIsReportedAsItsPathOnly) {
  WriteFile(dir_ / "docs/a.txt", "hello");
  ASSERT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.entries.count("docs/a.txt") > 0; }));
  EXPECT_FALSE(seen_.everything);
  EXPECT_TRUE(seen_.trees.empty());
}

TEST_F(WatcherTest, AFolderCreatedIsATreeAndIsWatchedFromThen) {
  stdfs::create_directories(dir_ / "new/deep");
  ASSERT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.trees.count("new") > 0; }));
  Drain();
  // Its own watch (and its child's) exists once the event was read.
  WriteFile(dir_ / "new/deep/b.txt", "b");
  EXPECT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.entries.count("new/deep/b.txt") > 0; }));
}

TEST_F(WatcherTest, AFolderMovedWithinTheShareReportsBothNamesAndItsNewPathsAfterwards) {
  WriteFile(dir_ / "docs/old/a.txt", "a");
  Drain();
  stdfs::rename(dir_ / "docs/old", dir_ / "moved");
  ASSERT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.trees.count("docs/old") && c.trees.count("moved"); }));
  Drain();
  WriteFile(dir_ / "moved/a.txt", "changed");
  ASSERT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.entries.count("moved/a.txt") > 0; }));
  EXPECT_FALSE(seen_.Covers("docs/old/a.txt")) << "events are named by the folder's new path";
}

TEST_F(WatcherTest, AFolderMovedOutOfTheShareIsNoLongerWatched) {
  TempDir outside;
  Drain();
  stdfs::rename(dir_ / "docs/old", outside / "old");
  ASSERT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.trees.count("docs/old") > 0; }));
  Drain();
  WriteFile(outside / "old/elsewhere.txt", "not in the share");
  Drain(/*forget=*/false);
  seen_.entries.erase("marker");
  EXPECT_TRUE(seen_.empty()) << "a change outside the share was reported";
}

TEST_F(WatcherTest, ADeletionIsReportedAndTandemsOwnFolderNever) {
  WriteFile(dir_ / "docs/gone.txt", "x");
  WriteFile(dir_ / ".tandem/index.db", "x");
  Drain();
  stdfs::remove(dir_ / "docs/gone.txt");
  WriteFile(dir_ / ".tandem/index.db", "y");
  Drain(/*forget=*/false);
  EXPECT_TRUE(seen_.entries.count("docs/gone.txt"));
  EXPECT_FALSE(seen_.Covers(".tandem/index.db"));
  EXPECT_FALSE(seen_.Covers(".tandem"));
}

TEST_F(WatcherTest, AFolderWhoseMetadataChangedIsATree) {
  // A chmod that makes a folder readable must lead to what is in it being
  // read (and watched), not the folder alone.
  stdfs::permissions(dir_ / "docs/old", stdfs::perms::owner_all);
  ASSERT_TRUE(ReportedUntil([](const ChangedPaths& c) { return c.trees.count("docs/old") > 0; }));
}

}  // namespace
}  // namespace tandem::fs
