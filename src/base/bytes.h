// Byte strings and their text encodings (hex, base64url, base32).
// Pure functions; no state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace tandem {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsChars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes ToBytes(ByteView b) { return Bytes(b.begin(), b.end()); }

std::string HexEncode(ByteView data);
Result<Bytes> HexDecode(std::string_view text);

// URL-safe base64 without padding (RFC 4648 §5). Decoding is strict: padding
// bits must be zero, so every text maps to at most one byte string.
std::string Base64UrlEncode(ByteView data);
Result<Bytes> Base64UrlDecode(std::string_view text);

// RFC 4648 base32, upper case, no padding.
std::string Base32Encode(ByteView data);

void AppendU64BE(Bytes& out, uint64_t v);
uint64_t ReadU64BE(ByteView in);  // REQUIRES: in.size() >= 8

// Constant-time comparison for secrets and MACs.
bool ConstantTimeEqual(ByteView a, ByteView b);

}  // namespace tandem
