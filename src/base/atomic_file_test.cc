#include "base/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace tandem {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<std::string> Names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  return names;
}

unsigned PermissionBits(const fs::path& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(AtomicFile, WrittenContentsReadBack) {
  TempDir tmp;
  const std::string contents[] = {"", "hello\n", std::string("with\0nul", 8),
                                  testing::RandomBytes(1 << 20, 7)};
  for (const std::string& c : contents) {
    ASSERT_TRUE(WriteFileAtomically(tmp / "f", c, 0600));
    auto read = ReadWholeFile(tmp / "f");
    ASSERT_TRUE(read);
    EXPECT_EQ(*read, c);
  }
}

TEST(AtomicFile, GetsExactlyTheRequestedMode) {
  TempDir tmp;
  ASSERT_TRUE(WriteFileAtomically(tmp / "secret", "key", 0600));
  EXPECT_EQ(PermissionBits(tmp / "secret"), 0600u);
  // fchmod ignores the umask, so wider modes come out as asked too.
  ASSERT_TRUE(WriteFileAtomically(tmp / "public", "text", 0644));
  EXPECT_EQ(PermissionBits(tmp / "public"), 0644u);
}

TEST(AtomicFile, OverwriteReplacesContentsAndLeavesNoTemporaryFile) {
  TempDir tmp;
  ASSERT_TRUE(WriteFileAtomically(tmp / "config.json", "first", 0644));
  ASSERT_TRUE(WriteFileAtomically(tmp / "config.json", "second, longer", 0600));
  EXPECT_EQ(testing::ReadFile(tmp / "config.json"), "second, longer");
  EXPECT_EQ(PermissionBits(tmp / "config.json"), 0600u);
  EXPECT_EQ(Names(tmp.path()), std::vector<std::string>{"config.json"});
}

TEST(AtomicFile, MissingDirectoryFailsWithIoAndCreatesNothing) {
  TempDir tmp;
  auto written = WriteFileAtomically(tmp / "missing" / "f", "x", 0600);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::kIo);
  EXPECT_NE(written.error().message.find((tmp / "missing").string()), std::string::npos)
      << written.error().message;
  EXPECT_FALSE(fs::exists(tmp / "missing"));
  EXPECT_TRUE(Names(tmp.path()).empty());
}

TEST(AtomicFile, FailedRenameLeavesTargetAndNoTemporaryFile) {
  TempDir tmp;
  // A non-empty directory where the file should go: the rename must fail.
  fs::create_directory(tmp / "target");
  testing::WriteFile(tmp / "target" / "keep", "kept");
  auto written = WriteFileAtomically(tmp / "target", "x", 0600);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ErrorCode::kIo);
  EXPECT_TRUE(fs::is_directory(tmp / "target"));
  EXPECT_EQ(testing::ReadFile(tmp / "target" / "keep"), "kept");
  EXPECT_EQ(Names(tmp.path()), std::vector<std::string>{"target"});
}

TEST(AtomicFile, ReadOfMissingFileIsNotFound) {
  TempDir tmp;
  auto read = ReadWholeFile(tmp / "nothing");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace tandem
