#include "crypto/keyed_hash.h"

#include <openssl/hmac.h>

namespace tandem::crypto {
namespace {

Key32 HmacSha256(const Key32& key, ByteView data) {
  Key32 out;
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
       out.data(), &len);
  return out;
}

}  // namespace

BlockId ComputeBlockId(const Key32& id_key, ByteView plaintext) {
  return HmacSha256(id_key, plaintext);
}

Locator ComputeLocator(const Key32& locator_key, std::string_view rel_path) {
  return HmacSha256(locator_key, AsBytes(rel_path));
}

}  // namespace tandem::crypto

namespace tandem::crypto {

Key32 ComputeShareOffer(const Key32& share_id, ByteView session_binding) {
  return HmacSha256(share_id, session_binding);
}

}  // namespace tandem::crypto
