// Peer and listen addresses as typed by a user: a parsed address (or list)
// prints in a normal form that parses to the same.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto list = tandem::net::ParseListenAddresses(text)) {
    auto again = tandem::net::ParseListenAddresses(tandem::net::ListenAddressesToString(*list));
    if (!again || !(*again == *list)) __builtin_trap();
  }
  auto parsed = tandem::net::ParsePeerAddress(text);
  if (parsed) {
    auto again = tandem::net::ParsePeerAddress(parsed->ToString());
    if (!again || !(*again == *parsed)) __builtin_trap();
  }
  return 0;
}
