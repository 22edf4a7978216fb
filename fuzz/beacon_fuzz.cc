// LAN discovery beacons: any datagram from anyone on the network. A beacon
// that decodes encodes back to the same bytes.
#include <cstddef>
#include <algorithm>
#include <cstdint>

#include "protocol/beacon.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto beacon = tandem::protocol::DecodeBeacon(tandem::ByteView(data, size));
  if (beacon) {
    const tandem::Bytes again = tandem::protocol::EncodeBeacon(*beacon);
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  }
  return 0;
}
