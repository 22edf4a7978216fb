// What a daemon tells as it works (events_poll, `tandem watch`, status),
// seen from outside by real daemons syncing real files on loopback.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// Every event `daemon` keeps after `since`, of every type.
std::vector<json> EventsSince(const DaemonProcess& daemon, uint64_t since = 0) {
  std::vector<json> all;
  while (true) {
    json page = CallRpc(daemon, "events_poll", {{"since", since}, {"timeout_ms", 0}});
    EXPECT_TRUE(page.contains("result")) << page.dump();
    if (!page.contains("result") || page["result"]["events"].empty()) return all;
    for (const json& event : page["result"]["events"]) all.push_back(event);
    since = page["result"]["last_id"].get<uint64_t>();
  }
}

std::vector<json> OfType(const std::vector<json>& events, const std::string& type) {
  std::vector<json> out;
  for (const json& e : events) {
    if (e["type"] == type) out.push_back(e);
  }
  return out;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-12-05T16:04:23.123Z" in ms since the epoch.
int64_t ParseTime(const std::string& text) {
  std::tm tm{};
  strptime(text.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  return static_cast<int64_t>(timegm(&tm)) * 1000 + std::stoi(text.substr(20, 3));
}

std::string ErrorOf(const json& response) {
  return response.contains("error") ? response["error"].value("message", "") : "";
}

// The first `count` lines `tandem watch --json ARGS` prints (fewer if it
// stops, or prints nothing for 20 s), each parsed; the watch is then ended.
std::vector<json> WatchJson(const DaemonProcess& daemon, std::vector<std::string> args, size_t count) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  std::vector<std::string> argv = {TandemBinary().string(), "--config-dir", daemon.config_dir().string(), "watch",
                                   "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    std::vector<char*> c_args;
    for (auto& a : argv) c_args.push_back(a.data());
    c_args.push_back(nullptr);
    ::execv(c_args[0], c_args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::vector<json> lines;
  std::string buffer;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (lines.size() < count && std::chrono::steady_clock::now() < deadline) {
    pollfd ready{out[0], POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::read(out[0], chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    for (size_t end; lines.size() < count && (end = buffer.find('\n')) != std::string::npos;) {
      lines.push_back(json::parse(buffer.substr(0, end), nullptr, false));
      buffer.erase(0, end + 1);
    }
  }
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(out[0]);
  return lines;
}

class Events : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(dir_a_);
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
  }

  json Info(const DaemonProcess& daemon) const { return daemon.Json({"info", "s"}); }

  // B has the whole share, as A sees it, and says so.
  bool InSync(size_t files) const {
    json info = Info(b_);
    return info["state"] == "idle" && info["need_files"] == 0 && info["index"]["files"] == files &&
           info["completion"] == 100.0;
  }

  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
};

TEST_F(Events, ATransferIsToldInOrderWithProgressThatOnlyGrows) {
  constexpr size_t kBig = 64 << 20;
  constexpr int kSmall = 500;
  WriteFile(dir_a_ / "big.bin", RandomBytes(kBig, 18));
  for (int i = 0; i < kSmall; ++i) WriteFile(dir_a_ / "small" / ("f" + std::to_string(i) + ".txt"), "file " + std::to_string(i));
  ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b_), "");
  ASSERT_TRUE(WaitUntil([&] { return InSync(kSmall + 1); }, 120s)) << Info(b_).dump(1) << b_.Log();
  EXPECT_EQ(ReadFile(dir_b_ / "big.bin").size(), kBig);

  const std::vector<json> events = EventsSince(b_);
  ASSERT_FALSE(events.empty());
  // In id order, none missing (the ring held them all).
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_EQ(events[i]["id"].get<uint64_t>(), events[i - 1]["id"].get<uint64_t>() + 1) << events[i].dump();
  }
  // Every file was started, then finished without error, once it arrived.
  std::map<std::string, std::vector<std::string>> items;  // path: what was told, in order
  for (const json& e : events) {
    if (e["type"] == "item_started" || e["type"] == "item_finished") {
      std::string told = e["type"].get<std::string>() + (e["data"].contains("error") ? " error " + e["data"]["error"].get<std::string>() : "");
      items[e["data"]["path"]].push_back(told);
    }
  }
  std::vector<std::string> paths = {"big.bin"};
  for (int i = 0; i < kSmall; ++i) paths.push_back("small/f" + std::to_string(i) + ".txt");
  for (const std::string& path : paths) {
    ASSERT_TRUE(items.count(path)) << path << " was never started";
    const auto& told = items[path];
    ASSERT_GE(told.size(), 2u) << path;
    EXPECT_EQ(told.front(), "item_started") << path;
    EXPECT_EQ(told.back(), "item_finished") << path << ": " << ::testing::PrintToString(told);
  }
  // Each was a change from A, named as such.
  std::set<std::string> from_a;
  for (const json& e : OfType(events, "remote_change_detected")) {
    EXPECT_EQ(e["data"]["device"], a_.device_id());
    EXPECT_EQ(e["data"]["kind"], "added");
    from_a.insert(e["data"]["path"]);
  }
  for (const std::string& path : paths) EXPECT_TRUE(from_a.count(path)) << path;
  // The large file's progress only grows, and ends at its size.
  std::vector<uint64_t> done;
  for (const json& e : OfType(events, "download_progress")) {
    for (const json& f : e["data"]["files"]) {
      if (f["path"] == "big.bin") {
        EXPECT_EQ(f["bytes_total"], kBig);
        done.push_back(f["bytes_done"].get<uint64_t>());
      }
    }
  }
  ASSERT_FALSE(done.empty()) << "no download_progress for big.bin";
  for (size_t i = 1; i < done.size(); ++i) EXPECT_GE(done[i], done[i - 1]) << "progress went back at " << i;
  EXPECT_EQ(done.back(), kBig);
  // The share went from syncing to idle, and stays there.
  std::vector<std::string> states;
  for (const json& e : OfType(events, "share_state_changed")) states.push_back(e["data"]["state"]);
  ASSERT_FALSE(states.empty());
  auto syncing = std::find(states.begin(), states.end(), "syncing");
  EXPECT_NE(syncing, states.end()) << ::testing::PrintToString(states);
  EXPECT_EQ(states.back(), "idle") << ::testing::PrintToString(states);
  // A saw B connect.
  bool connected = false;
  for (const json& e : OfType(EventsSince(a_), "peer_connected")) connected |= e["data"]["device"] == b_.device_id();
  EXPECT_TRUE(connected);
  // And B's status names A, with everything of A's index received.
  json peers = Info(b_)["attached_peers"];
  ASSERT_EQ(peers.size(), 1u) << peers.dump();
  EXPECT_EQ(peers[0]["device_id"], a_.device_id());
  EXPECT_EQ(peers[0]["index_received"], true);
  EXPECT_GT(Info(b_)["last_in_sync"].get<int64_t>(), 0);
}

TEST_F(Events, ALongPollWakesWithin50MsOfAnEventAndOneWithNothingReturnsAtItsTimeout) {
  ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["last_scan"]["time"] > 0 && Info(a_)["state"] == "waiting for peers"; }));
  uint64_t last = a_.Json({"device"})["last_event_id"].get<uint64_t>();

  // Nothing happens: the poll returns empty at its timeout, with the same id.
  auto start = std::chrono::steady_clock::now();
  json quiet = CallRpc(a_, "events_poll", {{"since", last}, {"timeout_ms", 300}, {"types", {"item_failed"}}});
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(quiet.contains("result")) << quiet.dump();
  EXPECT_TRUE(quiet["result"]["events"].empty());
  EXPECT_GE(waited, 300ms);
  EXPECT_LT(waited, 10s);

  // A poll waiting with a long timeout is woken by the next event.
  last = a_.Json({"device"})["last_event_id"].get<uint64_t>();
  json woken;
  int64_t received_ms = 0;
  std::thread poller([&] {
    woken = CallRpc(a_, "events_poll", {{"since", last}, {"timeout_ms", 20000}, {"types", {"share_state_changed"}}});
    received_ms = NowMs();
  });
  ASSERT_EQ(a_.Run({"pause", "s"}).exit_code, 0);  // share_state_changed: paused
  poller.join();
  ASSERT_TRUE(woken.contains("result")) << woken.dump();
  ASSERT_FALSE(woken["result"]["events"].empty());
  const json& event = woken["result"]["events"][0];
  EXPECT_EQ(event["data"]["state"], "paused");
  EXPECT_LE(received_ms - ParseTime(event["time"]), 50) << "woken " << received_ms - ParseTime(event["time"])
                                                         << " ms after the event";
}

TEST_F(Events, AReaderBehindTheRingIsToldWhatItMissedAndGetsTheRest) {
  DaemonProcess small{tmp_ / "config-small", {"--events-kept", "100"}};
  ASSERT_TRUE(small.Start());
  for (int i = 0; i < 300; ++i) WriteFile(dir_a_ / ("f" + std::to_string(i)), "x");
  ASSERT_EQ(small.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return small.Json({"device"})["last_event_id"].get<uint64_t>() > 300; }))
      << small.Json({"device"}).dump();
  const uint64_t newest = small.Json({"device"})["last_event_id"].get<uint64_t>();

  json page = CallRpc(small, "events_poll", {{"since", 1}, {"timeout_ms", 0}});
  ASSERT_TRUE(page.contains("result")) << page.dump();
  const json& result = page["result"];
  ASSERT_EQ(result["events"].size(), 100u) << "the ring keeps 100";
  const uint64_t oldest = result["events"][0]["id"].get<uint64_t>();
  EXPECT_EQ(result["missed"].get<uint64_t>(), oldest - 2) << "ids 2.." << oldest - 1 << " are gone";
  EXPECT_GE(result["last_id"].get<uint64_t>(), newest);
  // A reader that kept up misses nothing.
  json up_to_date = CallRpc(small, "events_poll", {{"since", result["last_id"]}, {"timeout_ms", 0}});
  EXPECT_EQ(up_to_date["result"]["missed"], 0);
  // `tandem watch --json` says so too, as a line of its own, then the events.
  std::vector<json> lines = WatchJson(small, {"--since", "1"}, 101);
  ASSERT_EQ(lines.size(), 101u);
  EXPECT_EQ(lines[0]["type"], "gap");
  EXPECT_EQ(lines[0]["missed"], oldest - 2);
  EXPECT_EQ(lines[1]["id"], oldest);
}

TEST_F(Events, AddAndImportWithWaitReturnOnceIndexedAndInSync) {
  const std::string big = RandomBytes(8 << 20, 5);
  WriteFile(dir_a_ / "doc.txt", "hello");
  WriteFile(dir_a_ / "big.bin", big);
  CommandResult added = a_.Run({"add", dir_a_.string(), "--name", "s", "--wait"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_NE(added.out.find("Indexed: 2 files"), std::string::npos) << added.out;
  EXPECT_NE(added.out.find("no peer yet"), std::string::npos) << added.out;
  EXPECT_EQ(Info(a_)["index"]["files"], 2) << "indexed when --wait returned";

  std::string token = a_.Run({"token", "s"}).out;
  token.pop_back();
  CommandResult imported = b_.Run({"import", token, dir_b_.string(), "--peer", a_.address(), "--wait"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err << b_.Log();
  EXPECT_NE(imported.out.find("In sync: 2 files"), std::string::npos) << imported.out;
  // In sync when it returned: the files are there, whole.
  EXPECT_EQ(ReadFile(dir_b_ / "doc.txt"), "hello");
  EXPECT_EQ(ReadFile(dir_b_ / "big.bin"), big);
  json info = Info(b_);
  EXPECT_EQ(info["completion"], 100.0);
  EXPECT_EQ(info["peers"][0], a_.address());
  json peers = b_.Json({"peer", "list", "s"});
  ASSERT_EQ(peers.size(), 1u) << peers.dump();
  EXPECT_EQ(peers[0]["connected"], true);
  EXPECT_EQ(peers[0]["device_id"], a_.device_id());
  EXPECT_EQ(peers[0]["share"]["index_received"], true);
}

TEST_F(Events, BeforeAnyPeerAShareIsWaitingForPeersNeverComplete) {
  WriteFile(dir_a_ / "doc.txt", "hello");
  ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["index"]["files"] == 1 && Info(a_)["state"] != "scanning"; }));
  json info = Info(a_);
  EXPECT_EQ(info["state"], "waiting for peers") << info.dump(1);
  EXPECT_NE(info["state_reason"].get<std::string>().find("no peer has connected yet"), std::string::npos);
  EXPECT_TRUE(info["completion"].is_null()) << "nobody knows the share's version yet: " << info["completion"];
  CommandResult status = a_.Run({"status"});
  EXPECT_NE(status.out.find("waiting for peers"), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("100"), std::string::npos) << status.out;
  // The first state told is this one, with why.
  bool told = false;
  for (const json& e : OfType(EventsSince(a_), "share_state_changed")) told |= e["data"]["state"] == "waiting for peers";
  EXPECT_TRUE(told);
}

TEST_F(Events, APeerThatGoesAwayIsToldWithWhyAndTheShareWaitsForPeersAgain) {
  WriteFile(dir_a_ / "doc.txt", "hello");
  ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b_), "");
  ASSERT_TRUE(WaitUntil([&] { return InSync(1); })) << Info(b_).dump(1);
  const uint64_t since = b_.Json({"device"})["last_event_id"].get<uint64_t>();
  const std::string a_id = a_.device_id();
  ASSERT_EQ(a_.Stop(), 0);

  std::vector<json> gone;
  ASSERT_TRUE(WaitUntil([&] {
    gone = OfType(EventsSince(b_, since), "peer_disconnected");
    return !gone.empty();
  })) << b_.Log();
  EXPECT_EQ(gone[0]["data"]["device"], a_id);
  EXPECT_FALSE(gone[0]["data"]["reason"].get<std::string>().empty());
  ASSERT_TRUE(WaitUntil([&] { return Info(b_)["state"] == "waiting for peers"; })) << Info(b_).dump(1);
  json info = Info(b_);
  EXPECT_EQ(info["state_reason"], "no peer is connected");
  EXPECT_EQ(info["completion"], 100.0) << "what it had of the share's version is still known";
  EXPECT_GT(info["last_in_sync"].get<int64_t>(), 0);
  EXPECT_TRUE(info["attached_peers"].empty());
}

TEST_F(Events, BadPollsAreRefusedWithWhyAndChangeNothing) {
  ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["state"] == "waiting for peers"; }));
  const uint64_t last = a_.Json({"device"})["last_event_id"].get<uint64_t>();

  EXPECT_NE(ErrorOf(CallRpc(a_, "events_poll", {{"since", 0}, {"types", {"item_finished", "file_teleported"}}}))
                .find("unknown event type 'file_teleported'; the types are share_state_changed, "),
            std::string::npos);
  EXPECT_NE(ErrorOf(CallRpc(a_, "events_poll", {{"since", 0}, {"timeout_ms", -5}})).find("'timeout_ms' must be 0 or more"),
            std::string::npos);
  EXPECT_NE(ErrorOf(CallRpc(a_, "events_poll", {{"since", -1}})).find("'since' must be 0 or more"), std::string::npos);
  const std::string future = ErrorOf(CallRpc(a_, "events_poll", {{"since", last + 1000}, {"timeout_ms", 0}}));
  EXPECT_NE(future.find("is after the newest event"), std::string::npos) << future;
  EXPECT_NE(future.find("start again from 0"), std::string::npos) << future;
  EXPECT_NE(ErrorOf(CallRpc(a_, "events_poll", {{"timeout_ms", 0}})).find("missing parameter 'since'"), std::string::npos);
  EXPECT_NE(ErrorOf(CallRpc(a_, "events_poll", {{"since", 0}, {"share", "nope"}})).find("no share 'nope'"),
            std::string::npos);
  EXPECT_NE(ErrorOf(CallRpc(a_, "events_poll", {{"since", 0}, {"limit", 0}})).find("limit must be from 1 to"),
            std::string::npos);
  EXPECT_NE(ErrorOf(CallRpc(a_, "events_poll", {{"since", 0}, {"types", "item_started"}})).find("must be a list of strings"),
            std::string::npos);
  // The CLI's own: an unknown share to watch, a ring too small to keep.
  CommandResult watch = a_.Run({"watch", "nope"});
  EXPECT_EQ(watch.exit_code, 1);
  EXPECT_NE(watch.err.find("no share 'nope'"), std::string::npos) << watch.err;
  CommandResult tiny = RunTandem(tmp_ / "config-tiny", {"daemon", "--gui", "off", "--events-kept", "5"});
  EXPECT_EQ(tiny.exit_code, 2);
  EXPECT_NE(tiny.err.find("--events-kept"), std::string::npos) << tiny.err;
  EXPECT_FALSE(stdfs::exists(tmp_ / "config-tiny")) << "a refused daemon makes nothing";
  // Nothing was told, or changed, by any of them.
  EXPECT_EQ(a_.Json({"device"})["last_event_id"].get<uint64_t>(), last);
  EXPECT_EQ(Info(a_)["state"], "waiting for peers");
}

TEST_F(Events, AFileTheDaemonCannotWriteIsAFailedItemWhileTheRestSyncs) {
  stdfs::create_directories(dir_a_ / "locked");
  ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b_), "");
  ASSERT_TRUE(WaitUntil([&] { return stdfs::is_directory(dir_b_ / "locked") && Info(b_)["state"] == "idle"; }))
      << Info(b_).dump(1);
  // Immutable: not even root may add a file to it (permissions alone
  // would not stop a daemon running as root).
  if (std::system(("chattr +i " + (dir_b_ / "locked").string() + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "this filesystem does not support chattr +i";
  }
  struct Unlock {
    stdfs::path dir;
    ~Unlock() { (void)std::system(("chattr -i " + dir.string()).c_str()); }
  } unlock{dir_b_ / "locked"};
  const uint64_t since = b_.Json({"device"})["last_event_id"].get<uint64_t>();

  WriteFile(dir_a_ / "locked/secret.txt", "cannot land");
  WriteFile(dir_a_ / "free/open.txt", "lands");
  ASSERT_TRUE(WaitUntil([&] { return stdfs::exists(dir_b_ / "free/open.txt"); })) << b_.Log();
  EXPECT_EQ(ReadFile(dir_b_ / "free/open.txt"), "lands");

  json failed;
  ASSERT_TRUE(WaitUntil([&] {
    failed = Info(b_)["failed"];
    return failed.size() == 1;
  })) << failed.dump(1) << b_.Log();
  EXPECT_EQ(failed[0]["path"], "locked/secret.txt");
  const std::string reason = failed[0]["reason"];
  EXPECT_NE(reason.find("permission denied"), std::string::npos) << reason;
  EXPECT_FALSE(stdfs::exists(dir_b_ / "locked/secret.txt"));
  // Told as an event, once, with the same reason.
  std::vector<json> told;
  ASSERT_TRUE(WaitUntil([&] {
    told = OfType(EventsSince(b_, since), "item_failed");
    return !told.empty();
  }));
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0]["data"]["path"], "locked/secret.txt");
  EXPECT_EQ(told[0]["data"]["reason"], reason);
  // The status line says something failed.
  CommandResult status = b_.Run({"status"});
  EXPECT_NE(status.out.find("1 failed"), std::string::npos) << status.out;
  EXPECT_NE(Info(b_)["completion"].get<double>(), 100.0);
}

}  // namespace
}  // namespace tandem::testing
