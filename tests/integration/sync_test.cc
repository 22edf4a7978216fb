// Two (and three) real daemons on loopback keep a folder in sync.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "crypto/keys.h"
#include <asio/co_spawn.hpp>
#include <asio/ip/udp.hpp>
#include <optional>

#include "net/quic_connection.h"
#include "net/tls.h"
#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// ASan's shadow memory and quarantine say nothing about the daemon's own
// memory use, so RSS bounds are checked in the optimised build only.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

size_t CountFiles(const stdfs::path& root) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(root, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path().filename() == ".tandem") {
      it.disable_recursion_pending();
    } else if (it->is_regular_file()) {
      ++n;
    }
  }
  return n;
}

uint64_t PeakRssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// A share on `a`, imported with its write token on `b`, `a` dialling `b`.
class TwoDevices : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(dir_a_);
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
  }

  void Connect() {
    ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
    std::string token = a_.Run({"token", "s"}).out;
    token.pop_back();
    CommandResult imported = b_.Run({"import", token, dir_b_.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    ASSERT_EQ(a_.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
    ASSERT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); })) << a_.Log() << b_.Log();
  }

  // The names of b's part files (downloads not finished).
  std::vector<std::string> PartFiles() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (auto it = stdfs::directory_iterator(dir_b_ / ".tandem/tmp", ec); !ec && it != stdfs::directory_iterator();
         it.increment(ec)) {
      if (it->path().extension() == ".part") names.push_back(it->path().filename().string());
    }
    return names;
  }

  // b is writing a part file and has received more than `bytes`.
  bool PartFileArrived(uint64_t bytes) const {
    return !PartFiles().empty() && b_.Json({"info", "s"})["received_bytes"].get<uint64_t>() > bytes;
  }

  // Restarts `a` so that it serves each block after a pause, as over a slow link.
  void ServeSlowly() {
    a_.Kill();
    ::setenv("TANDEM_TEST_HOOKS", "slow-blocks", 1);
    bool restarted = a_.Start();
    ::unsetenv("TANDEM_TEST_HOOKS");
    ASSERT_TRUE(restarted);
  }

  static bool Connected(const DaemonProcess& d) {
    return d.Json({"info", "s"})["connected_devices"].size() == 1;
  }

  // Both folders hold the same tree (contents, and modes when asked).
  bool Converged(bool modes = false, std::chrono::milliseconds timeout = 30s) {
    bool same = WaitUntil([&] { return SnapshotTree(dir_a_, modes) == SnapshotTree(dir_b_, modes); }, timeout);
    if (!same) {
      ADD_FAILURE() << "folders differ\nA: " << ::testing::PrintToString(Keys(dir_a_))
                    << "\nB: " << ::testing::PrintToString(Keys(dir_b_)) << "\nA log:\n"
                    << a_.Log().substr(0, 20000) << "\nB log:\n" << b_.Log().substr(0, 20000);
    }
    return same;
  }

  static std::vector<std::string> Keys(const stdfs::path& dir) {
    std::vector<std::string> keys;
    for (auto& [k, v] : SnapshotTree(dir, true)) keys.push_back(k + (v.size() < 40 ? " = " + v : ""));
    return keys;
  }

  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
};

TEST_F(TwoDevices, InitialSyncBothWays) {
  WriteFile(dir_a_ / "from-a.txt", "made on a");
  WriteFile(dir_a_ / "nested/deep/er/file.bin", RandomBytes(200000, 7));
  WriteFile(dir_b_ / "from-b.txt", "made on b");
  Connect();
  EXPECT_TRUE(Converged());
  EXPECT_EQ(ReadFile(dir_a_ / "from-b.txt"), "made on b");
  EXPECT_EQ(ReadFile(dir_b_ / "nested/deep/er/file.bin"), RandomBytes(200000, 7));
  json info = b_.Json({"info", "s"});
  EXPECT_EQ(info["connected_devices"][0], a_.device_id());
  EXPECT_TRUE(WaitUntil([&] { return b_.Json({"info", "s"})["state"] == "idle"; }));
  EXPECT_EQ(b_.Json({"info", "s"})["need_files"], 0);
  json peers = a_.Json({"peer", "list", "s"});
  EXPECT_NE(peers[0]["state"].get<std::string>().find("connected"), std::string::npos) << peers.dump();
}

TEST_F(TwoDevices, EveryKindOfChangePropagatesInBothDirections) {
  Connect();
  for (auto [from, to] : {std::pair{dir_a_, dir_b_}, std::pair{dir_b_, dir_a_}}) {
    SCOPED_TRACE("from " + from.filename().string());
    WriteFile(from / "doc.txt", "first");
    WriteFile(from / "empty", "");
    stdfs::create_directories(from / "dir/sub");
    ASSERT_TRUE(Converged(true));

    WriteFile(from / "doc.txt", "second, longer version");
    ASSERT_TRUE(Converged(true));

    stdfs::rename(from / "doc.txt", from / "dir/renamed.txt");
    ASSERT_TRUE(Converged(true));

    stdfs::create_symlink("dir/renamed.txt", from / "link");
    ASSERT_TRUE(Converged(true));
    EXPECT_TRUE(stdfs::is_symlink(to / "link"));

    stdfs::permissions(from / "dir/renamed.txt", stdfs::perms::owner_exec, stdfs::perm_options::add);
    ASSERT_TRUE(Converged(true));
    EXPECT_TRUE((stdfs::status(to / "dir/renamed.txt").permissions() & stdfs::perms::owner_exec) != stdfs::perms::none)
        << ::testing::PrintToString(Keys(from)) << ::testing::PrintToString(Keys(to));

    stdfs::remove(from / "empty");
    stdfs::remove(from / "link");
    stdfs::remove_all(from / "dir");
    ASSERT_TRUE(Converged(true));
    EXPECT_FALSE(stdfs::exists(to / "dir"));
  }
}

// Scans read only the paths that changed; a deletion still waits a moment
// to settle. A file saved ten times a second elsewhere (a log, an editor's
// autosave) must not keep postponing the scan that records it.
TEST_F(TwoDevices, ADeletionArrivesWhileAnotherFileKeepsChanging) {
  WriteFile(dir_a_ / "gone.txt", "to be deleted");
  WriteFile(dir_a_ / "busy.log", "0");
  Connect();
  ASSERT_TRUE(Converged());
  stdfs::remove(dir_a_ / "gone.txt");
  // At most 100 saves, 100 ms apart: the deletion must arrive meanwhile.
  bool arrived = false;
  for (int i = 1; i <= 100 && !arrived; ++i) {
    WriteFile(dir_a_ / "busy.log", std::to_string(i));
    arrived = WaitUntil([&] { return !stdfs::exists(dir_b_ / "gone.txt"); }, 100ms);
  }
  EXPECT_TRUE(arrived) << "the deletion waited for the saves elsewhere to stop";
  EXPECT_TRUE(Converged());
}

// Modification times before 1970 (restored archives, some cameras) arrive
// as they are, for a file written whole and for one assembled in a part file.
TEST_F(TwoDevices, TimesBefore1970ArriveAsTheyAre) {
  Connect();
  const int64_t mtime_ns = -1'250'000'000;  // 1969-12-31 23:59:58.75 UTC
  for (const auto& [name, size] : {std::pair{"small.txt", 100}, std::pair{"large.bin", 600'000}}) {
    WriteFile(tmp_ / name, RandomBytes(size, 7));
    struct timespec times[2] = {{0, UTIME_OMIT}, {-2, 750'000'000}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (tmp_ / name).c_str(), times, 0), 0);
    stdfs::rename(tmp_ / name, dir_a_ / name);  // complete when it appears
  }
  ASSERT_TRUE(Converged()) << b_.Log().substr(0, 20000);
  for (const char* name : {"small.txt", "large.bin"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_b_ / name).c_str(), &st), 0) << name;
    EXPECT_EQ(static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, mtime_ns) << name;
  }
}

// Files without the owner's write bit (git objects, for one) arrive with
// their mode, and a new version of one replaces it. (The daemons here run
// as root, which ignores the bit; the puller never opens a stamped part
// file for writing, so a user's daemon does not need it either.)
TEST_F(TwoDevices, ReadOnlyFilesSyncWithTheirMode) {
  Connect();
  for (int i = 0; i < 8; ++i) {
    stdfs::path file = dir_a_ / ("objects/o" + std::to_string(i));
    WriteFile(file, "object " + std::to_string(i));
    stdfs::permissions(file, stdfs::perms::owner_read | stdfs::perms::group_read | stdfs::perms::others_read);
  }
  ASSERT_TRUE(Converged(true));
  stdfs::path first = dir_a_ / "objects/o0";
  stdfs::permissions(first, stdfs::perms::owner_write, stdfs::perm_options::add);
  WriteFile(first, "object 0, rewritten");
  stdfs::permissions(first, stdfs::perms::owner_write, stdfs::perm_options::remove);
  ASSERT_TRUE(Converged(true));
  EXPECT_EQ(ReadFile(dir_b_ / "objects/o0"), "object 0, rewritten");
  EXPECT_EQ(stdfs::status(dir_b_ / "objects/o0").permissions() & stdfs::perms::all,
            stdfs::perms::owner_read | stdfs::perms::group_read | stdfs::perms::others_read);
}

TEST_F(TwoDevices, ARenameMovesNoBytes) {
  Connect();
  std::string big = RandomBytes(4 << 20, 3);
  WriteFile(dir_a_ / "big.bin", big);
  ASSERT_TRUE(Converged());
  uint64_t before = b_.Json({"info", "s"})["received_bytes"];
  stdfs::rename(dir_a_ / "big.bin", dir_a_ / "moved.bin");
  ASSERT_TRUE(Converged());
  uint64_t after = b_.Json({"info", "s"})["received_bytes"];
  EXPECT_LT(after - before, 64u * 1024) << "the renamed file's blocks are copied locally";
}

TEST_F(TwoDevices, RenamesThatOnlyChangeCaseArriveAndLeaveNoFailure) {
  Connect();
  WriteFile(dir_a_ / "Notes" / "todo.txt", "milk");
  WriteFile(dir_a_ / "readme.txt", "hello");
  ASSERT_TRUE(Converged());
  // The new name can arrive before the old one's deletion: it waits for it.
  stdfs::rename(dir_a_ / "readme.txt", dir_a_ / "README.txt");
  stdfs::rename(dir_a_ / "Notes", dir_a_ / "notes");
  ASSERT_TRUE(Converged());
  EXPECT_TRUE(stdfs::exists(dir_b_ / "README.txt"));
  EXPECT_TRUE(stdfs::exists(dir_b_ / "notes" / "todo.txt"));
  EXPECT_TRUE(WaitUntil([&] { return b_.Json({"info", "s"})["failed"].empty(); }))
      << b_.Json({"info", "s"})["failed"].dump(1);
}

TEST_F(TwoDevices, ALargeFileSyncsInBoundedMemory) {
  Connect();
  {
    std::ofstream out(dir_a_ / "large.bin", std::ios::binary);
    for (int i = 0; i < 256; ++i) out << RandomBytes(1 << 20, 100 + i);
  }
  ASSERT_TRUE(WaitUntil([&] { return stdfs::exists(dir_b_ / "large.bin") && stdfs::file_size(dir_b_ / "large.bin") == (256u << 20); }, 180s));
  EXPECT_TRUE(Converged());
  if (!kSanitized) {
    EXPECT_LT(PeakRssKib(a_.pid()), 64u * 1024) << "sender RSS";
    EXPECT_LT(PeakRssKib(b_.pid()), 64u * 1024) << "receiver RSS";
  }
}

// Two shares between the same two devices share one connection. Each
// keeps up to 64 block requests in flight; together they must stay within
// what the sender answers at once, or it refuses some and the files stall
// behind a growing retry pause. The sender serves each block after a pause
// (a slow link), so every request the receiver makes is in flight at once.
TEST_F(TwoDevices, TwoSharesPullingAtOnceAreNeverRefused) {
  ServeSlowly();
  stdfs::path second_a = tmp_ / "a2", second_b = tmp_ / "b2";
  WriteFile(dir_a_ / "one.bin", RandomBytes(8 << 20, 31));
  WriteFile(second_a / "two.bin", RandomBytes(8 << 20, 32));
  ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
  ASSERT_EQ(a_.Run({"add", second_a.string(), "--name", "t"}).exit_code, 0);
  for (const auto& [name, dir] : {std::pair{"s", dir_b_}, std::pair{"t", second_b}}) {
    std::string token = a_.Run({"token", name}).out;
    token.pop_back();
    CommandResult imported = b_.Run({"import", token, dir.string(), "--name", name});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }
  // Both shares name the same peer: one connection carries both.
  ASSERT_EQ(a_.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
  ASSERT_EQ(a_.Run({"peer", "add", "t", b_.address()}).exit_code, 0);
  EXPECT_TRUE(Converged(false, 120s));
  EXPECT_TRUE(WaitUntil([&] { return SnapshotTree(second_a) == SnapshotTree(second_b); }, 120s)) << b_.Log();
  EXPECT_EQ(a_.Log().find("block request refused"), std::string::npos) << a_.Log();
}

TEST_F(TwoDevices, FiveThousandSmallFiles) {
  for (int i = 0; i < 5000; ++i) {
    WriteFile(dir_a_ / ("d" + std::to_string(i % 10)) / ("e" + std::to_string(i % 7)) / ("f" + std::to_string(i)),
              RandomBytes(1024 + i % 4096, i));
  }
  Connect();
  // Count first (cheap to poll), then compare every byte once.
  EXPECT_TRUE(WaitUntil([&] { return CountFiles(dir_b_) == 5000; }, 300s)) << CountFiles(dir_b_);
  EXPECT_TRUE(Converged(false, 60s));
}

TEST_F(TwoDevices, AReceiverKilledMidTransferResumesAndNeverShowsAPartialFile) {
  // A slow link, so that the kill lands mid-transfer: on loopback the whole
  // file takes a fifth of a second, less than this test needs to notice it
  // has started.
  ServeSlowly();
  Connect();
  std::string payload;
  for (int i = 0; i < 96; ++i) payload += RandomBytes(1 << 20, 500 + i);
  WriteFile(dir_a_ / "video.bin", payload);
  // Kill as soon as a part of the file has arrived in .tandem/tmp.
  ASSERT_TRUE(WaitUntil([&] { return PartFileArrived(8u << 20); }, 60s));
  b_.Kill();
  EXPECT_FALSE(stdfs::exists(dir_b_ / "video.bin")) << "a half-transferred file never appears under its name";
  ASSERT_TRUE(b_.Start());
  ASSERT_TRUE(Converged(false, 120s));
  uint64_t received_after_restart = b_.Json({"info", "s"})["received_bytes"];
  EXPECT_LT(received_after_restart, payload.size()) << "what had arrived is not fetched again";
}

TEST_F(TwoDevices, SigtermMidTransferStopsWithinSecondsAndTheRestartResumes) {
  Connect();
  // A limit keeps the transfer going long enough to stop it midway
  // (loopback is the local network: the limit must be told to hold there).
  ASSERT_EQ(b_.Run({"limits", "--download", "2M", "--lan", "yes"}).exit_code, 0);
  const std::string payload = RandomBytes(24 << 20, 700);
  WriteFile(dir_a_ / "video.bin", payload);
  ASSERT_TRUE(WaitUntil([&] { return PartFileArrived(4u << 20); }, 60s));
  const std::optional<int> status = b_.StopWithin(10s);
  ASSERT_TRUE(status.has_value()) << "the daemon did not stop within 10 s of SIGTERM\n" << b_.Log().substr(0, 20000);
  EXPECT_EQ(*status, 0);
  EXPECT_FALSE(stdfs::exists(dir_b_ / "video.bin")) << "a half-transferred file never appears under its name";
  EXPECT_EQ(IndexIntegrity(dir_b_), "ok");
  ASSERT_TRUE(b_.Start());
  ASSERT_EQ(b_.Run({"limits", "--download", "0"}).exit_code, 0);
  ASSERT_TRUE(Converged(false, 120s));
  EXPECT_LT(b_.Json({"info", "s"})["received_bytes"].get<uint64_t>(), payload.size())
      << "what had arrived is not fetched again";
  EXPECT_TRUE(PartFiles().empty());
}

// When b first knows it needs `path` (the pull starts at once).
std::chrono::steady_clock::time_point NeededAt(const DaemonProcess& b) {
  EXPECT_TRUE(WaitUntil([&] { return b.Json({"info", "s"})["need_files"].get<uint64_t>() > 0; }, 30s));
  return std::chrono::steady_clock::now();
}

TEST_F(TwoDevices, TenMiBUnderAOneMiBLimitTakeAboutTenSecondsAndRaisingTheLimitSpeedsThemUp) {
  Connect();
  // b's download limit, for the device: the first 10 MiB.
  CommandResult set = b_.Run({"limits", "--download", "1M", "--lan", "yes"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("download 1.0 MiB/s"), std::string::npos) << set.out;
  const std::string first = RandomBytes(10 << 20, 710);
  WriteFile(dir_a_ / "first.bin", first);
  auto began = NeededAt(b_);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(dir_b_ / "first.bin") == first; }, 60s)) << b_.Log().substr(0, 20000);
  const auto limited = std::chrono::steady_clock::now() - began;
  // A quarter second's bytes go at once, the rest at 1 MiB/s: 9.75 s at the least.
  EXPECT_GE(limited, 9s);
  EXPECT_LT(limited, 12s);

  // a's limit for the share's uploads, raised while the second file is on its way.
  ASSERT_EQ(b_.Run({"limits", "--download", "none"}).exit_code, 0);
  ASSERT_EQ(a_.Run({"limits", "--lan", "yes"}).exit_code, 0);
  set = a_.Run({"limits", "s", "--upload", "1M"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("Share s limits: upload 1.0 MiB/s"), std::string::npos) << set.out;
  const uint64_t before = b_.Json({"info", "s"})["received_bytes"];
  const std::string second = RandomBytes(10 << 20, 711);
  WriteFile(dir_a_ / "second.bin", second);
  began = NeededAt(b_);
  ASSERT_TRUE(WaitUntil([&] { return b_.Json({"info", "s"})["received_bytes"].get<uint64_t>() > before + (2u << 20); },
                        30s));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 1500ms) << "the share's upload limit holds";
  ASSERT_EQ(a_.Run({"limits", "s", "--upload", "64M"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(dir_b_ / "second.bin") == second; }, 60s));
  EXPECT_LT(std::chrono::steady_clock::now() - began, 7s) << "the raised limit sped up blocks already waiting";
  // Rates and limits are shown.
  const json device = a_.Json({"limits"});
  EXPECT_EQ(device["limits"]["lan"], true);
  EXPECT_EQ(a_.Json({"info", "s"})["upload_limit"], 64u << 20);
}

TEST_F(TwoDevices, ALimitTooLowOrWrittenBadlyIsRefusedAndNothingChanges) {
  Connect();
  CommandResult low = b_.Run({"limits", "--upload", "1K"});
  EXPECT_EQ(low.exit_code, 1);
  EXPECT_NE(low.err.find("at least 32768"), std::string::npos) << low.err;
  for (const std::string rate : {"fast", ".", "5X", "1.2.3M"}) {
    CommandResult bad = b_.Run({"limits", "--upload", rate});
    EXPECT_EQ(bad.exit_code, 2) << rate;
    EXPECT_NE(bad.err.find("bad rate '" + rate + "'"), std::string::npos) << bad.err;
  }
  CommandResult lan_for_share = b_.Run({"limits", "s", "--lan", "yes"});
  EXPECT_EQ(lan_for_share.exit_code, 2);
  const json rpc = CallRpc(b_, "share_set_limits", {{"share", "s"}, {"download", -5}});
  EXPECT_NE(rpc["error"]["message"].get<std::string>().find("must be 0 or more"), std::string::npos) << rpc.dump();
  const json device = b_.Json({"device"});
  EXPECT_EQ(device["limits"], (json{{"upload", 0}, {"download", 0}, {"lan", false}}));
  EXPECT_EQ(b_.Json({"info", "s"})["download_limit"], 0u);
  EXPECT_TRUE(Converged());
}

// A download cut short keeps its part file for a resume. Once the version
// it was for can never complete (by the time the receiver is back the
// sender has a newer one, or has deleted the file), or its path needs
// nothing at all, the part file is removed instead of taking space forever.
class PartFilesAfterAKill : public TwoDevices, public ::testing::WithParamInterface<bool> {};

TEST_P(PartFilesAfterAKill, OnlyThoseOfVersionsStillWantedRemain) {
  const bool replaced = GetParam();
  ServeSlowly();
  Connect();
  WriteFile(dir_a_ / "video.bin", RandomBytes(24 << 20, 600));
  ASSERT_TRUE(WaitUntil([&] { return PartFileArrived(4u << 20); }, 60s));
  b_.Kill();
  const std::string newer = RandomBytes(24 << 20, 601);
  if (replaced) {
    WriteFile(dir_a_ / "video.bin", newer);
  } else {
    stdfs::remove(dir_a_ / "video.bin");
  }
  // As if left by a version of a path the share no longer has.
  WriteFile(dir_b_ / ".tandem/tmp/0123456789abcdef-0123456789abcdef.part", "left over");
  ASSERT_TRUE(b_.Start());
  if (replaced) {
    ASSERT_TRUE(WaitUntil([&] {
      std::error_code ec;
      return stdfs::file_size(dir_b_ / "video.bin", ec) == newer.size() && ReadFile(dir_b_ / "video.bin") == newer;
    }, 120s)) << b_.Log().substr(0, 20000);
  } else {
    ASSERT_TRUE(WaitUntil([&] { return b_.Json({"info", "s"})["need_files"] == 0; }, 60s)) << b_.Log().substr(0, 20000);
    EXPECT_FALSE(stdfs::exists(dir_b_ / "video.bin"));
  }
  EXPECT_TRUE(WaitUntil([&] { return PartFiles().empty(); })) << ::testing::PrintToString(PartFiles());
}

INSTANTIATE_TEST_SUITE_P(TheFile, PartFilesAfterAKill, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "IsReplaced" : "IsDeleted";
                         });

TEST_F(TwoDevices, PausingAShareStopsItsTrafficAndResumingCatchesUp) {
  Connect();
  ASSERT_EQ(b_.Run({"pause", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] {
    return b_.Json({"info", "s"})["connected_devices"].empty() && a_.Json({"info", "s"})["connected_devices"].empty();
  })) << "a paused share is detached from every peer";
  WriteFile(dir_a_ / "while-paused.txt", "written while b paused");
  ASSERT_TRUE(WaitUntil([&] { return a_.Json({"info", "s"})["index"]["files"] == 1; }));
  EXPECT_FALSE(stdfs::exists(dir_b_ / "while-paused.txt")) << "no share is attached, so nothing can arrive";
  WriteFile(dir_b_ / "local-while-paused.txt", "b still scans");
  EXPECT_TRUE(WaitUntil([&] { return b_.Json({"info", "s"})["index"]["files"] == 1; }))
      << "local scanning goes on while paused";
  ASSERT_EQ(b_.Run({"resume", "s"}).exit_code, 0);
  EXPECT_TRUE(Converged());
}

// The short id (version vector key) is the first 64 bits of the device id.
uint64_t ShortIdOf(const std::string& device_id) {
  uint64_t value = 0;
  int bits = 0;
  for (char c : device_id) {
    if (c == '-') continue;
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c - '2' + 26;
    int take = std::min(5, 64 - bits);
    value = (value << take) | static_cast<uint64_t>(v >> (5 - take));
    bits += take;
    if (bits == 64) break;
  }
  return value;
}

// Regression: a symlink to outside the share that wins the name over a
// folder on another device must not let that folder's files be written
// through it. The symlink is made on the device whose version wins the tie.
TEST_F(TwoDevices, NothingIsWrittenThroughASymlinkedFolder) {
  Connect();
  bool b_wins = ShortIdOf(b_.device_id()) > ShortIdOf(a_.device_id());
  DaemonProcess& linker = b_wins ? b_ : a_;
  DaemonProcess& writer = b_wins ? a_ : b_;
  stdfs::path link_dir = b_wins ? dir_b_ : dir_a_;
  stdfs::path write_dir = b_wins ? dir_a_ : dir_b_;
  ASSERT_EQ(linker.Run({"pause", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return writer.Json({"info", "s"})["connected_devices"].empty(); }));
  stdfs::path outside = tmp_ / "outside";
  stdfs::create_directories(outside);
  stdfs::create_directory_symlink(outside, link_dir / "dir");
  ASSERT_TRUE(WaitUntil([&] { return linker.Json({"info", "s"})["index"]["symlinks"] == 1; }));
  WriteFile(write_dir / "dir/x", "must stay inside the share");
  ASSERT_TRUE(WaitUntil([&] { return writer.Json({"info", "s"})["index"]["files"] == 1; }));
  ASSERT_EQ(linker.Run({"resume", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); }));
  WriteFile(write_dir / "marker", "sync is done once this arrives");
  EXPECT_TRUE(WaitUntil([&] { return stdfs::exists(link_dir / "marker"); }));
  EXPECT_TRUE(WaitUntil([&] { return linker.Json({"info", "s"})["need_files"] <= 1; }));
  EXPECT_FALSE(stdfs::exists(outside / "x")) << "a file was written outside the share";
  EXPECT_TRUE(stdfs::is_empty(outside));
  // A folder keeps its name over a symlink; the link is kept as a conflict copy.
  EXPECT_TRUE(WaitUntil([&] { return stdfs::is_directory(stdfs::symlink_status(link_dir / "dir")); }));
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(link_dir / "dir/x") == "must stay inside the share"; }));
  bool link_kept = false;
  for (auto& entry : stdfs::directory_iterator(link_dir)) {
    link_kept |= entry.is_symlink() && entry.path().filename().string().starts_with("dir.sync-conflict-");
  }
  EXPECT_TRUE(link_kept);
  EXPECT_TRUE(stdfs::is_empty(outside));
}

TEST_F(TwoDevices, ChangesMadeWhileADaemonWasDownArePickedUpAtStart) {
  Connect();
  WriteFile(dir_a_ / "before.txt", "one");
  ASSERT_TRUE(Converged());
  a_.Stop();
  WriteFile(dir_a_ / "before.txt", "changed while the daemon was down");
  WriteFile(dir_a_ / "new.txt", "also new");
  ASSERT_TRUE(a_.Start());
  EXPECT_TRUE(Converged());
}

TEST_F(TwoDevices, APeerThatIsDownAtFirstIsReachedLater) {
  b_.Stop();
  ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
  WriteFile(dir_a_ / "waiting.txt", "for b");
  ASSERT_EQ(a_.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
  std::string token = a_.Run({"token", "s"}).out;
  token.pop_back();
  ASSERT_TRUE(WaitUntil([&] {
    return a_.Json({"peer", "list", "s"})[0]["state"].get<std::string>().find("retrying") != std::string::npos;
  }));
  ASSERT_TRUE(b_.Start());
  ASSERT_EQ(b_.Run({"import", token, dir_b_.string()}).exit_code, 0);
  EXPECT_TRUE(Converged(false, 60s));
}

asio::awaitable<void> DialQuic(asio::ip::udp::endpoint to, std::optional<Result<std::shared_ptr<net::Connection>>>* out) {
  auto credentials = net::QuicCredentials::Create(crypto::DeviceKey::Generate());
  if (!credentials) {
    *out = credentials.error();
    co_return;
  }
  *out = co_await net::QuicConnection::Dial(co_await asio::this_coro::executor, to, *credentials);
}

asio::awaitable<void> ReceiveUntilEnd(std::shared_ptr<net::Connection> connection, bool* ended) {
  while (co_await connection->Receive()) {
  }
  *ended = true;
}

// Over QUIC: datagrams that are not QUIC, then a client with a valid device
// certificate that sends bytes that are not frames.
void SendQuicGarbage(uint16_t port) {
  asio::io_context io;
  const asio::ip::udp::endpoint daemon(asio::ip::make_address("127.0.0.1"), port);
  asio::ip::udp::socket plain(io, asio::ip::udp::v4());
  for (size_t size : {1, 40, 1200, 1500}) plain.send_to(asio::buffer(RandomBytes(size, size)), daemon);
  std::optional<Result<std::shared_ptr<net::Connection>>> dialled;
  asio::co_spawn(io, DialQuic(daemon, &dialled), [](std::exception_ptr) {});
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!dialled && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  ASSERT_TRUE(dialled && *dialled) << (dialled ? dialled->error().message : "no answer");
  auto connection = std::static_pointer_cast<net::QuicConnection>(**dialled);
  connection->Start();
  const std::string frame = std::string("\x00\x00\x00\x10", 4) + RandomBytes(16, 10);
  connection->SendBytes(AsBytes(frame));
  bool ended = false;
  asio::co_spawn(io, ReceiveUntilEnd(connection, &ended), [](std::exception_ptr) {});
  while (!ended && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  EXPECT_TRUE(ended) << "the daemon closes a connection that sends garbage frames";
}

TEST_F(TwoDevices, GarbageFromStrangersIsDroppedAndSyncGoesOn) {
  Connect();
  if (PeerTransport() == "quic") {
    SendQuicGarbage(a_.port());
    WriteFile(dir_a_ / "after.txt", "still syncing");
    EXPECT_TRUE(Converged());
    EXPECT_TRUE(a_.Running());
    return;
  }
  asio::io_context io;
  {
    // A plain TCP client that does not speak TLS.
    asio::ip::tcp::socket plain(io);
    plain.connect({asio::ip::make_address("127.0.0.1"), a_.port()});
    std::string junk = RandomBytes(4096, 9);
    std::error_code ec;
    asio::write(plain, asio::buffer(junk), ec);
    char c;
    plain.read_some(asio::buffer(&c, 1), ec);
    EXPECT_TRUE(ec) << "the daemon hangs up on a client that is not TLS";
  }
  {
    // A TLS client with a valid device certificate that sends garbage frames.
    auto ctx = net::MakeTlsContext(crypto::DeviceKey::Generate());
    ASSERT_TRUE(ctx);
    asio::ssl::stream<asio::ip::tcp::socket> tls(io, **ctx);
    tls.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), a_.port()});
    tls.handshake(asio::ssl::stream_base::client);
    std::string frame = std::string("\x00\x00\x00\x10", 4) + RandomBytes(16, 10);
    std::error_code ec;
    asio::write(tls, asio::buffer(frame), ec);
    char buffer[4096];
    for (int i = 0; i < 100 && !ec; ++i) tls.read_some(asio::buffer(buffer), ec);
    EXPECT_TRUE(ec) << "the daemon closes a connection that sends garbage frames";
  }
  WriteFile(dir_a_ / "after.txt", "still syncing");
  EXPECT_TRUE(Converged());
  EXPECT_TRUE(a_.Running());
}

TEST_F(TwoDevices, GivenBothTransportsOneConnectionStaysAndItIsQuic) {
  Connect();
  // a also knows b's address on the other transport.
  ASSERT_EQ(a_.Run({"peer", "add", "s", b_.address(PeerTransport() == "quic" ? "tcp" : "quic")}).exit_code, 0);
  auto one_over_quic = [&](const DaemonProcess& d) {
    json attached = d.Json({"info", "s"})["attached_peers"];
    return attached.size() == 1 && attached[0]["address"].get<std::string>().rfind("quic/", 0) == 0;
  };
  ASSERT_TRUE(WaitUntil([&] { return one_over_quic(a_) && one_over_quic(b_); })) << a_.Log() << b_.Log();
  WriteFile(dir_a_ / "after.txt", "over QUIC");
  EXPECT_TRUE(Converged());
  EXPECT_TRUE(one_over_quic(a_) && one_over_quic(b_));
}

TEST_F(TwoDevices, ADeviceThatCannotProveTheShareIsConnectedButNeverAttached) {
  Connect();
  WriteFile(dir_a_ / "private.txt", "for a and b");
  ASSERT_TRUE(Converged());
  // c has a share of the same name, but not this one: it dials b.
  TempDir tmp;
  DaemonProcess c(tmp / "config-c");
  ASSERT_TRUE(c.Start());
  stdfs::create_directories(tmp / "c");
  ASSERT_EQ(c.Run({"add", (tmp / "c").string(), "--name", "s"}).exit_code, 0);
  ASSERT_EQ(c.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
  const std::string b_id = b_.device_id();
  ASSERT_TRUE(WaitUntil([&] {
    return c.Json({"peer", "list", "s"})[0]["state"].get<std::string>().find("connected (" + b_id) != std::string::npos;
  })) << c.Log();
  // Connected, over the transport asked for, and no share in common.
  EXPECT_NE(c.Log().find("connected to " + b_.address()), std::string::npos) << c.Log();
  WriteFile(dir_a_ / "later.txt", "still only for a and b");
  ASSERT_TRUE(Converged());
  EXPECT_TRUE(c.Json({"info", "s"})["attached_peers"].empty());
  json attached = b_.Json({"info", "s"})["attached_peers"];
  ASSERT_EQ(attached.size(), 1u);
  EXPECT_EQ(attached[0]["device_id"], a_.device_id());
  EXPECT_EQ(CountFiles(tmp / "c"), 0u) << "nothing of b's share reached c";
}

TEST(ThreeDevices, ChangesTravelAlongAChain) {
  TempDir tmp;
  DaemonProcess a(tmp / "ca"), b(tmp / "cb"), c(tmp / "cc");
  ASSERT_TRUE(a.Start() && b.Start() && c.Start());
  stdfs::create_directories(tmp / "a");
  ASSERT_EQ(a.Run({"add", (tmp / "a").string(), "--name", "s"}).exit_code, 0);
  std::string token = a.Run({"token", "s"}).out;
  token.pop_back();
  ASSERT_EQ(b.Run({"import", token, (tmp / "b").string()}).exit_code, 0);
  ASSERT_EQ(c.Run({"import", token, (tmp / "c").string()}).exit_code, 0);
  // a <-> b <-> c: a and c never meet.
  ASSERT_EQ(a.Run({"peer", "add", "s", b.address()}).exit_code, 0);
  ASSERT_EQ(c.Run({"peer", "add", "s", b.address()}).exit_code, 0);
  WriteFile(tmp / "a/from-a.txt", "a");
  WriteFile(tmp / "c/from-c.txt", "c");
  auto same = [&] {
    auto sa = SnapshotTree(tmp / "a");
    return sa.size() == 2 && sa == SnapshotTree(tmp / "b") && sa == SnapshotTree(tmp / "c");
  };
  EXPECT_TRUE(WaitUntil(same, 30s)) << a.Log() << b.Log() << c.Log();
}

}  // namespace
}  // namespace tandem::testing
