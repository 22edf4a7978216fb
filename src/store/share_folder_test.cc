#include "store/share_folder.h"

#include <gtest/gtest.h>

#include "base/rel_path.h"
#include "testing/temp_dir.h"

namespace tandem::store {
namespace {

namespace stdfs = std::filesystem;

class ShareFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::Init();
    stdfs::create_directories(root_ / RelPath::kRepoDirName);
    ASSERT_TRUE(WriteShareMarker(root_, share_));
  }
  testing::TempDir tmp_;
  stdfs::path root_ = tmp_ / "share";
  crypto::Key32 share_ = crypto::ShareSecrets::GenerateWrite().share_id();
  crypto::Key32 other_ = crypto::ShareSecrets::GenerateWrite().share_id();
};

TEST_F(ShareFolderTest, AFolderWithItsMarkerIsTheShare) {
  EXPECT_TRUE(CheckShareFolder(root_, share_));
  EXPECT_TRUE(HasShareMarker(root_));
}

TEST_F(ShareFolderTest, AMissingFolderIsNotFound) {
  stdfs::rename(root_, tmp_ / "moved");
  auto checked = CheckShareFolder(root_, share_);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kNotFound);
  EXPECT_NE(checked.error().message.find("missing"), std::string::npos);
}

TEST_F(ShareFolderTest, AnEmptyFolderInItsPlaceIsNotTheShare) {
  stdfs::rename(root_, tmp_ / "moved");
  stdfs::create_directories(root_);  // an empty mount point
  auto checked = CheckShareFolder(root_, share_);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(HasShareMarker(root_));
}

TEST_F(ShareFolderTest, AnotherSharesMarkerIsNotTheShare) {
  ASSERT_TRUE(WriteShareMarker(root_, other_));
  auto checked = CheckShareFolder(root_, share_);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(checked.error().message.find("another share"), std::string::npos);
  EXPECT_TRUE(CheckShareFolder(root_, other_));
}

TEST_F(ShareFolderTest, AFileInPlaceOfTheFolderIsNotAFolder) {
  stdfs::remove_all(root_);
  testing::WriteFile(root_, "x");
  auto checked = CheckShareFolder(root_, share_);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ShareFolderTest, TheGuardNoticesTheFolderGoingAndComingBack) {
  ShareFolderGuard guard(root_, share_);
  EXPECT_TRUE(guard.Check());
  stdfs::rename(root_, tmp_ / "moved");
  EXPECT_FALSE(guard.Check());
  stdfs::create_directories(root_);
  EXPECT_FALSE(guard.Check()) << "an empty folder at the path is not the share";
  stdfs::remove(root_);
  stdfs::rename(tmp_ / "moved", root_);
  EXPECT_TRUE(guard.Check());
}

TEST_F(ShareFolderTest, TheGuardNoticesTheMarkerReplaced) {
  ShareFolderGuard guard(root_, share_);
  EXPECT_TRUE(guard.Check());
  ASSERT_TRUE(WriteShareMarker(root_, other_));  // a new file: a new inode
  auto checked = guard.Check();
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(ShareFolderTest, TheGuardNoticesThePinnedDatabaseDeleted) {
  stdfs::path db = root_ / RelPath::kRepoDirName / "index.db";
  testing::WriteFile(db, "x");
  ShareFolderGuard guard(root_, share_);
  guard.PinDatabase(db);
  EXPECT_TRUE(guard.Check(/*thorough=*/true));
  stdfs::remove(db);
  EXPECT_TRUE(guard.Check()) << "only a thorough check looks at the database";
  auto checked = guard.Check(/*thorough=*/true);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace tandem::store
