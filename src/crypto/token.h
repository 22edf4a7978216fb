// Share tokens: the text a user passes to another device to grant access.
//
//   tandem:<base64url(version | mode | key material | checksum)>[?name=<suggested name>]
//
// Key material is the write seed (write), share id + read key (read) or the
// share id (blind). The 4-byte checksum catches typos and truncation before
// any key is derived. docs/protocol.md has the byte layout.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/keys.h"

namespace tandem::crypto {

inline constexpr std::string_view kTokenPrefix = "tandem:";
inline constexpr uint8_t kTokenVersion = 1;

struct ParsedToken {
  ShareSecrets secrets;
  std::string suggested_name;  // empty when the token carries none
};

// The token granting `mode` (REQUIRES: mode <= secrets.mode()).
std::string EncodeToken(const ShareSecrets& secrets, AccessMode mode,
                        std::string_view suggested_name = {});

// The secrets a token grants, or kInvalidArgument with a message that says
// what is wrong with it (never echoing key material).
Result<ParsedToken> ParseToken(std::string_view token);

// For tests of version handling: the token bytes with an arbitrary version.
std::string EncodeTokenWithVersion(const ShareSecrets& secrets, AccessMode mode, uint8_t version);

}  // namespace tandem::crypto
