// LAN discovery between real daemons on a LAN this test makes: network
// namespaces joined to a bridge (testing/netns.h), so beacons are real
// broadcasts on real interfaces and never leave the machine. Devices that
// hold a share find each other without a peer entry, and again when one
// moves to another address; a device without the share learns nothing from
// what goes on the wire; a beacon copied to point at a listener that cannot
// prove the share makes a dial there and nothing more. Needs root and
// iproute2; skips saying why otherwise.
#include <unistd.h>

#include <algorithm>
#include <future>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "crypto/token.h"
#include "protocol/beacon.h"
#include "testing/daemon_harness.h"
#include "testing/netns.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class LanDiscovery : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = NetnsUnavailable(); !why.empty()) GTEST_SKIP() << why << "; skipped";
    std::string why;
    lan_ = TestLan::Make(std::to_string(::getpid() % 100000), 3, 79, &why);
    ASSERT_TRUE(lan_) << why;
    for (int i = 0; i < 3; ++i) devices_[i]->PlaceInNetns(lan_->ns(i), lan_->ip(i));
  }

  void TearDown() override {
    for (auto* device : devices_) device->Kill();
    lan_.reset();
  }

  // The share's token, made on `owner`.
  static std::string TokenOf(const DaemonProcess& owner, const std::string& share) {
    std::string token = owner.Run({"token", share}).out;
    if (!token.empty()) token.pop_back();
    return token;
  }

  static void DiscoveryOn(const DaemonProcess& device, const std::string& share) {
    CommandResult on = device.Run({"config", share, "discovery", "on"});
    ASSERT_EQ(on.exit_code, 0) << on.err;
  }

  static std::vector<std::string> Connected(const DaemonProcess& device, const std::string& share) {
    return device.Json({"info", share})["connected_devices"].get<std::vector<std::string>>();
  }

  // The addresses `device` found for `share` by discovery.
  static std::set<std::string> Discovered(const DaemonProcess& device, const std::string& share) {
    std::set<std::string> found;
    for (const json& peer : device.Json({"peer", "list", share})) {
      if (peer["discovered"].get<bool>()) found.insert(peer["address"].get<std::string>());
    }
    return found;
  }

  // a shares s, b imports it, both turn discovery on and nothing else:
  // they must find each other.
  void ShareWithDiscoveryAndWaitUntilConnected() {
    stdfs::create_directories(dir_a_);
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
    ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
    DiscoveryOn(a_, "s");
    ASSERT_EQ(b_.Run({"import", TokenOf(a_, "s"), dir_b_.string()}).exit_code, 0);
    DiscoveryOn(b_, "s");
    ASSERT_TRUE(WaitUntil([&] { return Connected(a_, "s").size() == 1 && Connected(b_, "s").size() == 1; }, 30s))
        << a_.Log() << b_.Log();
  }

  std::string At(int device, const DaemonProcess& daemon) const {
    return "tcp/" + lan_->ip(device) + ":" + std::to_string(daemon.port());
  }

  std::unique_ptr<TestLan> lan_;
  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
  DaemonProcess c_{tmp_ / "config-c"};
  DaemonProcess* devices_[3] = {&a_, &b_, &c_};
};

TEST_F(LanDiscovery, TwoDevicesFindEachOtherWithoutAPeerEntryAndAgainAfterAnAddressChange) {
  ASSERT_NO_FATAL_FAILURE(ShareWithDiscoveryAndWaitUntilConnected());
  EXPECT_TRUE(a_.Json({"info", "s"})["peers"].empty()) << "no peer entry was made";
  EXPECT_EQ(Discovered(a_, "s"), std::set<std::string>{At(1, b_)});
  EXPECT_NE(a_.Run({"peer", "list", "s"}).out.find("(found on the local network)"), std::string::npos);
  WriteFile(dir_a_ / "before.txt", "before the move");
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(dir_b_ / "before.txt") == "before the move"; }, 30s));

  // b moves to another address: its old one is gone from its interface.
  const std::string moved = "10.79.0.9";
  ASSERT_TRUE(InNetns(lan_->ns(1), "ip addr flush dev eth0").ok);
  ASSERT_TRUE(InNetns(lan_->ns(1), "ip addr add " + moved + "/24 brd + dev eth0").ok);
  const std::string new_address = "tcp/" + moved + ":" + std::to_string(b_.port());
  ASSERT_TRUE(WaitUntil([&] { return Discovered(a_, "s").count(new_address) == 1; }, 30s)) << b_.Log();
  WriteFile(dir_a_ / "after.txt", "after the move");
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(dir_b_ / "after.txt") == "after the move"; }, 60s))
      << a_.Log() << b_.Log();
  EXPECT_EQ(Connected(a_, "s"), std::vector<std::string>{b_.device_id()});
}

TEST_F(LanDiscovery, OverIpv6AloneDevicesFindEachOtherByLinkLocalMulticast) {
  // No IPv4 address at all: only the link-local IPv6 ones each interface makes.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(InNetns(lan_->ns(i), "ip -4 addr flush dev eth0").ok);
    devices_[i]->PlaceInNetns(lan_->ns(i), "::");
  }
  ASSERT_TRUE(WaitUntil([&] {
    for (int i = 0; i < 2; ++i) {
      const std::string addresses = InNetns(lan_->ns(i), "ip -6 addr show dev eth0").output;
      if (addresses.find("fe80::") == std::string::npos || addresses.find("tentative") != std::string::npos) return false;
    }
    return true;
  }, 30s)) << "link-local addresses did not come up";
  ASSERT_NO_FATAL_FAILURE(ShareWithDiscoveryAndWaitUntilConnected());
  const std::set<std::string> found = Discovered(a_, "s");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found.begin()->starts_with("tcp/[fe80::")) << *found.begin();
  WriteFile(dir_a_ / "v6.txt", "over link-local IPv6");
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(dir_b_ / "v6.txt") == "over link-local IPv6"; }, 30s));
}

TEST_F(LanDiscovery, AnOutsiderLearnsNothingFromTheBeaconsAndAForgedOneIsNeverTrusted) {
  // c, without the share, listens for peers on the port a uses, as a copy
  // of a's beacon sent from c's address would name it.
  c_.set_port(a_.port());
  for (auto* device : devices_) ASSERT_TRUE(device->Start());
  // What reaches c's machine on the discovery port while a announces s, then t too.
  auto captured = std::async(std::launch::async, [&] {
    return ReceiveDatagramsIn(lan_->ns(2), protocol::kDiscoveryPort, 2, 20s);
  });
  stdfs::create_directories(dir_a_);
  stdfs::create_directories(tmp_ / "t");
  ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
  ASSERT_EQ(a_.Run({"add", (tmp_ / "t").string(), "--name", "t"}).exit_code, 0);
  // Wait for the capture to be listening: the first beacon must not go before.
  ASSERT_TRUE(WaitUntil([&] { return InNetns(lan_->ns(2), "ss -uln").output.find(":20211") != std::string::npos; }));
  DiscoveryOn(a_, "s");
  DiscoveryOn(a_, "t");
  const std::vector<Bytes> datagrams = captured.get();
  ASSERT_EQ(datagrams.size(), 2u) << a_.Log();

  // On the wire: no share id, no device id, no name; nothing repeats.
  const std::string token_s = TokenOf(a_, "s"), token_t = TokenOf(a_, "t");
  auto share_id = [](const std::string& token) {
    auto parsed = crypto::ParseToken(token);
    EXPECT_TRUE(parsed);
    return std::string(AsChars(parsed->secrets.share_id()));
  };
  const json info_s = a_.Json({"info", "s"});
  std::vector<std::string> secrets = {share_id(token_s), share_id(token_t), a_.device_id(),
                                      info_s["id"].get<std::string>(), "s\"", dir_a_.string()};
  std::vector<protocol::Beacon> beacons;
  for (const Bytes& datagram : datagrams) {
    const std::string text(AsChars(datagram));
    for (const std::string& secret : secrets) {
      for (size_t at = 0; at + 8 <= secret.size(); ++at) {
        ASSERT_EQ(text.find(secret.substr(at, 8)), std::string::npos) << "a beacon shows part of " << secret;
      }
    }
    auto beacon = protocol::DecodeBeacon(datagram);
    ASSERT_TRUE(beacon) << beacon.error().message;
    EXPECT_EQ(beacon->port, a_.port());
    beacons.push_back(*beacon);
  }
  EXPECT_NE(beacons[0].nonce, beacons[1].nonce);
  ASSERT_EQ(beacons[0].tags.size(), 1u);
  ASSERT_EQ(beacons[1].tags.size(), 2u);
  EXPECT_EQ(std::count(beacons[1].tags.begin(), beacons[1].tags.end(), beacons[0].tags[0]), 0)
      << "the same share's tag differs from one beacon to the next";

  // b holds s and finds a; c, announcing a share of its own, finds nobody.
  ASSERT_EQ(b_.Run({"import", token_s, dir_b_.string()}).exit_code, 0);
  DiscoveryOn(b_, "s");
  stdfs::create_directories(tmp_ / "u");
  ASSERT_EQ(c_.Run({"add", (tmp_ / "u").string(), "--name", "u"}).exit_code, 0);
  DiscoveryOn(c_, "u");
  ASSERT_TRUE(WaitUntil([&] { return Connected(b_, "s").size() == 1; }, 30s)) << b_.Log();

  // The second beacon (s and t, a's port) again, sent from c's address: b
  // dials c, which cannot prove s, so s is never attached there.
  const std::string forged_to = At(2, c_);
  ASSERT_TRUE(SendDatagramFrom(lan_->ns(2), "10.79.0.255", protocol::kDiscoveryPort, datagrams[1]));
  ASSERT_TRUE(WaitUntil([&] {
    for (const json& peer : b_.Json({"peer", "list", "s"})) {
      if (peer["address"] == forged_to && peer["connected"].get<bool>()) return true;
    }
    return false;
  }, 30s)) << "b took the copied beacon as a hint and dialled it\n" << b_.Log();
  const std::string c_id = c_.device_id();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Connected(b_, "s"), std::vector<std::string>{a_.device_id()}) << "only a has s attached";
    const json b_info = b_.Json({"info", "s"});
    for (const json& peer : b_info["attached_peers"]) EXPECT_NE(peer["device_id"], c_id);
  }
  EXPECT_TRUE(Discovered(c_, "u").empty());
  EXPECT_EQ(Discovered(a_, "s"), std::set<std::string>{At(1, b_)});
  EXPECT_TRUE(Discovered(a_, "t").empty());
}

}  // namespace
}  // namespace tandem::testing
