#include "protocol/beacon.h"

#include <algorithm>
#include <cstring>

namespace tandem::protocol {
namespace {

constexpr uint8_t kMagic[4] = {'T', 'N', 'D', 'B'};
constexpr size_t kHeaderSize = sizeof(kMagic) + 1 + kBeaconNonceSize + 2 + 1;

Error Corrupt(const std::string& why) { return MakeError(ErrorCode::kCorrupt, "not a Tandem beacon: " + why); }

}  // namespace

Bytes EncodeBeacon(const Beacon& beacon) {
  Bytes out;
  out.reserve(kHeaderSize + beacon.tags.size() * kBeaconTagSize);
  out.insert(out.end(), std::begin(kMagic), std::end(kMagic));
  out.push_back(kBeaconVersion);
  out.insert(out.end(), beacon.nonce.begin(), beacon.nonce.end());
  out.push_back(static_cast<uint8_t>(beacon.port >> 8));
  out.push_back(static_cast<uint8_t>(beacon.port & 0xff));
  out.push_back(static_cast<uint8_t>(beacon.tags.size()));
  for (const BeaconTag& tag : beacon.tags) out.insert(out.end(), tag.begin(), tag.end());
  return out;
}

Result<Beacon> DecodeBeacon(ByteView datagram) {
  if (datagram.size() < kHeaderSize) return Corrupt("too short");
  if (!std::equal(std::begin(kMagic), std::end(kMagic), datagram.begin())) return Corrupt("wrong magic");
  const uint8_t* p = datagram.data() + sizeof(kMagic);
  if (*p++ != kBeaconVersion) return Corrupt("unknown version");
  Beacon beacon;
  std::memcpy(beacon.nonce.data(), p, kBeaconNonceSize);
  p += kBeaconNonceSize;
  beacon.port = static_cast<uint16_t>((p[0] << 8) | p[1]);
  p += 2;
  const size_t count = *p++;
  if (beacon.port == 0) return Corrupt("port 0");
  if (count == 0 || count > kMaxBeaconTags) return Corrupt("bad tag count");
  if (datagram.size() != kHeaderSize + count * kBeaconTagSize) return Corrupt("length does not match its tags");
  beacon.tags.resize(count);
  for (BeaconTag& tag : beacon.tags) {
    std::memcpy(tag.data(), p, kBeaconTagSize);
    p += kBeaconTagSize;
  }
  return beacon;
}

}  // namespace tandem::protocol
