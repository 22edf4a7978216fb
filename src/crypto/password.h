// Secrets a person types or carries in a link: a password kept only as its
// Argon2id hash (libsodium's crypto_pwhash_str, at its interactive cost),
// random tokens for sessions and login links, and comparing a presented
// secret in constant time. Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace tandem::crypto {

// The hash to keep for `password` (an ASCII string starting "$argon2id$").
// kInvalidArgument for fewer than kMinPasswordLength bytes.
inline constexpr size_t kMinPasswordLength = 8;
Result<std::string> HashPassword(std::string_view password);
// Whether `password` is the one `hash` was made from; false for a malformed
// hash. Deliberately slow (tens of milliseconds, 64 MiB).
bool CheckPassword(std::string_view password, const std::string& hash);

// 32 random bytes as base64url: unguessable names for sessions and links.
std::string RandomToken();

// Whether two secrets are equal, in time that depends only on their lengths.
bool SameSecret(std::string_view a, std::string_view b);

}  // namespace tandem::crypto
