// Peer addresses as typed by a user: a parsed address prints in a normal
// form that parses to the same address.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)tandem::net::ParseUsablePeerAddress(text);
  auto parsed = tandem::net::ParsePeerAddress(text);
  if (parsed) {
    auto again = tandem::net::ParsePeerAddress(parsed->ToString());
    if (!again || !(*again == *parsed)) __builtin_trap();
  }
  return 0;
}
