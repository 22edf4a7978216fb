// Peer addresses as users write them: tcp/HOST:PORT or tcp/[IPv6]:PORT.
// quic/... parses (so a config written for a later version still loads) but
// is refused by the transport for now. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

// Parses, then refuses transports this build cannot use (kUnsupported).
Result<PeerAddress> ParseUsablePeerAddress(std::string_view text);

}  // namespace tandem::net
