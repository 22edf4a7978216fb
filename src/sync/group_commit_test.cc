#include "sync/group_commit.h"

#include <gtest/gtest.h>

#include "sync/stage_harness.h"

namespace tandem::sync {
namespace {

using Op = testing::FaultFilesystem::Op;

class GroupCommitTest : public ::testing::Test {
 protected:
  // Finishes `count` files at once; each finish records its name.
  std::vector<Result<void>> FinishAll(int count) {
    std::vector<std::optional<Result<void>>> results(count);
    for (int i = 0; i < count; ++i) {
      const std::string name = "file-" + std::to_string(i);
      testing::WriteFile(h.dir.path() / name, "assembled");
      auto finish = [this, name]() -> Result<void> {
        finished.push_back(name);
        return Ok();
      };
      asio::co_spawn(h.loop, commit.Finish(h.dir.path() / name, finish),
                     [&results, i](std::exception_ptr, Result<void> done) { results[i] = std::move(done); });
    }
    EXPECT_TRUE(h.RunUntil([&] {
      return std::all_of(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    }));
    std::vector<Result<void>> out;
    for (auto& r : results) out.push_back(std::move(*r));
    return out;
  }

  StageHarness h;
  int transactions = 0;
  std::optional<Error> folder_refuses;
  std::vector<std::string> finished;
  std::vector<std::string> store_errors;
  GroupCommit commit{h.context,
                     [this](const std::function<void()>& group) -> Result<void> {
                       ++transactions;
                       if (folder_refuses) return *folder_refuses;
                       group();
                       return Ok();
                     },
                     [this](const store::StoreError& e) { store_errors.push_back(e.what()); }};
};

TEST_F(GroupCommitTest, FilesReadyTogetherAreSyncedOnceAndRenamedInOneTransaction) {
  auto results = FinishAll(40);
  for (const auto& r : results) EXPECT_TRUE(r) << r.error().message;
  EXPECT_EQ(finished.size(), 40u);
  // The first file starts a group alone; all the others wait for the next.
  EXPECT_LE(transactions, 2);
  EXPECT_GE(h.fs.calls(Op::kSyncFilesystem), 1);
  EXPECT_LE(h.fs.calls(Op::kSyncFilesystem), 2);
}

TEST_F(GroupCommitTest, ASingleFileIsSyncedByItself) {
  auto results = FinishAll(1);
  EXPECT_TRUE(results[0]);
  EXPECT_EQ(h.fs.calls(Op::kSyncFile), 1);
  EXPECT_EQ(h.fs.calls(Op::kSyncFilesystem), 0);
}

TEST_F(GroupCommitTest, ASyncThatFailsRenamesNothingAndSaysTheDiskFailed) {
  h.fs.Fail(Op::kSyncFile, "file-0", MakeError(ErrorCode::kIo, "Input/output error"));
  auto results = FinishAll(1);
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error().code, ErrorCode::kIo);
  EXPECT_NE(results[0].error().message.find("Input/output error"), std::string::npos);
  EXPECT_TRUE(finished.empty());
  EXPECT_EQ(transactions, 0);
}

TEST_F(GroupCommitTest, AFolderThatIsNotTheSharesRefusesTheWholeGroup) {
  folder_refuses = MakeError(ErrorCode::kFailedPrecondition, "the share's folder is gone");
  auto results = FinishAll(3);
  for (const auto& r : results) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_EQ(r.error().message, "the share's folder is gone");
  }
  EXPECT_TRUE(finished.empty());
}

TEST_F(GroupCommitTest, OneFileThatFailsLeavesTheOthersOfItsGroup) {
  testing::WriteFile(h.dir.path() / "bad", "x");
  std::optional<Result<void>> bad;
  asio::co_spawn(h.loop, commit.Finish(h.dir.path() / "bad", []() -> Result<void> { throw std::runtime_error("boom"); }),
                 [&bad](std::exception_ptr, Result<void> done) { bad = std::move(done); });
  auto results = FinishAll(2);
  ASSERT_TRUE(h.RunUntil([&] { return bad.has_value(); }));
  ASSERT_FALSE(*bad);
  EXPECT_EQ(bad->error().code, ErrorCode::kIo);
  for (const auto& r : results) EXPECT_TRUE(r);
  EXPECT_TRUE(store_errors.empty());
}

}  // namespace
}  // namespace tandem::sync
