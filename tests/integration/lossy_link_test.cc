// Two devices in namespaces of their own, joined by a slow, lossy link
// (testing::SlowLink: delay and loss per packet, or cut), over TCP and, run
// again with the quic/ prefix, over QUIC. Whatever the link does, the share
// converges, a file is never seen half-written under its real name, and no
// part file is left behind.
#include <unistd.h>

#include <chrono>
#include <functional>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/netns.h"
#include "testing/slow_link.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

class LossyLink : public ::testing::Test {
 protected:
  enum class Dialling { kBoth, kOnlyA, kOnlyB };

  // Builds the namespaces and the link with `delay` each way and `loss`,
  // starts both daemons and shares a folder between them; who dials whom.
  void Join(std::chrono::milliseconds delay, double loss, Dialling dialling = Dialling::kBoth) {
    if (std::string why = NetnsUnavailable(); !why.empty()) GTEST_SKIP() << why;
    const std::string tag = std::to_string(::getpid() % 100000);
    namespaces_[0] = "tandem-" + tag + "-la";
    namespaces_[1] = "tandem-" + tag + "-lb";
    for (const auto& ns : namespaces_) {
      Sh("ip netns del " + ns);  // left by a run that was killed
      ASSERT_TRUE(Sh("ip netns add " + ns).ok);
    }
    made_ = true;
    std::string why;
    link_ = SlowLink::Make(namespaces_[0], namespaces_[1], 78, delay, loss, &why);
    if (!link_) GTEST_SKIP() << "no user-space link here: " << why;
    a_.PlaceInNetns(namespaces_[0], link_->ip(0));
    b_.PlaceInNetns(namespaces_[1], link_->ip(1));
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
    if (dialling == Dialling::kOnlyB) {
      stdfs::create_directories(dir_b_);
      ASSERT_EQ(ShareBetween(b_, dir_b_, a_, dir_a_), "");
    } else {
      stdfs::create_directories(dir_a_);
      ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b_, /*both_dial=*/dialling == Dialling::kBoth), "");
    }
    ASSERT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); }, 60s)) << a_.Log() << b_.Log();
  }

  void TearDown() override {
    a_.Kill();
    b_.Kill();
    link_.reset();
    if (made_) {
      for (const auto& ns : namespaces_) Sh("ip netns del " + ns);
    }
  }

  static bool Connected(const DaemonProcess& d) { return d.Json({"info", "s"})["connected_devices"].size() == 1; }
  static uint64_t Received(const DaemonProcess& d) { return d.Json({"info", "s"})["received_bytes"]; }

  // B's part files (downloads not finished).
  size_t PartFiles() const {
    size_t count = 0;
    std::error_code ec;
    for (auto it = stdfs::directory_iterator(dir_b_ / ".tandem/tmp", ec); !ec && it != stdfs::directory_iterator();
         it.increment(ec)) {
      ++count;
    }
    return count;
  }

  bool Converged(std::chrono::milliseconds timeout) {
    bool same = WaitUntil([&] { return SnapshotTree(dir_a_) == SnapshotTree(dir_b_); }, timeout);
    if (!same) {
      ADD_FAILURE() << "folders differ over " << PeerTransport() << "\nA log:\n" << a_.Log().substr(0, 20000)
                    << "\nB log:\n" << b_.Log().substr(0, 20000);
    }
    return same;
  }

  // B moves to another address on the same link; its old one is gone.
  void MoveB() {
    const std::string moved = "10.78.0.3";
    const std::string& device = link_->interface(1);
    ASSERT_TRUE(InNetns(namespaces_[1], "ip addr flush dev " + device).ok);
    ASSERT_TRUE(InNetns(namespaces_[1], "ip addr add " + moved + "/24 dev " + device).ok);
    b_.set_host(moved);
  }

  // A transfer of 64 MiB from A to B that B's move interrupts; `after_move`
  // runs once B has moved. Converges sooner than the 45 s a connection
  // nobody answers on takes to be given up, and goes on from where it was.
  void TransferAcrossTheMove(const std::function<void()>& after_move) {
    const std::string payload = RandomBytes(64 << 20, 11);
    WriteFile(dir_a_ / "big.bin", payload);
    ASSERT_TRUE(WaitUntil([&] { return Received(b_) > (8u << 20); }, 60s));
    MoveB();
    after_move();
    if (HasFatalFailure()) return;
    ASSERT_TRUE(Converged(40s));
    EXPECT_EQ(PartFiles(), 0u);
    EXPECT_LT(Received(b_), payload.size() + payload.size() / 4) << "the transfer started over";
    EXPECT_TRUE(WaitUntil([&] { return Connected(a_) && Connected(b_); }, 20s));
  }

  std::string namespaces_[2];
  bool made_ = false;
  std::unique_ptr<SlowLink> link_;
  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
};

TEST_F(LossyLink, AHundredMillisecondsEachWayAndFivePercentLossConvergeAndLeaveNoPartFile) {
  Join(100ms, 0.05);
  if (IsSkipped() || HasFatalFailure()) return;
  for (int i = 0; i < 20; ++i) WriteFile(dir_a_ / "notes" / ("n" + std::to_string(i)), RandomBytes(3000 + i, i));
  const std::string payload = RandomBytes(2 << 20, 99);
  WriteFile(dir_a_ / "big.bin", payload);
  // Until it is whole, the file is not there under its name.
  EXPECT_TRUE(WaitUntil([&] {
    std::error_code ec;
    auto size = stdfs::file_size(dir_b_ / "big.bin", ec);
    if (ec) return false;
    EXPECT_EQ(size, payload.size()) << "a file appeared under its name before it was whole";
    return true;
  }, 180s));
  ASSERT_TRUE(Converged(180s));
  EXPECT_EQ(PartFiles(), 0u);
  EXPECT_GT(link_->dropped(), 0u) << "the link lost nothing";
}

TEST_F(LossyLink, ALinkCutMidTransferAndRestoredResumesAndLeavesNoPartFile) {
  Join(10ms, 0);
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string payload = RandomBytes(64 << 20, 7);
  WriteFile(dir_a_ / "big.bin", payload);
  ASSERT_TRUE(WaitUntil([&] { return Received(b_) > (8u << 20); }, 60s));
  link_->SetCut(true);
  const uint64_t at_cut = Received(b_);
  EXPECT_FALSE(stdfs::exists(dir_b_ / "big.bin")) << "a half-transferred file never appears under its name";
  // For 3 s nothing crosses.
  EXPECT_FALSE(WaitUntil([&] { return Received(b_) > at_cut + (1u << 20); }, 3s)) << "data crossed a cut link";
  link_->SetCut(false);
  ASSERT_TRUE(Converged(120s));
  EXPECT_EQ(PartFiles(), 0u);
  EXPECT_LT(Received(b_), payload.size() + payload.size() / 4) << "the transfer started over";
}


// B dialled A: over QUIC its connection moves to the new address (connection
// migration); over TCP, B dials again from there.
TEST_F(LossyLink, ADiallingPeerWhoseAddressChangesMidTransferCarriesOnWhereItWas) {
  Join(10ms, 0, Dialling::kOnlyB);
  if (IsSkipped() || HasFatalFailure()) return;
  TransferAcrossTheMove([] {});
  if (PeerTransport() == "quic") {
    EXPECT_NE(b_.Log().find("the connection moved"), std::string::npos) << "not migrated:\n" << b_.Log();
  }
}

// A dialled B, which cannot move a connection it accepted: it closes it and
// dials A from its new address, and A, told in the hello that B holds no
// other connection, drops the one that leads nowhere.
TEST_F(LossyLink, AnAcceptingPeerWhoseAddressChangesMidTransferDialsBackAndCarriesOn) {
  Join(10ms, 0, Dialling::kOnlyA);
  if (IsSkipped() || HasFatalFailure()) return;
  TransferAcrossTheMove([&] {
    ASSERT_EQ(b_.Run({"peer", "add", "s", a_.address()}).exit_code, 0);
  });
}

}  // namespace
}  // namespace tandem::testing
