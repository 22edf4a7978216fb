// Issue 16: ordinary accidents (a folder moved away or deleted, a drive
// unmounted, a repository lost or damaged, a full disk) never delete data.
// Two real daemons on loopback; each test asserts that every version written
// is still on every device (by content), that the share reports the error
// while the cause lasts, and that it converges by itself (or after
// `tandem repair`, where the repository is gone) once the cause is gone.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "crypto/keys.h"
#include "net/tls.h"
#include "protocol/framing.h"
#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// Runs a shell command; its exit status.
int Sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()); }

// Every file's content under `root` (not .tandem), as a set.
std::multiset<std::string> Contents(const stdfs::path& root) {
  std::multiset<std::string> out;
  for (const auto& [path, content] : SnapshotTree(root)) {
    if (content != "<dir>" && !content.starts_with("-> ")) out.insert(content);
  }
  return out;
}

// Where the page rooting `table` starts in the SQLite file `db`, read
// before anything damages it.
std::streamoff PageOfTable(const stdfs::path& db, const std::string& table) {
  sqlite3* handle = nullptr;
  std::streamoff at = -1;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    const char* sql = "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_schema WHERE name = ?1";
    if (sqlite3_prepare_v2(handle, sql, -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, table.c_str(), -1, SQLITE_TRANSIENT);
      if (sqlite3_step(stmt) == SQLITE_ROW) at = (sqlite3_column_int64(stmt, 0) - 1) * sqlite3_column_int64(stmt, 1);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(handle);
  return at;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

class MountedImage;

class Accidents : public ::testing::Test {
 protected:
  static constexpr int kFiles = 50;

  void SetUp() override {
    for (int i = 0; i < kFiles; ++i) Write(dir_a_, Name(i), Original(i));
    StartBoth();
  }

  void StartBoth() {
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
  }

  // Shares dir_a_ (which may be a mount point) with b, and waits until both hold the same.
  void Share() {
    std::string failed = ShareBetween(a_, dir_a_, b_, dir_b_, /*both_dial=*/true);
    ASSERT_EQ(failed, "");
    ASSERT_TRUE(Converged());
  }

  static std::string Original(int i) { return "original " + std::to_string(i); }
  static std::string Name(int i) { return "d" + std::to_string(i % 10) + "/f" + std::to_string(i) + ".txt"; }

  // Writes a file and remembers its content as the path's latest, which
  // must never be lost.
  void Write(const stdfs::path& dir, const std::string& rel, const std::string& content) {
    WriteFile(dir / rel, content);
    written_[rel] = content;
  }

  json Info(const DaemonProcess& d) { return d.Json({"info", "s"}); }
  std::string State(const DaemonProcess& d) { return Info(d)["state"]; }
  std::string Error(const DaemonProcess& d) { return Info(d)["last_error"]; }

  bool Converged(std::chrono::milliseconds timeout = 40s) {
    bool same = WaitUntil(
        [&] {
          return SnapshotTree(dir_a_) == SnapshotTree(dir_b_) && State(a_) == "idle" && State(b_) == "idle";
        },
        timeout);
    if (!same) {
      ADD_FAILURE() << "not converged\nA: " << ::testing::PrintToString(SnapshotTree(dir_a_))
                    << "\nB: " << ::testing::PrintToString(SnapshotTree(dir_b_)) << "\nA info: " << Info(a_).dump()
                    << "\nB info: " << Info(b_).dump() << "\nA log:\n"
                    << a_.Log().substr(0, 30000) << "\nB log:\n"
                    << b_.Log().substr(0, 30000);
    }
    return same;
  }

  // Every content ever written (its latest version per path at least) is on `dir`.
  void ExpectNothingLostOn(const stdfs::path& dir) {
    auto have = Contents(dir);
    for (const auto& [path, content] : written_) {
      EXPECT_TRUE(have.count(content)) << "lost on " << dir << ": '" << content << "' (" << path << ")";
    }
  }

  // B holds every file, as first written or as last edited by the test; a
  // share in error on A deleted or overwrote nothing there.
  void ExpectBIntact() {
    for (int i = 0; i < kFiles; ++i) {
      std::string content = ReadFile(dir_b_ / Name(i));
      EXPECT_TRUE(content == Original(i) || content == written_[Name(i)]) << Name(i) << ": " << content;
    }
  }

  // A reports an error saying `needle` while the cause lasts.
  void ExpectAInError(const std::string& needle) {
    EXPECT_TRUE(WaitUntil([&] {
      json info = Info(a_);
      return info["state"] == "error" && info["last_error"].get<std::string>().find(needle) != std::string::npos;
    }, 20s)) << "waiting for an error saying '" << needle << "': " << Info(a_).dump();
  }

  std::unique_ptr<MountedImage> ShareFromADrive();

  // How many times `d` connected to or from a peer so far.
  static size_t Connections(const DaemonProcess& d) {
    std::string log = d.Log();
    return CountOf(log, " connected from ") + CountOf(log, " connected to ");
  }

  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
  std::map<std::string, std::string> written_;  // by path
};

// Accident 1: the folder moved away. Before, A re-created it when B's edit
// arrived, scanned it and recorded 50 deletions, which B applied.
TEST_F(Accidents, AFolderMovedAwayDeletesNothingAndSyncsAgainWhenMovedBack) {
  Share();
  stdfs::rename(dir_a_, tmp_ / "elsewhere");
  ExpectAInError("missing");
  Write(dir_b_, Name(7), "edited on b while a's folder was away");
  Write(dir_b_, "new-on-b.txt", "new on b while a's folder was away");
  // A's folder is never re-created, and B keeps every file.
  EXPECT_FALSE(WaitUntil([&] { return stdfs::exists(dir_a_); }, 2s));
  ExpectBIntact();
  EXPECT_EQ(State(a_), "error");
  EXPECT_EQ(Info(a_)["index"]["files"], kFiles) << "what the index held, not zeros";

  stdfs::rename(tmp_ / "elsewhere", dir_a_);
  ASSERT_TRUE(Converged());
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
  EXPECT_EQ(ReadFile(dir_a_ / "new-on-b.txt"), "new on b while a's folder was away");
}

// The folder deleted for good: B keeps everything, an empty folder made in
// its place is not the share, and `tandem repair` brings every file back.
TEST_F(Accidents, AFolderDeletedIsNeverTakenForEverythingDeleted) {
  Share();
  stdfs::remove_all(dir_a_);
  ExpectAInError(dir_a_.string());
  Write(dir_b_, Name(7), "edited on b after a's folder was deleted");
  stdfs::create_directories(dir_a_);  // a user (or a program) makes it again, empty
  ExpectAInError("tandem repair");
  EXPECT_FALSE(WaitUntil([&] { return stdfs::exists(dir_a_ / ".tandem"); }, 2s)) << "nothing is made there";
  ExpectBIntact();

  // An empty folder may be a mount point: repair asks to be sure.
  CommandResult refused = a_.Run({"repair", "s"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("is empty"), std::string::npos) << refused.err;
  EXPECT_TRUE(stdfs::is_empty(dir_a_));
  CommandResult repaired = a_.Run({"repair", "s", "--force"});
  ASSERT_EQ(repaired.exit_code, 0) << repaired.err;
  ASSERT_TRUE(Converged());
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
  for (int i = 0; i < kFiles; ++i) EXPECT_TRUE(stdfs::exists(dir_a_ / Name(i))) << Name(i);
}

// A folder removed slowly (a slow disk, a busy machine, a file manager
// deleting one file at a time, then the folder): scans that run meanwhile
// hold the deletions while more keep coming, and the folder's .tandem goes
// before they settle. B keeps every file.
TEST_F(Accidents, AFolderRemovedSlowlyRecordsNoDeletion) {
  Share();
  for (int i = 0; i < kFiles; ++i) {
    stdfs::remove(dir_a_ / Name(i));
    if (i % 10 == 9) ASSERT_EQ(a_.Run({"rescan", "s"}).exit_code, 0);
    // The pause between deletions is the fault being injected, not a wait.
    std::this_thread::sleep_for(30ms);
  }
  stdfs::remove_all(dir_a_);
  ExpectAInError(dir_a_.string());
  Write(dir_b_, Name(7), "edited on b after a's folder was removed");
  EXPECT_FALSE(WaitUntil([&] { return stdfs::exists(dir_a_); }, 2s));
  ExpectBIntact();
  EXPECT_EQ(Contents(dir_b_).size(), static_cast<size_t>(kFiles));
}

// An ordinary deletion still reaches the peers, once it has settled.
TEST_F(Accidents, ADeletionReachesThePeersOnceItHasSettled) {
  Share();
  stdfs::remove(dir_a_ / Name(1));
  json scanned = a_.Json({"rescan", "s"});
  EXPECT_EQ(scanned["deleted"], 0) << "held by the scan that found it: " << scanned.dump();
  ASSERT_TRUE(WaitUntil([&] { return !stdfs::exists(dir_b_ / Name(1)); })) << a_.Log();
  written_.erase(Name(1));
  ASSERT_TRUE(Converged());
}

// A loop-mounted filesystem image holding the share, made by the test.
class MountedImage {
 public:
  MountedImage(const stdfs::path& image, const stdfs::path& mount_point, const std::string& size)
      : image_(image), mount_point_(mount_point) {
    stdfs::create_directories(mount_point_);
    ok_ = Sh("truncate -s " + size + " " + image_.string()) == 0 && Sh("mkfs.ext4 -q -F " + image_.string()) == 0 &&
          Mount();
  }
  ~MountedImage() {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  bool Mount() {
    mounted_ = Sh("mount -o loop " + image_.string() + " " + mount_point_.string()) == 0;
    return mounted_;
  }
  bool UnmountLazily() {
    bool done = ::umount2(mount_point_.c_str(), MNT_DETACH) == 0;
    if (done) mounted_ = false;
    return done;
  }

 private:
  stdfs::path image_;
  stdfs::path mount_point_;
  bool ok_ = false;
  bool mounted_ = false;
};

// The share's folder becomes the root of a loop-mounted ext4 image holding
// its files, then is shared; nullptr if images cannot be mounted here.
std::unique_ptr<MountedImage> Accidents::ShareFromADrive() {
  a_.Stop();
  stdfs::rename(dir_a_, tmp_ / "staging");
  auto drive = std::make_unique<MountedImage>(tmp_ / "drive.img", dir_a_, "32M");
  if (!drive->ok()) return nullptr;
  stdfs::copy(tmp_ / "staging", dir_a_, stdfs::copy_options::recursive);
  EXPECT_TRUE(a_.Start());
  Share();
  return drive;
}

// Accident 1, on a drive: the share is the root of a loop-mounted ext4
// image; `umount -l` leaves an empty mount point, which is not the share.
TEST_F(Accidents, ADriveUnmountedLazilyDeletesNothingAndSyncsAgainWhenMounted) {
  auto drive = ShareFromADrive();
  if (!drive) GTEST_SKIP() << "cannot loop-mount an ext4 image here (needs root and loop devices)";

  ASSERT_TRUE(drive->UnmountLazily());
  ExpectAInError("does not hold this share");
  Write(dir_b_, Name(7), "edited on b while a's drive was unmounted");
  EXPECT_FALSE(WaitUntil([&] { return !stdfs::is_empty(dir_a_); }, 2s)) << "nothing is written on the mount point";
  ExpectBIntact();

  ASSERT_TRUE(drive->Mount());
  ASSERT_TRUE(Converged());
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
}

// Accident 4: the drive was not mounted while the daemon was stopped. The
// empty mount point is not the share: no repository is made there, nothing
// is downloaded onto the root filesystem.
TEST_F(Accidents, AnEmptyMountPointAtStartIsNotTheShare) {
  auto drive = ShareFromADrive();
  if (!drive) GTEST_SKIP() << "cannot loop-mount an ext4 image here (needs root and loop devices)";

  a_.Stop();
  ASSERT_TRUE(drive->UnmountLazily());
  ASSERT_TRUE(a_.Start());
  ExpectAInError("does not hold this share");
  Write(dir_b_, Name(7), "edited on b while a's drive was not mounted");
  EXPECT_FALSE(WaitUntil([&] { return !stdfs::is_empty(dir_a_); }, 2s)) << "nothing is written on the mount point";
  ExpectBIntact();

  ASSERT_TRUE(drive->Mount());  // resumes with no restart
  ASSERT_TRUE(Converged());
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
}

// Accident 2 (and 3): the repository is lost or damaged while files change.
enum class Loss { kRemoveAndImport, kDeletedWhileStopped, kDeletedWhileRunning, kEmptied, kCorrupted };

class RepositoryLoss : public Accidents, public ::testing::WithParamInterface<Loss> {};

TEST_P(RepositoryLoss, NeverReusesVersionsNorLosesAnEdit) {
  Share();
  // Z1.txt is created, edited and deleted: its tombstone carries A's counters.
  Write(dir_a_, "Z1.txt", "z1 first");
  ASSERT_TRUE(Converged());
  Write(dir_b_, "Z1.txt", "z1 edited on b");
  ASSERT_TRUE(Converged());
  stdfs::remove(dir_a_ / "Z1.txt");
  ASSERT_TRUE(Converged());
  written_.erase("Z1.txt");  // deleted on purpose
  Write(dir_b_, "d5/f5.txt", "f5 edited on b");
  ASSERT_TRUE(Converged());

  const stdfs::path repo = dir_a_ / ".tandem";
  auto edit_on_a = [&] {
    Write(dir_a_, "d5/f5.txt", "f5 edited on a, newer");
    Write(dir_a_, "d6/f6.txt", "f6 edited on a");
    Write(dir_a_, "Z1.txt", "z1 made again on a");
  };
  switch (GetParam()) {
    case Loss::kRemoveAndImport: {
      std::string token = a_.Run({"token", "s"}).out;
      token.pop_back();
      ASSERT_EQ(a_.Run({"remove", "s", "--delete-repo"}).exit_code, 0);
      edit_on_a();
      CommandResult imported = a_.Run({"import", token, dir_a_.string()});
      ASSERT_EQ(imported.exit_code, 0) << imported.err;
      ASSERT_EQ(a_.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
      break;
    }
    case Loss::kDeletedWhileStopped:
    case Loss::kEmptied:
    case Loss::kCorrupted: {
      a_.Stop();
      if (GetParam() == Loss::kDeletedWhileStopped) {
        stdfs::remove_all(repo);
      } else if (GetParam() == Loss::kEmptied) {
        stdfs::resize_file(repo / "index.db", 0);
      } else {
        // Over the page that roots the records, inside the file: the
        // middle of a small index may be free pages, where noise loses nothing.
        const std::streamoff records = PageOfTable(repo / "index.db", "records");
        ASSERT_GT(records, 0);
        ASSERT_LT(records, static_cast<std::streamoff>(stdfs::file_size(repo / "index.db")));
        std::fstream db(repo / "index.db", std::ios::in | std::ios::out | std::ios::binary);
        db.seekp(records);
        std::string noise = RandomBytes(4096, 16);
        db.write(noise.data(), static_cast<std::streamsize>(noise.size()));
      }
      edit_on_a();
      ASSERT_TRUE(a_.Start());
      ExpectAInError("tandem repair");
      break;
    }
    case Loss::kDeletedWhileRunning:
      stdfs::remove_all(repo);
      ExpectAInError("tandem repair");
      edit_on_a();
      break;
  }
  if (GetParam() != Loss::kRemoveAndImport) {
    // While the repository is gone, nothing flows either way and nobody redials in a loop.
    Write(dir_b_, "d8/f8.txt", "f8 edited on b while a was broken");
    EXPECT_FALSE(WaitUntil([&] { return ReadFile(dir_a_ / "d8/f8.txt") == "f8 edited on b while a was broken"; }, 3s));
    EXPECT_EQ(ReadFile(dir_b_ / "d6/f6.txt"), Original(6));
    EXPECT_EQ(State(a_), "error");
    EXPECT_LE(Connections(b_), 6u) << b_.Log();
    CommandResult repaired = a_.Run({"repair", "s"});
    ASSERT_EQ(repaired.exit_code, 0) << repaired.err;
  }
  ASSERT_TRUE(Converged(60s));
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
  // The re-created name is never deleted by the old tombstone.
  EXPECT_EQ(ReadFile(dir_b_ / "Z1.txt"), "z1 made again on a");
  // A's edits were concurrent with the share's versions: kept, with a copy where they differ.
  EXPECT_TRUE(Contents(dir_b_).count("f5 edited on b"));
  EXPECT_TRUE(Contents(dir_b_).count("f5 edited on a, newer"));
  EXPECT_EQ(ReadFile(dir_a_ / "d6/f6.txt"), ReadFile(dir_b_ / "d6/f6.txt"));
}

INSTANTIATE_TEST_SUITE_P(Ways, RepositoryLoss,
                         ::testing::Values(Loss::kRemoveAndImport, Loss::kDeletedWhileStopped,
                                           Loss::kDeletedWhileRunning, Loss::kEmptied, Loss::kCorrupted),
                         [](const ::testing::TestParamInfo<Loss>& info) {
                           switch (info.param) {
                             case Loss::kRemoveAndImport: return "RemovedWithItsRepositoryAndImported";
                             case Loss::kDeletedWhileStopped: return "DotTandemDeletedWhileStopped";
                             case Loss::kDeletedWhileRunning: return "DotTandemDeletedWhileRunning";
                             case Loss::kEmptied: return "IndexTruncatedToZeroBytes";
                             case Loss::kCorrupted: return "IndexOverwrittenWhereItHoldsRecords";
                           }
                           return "unknown";
                         });

// A writer's store keeps no record signatures (it makes them again): the
// folder picked up again with a read token cannot use it. Said clearly, with
// the way out, and nothing changes until it is taken.
TEST_F(Accidents, AWritersRepositoryPickedUpWithAReadTokenIsRefusedWithTheWayOut) {
  Share();
  const std::string read_token = b_.Run({"token", "s", "--mode", "read"}).out;
  ASSERT_EQ(a_.Run({"remove", "s"}).exit_code, 0);
  ASSERT_TRUE(stdfs::exists(dir_a_ / ".tandem/index.db")) << "kept without --delete-repo";
  const auto before = SnapshotTree(dir_a_);
  const auto index_before = ReadFile(dir_a_ / ".tandem/index.db");
  CommandResult refused = a_.Run({"import", read_token, dir_a_.string()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("holds no record signatures"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("Move " + (dir_a_ / ".tandem").string() + " aside"), std::string::npos) << refused.err;
  EXPECT_EQ(a_.Json({"list"}).size(), 0u) << "no share added";
  EXPECT_EQ(SnapshotTree(dir_a_), before) << "nothing written";
  EXPECT_EQ(ReadFile(dir_a_ / ".tandem/index.db"), index_before) << "the repository left as it was";

  stdfs::rename(dir_a_ / ".tandem", tmp_ / "a-tandem-aside");
  CommandResult imported = a_.Run({"import", read_token, dir_a_.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  ASSERT_EQ(a_.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
  EXPECT_EQ(Info(a_)["mode"], "read");
  // (A read replica takes the files it found for edits of its own and
  // keeps them beside the share's: not converged trees, but nothing lost.)
  Write(dir_b_, "d3/f3.txt", "f3 edited on b after the way out");
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(dir_a_ / "d3/f3.txt") == "f3 edited on b after the way out"; }, 40s))
      << Info(a_).dump();
  ExpectNothingLostOn(dir_a_);
}

// A small filesystem the test mounts (tmpfs), to fill up.
class SmallDisk {
 public:
  SmallDisk(const stdfs::path& mount_point, const std::string& size) : mount_point_(mount_point) {
    stdfs::create_directories(mount_point_);
    mounted_ = ::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }
  bool ok() const { return mounted_; }
  // Fills the disk with one file, then gives back `leave` bytes of it.
  void Fill(uint64_t leave) {
    Fd fd(::open((mount_point_ / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    std::string chunk(1 << 16, 'f');
    uint64_t total = 0;
    for (int i = 0; i < 1 << 16; ++i) {  // bounded: at most 4 GiB
      ssize_t n = ::write(fd.get(), chunk.data(), chunk.size());
      if (n <= 0) break;
      total += static_cast<uint64_t>(n);
    }
    EXPECT_EQ(::ftruncate(fd.get(), static_cast<off_t>(total > leave ? total - leave : 0)), 0);
  }
  void Free() { stdfs::remove(mount_point_ / "filler"); }

 private:
  struct Fd {
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
      if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int fd_;
  };
  stdfs::path mount_point_;
  bool mounted_ = false;
};

// Accident 6, the receiver's side: its disk fills up while files arrive.
// It says so, keeps what it had, costs its peer nothing in reconnects (also
// across a restart while full), and catches up by itself once there is room.
TEST_F(Accidents, AReceiverWithAFullDiskSaysSoAndCatchesUpOnceThereIsRoom) {
  b_.Stop();
  SmallDisk disk(tmp_ / "small", "16m");
  if (!disk.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  dir_b_ = tmp_ / "small/b";
  ASSERT_TRUE(b_.Start());
  Share();

  disk.Fill(/*leave=*/512 << 10);
  Write(dir_a_, "big.bin", RandomBytes(3 << 20, 5));
  ASSERT_TRUE(WaitUntil([&] {
    json info = Info(b_);
    return (info["state"] == "error" && info["last_error"].get<std::string>().find("full") != std::string::npos) ||
           info["failed"].dump().find("space") != std::string::npos;
  }, 30s)) << Info(b_).dump() << b_.Log();
  EXPECT_FALSE(stdfs::exists(dir_b_ / "big.bin"));
  ExpectBIntact();

  // A restart while full: no reconnect storm.
  b_.Stop();
  ASSERT_TRUE(b_.Start());
  ASSERT_TRUE(WaitUntil([&] { return Info(b_)["connected_devices"].size() == 1 || Info(b_)["state"] == "error"; }));
  // Its counts are the index's, not zero because no scan could finish.
  EXPECT_TRUE(WaitUntil([&] { return Info(b_)["index"]["files"] == kFiles; })) << Info(b_).dump();
  size_t connections = Connections(a_);
  EXPECT_FALSE(WaitUntil([&] { return Connections(a_) > connections + 2; }, 4s)) << a_.Log();

  disk.Free();
  ASSERT_TRUE(Converged(120s));
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
}

// Accident 6, the sender's side: the disk holding its .tandem fills up while
// it indexes. The share says so, and resumes by itself once there is room
// (before, it waited for the next change to a file).
TEST_F(Accidents, ASenderWhoseRepositoryDiskFillsUpResumesOnceThereIsRoom) {
  a_.Stop();
  SmallDisk disk(tmp_ / "small", "48m");
  if (!disk.ok()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  stdfs::copy(dir_a_, tmp_ / "small/a", stdfs::copy_options::recursive);
  dir_a_ = tmp_ / "small/a";
  ASSERT_TRUE(a_.Start());
  Share();

  // Files made beside the share, then moved in once the disk is full: a
  // rename takes no room, indexing them does.
  for (int i = 0; i < 2000; ++i) {
    std::string rel = "incoming/g" + std::to_string(i % 20) + "/n" + std::to_string(i) + ".txt";
    WriteFile(tmp_ / "small" / rel, "new " + std::to_string(i));
    written_[rel] = "new " + std::to_string(i);
  }
  disk.Fill(/*leave=*/0);
  stdfs::rename(tmp_ / "small/incoming", dir_a_ / "incoming");
  ExpectAInError("full");
  ExpectBIntact();

  disk.Free();
  ASSERT_TRUE(Converged(120s));
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
  EXPECT_EQ(Info(a_)["index"]["files"], kFiles + 2000);
}

// Accident 7: nothing is skipped silently. A FIFO, a name that is not
// UTF-8 and a file whose read fails with EIO (the test's own
// /proc/PID/mem bind-mounted over it: reading its first page fails) are
// listed in info and status with why; the log stays text.
TEST_F(Accidents, SpecialUnreadableAndUndecodableFilesAreListedWithWhy) {
  Share();
  ASSERT_EQ(::mkfifo((dir_a_ / "pipe").c_str(), 0600), 0);
  WriteFile(dir_a_ / "name-\xff-bad.txt", "not UTF-8");
  WriteFile(dir_a_ / "eio.bin", "");
  struct Unmount {
    stdfs::path path;
    bool bound;
    ~Unmount() {
      if (bound) ::umount2(path.c_str(), MNT_DETACH);
    }
  } eio{dir_a_ / "eio.bin", ::mount(("/proc/" + std::to_string(::getpid()) + "/mem").c_str(),
                                    (dir_a_ / "eio.bin").c_str(), nullptr, MS_BIND, nullptr) == 0};
  if (!eio.bound) GTEST_SKIP() << "cannot bind-mount here (needs root)";
  ASSERT_EQ(a_.Run({"rescan", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["skipped"].size() == 3; })) << Info(a_).dump();
  std::string skipped = Info(a_)["skipped"].dump();
  EXPECT_NE(skipped.find("pipe: not synced: a FIFO, socket or device file"), std::string::npos) << skipped;
  EXPECT_NE(skipped.find("name-\\\\xff-bad.txt: this name cannot be synced"), std::string::npos) << skipped;
  EXPECT_NE(skipped.find("eio.bin"), std::string::npos) << skipped;
  EXPECT_NE(skipped.find("Input/output error"), std::string::npos) << skipped;
  CommandResult status = a_.Run({"status"});
  EXPECT_NE(status.out.find("3 paths skipped by the last scan"), std::string::npos) << status.out;
  CommandResult info = a_.Run({"info", "s"});
  EXPECT_NE(info.out.find("Skipped    pipe"), std::string::npos) << info.out;
  EXPECT_EQ(a_.Log().find('\xff'), std::string::npos) << "raw bytes in the log";
  EXPECT_NE(a_.Log().find("name-\\xff-bad.txt"), std::string::npos);
  // Everything else still syncs.
  Write(dir_a_, "after.txt", "written after");
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(dir_b_ / "after.txt") == "written after"; }));
  ExpectBIntact();
}

// A repair killed at any moment (SIGKILL at a random point) leaves the
// share either still asking for a repair or repaired, never a reset that
// loses an edit; a repair run again always finishes the job.
TEST_F(Accidents, ARepairKilledAtAnyMomentLosesNothing) {
  Share();
  auto damage = [&] {
    a_.Stop();
    stdfs::resize_file(dir_a_ / ".tandem/index.db", 0);
    ASSERT_TRUE(a_.Start());
    ExpectAInError("tandem repair");
  };
  damage();
  Write(dir_a_, Name(3), "edited on a while its repository was damaged");
  Write(dir_a_, "new-on-a.txt", "made on a while its repository was damaged");

  const char* seed_text = std::getenv("TANDEM_CRASH_SEED");
  const uint32_t seed = seed_text ? static_cast<uint32_t>(std::stoul(seed_text)) : std::random_device{}();
  std::mt19937 random(seed);
  SCOPED_TRACE("TANDEM_CRASH_SEED=" + std::to_string(seed));
  for (int round = 0; round < 4; ++round) {
    // A repair that finished in an earlier round: damage the new repository too.
    if (State(a_) != "error") damage();
    std::thread repair([&] { (void)a_.Run({"repair", "s"}); });
    // The random pause is the fault being injected: where the kill lands.
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 30000));
    a_.Kill();
    repair.join();
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(WaitUntil([&] { return State(a_) != "scanning"; }));
    // Whatever the kill interrupted, the share either asks for a repair
    // again or runs on a sound database (checked once the restart has
    // recovered its WAL: a read-only look cannot).
    if (State(a_) == "error") {
      EXPECT_NE(Error(a_).find("tandem repair"), std::string::npos) << Error(a_);
    } else {
      EXPECT_EQ(IndexIntegrity(dir_a_), "ok");
    }
    EXPECT_EQ(ReadFile(dir_a_ / Name(3)), "edited on a while its repository was damaged");
    EXPECT_EQ(ReadFile(dir_a_ / "new-on-a.txt"), "made on a while its repository was damaged");
    ExpectBIntact();
  }
  if (State(a_) == "error") {
    CommandResult repaired = a_.Run({"repair", "s"});
    ASSERT_EQ(repaired.exit_code, 0) << repaired.err;
  }
  ASSERT_TRUE(Converged(60s));
  ExpectNothingLostOn(dir_a_);
  ExpectNothingLostOn(dir_b_);
}

// One share's failure never closes a connection that carries other shares:
// the broken share is no longer offered, the other goes on syncing.
TEST_F(Accidents, AShareThatStopsLeavesTheConnectionToOtherSharesUp) {
  Share();
  WriteFile(tmp_ / "a2/first.txt", "first of t");
  ASSERT_EQ(a_.Run({"add", (tmp_ / "a2").string(), "--name", "t"}).exit_code, 0);
  std::string token = a_.Run({"token", "t"}).out;
  token.pop_back();
  ASSERT_EQ(b_.Run({"import", token, (tmp_ / "b2").string()}).exit_code, 0);
  ASSERT_EQ(a_.Run({"peer", "add", "t", b_.address()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(tmp_ / "b2/first.txt") == "first of t"; }));
  const size_t connections = Connections(a_) + Connections(b_);

  stdfs::remove_all(dir_a_ / ".tandem");
  ExpectAInError("tandem repair");
  WriteFile(tmp_ / "b2/second.txt", "second of t");
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(tmp_ / "a2/second.txt") == "second of t"; })) << a_.Log();
  EXPECT_EQ(Connections(a_) + Connections(b_), connections) << a_.Log() << b_.Log();
  EXPECT_EQ(a_.Json({"info", "t"})["state"], "idle");
}

// Bad requests to repair get a clear error and change nothing.
TEST_F(Accidents, RepairRefusesWhatItCannotHelp) {
  Share();
  auto repair = [&](const std::string& share) { return a_.Run({"repair", share}); };
  const auto before = SnapshotTree(dir_a_);
  const auto db_size = stdfs::file_size(dir_a_ / ".tandem/index.db");

  CommandResult unknown = repair("nope");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no share 'nope'"), std::string::npos) << unknown.err;

  CommandResult healthy = repair("s");
  EXPECT_EQ(healthy.exit_code, 1);
  EXPECT_NE(healthy.err.find("nothing to repair"), std::string::npos) << healthy.err;
  for (const auto& entry : stdfs::directory_iterator(dir_a_ / ".tandem")) {
    EXPECT_FALSE(entry.path().filename().string().starts_with("damaged")) << "nothing moved aside";
  }

  stdfs::rename(dir_a_, tmp_ / "away");
  ExpectAInError("missing");
  CommandResult missing = repair("s");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("is not there"), std::string::npos) << missing.err;
  EXPECT_FALSE(stdfs::exists(dir_a_)) << "the folder is not made by a repair";

  // Another share's folder put in its place is not touched.
  stdfs::create_directories(dir_a_ / ".tandem");
  WriteFile(dir_a_ / ".tandem/share-id", "tandem share " + std::string(64, 'a') + "\n");
  ExpectAInError("another share");
  CommandResult foreign = repair("s");
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("another share"), std::string::npos) << foreign.err;
  EXPECT_EQ(ReadFile(dir_a_ / ".tandem/share-id"), "tandem share " + std::string(64, 'a') + "\n");
  EXPECT_EQ(std::distance(stdfs::directory_iterator(dir_a_ / ".tandem"), stdfs::directory_iterator()), 1)
      << "nothing added";

  stdfs::remove_all(dir_a_);
  stdfs::rename(tmp_ / "away", dir_a_);
  ASSERT_TRUE(WaitUntil([&] { return State(a_) == "idle"; }));
  EXPECT_EQ(SnapshotTree(dir_a_), before);
  EXPECT_GE(stdfs::file_size(dir_a_ / ".tandem/index.db"), db_size);
}

// Every reconnect backs off: a peer that takes the connection, says hello
// and hangs up (as a peer whose store failed used to) is dialled less and
// less often, not three times a second.
TEST(Reconnects, APeerThatKeepsHangingUpIsDialledLessAndLessOften) {
  TempDir tmp;
  asio::io_context io;
  auto tls = net::MakeTlsContext(crypto::DeviceKey::Generate());
  ASSERT_TRUE(tls) << tls.error().message;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = acceptor.local_endpoint().port();

  DaemonProcess a(tmp / "config-a");
  ASSERT_TRUE(a.Start());
  WriteFile(tmp / "a/x.txt", "x");
  ASSERT_EQ(a.Run({"add", (tmp / "a").string(), "--name", "s"}).exit_code, 0);
  ASSERT_EQ(a.Run({"peer", "add", "s", "tcp/127.0.0.1:" + std::to_string(port)}).exit_code, 0);

  wire::Frame hello;
  hello.mutable_hello()->set_protocol_version(protocol::kProtocolVersion);
  hello.mutable_hello()->set_device_name("hangs up");
  const std::string hello_bytes(AsChars(protocol::EncodeFrame(hello).bytes()));
  std::atomic<int> sessions{0};
  std::function<void()> accept_next = [&] {
    acceptor.async_accept([&](std::error_code ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), **tls);
      std::error_code io_ec;
      stream.handshake(asio::ssl::stream_base::server, io_ec);
      if (!io_ec) asio::write(stream, asio::buffer(hello_bytes), io_ec);
      if (!io_ec) ++sessions;
      stream.lowest_layer().close(io_ec);
      accept_next();
    });
  };
  accept_next();
  io.run_for(8s);  // bounded: the daemon is the one that dials
  // Pauses double from 250 ms (with jitter): about six dials in 8 s. Before,
  // every session that ended reset the pause to 250 ms: some thirty.
  EXPECT_GE(sessions.load(), 2) << a.Log();
  EXPECT_LE(sessions.load(), 8) << a.Log();
}

// A share made before markers existed (no marker, no `repository` in the
// config) keeps working: its repository is adopted and marked. Without a
// repository it is an error, never a new one made in silence.
TEST_F(Accidents, ASharedFolderFromBeforeMarkersIsAdoptedAndMarked) {
  Share();
  auto forget_marker = [&] {
    a_.Stop();
    stdfs::remove(dir_a_ / ".tandem/share-id");
    json config = json::parse(ReadFile(a_.config_dir() / "config.json"));
    for (json& share : config["shares"]) share.erase("repository");
    WriteFile(a_.config_dir() / "config.json", config.dump());
  };
  forget_marker();
  ASSERT_TRUE(a_.Start());
  ASSERT_TRUE(WaitUntil([&] { return State(a_) == "idle"; })) << Info(a_).dump();
  EXPECT_TRUE(stdfs::exists(dir_a_ / ".tandem/share-id"));
  json config = json::parse(ReadFile(a_.config_dir() / "config.json"));
  EXPECT_EQ(config["shares"][0]["repository"].get<std::string>().size(), 32u) << config.dump();
  Write(dir_a_, "after.txt", "after adoption");
  ASSERT_TRUE(Converged());

  forget_marker();
  stdfs::remove_all(dir_a_ / ".tandem");
  ASSERT_TRUE(a_.Start());
  ExpectAInError("tandem repair");
  EXPECT_FALSE(stdfs::exists(dir_a_ / ".tandem")) << "no repository made in silence";
}

}  // namespace
}  // namespace tandem::testing
