// Two devices in network namespaces this test makes (ip netns, a veth pair
// between them), with faults on that link: packet loss, a bandwidth cap,
// delay, the link cut and restored, connections reset, a peer's address
// changing. Sync converges after each, and an interrupted transfer resumes
// rather than restarts. Needs root and iproute2 (and nftables for loss and
// resets, netem for delay); each case skips with the reason where its tool
// is missing.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/netns.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

class NetworkFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network fault tests need root (ip netns, tc, nft); skipped";
    if (!Sh("ip -V").ok || !Sh("test -x /usr/bin/nsenter").ok) {
      GTEST_SKIP() << "network fault tests need iproute2 and nsenter (scripts/install-deps installs them); skipped";
    }
    std::string tag = std::to_string(::getpid() % 100000);
    ns_a_ = "tandem-" + tag + "-a";
    ns_b_ = "tandem-" + tag + "-b";
    veth_a_ = "tnd" + tag + "a";
    veth_b_ = "tnd" + tag + "b";
    Sh("ip netns del " + ns_a_);  // left by a run that was killed
    Sh("ip netns del " + ns_b_);
    for (const std::string& step :
         {"ip netns add " + ns_a_, "ip netns add " + ns_b_,
          "ip link add " + veth_a_ + " type veth peer name " + veth_b_,
          "ip link set " + veth_a_ + " netns " + ns_a_, "ip link set " + veth_b_ + " netns " + ns_b_,
          "ip -n " + ns_a_ + " addr add " + kHostA + "/24 dev " + veth_a_,
          "ip -n " + ns_b_ + " addr add " + kHostB + "/24 dev " + veth_b_,
          "ip -n " + ns_a_ + " link set lo up", "ip -n " + ns_b_ + " link set lo up",
          "ip -n " + ns_a_ + " link set " + veth_a_ + " up", "ip -n " + ns_b_ + " link set " + veth_b_ + " up"}) {
      Shell done = Sh(step);
      ASSERT_TRUE(done.ok) << step << ": " << done.output;
    }
    made_ = true;
    a_.PlaceInNetns(ns_a_, kHostA);
    b_.PlaceInNetns(ns_b_, kHostB);
    stdfs::create_directories(dir_a_);
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
    // Each knows the other, so either can reconnect.
    ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b_, /*both_dial=*/true), "");
    ASSERT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); }, 30s)) << a_.Log() << b_.Log();
  }

  void TearDown() override {
    if (relay_pid_ > 0) ::kill(relay_pid_, SIGKILL);
    a_.Kill();
    b_.Kill();
    if (made_) {
      Sh("ip netns del " + ns_a_);  // takes the veth pair with it
      Sh("ip netns del " + ns_b_);
    }
  }

  // Runs `command` inside namespace `ns`.
  static Shell In(const std::string& ns, const std::string& command) { return Sh("ip netns exec " + ns + " " + command); }

  static bool Connected(const DaemonProcess& d) { return d.Json({"info", "s"})["connected_devices"].size() == 1; }

  static uint64_t Received(const DaemonProcess& d) { return d.Json({"info", "s"})["received_bytes"]; }

  // Drops `percent` of the packets each namespace sends (nftables).
  bool DropPackets(int percent) {
    for (const std::string& ns : {ns_a_, ns_b_}) {
      if (!In(ns, "nft add table inet fault").ok ||
          !In(ns, "nft add chain inet fault out '{ type filter hook output priority 0; }'").ok ||
          !In(ns, "nft add rule inet fault out 'meta oifname != lo numgen random mod 100 < " + std::to_string(percent) +
                      " counter drop'")
               .ok) {
        return false;
      }
    }
    return true;
  }

  uint64_t DroppedPackets() {
    uint64_t total = 0;
    for (const std::string& ns : {ns_a_, ns_b_}) {
      std::string rules = In(ns, "nft list chain inet fault out").output;
      size_t at = rules.find("packets ");
      if (at != std::string::npos) total += std::stoull(rules.substr(at + 8));
    }
    return total;
  }

  // Caps each direction of the link at `rate` (tbf).
  bool CapBandwidth(const std::string& rate) {
    return In(ns_a_, "tc qdisc add dev " + veth_a_ + " root tbf rate " + rate + " burst 32kbit latency 400ms").ok &&
           In(ns_b_, "tc qdisc add dev " + veth_b_ + " root tbf rate " + rate + " burst 32kbit latency 400ms").ok;
  }

  // Both folders hold the same tree.
  bool Converged(std::chrono::milliseconds timeout) {
    bool same = WaitUntil([&] { return SnapshotTree(dir_a_) == SnapshotTree(dir_b_); }, timeout);
    if (!same) ADD_FAILURE() << "folders differ\nA log:\n" << a_.Log().substr(0, 20000) << "\nB log:\n" << b_.Log().substr(0, 20000);
    return same;
  }

  void WriteTree(const std::string& folder, int files, uint64_t seed) {
    for (int i = 0; i < files; ++i) {
      WriteFile(dir_a_ / folder / ("d" + std::to_string(i % 4)) / ("f" + std::to_string(i)),
                RandomBytes(1024 + (i * 997) % 7000, seed + i));
    }
  }

  static constexpr const char* kHostA = "10.77.0.1";
  static constexpr const char* kHostB = "10.77.0.2";
  std::string ns_a_, ns_b_, veth_a_, veth_b_;
  bool made_ = false;
  pid_t relay_pid_ = 0;  // the delaying relay, where there is no netem
  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
};

TEST_F(NetworkFaults, FivePercentLossConverges) {
  if (!DropPackets(5)) GTEST_SKIP() << "nftables cannot drop packets here (nft missing or no nf_tables); skipped";
  WriteTree("tree", 200, 1);
  WriteFile(dir_a_ / "big.bin", RandomBytes(8 << 20, 2));
  ASSERT_TRUE(Converged(120s));
  EXPECT_GT(DroppedPackets(), 0u) << "the loss rule never dropped a packet";
}

TEST_F(NetworkFaults, TenMegabitLinkConvergesAndSendsEachByteOnce) {
  if (!CapBandwidth("10mbit")) GTEST_SKIP() << "tc cannot shape the link (no tbf qdisc); skipped";
  std::string payload = RandomBytes(4 << 20, 3);
  WriteFile(dir_a_ / "big.bin", payload);
  WriteTree("tree", 100, 4);
  ASSERT_TRUE(Converged(120s));
  EXPECT_LT(Received(b_), payload.size() + (2u << 20)) << "more than the data itself crossed the capped link";
}

// Where the kernel has no netem, the delay comes from a relay in B's
// namespace that holds every chunk 100 ms in each direction: B reaches A
// only through it. A bounded queue per direction (64 reads) keeps it from
// buffering without limit; it ends with its connections or when killed.
constexpr char kDelayRelay[] = R"(
import asyncio, sys, time
listen_host, listen_port, to_host, to_port, delay, log = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
moved = 0
async def pump(reader, writer):
    global moved
    queue = asyncio.Queue(maxsize=64)
    async def take():
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + delay, data))
            if not data:
                return
    async def give():
        global moved
        while True:
            due, data = await queue.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()
            moved += len(data)
            with open(log, "w") as f:
                f.write(str(moved))
    await asyncio.gather(take(), give())
async def handle(reader, writer):
    try:
        to_reader, to_writer = await asyncio.open_connection(to_host, to_port)
        await asyncio.gather(pump(reader, to_writer), pump(to_reader, writer))
    except Exception:
        pass
    writer.close()
async def main():
    server = await asyncio.start_server(handle, listen_host, listen_port)
    async with server:
        await server.serve_forever()
asyncio.run(main())
)";

TEST_F(NetworkFaults, HundredMillisecondsOfDelayConverges) {
  bool netem = In(ns_a_, "tc qdisc add dev " + veth_a_ + " root netem delay 100ms").ok &&
               In(ns_b_, "tc qdisc add dev " + veth_b_ + " root netem delay 100ms").ok;
  stdfs::path moved_log = tmp_ / "relay-moved";
  if (!netem && PeerTransport() == "quic") {
    GTEST_SKIP() << "no netem here, and the delaying relay carries TCP only; over QUIC, LossyLink.* delays "
                    "every packet in user space";
  }
  if (!netem) {
    // No netem (CONFIG_NET_SCH_NETEM) here: the connection goes through a
    // delaying relay instead, B dialling it and A dialling nobody.
    WriteFile(tmp_ / "relay.py", kDelayRelay);
    constexpr int kRelayPort = 20977;
    Shell started = In(ns_b_, "python3 " + (tmp_ / "relay.py").string() + " " + kHostB + " " +
                                  std::to_string(kRelayPort) + " " + kHostA + " " + std::to_string(a_.port()) +
                                  " 0.1 " + moved_log.string() + " >/dev/null 2>&1 & echo $!");
    ASSERT_TRUE(started.ok) << started.output;
    relay_pid_ = std::stoi(started.output);
    ASSERT_EQ(a_.Run({"peer", "remove", "s", b_.address()}).exit_code, 0);
    ASSERT_EQ(b_.Run({"peer", "remove", "s", a_.address()}).exit_code, 0);
    ASSERT_EQ(b_.Run({"peer", "add", "s", "tcp/" + std::string(kHostB) + ":" + std::to_string(kRelayPort)}).exit_code,
              0);
    b_.Kill();  // ends the direct connection
    ASSERT_TRUE(WaitUntil([&] { return !Connected(a_); }, 60s));
    ASSERT_TRUE(b_.Start());
    ASSERT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); }, 30s)) << b_.Log().substr(0, 5000);
  }
  WriteTree("tree", 200, 5);
  WriteFile(dir_a_ / "big.bin", RandomBytes(8 << 20, 6));
  ASSERT_TRUE(Converged(120s));
  if (!netem) {
    EXPECT_GT(std::stoull(ReadFile(moved_log)), 8u << 20) << "the data did not cross the delaying relay";
  }
}

TEST_F(NetworkFaults, ALinkCutMidTransferResumesWhenRestored) {
  if (!CapBandwidth("40mbit")) GTEST_SKIP() << "tc cannot shape the link (no tbf qdisc); skipped";
  std::string payload = RandomBytes(24 << 20, 7);
  WriteFile(dir_a_ / "big.bin", payload);
  ASSERT_TRUE(WaitUntil([&] { return Received(b_) > payload.size() / 4; }, 60s));
  // The cable is pulled for a few seconds: no packet either way.
  ASSERT_TRUE(In(ns_a_, "ip link set " + veth_a_ + " down").ok);
  uint64_t at_cut = Received(b_);
  // For 3 s nothing gets through (beyond what was already in B's buffers).
  EXPECT_FALSE(WaitUntil([&] { return Received(b_) > at_cut + (2u << 20); }, 3s)) << "data crossed a cut link";
  ASSERT_TRUE(In(ns_a_, "ip link set " + veth_a_ + " up").ok);
  ASSERT_TRUE(Converged(120s));
  EXPECT_GT(at_cut, 0u);
  EXPECT_LT(Received(b_), payload.size() + payload.size() / 4) << "the transfer started over";
}

TEST_F(NetworkFaults, ConnectionsResetMidTransferResume) {
  if (PeerTransport() == "quic") {
    GTEST_SKIP() << "TCP resets have no QUIC counterpart a middlebox can forge; QUIC's stateless resets are "
                    "net_test's Quic.AfterARestart..., a restarted peer TwoDevices.AReceiverKilled...";
  }
  if (!CapBandwidth("40mbit")) GTEST_SKIP() << "tc cannot shape the link (no tbf qdisc); skipped";
  std::string payload = RandomBytes(24 << 20, 8);
  WriteFile(dir_a_ / "big.bin", payload);
  ASSERT_TRUE(WaitUntil([&] { return Received(b_) > payload.size() / 4; }, 60s));
  // A middlebox forgets the connection: every segment is answered with a
  // reset until the rule goes, so both daemons see the connection die.
  std::string reject = "nft add rule inet fault out 'meta oifname != lo tcp flags != rst reject with tcp reset'";
  ASSERT_TRUE(In(ns_b_, "nft add table inet fault").ok);
  ASSERT_TRUE(In(ns_b_, "nft add chain inet fault out '{ type filter hook output priority 0; }'").ok);
  ASSERT_TRUE(In(ns_b_, reject).ok) << "nftables cannot reject here";
  ASSERT_TRUE(WaitUntil([&] { return !Connected(a_) && !Connected(b_); }, 30s)) << b_.Log().substr(0, 5000);
  ASSERT_TRUE(In(ns_b_, "nft flush table inet fault").ok);
  ASSERT_TRUE(Converged(120s));
  EXPECT_LT(Received(b_), payload.size() + payload.size() / 4) << "the transfer started over";
}

TEST_F(NetworkFaults, APeerWhoseAddressChangesIsReachedAgain) {
  WriteFile(dir_a_ / "before.txt", "before");
  ASSERT_TRUE(Converged(30s));
  // B moves to another address; its old one is gone. A's dialler keeps
  // failing at the old address, and B reaches A from the new one.
  const std::string moved = "10.77.0.3";
  ASSERT_TRUE(In(ns_b_, "ip addr flush dev " + veth_b_).ok);
  ASSERT_TRUE(In(ns_b_, "ip addr add " + moved + "/24 dev " + veth_b_).ok);
  b_.set_host(moved);
  WriteFile(dir_a_ / "after.txt", "after the move");
  ASSERT_TRUE(Converged(120s));
  EXPECT_TRUE(Connected(a_) && Connected(b_));
}

}  // namespace
}  // namespace tandem::testing
