// Peer addresses as users write them: tcp/HOST:PORT, quic/HOST:PORT, with
// IPv6 addresses in brackets (tcp/[::1]:PORT). Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace tandem::net {

enum class Transport { kTcp, kQuic };

inline constexpr uint16_t kDefaultPort = 20209;

struct PeerAddress {
  Transport transport = Transport::kTcp;
  std::string host;  // without brackets
  uint16_t port = 0;

  // The normal form: "tcp/host:port" or "tcp/[v6]:port".
  std::string ToString() const;
  bool operator==(const PeerAddress&) const = default;
};

// The address, or kInvalidArgument saying what is wrong and what is expected.
Result<PeerAddress> ParsePeerAddress(std::string_view text);

// An address to listen on: as a peer's, and port 0 asks the system for any
// free port (device_info tells which it gave).
Result<PeerAddress> ParseListenAddress(std::string_view text);

// The addresses to listen on, separated by commas: each as above, or
// HOST:PORT without a transport for both TCP and QUIC at that port
// ("0.0.0.0:20209"). kInvalidArgument for a bad one, none, or one twice.
Result<std::vector<PeerAddress>> ParseListenAddresses(std::string_view text);
// Their normal form: "tcp/0.0.0.0:20209,quic/0.0.0.0:20209".
std::string ListenAddressesToString(const std::vector<PeerAddress>& addresses);

}  // namespace tandem::net
