// Versions on a real folder and store: kept by a second name before the
// change, listed, thinned by policy.
#include "sync/versions.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "crypto/keys.h"
#include "testing/fault_filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::sync {
namespace {

namespace stdfs = std::filesystem;
using Op = testing::FaultFilesystem::Op;

constexpr int64_t kT = 1'796'481'000;  // 2026-12-05 14:30:00 UTC

uint64_t InodeOf(const stdfs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class VersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    crypto::ShareSecrets secrets = crypto::ShareSecrets::GenerateWrite();
    auto repo = store::Repository::Open(dir_.path() / RelPath::kRepoDirName, secrets.share_id(), true,
                                        store::OptionsFor(secrets));
    ASSERT_TRUE(repo) << repo.error().message;
    repo_ = std::move(*repo);
  }
  std::optional<std::string> Keep(const std::string& rel, bool removing, int64_t now = kT) {
    auto kept = versions_.Keep(*repo_, rel, "PEERDEV", removing, now);
    EXPECT_TRUE(kept) << kept.error().message;
    return kept ? *kept : std::nullopt;
  }

  testing::TempDir dir_;
  testing::FaultFilesystem fs_;
  std::unique_ptr<store::Repository> repo_;
  Versions versions_{fs_, dir_.path()};
};

TEST_F(VersionsTest, AReplacedFileIsKeptByASecondNameNotACopy) {
  testing::WriteFile(dir_.path() / "docs" / "report.pdf", "old content");
  auto file = Keep("docs/report.pdf", /*removing=*/false);
  ASSERT_EQ(file, "docs/report~20261205-143000.pdf");
  EXPECT_EQ(InodeOf(versions_.dir() / *file), InodeOf(dir_.path() / "docs" / "report.pdf"));
  // The new content takes the name as a pull does it: renamed over it.
  testing::WriteFile(dir_.path() / "new.tmp", "new content");
  stdfs::rename(dir_.path() / "new.tmp", dir_.path() / "docs" / "report.pdf");
  EXPECT_EQ(testing::ReadFile(versions_.dir() / *file), "old content");
  auto listed = versions_.List(*repo_);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].path, "docs/report.pdf");
  EXPECT_EQ(listed[0].unix, kT);
  EXPECT_EQ(listed[0].size, 11u);
  EXPECT_EQ(listed[0].device, "PEERDEV");
  EXPECT_EQ(fs_.calls(Op::kHardLink), 1);
}

TEST_F(VersionsTest, ALongNameIsShortenedInTheVersionAndListedAsItWas) {
  const std::string name = std::string(250, 'p') + ".txt";  // 254 bytes: the stamp does not fit
  testing::WriteFile(dir_.path() / name, "long");
  auto file = Keep(name, false);
  ASSERT_TRUE(file);
  EXPECT_LE(file->size(), 255u);
  auto listed = versions_.List(*repo_, name);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].path, name);
}

TEST_F(VersionsTest, TwoVersionsInOneSecondBothStayAndAreListedNewestFirst) {
  testing::WriteFile(dir_.path() / "a.txt", "one");
  ASSERT_EQ(Keep("a.txt", false), "a~20261205-143000.txt");
  testing::WriteFile(dir_.path() / "b.tmp", "two");
  stdfs::rename(dir_.path() / "b.tmp", dir_.path() / "a.txt");
  ASSERT_EQ(Keep("a.txt", false), "a~20261205-143000-2.txt");
  testing::WriteFile(dir_.path() / "c.tmp", "three, later");
  stdfs::rename(dir_.path() / "c.tmp", dir_.path() / "a.txt");
  ASSERT_TRUE(Keep("a.txt", false, kT + 60));
  auto listed = versions_.List(*repo_, "a.txt");
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(testing::ReadFile(versions_.dir() / listed[0].file), "three, later");
  EXPECT_EQ(testing::ReadFile(versions_.dir() / listed[1].file), "two");
  EXPECT_EQ(testing::ReadFile(versions_.dir() / listed[2].file), "one");
  EXPECT_TRUE(versions_.List(*repo_, "a").empty());  // a path, not a prefix of names
}

TEST_F(VersionsTest, WithoutHardLinksARemovalMovesTheFileAndAReplacementKeepsNone) {
  fs_.Fail(Op::kHardLink, "", MakeError(ErrorCode::kUnsupported, "no links on this filesystem"));
  testing::WriteFile(dir_.path() / "gone.txt", "deleted by a peer");
  auto file = Keep("gone.txt", /*removing=*/true);
  ASSERT_TRUE(file);
  EXPECT_FALSE(stdfs::exists(dir_.path() / "gone.txt"));
  EXPECT_EQ(testing::ReadFile(versions_.dir() / *file), "deleted by a peer");
  testing::WriteFile(dir_.path() / "kept.txt", "replaced by a peer");
  EXPECT_FALSE(Keep("kept.txt", /*removing=*/false));
  EXPECT_TRUE(versions_.links_unsupported());
  EXPECT_EQ(testing::ReadFile(dir_.path() / "kept.txt"), "replaced by a peer");
}

TEST_F(VersionsTest, OnlyFilesAreKeptAndADiskThatRefusesSaysSo) {
  stdfs::create_directories(dir_.path() / "folder");
  EXPECT_FALSE(Keep("folder", true));
  EXPECT_FALSE(Keep("missing.txt", true));
  testing::WriteFile(dir_.path() / "a.txt", "a");
  fs_.Fail(Op::kHardLink, "", MakeError(ErrorCode::kIo, "disk full"));
  auto kept = versions_.Keep(*repo_, "a.txt", "PEERDEV", false, kT);
  ASSERT_FALSE(kept);
  EXPECT_NE(kept.error().message.find("cannot keep a version of a.txt"), std::string::npos);
  fs_.Heal();
  EXPECT_TRUE(versions_.List(*repo_).empty());
}

TEST_F(VersionsTest, CleanupThinsEachFileByPolicyAndTheSizeCapSparesEachNewest) {
  for (int age_days : {1, 2, 3}) {
    testing::WriteFile(dir_.path() / "a.txt", std::string(100, 'a'));
    ASSERT_TRUE(Keep("a.txt", false, kT - age_days * 86400));
    testing::WriteFile(dir_.path() / "b.txt", std::string(1000, 'b'));
    ASSERT_TRUE(Keep("b.txt", false, kT - age_days * 86400 - 1));  // a second older than a's
  }
  VersioningPolicy simple{.kind = VersioningPolicy::Kind::kSimple, .days = 30, .keep = 2};
  EXPECT_EQ(versions_.Cleanup(*repo_, simple, kT), 2u);  // the oldest of each
  EXPECT_EQ(versions_.List(*repo_).size(), 4u);
  simple.max_bytes = 1500;  // 2,200 bytes kept: the oldest that is not a newest goes first
  EXPECT_EQ(versions_.Cleanup(*repo_, simple, kT), 1u);
  auto left = versions_.List(*repo_);
  ASSERT_EQ(left.size(), 3u);
  EXPECT_EQ(versions_.List(*repo_, "b.txt").size(), 1u);
  simple.max_bytes = 1;  // a cap below every newest: the newest stay
  versions_.Cleanup(*repo_, simple, kT);
  left = versions_.List(*repo_);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].unix, kT - 86400);
  EXPECT_EQ(left[1].unix, kT - 86400 - 1);
  EXPECT_FALSE(repo_->GetVersionNote("a~20261202-143000.txt"));  // forgotten with its file
}

}  // namespace
}  // namespace tandem::sync
