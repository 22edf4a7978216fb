// Names that differ only in case or Unicode normalisation (`_exit.2.gz` and
// `_Exit.2.gz` in a man page tree, `xt_CONNMARK.h` and `xt_connmark.h` in
// kernel headers): a filesystem that tells them apart gets both; one that
// takes them for one file (macOS, Windows, ext4 with casefold) gets the
// first, lists the other as not synced with why, and overwrites nothing.
// Real daemons on loopback; the folding filesystem is tests/tools/foldfs.py,
// mounted by the test (FUSE), since the test machines' kernel has none.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "base/rel_path.h"
#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

const std::string kNfc = "caf\u00e9.txt";   // as most systems write it
const std::string kNfd = "cafe\u0301.txt";  // as macOS wrote it for years

// Pairs of names a case- and normalisation-folding filesystem takes for one.
const std::vector<std::pair<std::string, std::string>> kLookAlikePairs = {
    {"man/_exit.2.gz", "man/_Exit.2.gz"},
    {"include/xt_CONNMARK.h", "include/xt_connmark.h"},
    {kNfc, kNfd},
    {"Docs/a.txt", "docs/b.txt"},  // folders too
};

// Each name's content is its own, so a file overwritten by its look-alike shows.
void WriteLookAlikes(const stdfs::path& root) {
  for (const auto& [first, second] : kLookAlikePairs) {
    WriteFile(root / first, "I am " + first);
    WriteFile(root / second, "I am " + second);
  }
}

// A folder mounted through tests/tools/foldfs.py: names in it ignore case and
// Unicode normalisation, as on macOS. Unmounted when destroyed.
class FoldingMount {
 public:
  FoldingMount(const stdfs::path& backing, const stdfs::path& mount_point)
      : backing_(backing), mount_point_(mount_point) {
    stdfs::create_directories(backing_);
    stdfs::create_directories(mount_point_);
    if (::access("/dev/fuse", R_OK | W_OK) != 0) {
      why_not_ = "no /dev/fuse here";
      return;
    }
    if (std::system("/usr/bin/python3 -c 'import fusepy' >/dev/null 2>&1") != 0) {
      why_not_ = "python3-fusepy is missing (scripts/install-deps installs it)";
      return;
    }
    const std::string tool = std::string(TANDEM_SOURCE_DIR) + "/tests/tools/foldfs.py";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/usr/bin/python3", "python3", tool.c_str(), backing_.c_str(), mount_point_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    struct stat parent {};
    ::stat(mount_point_.parent_path().c_str(), &parent);
    mounted_ = WaitUntil([&] {
      struct stat here {};
      return ::stat(mount_point_.c_str(), &here) == 0 && here.st_dev != parent.st_dev;
    }, 20s);
    if (!mounted_) why_not_ = "foldfs.py did not mount";
  }
  ~FoldingMount() {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
    if (pid_ > 0) {
      if (!WaitUntil([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 10s)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
  }
  bool ok() const { return mounted_; }
  const std::string& why_not() const { return why_not_; }

 private:
  stdfs::path backing_;
  stdfs::path mount_point_;
  pid_t pid_ = -1;
  bool mounted_ = false;
  std::string why_not_;
};

class LookAlikeNames : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
    WriteLookAlikes(dir_a_);
  }

  json Failed(const DaemonProcess& daemon) { return daemon.Json({"info", "s"})["failed"]; }

  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
};

TEST_F(LookAlikeNames, BothNamesArriveOnAFilesystemThatTellsThemApart) {
  const stdfs::path dir_b = tmp_ / "b";
  ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b), "");
  EXPECT_TRUE(WaitUntil([&] { return SnapshotTree(dir_a_) == SnapshotTree(dir_b); }, 30s))
      << "B has not all of A's names; B says: " << Failed(b_).dump(1) << b_.Log();
  for (const auto& [first, second] : kLookAlikePairs) {
    EXPECT_EQ(ReadFile(dir_b / first), "I am " + first);
    EXPECT_EQ(ReadFile(dir_b / second), "I am " + second);
  }
  EXPECT_TRUE(Failed(a_).empty()) << Failed(a_).dump(1);
  EXPECT_TRUE(Failed(b_).empty()) << Failed(b_).dump(1);
}

TEST_F(LookAlikeNames, AFilesystemThatFoldsThemGetsOneOfEachAndSaysWhyNotTheOther) {
  FoldingMount folding(tmp_ / "b-backing", tmp_ / "b");
  if (!folding.ok()) GTEST_SKIP() << "cannot mount a case-folding folder: " << folding.why_not();
  const stdfs::path dir_b = tmp_ / "b";
  auto tree_a = SnapshotTree(dir_a_);
  ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b), "");

  // The second of each pair to arrive is refused, with why. For the
  // folders, what is refused is "docs" (or "Docs"), and with it the files
  // below it that came after it.
  auto refused = [](const json& failed, const std::string& name) {
    std::string top = name.substr(0, name.find('/'));
    for (const auto& reason : failed) {
      if (reason["reason"].get<std::string>().starts_with("not writing " + top)) return true;
    }
    return false;
  };
  json failed;
  EXPECT_TRUE(WaitUntil([&] {
    failed = Failed(b_);
    for (const auto& [first, second] : kLookAlikePairs) {
      if (!refused(failed, first) && !refused(failed, second)) return false;
    }
    return true;
  }, 60s)) << failed.dump(1) << b_.Log();
  for (const auto& reason : failed) {
    EXPECT_NE(reason["reason"].get<std::string>().find("differs only in case or Unicode normalisation"), std::string::npos)
        << reason;
    EXPECT_NE(reason["reason"].get<std::string>().find("takes the two for one file"), std::string::npos) << reason;
  }
  // Each pair is one file on B (what the folding folder really stores, seen
  // in its backing), holding the content of a name it folds to: nothing was
  // overwritten by its look-alike.
  const auto stored = SnapshotTree(tmp_ / "b-backing");
  for (const auto& [first, second] : kLookAlikePairs) {
    if (!first.starts_with("Docs/")) {
      EXPECT_EQ(stored.contains(first) + stored.contains(second), 1) << first << " / " << second;
    }
  }
  EXPECT_EQ(stored.contains("Docs") + stored.contains("docs"), 1) << "one folder for Docs and docs";
  // Each file holds its own name's content: one overwritten by its
  // look-alike would keep its name and hold the other's.
  for (const auto& [path, content] : stored) {
    if (content == "<dir>") continue;
    if (path.starts_with("Docs/") || path.starts_with("docs/")) {
      // Written into whichever spelling of the folder came first.
      EXPECT_EQ(LookAlikeKey(content), LookAlikeKey("I am " + path)) << path << ": " << content;
      EXPECT_TRUE(content.ends_with(path.substr(4))) << path << " holds another file's content: " << content;
      continue;
    }
    EXPECT_EQ(content, "I am " + path) << path << " holds another file's content";
  }
  // B settles (its own scans of what arrived) before A is looked at again.
  EXPECT_TRUE(WaitUntil([&] { return b_.Json({"info", "s"})["state"] == "idle"; }, 30s));
  EXPECT_EQ(SnapshotTree(dir_a_), tree_a) << "A is as it was";
  EXPECT_TRUE(Failed(a_).empty()) << Failed(a_).dump(1);
}

}  // namespace
}  // namespace tandem::testing
