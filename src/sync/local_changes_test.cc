#include "sync/local_changes.h"

#include <gtest/gtest.h>

#include "testing/fault_filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::sync {
namespace {

using testing::FaultFilesystem;
using testing::SnapshotTree;
using testing::WriteFile;

class Reverting : public ::testing::Test {
 protected:
  void SetUp() override {
    // A read replica's store (local changes are reverted there).
    auto opened = store::Repository::Open(dir_ / RelPath::kRepoDirName, writer_.share_id(), true,
                                          store::OptionsFor(reader_));
    ASSERT_TRUE(opened) << opened.error().message;
    repo_ = std::move(*opened);
  }
  Result<Revert> Run(const std::string& path) {
    return RevertOnDisk(*repo_, fs_, reader_, scan::Author(7), dir_.path(), path);
  }
  // A file of the share, as its record says, not on disk here yet.
  void InShare(const std::string& path, uint64_t size) {
    crypto::Entry entry{.path = *RelPath::Parse(path)};
    entry.size = size;
    entry.mode = 0644;
    entry.blocks.push_back({crypto::BlockId{}, static_cast<uint32_t>(size)});
    VersionVector vector;
    vector.Bump(1);
    repo_->PutRecord(crypto::MakeRecord(writer_, entry, vector), path);
  }

  testing::TempDir dir_;
  FaultFilesystem fs_;
  crypto::ShareSecrets writer_ = crypto::ShareSecrets::GenerateWrite();
  crypto::ShareSecrets reader_ = writer_.Downgrade(crypto::AccessMode::kRead);
  std::unique_ptr<store::Repository> repo_;
};

TEST_F(Reverting, AdditionsAtOrBelowThePathAreRemovedAndOthersKept) {
  WriteFile(dir_ / "drafts/a.txt", "mine");
  WriteFile(dir_ / "drafts/deeper/b.txt", "mine too");
  WriteFile(dir_ / "drafts-other.txt", "not below drafts/");
  auto reverted = Run("drafts");
  ASSERT_TRUE(reverted) << reverted.error().message;
  EXPECT_EQ(reverted->count, 4u);  // two files and two folders
  EXPECT_TRUE(reverted->needs.empty());
  EXPECT_EQ(SnapshotTree(dir_.path()), (std::map<std::string, std::string>{{"drafts-other.txt", "not below drafts/"}}));
}

TEST_F(Reverting, APathOfTheShareIsBroughtBackByThePullerNotRemoved) {
  InShare("report.txt", 5);
  WriteFile(dir_ / "report.txt", "edited here");
  auto reverted = Run("");
  ASSERT_TRUE(reverted) << reverted.error().message;
  ASSERT_EQ(reverted->needs.size(), 1u);
  EXPECT_TRUE(reverted->needs[0].second.revert);
  ASSERT_TRUE(reverted->needs[0].second.revert_disk);  // replaced only while the disk is still so
  EXPECT_EQ(reverted->needs[0].second.revert_disk->size, 11u);
  EXPECT_EQ(testing::ReadFile(dir_ / "report.txt"), "edited here");
}

TEST_F(Reverting, AnAdditionThatCannotBeRemovedIsReportedAndStays) {
  WriteFile(dir_ / "locked.txt", "stays");
  fs_.Fail(FaultFilesystem::Op::kRemove, "locked.txt", MakeError(ErrorCode::kIo, "Operation not permitted"));
  auto reverted = Run("");
  ASSERT_TRUE(reverted) << reverted.error().message;
  EXPECT_EQ(reverted->count, 0u);
  ASSERT_EQ(reverted->failed.size(), 1u);
  EXPECT_NE(reverted->failed[0].find("locked.txt"), std::string::npos);
  EXPECT_NE(reverted->failed[0].find("Operation not permitted"), std::string::npos);
  EXPECT_EQ(testing::ReadFile(dir_ / "locked.txt"), "stays");
}

}  // namespace
}  // namespace tandem::sync
