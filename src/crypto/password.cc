#include "crypto/password.h"

#include <sodium.h>

#include "base/bytes.h"

namespace tandem::crypto {

Result<std::string> HashPassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return MakeError(ErrorCode::kInvalidArgument, "the password is too short: use at least " +
                                                      std::to_string(kMinPasswordLength) + " characters");
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return MakeError(ErrorCode::kInternal, "hashing the password ran out of memory");
  }
  return std::string(out);
}

bool CheckPassword(std::string_view password, const std::string& hash) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string RandomToken() {
  Bytes random(32);
  randombytes_buf(random.data(), random.size());
  return Base64UrlEncode(random);
}

bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tandem::crypto
