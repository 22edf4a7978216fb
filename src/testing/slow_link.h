// SlowLink: a link between two namespaces a test made, with delay and loss,
// carried in user space (this machine's kernel has no netem): a TUN device
// in each namespace (10.SUBNET.0.1 and .2), and a thread that moves each IP
// packet from one to the other `delay` later, dropping a share `loss` of
// them, or every one while the link is cut. TCP and QUIC meet the same link
// end to end: nothing between terminates a connection.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace tandem::testing {

class SlowLink {
 public:
  // Empty with `why` set if it could not be made (no /dev/net/tun, not root).
  static std::unique_ptr<SlowLink> Make(const std::string& ns_a, const std::string& ns_b, int subnet,
                                        std::chrono::milliseconds delay, double loss, std::string* why);
  ~SlowLink();

  std::string ip(int side) const { return "10." + std::to_string(subnet_) + ".0." + std::to_string(side + 1); }
  // The TUN device on `side` (in that side's namespace).
  const std::string& interface(int side) const { return names_[side]; }
  // While cut, nothing crosses either way (packets already on the link are lost too).
  void SetCut(bool cut) { cut_ = cut; }
  uint64_t carried() const { return carried_; }
  uint64_t dropped() const { return dropped_; }

 private:
  SlowLink() = default;
  void Run();

  int fds_[2] = {-1, -1};
  std::string names_[2];
  int subnet_ = 0;
  std::chrono::milliseconds delay_{0};
  double loss_ = 0;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> carried_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace tandem::testing
