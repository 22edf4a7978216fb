// LAN discovery beacons (sync/discovery.h sends and reads them): one UDP
// datagram saying "a device that holds these shares listens on this TCP
// port", readable only by devices holding the same shares. Each announced
// share is a tag: a keyed hash of its id over the beacon's fresh nonce and
// the port (crypto::ComputeDiscoveryTag). The beacon carries no share id, no
// device id and nothing that stays the same from one beacon to the next, so
// an outsider learns only that some device here runs Tandem and how many
// shares it announces. Pure functions over bytes.
//
// Layout: "TNDB", version (1), nonce (16), port (2, big-endian), tag count
// (1), then the tags (16 bytes each). A fixed layout rather than protobuf:
// the whole message is a few fixed fields, and a datagram from anyone on
// the LAN is easiest to bound when there is nothing variable to parse.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace tandem::protocol {

inline constexpr uint16_t kDiscoveryPort = 20211;
inline constexpr uint8_t kBeaconVersion = 1;
inline constexpr size_t kBeaconNonceSize = 16;
inline constexpr size_t kBeaconTagSize = 16;
// A device announcing more shares sends several beacons.
inline constexpr size_t kMaxBeaconTags = 48;

using BeaconNonce = std::array<uint8_t, kBeaconNonceSize>;
using BeaconTag = std::array<uint8_t, kBeaconTagSize>;

struct Beacon {
  BeaconNonce nonce{};
  uint16_t port = 0;  // the sender's TCP port for peers
  std::vector<BeaconTag> tags;
  bool operator==(const Beacon&) const = default;
};

// REQUIRES: at most kMaxBeaconTags tags.
Bytes EncodeBeacon(const Beacon& beacon);

// kCorrupt for anything but a whole beacon of this version (a datagram
// from anyone: nothing in it is trusted beyond its shape).
Result<Beacon> DecodeBeacon(ByteView datagram);

}  // namespace tandem::protocol
