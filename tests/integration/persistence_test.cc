// Shares, peers, modes and secrets survive restarts and SIGKILL at any moment.
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

// What the user configured, without run-time state.
json Configured(const DaemonProcess& d) {
  json out = json::array();
  for (json share : d.Json({"list"})) {
    out.push_back({share["id"], share["name"], share["path"], share["mode"], share["enabled"], share["peers"]});
  }
  return out;
}

TEST(Persistence, RestartKeepsSharesPeersModesAndSecrets) {
  TempDir tmp;
  WriteFile(tmp / "a/file", "x");
  DaemonProcess origin(tmp / "origin");
  ASSERT_TRUE(origin.Start());
  ASSERT_EQ(origin.Run({"add", (tmp / "a").string()}).exit_code, 0);
  std::string read_token = origin.Run({"token", "a", "--mode", "read"}).out;
  read_token.pop_back();

  DaemonProcess daemon(tmp / "config");
  ASSERT_TRUE(daemon.Start());
  std::string device = daemon.Json({"device"})["device_id"];
  ASSERT_EQ(daemon.Run({"import", read_token, (tmp / "a-copy").string()}).exit_code, 0);
  WriteFile(tmp / "b/file", "y");
  ASSERT_EQ(daemon.Run({"add", (tmp / "b").string(), "--name", "bee"}).exit_code, 0);
  ASSERT_EQ(daemon.Run({"peer", "add", "bee", "tcp/127.0.0.1:20500"}).exit_code, 0);
  ASSERT_EQ(daemon.Run({"peer", "add", "a", "tcp/[::1]:20501"}).exit_code, 0);
  ASSERT_EQ(daemon.Run({"pause", "bee"}).exit_code, 0);
  json before = Configured(daemon);
  std::string write_token = daemon.Run({"token", "bee"}).out;
  std::string blind_token = daemon.Run({"token", "a", "--mode", "blind"}).out;

  EXPECT_EQ(daemon.Stop(), 0);
  ASSERT_TRUE(daemon.Start());
  EXPECT_EQ(Configured(daemon), before);
  EXPECT_EQ(daemon.Json({"device"})["device_id"], device);
  EXPECT_EQ(daemon.Run({"token", "bee"}).out, write_token);
  EXPECT_EQ(daemon.Run({"token", "a", "--mode", "blind"}).out, blind_token);
  EXPECT_NE(daemon.Run({"token", "a", "--mode", "write"}).exit_code, 0) << "still a read replica";
  EXPECT_EQ(stdfs::status(tmp / "config/config.json").permissions() & stdfs::perms::all,
            stdfs::perms::owner_read | stdfs::perms::owner_write);
  EXPECT_EQ(stdfs::status(tmp / "config/tandem.sock").permissions() & stdfs::perms::all,
            stdfs::perms::owner_read | stdfs::perms::owner_write);
}

TEST(Persistence, KillDuringABurstOfConfigChangesNeverTearsTheConfig) {
  TempDir tmp;
  WriteFile(tmp / "base/file", "x");
  DaemonProcess daemon(tmp / "config");
  ASSERT_TRUE(daemon.Start());
  ASSERT_EQ(daemon.Run({"add", (tmp / "base").string(), "--name", "base"}).exit_code, 0);

  std::set<std::string> acknowledged_peers;
  std::set<std::string> acknowledged_shares;
  int next = 0;
  for (int round = 0; round < 5; ++round) {
    std::atomic<int> acked{0};
    std::atomic<bool> stop{false};
    std::vector<std::string> peers_done, shares_done;
    // At most 200 changes per round: the loop ends by itself even if the kill misses.
    std::thread burst([&] {
      for (int i = 0; i < 200 && !stop; ++i) {
        int n = next++;
        if (n % 5 == 4) {
          stdfs::path dir = tmp / ("share-" + std::to_string(n));
          stdfs::create_directories(dir);
          if (daemon.Run({"add", dir.string()}).exit_code == 0) shares_done.push_back(dir.string());
        } else {
          std::string addr = "tcp/127.0.0.1:" + std::to_string(1000 + n);
          if (daemon.Run({"peer", "add", "base", addr}).exit_code == 0) peers_done.push_back(addr);
        }
        ++acked;
      }
    });
    int target = 3 + round * 4;
    EXPECT_TRUE(WaitUntil([&] { return acked >= target; }));
    daemon.Kill();
    stop = true;
    burst.join();
    acknowledged_peers.insert(peers_done.begin(), peers_done.end());
    acknowledged_shares.insert(shares_done.begin(), shares_done.end());

    auto config = json::parse(ReadFile(tmp / "config/config.json"), nullptr, false);
    ASSERT_FALSE(config.is_discarded()) << "config torn in round " << round;
    ASSERT_TRUE(daemon.Start()) << "round " << round;
    json info = daemon.Json({"info", "base"});
    std::set<std::string> listed(info["peers"].begin(), info["peers"].end());
    for (const std::string& addr : acknowledged_peers) {
      EXPECT_TRUE(listed.count(addr)) << addr << " was acknowledged but is gone";
    }
    std::set<std::string> paths;
    for (const json& s : daemon.Json({"list"})) paths.insert(s["path"].get<std::string>());
    for (const std::string& p : acknowledged_shares) EXPECT_TRUE(paths.count(p)) << p;
  }
  for (const auto& entry : stdfs::directory_iterator(tmp / "config")) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
        << "leftover " << entry.path();
  }
}

}  // namespace
}  // namespace tandem::testing
