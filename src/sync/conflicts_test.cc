// The conflicts API on a real folder and repository, without an engine:
// conflict copies indexed by a scan, listed, found and settled on disk.
#include "sync/conflicts.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "scan/scanner.h"
#include "testing/fault_filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::sync {
namespace {

namespace stdfs = std::filesystem;

const std::string kCopy = "notes.sync-conflict-20261205-101500-ABCDEFG.txt";
const std::string kPlain = "notes (ABCDEFG 20261205-101500).txt";

class ConflictsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(root_);
    auto repo = store::Repository::Open(root_ / ".tandem", secrets_.share_id(), true, store::OptionsFor(secrets_));
    ASSERT_TRUE(repo) << repo.error().message;
    repo_ = std::move(*repo);
    testing::WriteFile(root_ / "notes.txt", "mine");
    testing::WriteFile(root_ / kCopy, "theirs");
    Scan();
  }
  void Scan() {
    scan::Scanner scanner(posix_, *repo_, secrets_, 0xD1, root_);
    ASSERT_TRUE(scanner.ScanAll());
  }
  Conflict TheConflict() {
    auto listed = ListConflicts(*repo_, secrets_);
    EXPECT_EQ(listed.size(), 1u);
    return listed.empty() ? Conflict{} : listed[0];
  }

  testing::TempDir tmp_;
  stdfs::path root_ = tmp_ / "share";
  crypto::ShareSecrets secrets_ = crypto::ShareSecrets::FromWriteSeed(crypto::Key32{7});
  std::unique_ptr<store::Repository> repo_;
  fs::PosixFilesystem posix_;
};

TEST_F(ConflictsTest, ACopyIsListedBesideTheFileItWasMadeFor) {
  Conflict conflict = TheConflict();
  EXPECT_EQ(conflict.id, kCopy);
  EXPECT_EQ(conflict.path, "notes.txt");
  EXPECT_TRUE(conflict.local.present);
  EXPECT_EQ(conflict.local.size, 4u);
  EXPECT_EQ(conflict.remote.size, 6u);
}

TEST_F(ConflictsTest, AConflictIsFoundByItsCopyOrByItsFileWhenItHasOneCopy) {
  auto listed = ListConflicts(*repo_, secrets_);
  EXPECT_EQ(FindConflict(listed, kCopy)->id, kCopy);
  EXPECT_EQ(FindConflict(listed, "notes.txt")->id, kCopy);
  auto missing = FindConflict(listed, "other.txt");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("tandem conflicts"), std::string::npos) << "says how to list them";
}

TEST_F(ConflictsTest, AFileWithTwoCopiesMustBeNamedByCopy) {
  testing::WriteFile(root_ / "notes.sync-conflict-20261205-101501-HIJKLMN.txt", "a third");
  Scan();
  auto found = FindConflict(ListConflicts(*repo_, secrets_), "notes.txt");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(found.error().message.find("name the copy"), std::string::npos);
}

TEST_F(ConflictsTest, KeepingLocalDeletesTheCopyOnly) {
  ASSERT_TRUE(ResolveOnDisk(posix_, root_, TheConflict(), ConflictKeep::kLocal));
  EXPECT_FALSE(stdfs::exists(root_ / kCopy));
  EXPECT_EQ(testing::ReadFile(root_ / "notes.txt"), "mine");
}

TEST_F(ConflictsTest, KeepingRemoteMovesTheCopysVersionToTheFilesName) {
  auto done = ResolveOnDisk(posix_, root_, TheConflict(), ConflictKeep::kRemote);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(testing::ReadFile(root_ / "notes.txt"), "theirs");
  EXPECT_FALSE(stdfs::exists(root_ / kCopy));
}

TEST_F(ConflictsTest, KeepingBothGivesTheCopyAPlainName) {
  ASSERT_TRUE(ResolveOnDisk(posix_, root_, TheConflict(), ConflictKeep::kBoth));
  EXPECT_EQ(testing::ReadFile(root_ / kPlain), "theirs");
  EXPECT_EQ(testing::ReadFile(root_ / "notes.txt"), "mine");
}

TEST_F(ConflictsTest, APlainNameTakenAlreadyIsRefusedAndNothingMoves) {
  testing::WriteFile(root_ / kPlain, "someone else's");
  auto refused = ResolveOnDisk(posix_, root_, TheConflict(), ConflictKeep::kBoth);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(testing::ReadFile(root_ / kPlain), "someone else's");
  EXPECT_EQ(testing::ReadFile(root_ / kCopy), "theirs");
}

TEST_F(ConflictsTest, ACopyNotOnDiskYetIsRefused) {
  Conflict conflict = TheConflict();
  stdfs::remove(root_ / kCopy);
  auto refused = ResolveOnDisk(posix_, root_, conflict, ConflictKeep::kRemote);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(testing::ReadFile(root_ / "notes.txt"), "mine");
}

TEST_F(ConflictsTest, AFileNameThatIsAFolderNowIsRefused) {
  Conflict conflict = TheConflict();
  stdfs::remove(root_ / "notes.txt");
  stdfs::create_directory(root_ / "notes.txt");
  testing::WriteFile(root_ / "notes.txt/inside", "x");
  auto refused = ResolveOnDisk(posix_, root_, conflict, ConflictKeep::kRemote);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("is a folder now"), std::string::npos);
  EXPECT_EQ(testing::ReadFile(root_ / "notes.txt/inside"), "x");
  EXPECT_EQ(testing::ReadFile(root_ / kCopy), "theirs");
}

TEST_F(ConflictsTest, ADiskThatRefusesTheMoveSaysWhyAndNothingMoves) {
  testing::FaultFilesystem faulty;
  faulty.Fail(testing::FaultFilesystem::Op::kRename, "notes", MakeError(ErrorCode::kIo, "injected: Input/output error"));
  auto refused = ResolveOnDisk(faulty, root_, TheConflict(), ConflictKeep::kRemote);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kIo);
  EXPECT_NE(refused.error().message.find("Input/output error"), std::string::npos);
  EXPECT_EQ(testing::ReadFile(root_ / "notes.txt"), "mine");
  EXPECT_EQ(testing::ReadFile(root_ / kCopy), "theirs");
  faulty.Heal();
  EXPECT_TRUE(ResolveOnDisk(faulty, root_, TheConflict(), ConflictKeep::kRemote)) << "once healed, it goes through";
  EXPECT_EQ(testing::ReadFile(root_ / "notes.txt"), "theirs");
}

TEST_F(ConflictsTest, AFullDiskKeepsTheCopy) {
  testing::FaultFilesystem faulty;
  faulty.Fail(testing::FaultFilesystem::Op::kRemove, "", MakeError(ErrorCode::kIo, "injected: No space left on device"),
              /*times=*/1);
  ASSERT_FALSE(ResolveOnDisk(faulty, root_, TheConflict(), ConflictKeep::kLocal));
  EXPECT_EQ(testing::ReadFile(root_ / kCopy), "theirs");
  EXPECT_TRUE(ResolveOnDisk(faulty, root_, TheConflict(), ConflictKeep::kLocal)) << "a fault for one call only";
  EXPECT_FALSE(stdfs::exists(root_ / kCopy));
}

}  // namespace
}  // namespace tandem::sync
