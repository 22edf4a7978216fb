// Networks the tests make for themselves (root only): network namespaces
// joined by veth pairs, so that daemons talk over real interfaces with
// real addresses, broadcast and multicast, and never beyond the machine.
// Shell commands (ip, tc, nft) and a few helpers that run a socket inside a
// namespace from a forked child.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace tandem::testing {

struct Shell {
  bool ok = false;
  std::string output;
};

// Runs a command line and captures what it printed (stdout and stderr).
Shell Sh(const std::string& command);

// Runs `command` inside namespace `ns`.
Shell InNetns(const std::string& ns, const std::string& command);

// Why namespace tests cannot run here (not root, no iproute2 or nsenter);
// empty when they can.
std::string NetnsUnavailable();

// A LAN of `devices` namespaces: each holds one interface (eth0) with the
// address 10.SUBNET.0.(i+1)/24, joined to a bridge in a namespace of its
// own, as machines to a switch. Broadcast and link-local multicast reach
// every device. Everything is removed when this goes (and, first, whatever
// a killed run with the same tag left).
class TestLan {
 public:
  // Empty with `why` set if it could not be made.
  static std::unique_ptr<TestLan> Make(const std::string& tag, int devices, int subnet, std::string* why);
  ~TestLan();

  const std::string& ns(int device) const { return namespaces_.at(device); }
  std::string ip(int device) const;
  static constexpr const char* kInterface = "eth0";

 private:
  TestLan() = default;
  std::string bridge_ns_;
  std::vector<std::string> namespaces_;
  int subnet_ = 0;
};

// The UDP datagrams that arrive at `port` inside namespace `ns` within
// `timeout`, at most `count`.
std::vector<Bytes> ReceiveDatagramsIn(const std::string& ns, uint16_t port, size_t count,
                                      std::chrono::milliseconds timeout);

// Sends `datagram` from inside namespace `ns` to `ip`:`port` (broadcast allowed).
bool SendDatagramFrom(const std::string& ns, const std::string& ip, uint16_t port, ByteView datagram);

}  // namespace tandem::testing
