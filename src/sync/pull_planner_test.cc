// PullPlanner and Assembler on one store: a record whose file is gone from
// this device (its index forgotten too) is what a peer's new file looks
// like to the planner, with no peer needed when a local file holds its
// blocks.
#include "sync/pull_planner.h"

#include <gtest/gtest.h>

#include "sync/assembler.h"
#include "sync/stage_store.h"

namespace tandem::sync {
namespace {

using Op = testing::FaultFilesystem::Op;
namespace stdfs = std::filesystem;

class PullTest : public ::testing::Test {
 protected:
  PullTest() {
    store.WriteAndScan({{"a.txt", "shared content"}, {"copy.txt", "shared content"}, {"c/d.txt", "d"}});
    ignores.Load(h.fs, h.dir.path(), *store.repo_);
  }

  // The patterns of .tandemignore, in force.
  void Ignore(const std::string& patterns) {
    testing::WriteFile(h.dir.path() / ".tandemignore", patterns);
    EXPECT_TRUE(ignores.Load(h.fs, h.dir.path(), *store.repo_));
    EXPECT_EQ(ignores.error(), "");
  }

  // A peer's deletion of `path`, stored as its record.
  void DeletedByPeer(const std::string& path, crypto::EntryKind kind) {
    auto stored = store.repo_->GetRecord(store.LocatorOf(path));
    ASSERT_TRUE(stored);
    crypto::Entry tombstone{.path = *RelPath::Parse(path)};
    tombstone.kind = kind;
    tombstone.deleted = true;
    tombstone.device_short_id = 2;
    VersionVector vector = stored->record.vector;
    vector.Set(2, 1);
    store.repo_->PutRecord(crypto::MakeRecord(h.secrets, tombstone, vector), path);
  }

  // The path as if this device never had it: gone from the disk and the index.
  void Forget(const std::string& path) {
    stdfs::remove_all(h.dir.path() / path);
    store.repo_->DeleteFileState(path);
  }
  PullPlan Plan(const std::string& path) {
    return h.Await(RunOn(h.context.strand, [&] { return planner.Plan(store.LocatorOf(path), std::nullopt); }));
  }
  // The plan's part file started on the pool, as the engine does.
  PullPlan Start(PullPlan plan) {
    return h.Await(RunOn(h.pool.get_executor(), [&] {
      assembler.Start(plan);
      return std::move(plan);
    }));
  }

  StageHarness h;
  StageStore store{h};
  std::optional<Error> folder_refuses;
  IgnorePatterns ignores;
  PullPlanner planner{h.context, store.repo_, 1,
                      [this]() -> Result<void> {
                        if (folder_refuses) return *folder_refuses;
                        return Ok();
                      },
                      ignores};
  PeerSet peers;  // none: every block must come from this device
  BlockFetcher fetcher{h.context, peers, nullptr};
  GroupCommit group_commit{h.context,
                           [this](const std::function<void()>& group) -> Result<void> {
                             auto tx = store.repo_->Begin();
                             group();
                             tx.Commit();
                             return Ok();
                           },
                           [](const store::StoreError&) {}};
  std::vector<std::string> local_changes;
  Assembler assembler{h.context, store.repo_, fetcher, group_commit,
                      [this](std::string path) { local_changes.push_back(std::move(path)); }, ignores};
};

TEST_F(PullTest, AFileAsRecordedOnDiskAndInTheIndexNeedsNothing) {
  auto plan = Plan("a.txt");
  EXPECT_EQ(plan.step, PullPlan::Step::kDone);
  EXPECT_EQ(testing::ReadFile(h.dir.path() / "a.txt"), "shared content");
}

TEST_F(PullTest, AFolderThatIsNotTheSharesIsNotWrittenTo) {
  Forget("a.txt");
  folder_refuses = MakeError(ErrorCode::kFailedPrecondition, "the share's folder was moved");
  auto plan = Plan("a.txt");
  EXPECT_EQ(plan.step, PullPlan::Step::kUnavailable);
  EXPECT_EQ(plan.error, "the share's folder was moved");
  EXPECT_FALSE(stdfs::exists(h.dir.path() / "a.txt"));
  EXPECT_FALSE(stdfs::exists(h.dir.path() / RelPath::kRepoDirName / "tmp"));
}

TEST_F(PullTest, NothingIsWrittenToAnIgnoredPathThoughItsRecordIsKept) {
  Forget("a.txt");
  Ignore("*.txt\n");
  auto plan = Plan("a.txt");
  EXPECT_EQ(plan.step, PullPlan::Step::kDone);
  EXPECT_EQ(plan.action, PullAction::kNothing);
  EXPECT_FALSE(stdfs::exists(h.dir.path() / "a.txt"));
  EXPECT_TRUE(store.repo_->GetRecord(store.LocatorOf("a.txt")));
  // No longer ignored: the same record is pulled (from copy.txt's blocks).
  Ignore("// nothing\n");
  EXPECT_EQ(Plan("a.txt").step, PullPlan::Step::kFetch);
}

TEST_F(PullTest, AFolderAPeerDeletedGoesWithTheIgnoredFilesMarkedDeletable) {
  testing::WriteFile(h.dir.path() / "c/x.log", "log");
  testing::WriteFile(h.dir.path() / "c/cache/deep/y", "cached");
  Ignore("(?d)*.log\n(?d)cache\n");
  stdfs::remove(h.dir.path() / "c/d.txt");
  store.repo_->DeleteFileState("c/d.txt");
  DeletedByPeer("c", crypto::EntryKind::kDirectory);
  auto plan = Plan("c");
  EXPECT_EQ(plan.step, PullPlan::Step::kDone) << plan.error;
  EXPECT_FALSE(stdfs::exists(h.dir.path() / "c"));
  EXPECT_FALSE(store.repo_->GetFileState("c"));
}

TEST_F(PullTest, AFolderAPeerDeletedIsKeptWhileItHoldsIgnoredFilesNotMarkedDeletable) {
  testing::WriteFile(h.dir.path() / "c/x.log", "log");
  testing::WriteFile(h.dir.path() / "c/cache/y", "cached");
  Ignore("(?d)cache\n*.log\n");
  stdfs::remove(h.dir.path() / "c/d.txt");
  store.repo_->DeleteFileState("c/d.txt");
  DeletedByPeer("c", crypto::EntryKind::kDirectory);
  auto plan = Plan("c");
  EXPECT_EQ(plan.step, PullPlan::Step::kRetryLater);
  EXPECT_NE(plan.error.find("holds c/x.log, ignored by .tandemignore:2: *.log"), std::string::npos) << plan.error;
  EXPECT_EQ(testing::ReadFile(h.dir.path() / "c/x.log"), "log");
  EXPECT_EQ(testing::ReadFile(h.dir.path() / "c/cache/y"), "cached");  // nothing removed while the folder stays
  EXPECT_TRUE(store.repo_->GetFileState("c"));
}

TEST_F(PullTest, AFolderAPeerDeletedIsKeptWhileADeletableFolderInItHoldsSomethingElse) {
  testing::WriteFile(h.dir.path() / "c/build/app.o", "object");
  testing::WriteFile(h.dir.path() / "c/build/app.cfg", "the user's settings");
  testing::WriteFile(h.dir.path() / "c/build/deep/notes.bak", "a backup");
  stdfs::remove(h.dir.path() / "c/d.txt");
  store.repo_->DeleteFileState("c/d.txt");
  DeletedByPeer("c", crypto::EntryKind::kDirectory);
  struct Case {
    std::string patterns;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{{"!build/app.cfg\n(?d)build\n", "still holds c/build/app.cfg"},
                                         {"*.bak\n(?d)build\n", "holds c/build/deep/notes.bak, ignored by .tandemignore:1: *.bak"}}) {
    Ignore(c.patterns);
    auto plan = Plan("c");
    EXPECT_EQ(plan.step, PullPlan::Step::kRetryLater) << c.patterns;
    EXPECT_NE(plan.error.find(c.says), std::string::npos) << plan.error;
    EXPECT_EQ(testing::ReadFile(h.dir.path() / "c/build/app.cfg"), "the user's settings");
    EXPECT_EQ(testing::ReadFile(h.dir.path() / "c/build/app.o"), "object");  // nothing removed while the folder stays
  }
}

TEST_F(PullTest, AFolderAPeerDeletedIsKeptWhileItHoldsAFileThatIsNotIgnored) {
  testing::WriteFile(h.dir.path() / "c/x.log", "log");
  Ignore("(?d)*.log\n");
  DeletedByPeer("c", crypto::EntryKind::kDirectory);  // c/d.txt is still here
  auto plan = Plan("c");
  EXPECT_EQ(plan.step, PullPlan::Step::kRetryLater);
  EXPECT_NE(plan.error.find("still holds c/d.txt"), std::string::npos) << plan.error;
  EXPECT_TRUE(stdfs::exists(h.dir.path() / "c/x.log"));
}

TEST_F(PullTest, AFolderIsMadeByThePlanItself) {
  Forget("c");
  store.repo_->DeleteFileState("c/d.txt");
  auto plan = Plan("c");
  EXPECT_EQ(plan.step, PullPlan::Step::kDone);
  EXPECT_TRUE(stdfs::is_directory(h.dir.path() / "c"));
  EXPECT_TRUE(store.repo_->GetFileState("c").has_value());
}

TEST_F(PullTest, AFileWhoseBlocksALocalFileHoldsIsAssembledWithoutAPeer) {
  Forget("a.txt");
  auto plan = Plan("a.txt");
  ASSERT_EQ(plan.step, PullPlan::Step::kFetch) << plan.error;
  ASSERT_EQ(plan.sources.size(), 1u);
  ASSERT_FALSE(plan.sources[0].empty());
  EXPECT_TRUE(std::any_of(plan.sources[0].begin(), plan.sources[0].end(),
                          [](const store::BlockLocation& at) { return at.path == "copy.txt"; }));
  EXPECT_FALSE(Assembler::WritesWhole(plan));  // a local copy: no fetch at all
  plan = Start(std::move(plan));
  EXPECT_TRUE(plan.missing.empty());
  auto assembled = h.Await(assembler.Assemble(plan, false));
  ASSERT_TRUE(assembled) << assembled.error().message;
  auto finished = h.Await(assembler.Finish(store.LocatorOf("a.txt"), std::move(plan)));
  ASSERT_TRUE(finished) << finished.error().message;
  EXPECT_EQ(testing::ReadFile(h.dir.path() / "a.txt"), "shared content");
  EXPECT_TRUE(store.repo_->GetFileState("a.txt").has_value());
  EXPECT_TRUE(local_changes.empty());
}

TEST_F(PullTest, AFileIgnoredWhileItIsAssembledIsNotMovedIntoPlace) {
  Forget("a.txt");
  auto plan = Plan("a.txt");
  ASSERT_EQ(plan.step, PullPlan::Step::kFetch) << plan.error;
  plan = Start(std::move(plan));
  ASSERT_TRUE(h.Await(assembler.Assemble(plan, false)));
  Ignore("a.txt\n");  // saved while the blocks were arriving
  auto finished = h.Await(assembler.Finish(store.LocatorOf("a.txt"), std::move(plan)));
  ASSERT_TRUE(finished) << finished.error().message;
  EXPECT_FALSE(stdfs::exists(h.dir.path() / "a.txt"));
  EXPECT_FALSE(store.repo_->GetFileState("a.txt").has_value());
}

TEST_F(PullTest, AFullDiskWhileAssemblingLeavesNoFileUnderItsRealName) {
  Forget("a.txt");
  h.fs.Fail(Op::kWritePart, "", MakeError(ErrorCode::kIo, "No space left on device"));
  auto plan = Start(Plan("a.txt"));
  ASSERT_EQ(plan.step, PullPlan::Step::kRetryLater);
  EXPECT_NE(plan.error.find("No space left on device"), std::string::npos) << plan.error;
  EXPECT_NE(plan.error.find("a.txt"), std::string::npos) << plan.error;
  EXPECT_FALSE(stdfs::exists(h.dir.path() / "a.txt"));
  EXPECT_EQ(testing::ReadFile(h.dir.path() / "copy.txt"), "shared content");
}

TEST_F(PullTest, AFileCreatedHereWhileAssemblingIsKeptAndScannedFirst) {
  Forget("a.txt");
  auto plan = Start(Plan("a.txt"));
  ASSERT_EQ(plan.step, PullPlan::Step::kFetch);
  ASSERT_TRUE(h.Await(assembler.Assemble(plan, false)));
  testing::WriteFile(h.dir.path() / "a.txt", "typed here meanwhile");
  auto finished = h.Await(assembler.Finish(store.LocatorOf("a.txt"), std::move(plan)));
  ASSERT_FALSE(finished);
  EXPECT_EQ(finished.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(testing::ReadFile(h.dir.path() / "a.txt"), "typed here meanwhile");
  EXPECT_EQ(local_changes, std::vector<std::string>{"a.txt"});
}

TEST_F(PullTest, PartFilesNoPullWantsAreSweptAndTheOthersKeptForAResume) {
  const stdfs::path tmp = h.dir.path() / RelPath::kRepoDirName / "tmp";
  stdfs::create_directories(tmp);
  const std::string wanted = HexEncode(store.LocatorOf("a.txt")).substr(0, 16) + "-0123456789abcdef.part";
  testing::WriteFile(tmp / wanted, "half");
  testing::WriteFile(tmp / "00000000deadbeef-0123456789abcdef.part", "stale");
  testing::WriteFile(tmp / "keep.link", "not a part file");
  auto needed = [&] { return std::vector<crypto::Locator>{store.LocatorOf("a.txt")}; };
  h.Await([](Assembler& a, decltype(needed) n) -> asio::awaitable<bool> {
    co_await a.SweepPartFiles(n, [] { return false; });
    co_return true;
  }(assembler, needed));
  EXPECT_TRUE(stdfs::exists(tmp / wanted));
  EXPECT_FALSE(stdfs::exists(tmp / "00000000deadbeef-0123456789abcdef.part"));
  EXPECT_TRUE(stdfs::exists(tmp / "keep.link"));
}

}  // namespace
}  // namespace tandem::sync
