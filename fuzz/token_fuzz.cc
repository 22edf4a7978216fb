// Share tokens as a user might paste them, garbled or hostile.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/token.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = tandem::crypto::ParseToken(text);
  if (parsed) {
    // A token that parses grants what it says, and says it again the same way.
    auto mode = parsed->secrets.mode();
    auto again = tandem::crypto::ParseToken(tandem::crypto::EncodeToken(parsed->secrets, mode, parsed->suggested_name));
    if (!again || again->secrets.mode() != mode || !(again->secrets.share_id() == parsed->secrets.share_id())) {
      __builtin_trap();
    }
  }
  return 0;
}
