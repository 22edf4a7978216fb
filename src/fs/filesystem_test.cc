#include "fs/filesystem.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include "testing/fault_filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::fs {
namespace {

TEST(SetModeAndMtime, SetsBothAndLeavesTheAccessTime) {
  tandem::testing::TempDir dir;
  tandem::testing::WriteFile(dir / "f", "x");
  int fd = ::open((dir / "f").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  struct stat before {};
  ASSERT_EQ(::fstat(fd, &before), 0);
  // Before 1970 too: -1.25 s is 1969-12-31 23:59:58.75, not an invalid time.
  for (int64_t mtime_ns : {int64_t{1'700'000'000'123'456'789}, int64_t{-1'250'000'000}, int64_t{0}}) {
    ASSERT_TRUE(SetModeAndMtime(fd, 0640, mtime_ns)) << mtime_ns << ": " << std::strerror(errno);
    struct stat st {};
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(FromStat(st).mtime_ns, mtime_ns);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(st.st_atim.tv_sec, before.st_atim.tv_sec);
    EXPECT_EQ(st.st_atim.tv_nsec, before.st_atim.tv_nsec);
  }
  ::close(fd);
}

TEST(MtimeOnly, NanosecondsAlwaysInRange) {
  for (int64_t ns : {int64_t{-1}, int64_t{-1'000'000'000}, int64_t{-1'000'000'001}, int64_t{999'999'999}}) {
    auto times = MtimeOnly(ns);
    EXPECT_EQ(times[0].tv_nsec, UTIME_OMIT);
    EXPECT_GE(times[1].tv_nsec, 0) << ns;
    EXPECT_LT(times[1].tv_nsec, 1'000'000'000) << ns;
    EXPECT_EQ(static_cast<int64_t>(times[1].tv_sec) * 1'000'000'000 + times[1].tv_nsec, ns);
  }
}

TEST(ParentsAreFolders, FoldersFoundRealAreRememberedOnlyWhereAsked) {
  tandem::testing::TempDir dir;
  PosixFilesystem fs;
  std::filesystem::create_directories(dir / "a" / "b");
  std::filesystem::create_directories(dir / "elsewhere");
  auto rel = RelPath::Parse("a/b/c.txt");
  ASSERT_TRUE(rel);
  std::set<std::string> known;
  EXPECT_TRUE(ParentsAreFolders(fs, dir.path(), *rel, &known));
  EXPECT_EQ(known, (std::set<std::string>{"a", "a/b"}));

  // a/b becomes a symlink out of the share: a fresh check sees it; the
  // batch that already found a/b real keeps its answer, as documented.
  std::filesystem::remove(dir / "a" / "b");
  std::filesystem::create_directory_symlink(dir / "elsewhere", dir / "a" / "b");
  EXPECT_FALSE(ParentsAreFolders(fs, dir.path(), *rel));
  EXPECT_TRUE(ParentsAreFolders(fs, dir.path(), *rel, &known));
  std::set<std::string> fresh;
  EXPECT_FALSE(ParentsAreFolders(fs, dir.path(), *rel, &fresh));
  EXPECT_EQ(fresh, (std::set<std::string>{"a"}));  // what is not a folder is never remembered

  // Missing folders are fine (made when needed) and not remembered either.
  auto deeper = RelPath::Parse("x/y/z.txt");
  ASSERT_TRUE(deeper);
  std::set<std::string> none;
  EXPECT_TRUE(ParentsAreFolders(fs, dir.path(), *deeper, &none));
  EXPECT_TRUE(none.empty());
}

TEST(MakeFoldersBelow, MakesEachMissingLevelAndNeverTheBase) {
  tandem::testing::TempDir dir;
  PosixFilesystem disk;
  ASSERT_TRUE(MakeFoldersBelow(disk, dir.path(), "a/b/c"));
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a/b/c"));
  ASSERT_TRUE(MakeFoldersBelow(disk, dir.path(), "a/b/c")) << "folders already there are fine";
  auto gone = MakeFoldersBelow(disk, dir / "missing", "x");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
}

TEST(MakeFoldersBelow, AFolderTheDiskRefusesIsAnIoErrorWithTheReason) {
  tandem::testing::TempDir dir;
  tandem::testing::FaultFilesystem faulty;
  faulty.Fail(tandem::testing::FaultFilesystem::Op::kMakeFolder, "/b",
              MakeError(ErrorCode::kIo, "injected: No space left on device"));
  auto made = MakeFoldersBelow(faulty, dir.path(), "a/b/c");
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().code, ErrorCode::kIo);
  EXPECT_NE(made.error().message.find("No space left"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a"));
  EXPECT_FALSE(std::filesystem::exists(dir / "a/b"));
}

TEST(PosixFilesystem, WritesReplaceRenameAndRemoveAsAsked) {
  tandem::testing::TempDir dir;
  PosixFilesystem disk;
  const std::string data = "hello";
  ASSERT_TRUE(disk.WriteNewFile(dir / "f", AsBytes(data), 0640, 1'700'000'000'000'000'000));
  auto info = disk.Lstat(dir / "f");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->mode, 0640u);
  EXPECT_EQ(info->mtime_ns, 1'700'000'000'000'000'000);
  ASSERT_TRUE(disk.SyncFile(dir / "f"));
  ASSERT_TRUE(disk.Rename(dir / "f", dir / "g"));
  EXPECT_FALSE(disk.Lstat(dir / "f"));
  ASSERT_TRUE(disk.MakeSymlink("g", dir / "link"));
  EXPECT_EQ(*disk.ReadLink(dir / "link"), "g");
  ASSERT_TRUE(disk.SetMtime(dir / "link", 5)) << "a symlink's own time, not its target's";
  EXPECT_EQ(disk.Lstat(dir / "g")->mtime_ns, 1'700'000'000'000'000'000);
  ASSERT_TRUE(disk.MakeFolder(dir / "d"));
  EXPECT_EQ(disk.MakeFolder(dir / "d").error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(disk.RemoveFolder(dir / "d"));
  ASSERT_TRUE(disk.Remove(dir / "link"));
  EXPECT_EQ(disk.Remove(dir / "link").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(disk.SyncFilesystem(dir.path()));
}

}  // namespace
}  // namespace tandem::fs
