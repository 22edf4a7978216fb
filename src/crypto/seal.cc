#include "crypto/seal.h"

#include <sodium.h>

namespace tandem::crypto {
namespace {

constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
static_assert(kNonce == 24 && crypto_aead_xchacha20poly1305_ietf_ABYTES == kSealOverhead);

}  // namespace

Bytes SealEntry(const Key32& entry_key, ByteView plaintext) {
  Bytes out(kNonce + plaintext.size() + kSealOverhead);
  randombytes_buf(out.data(), kNonce);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonce, &len, plaintext.data(),
                                             plaintext.size(), nullptr, 0, nullptr, out.data(),
                                             entry_key.data());
  return out;
}

Result<Bytes> OpenEntry(const Key32& entry_key, ByteView sealed) {
  if (sealed.size() < kEntrySealOverhead) {
    return MakeError(ErrorCode::kCorrupt, "sealed entry is too short");
  }
  Bytes out(sealed.size() - kEntrySealOverhead);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, sealed.data() + kNonce,
                                                 sealed.size() - kNonce, nullptr, 0, sealed.data(),
                                                 entry_key.data()) != 0) {
    return MakeError(ErrorCode::kCorrupt, "sealed entry fails authentication");
  }
  return out;
}

Bytes SealBlock(const Key32& block_key, const BlockId& id, ByteView plaintext) {
  Bytes out(plaintext.size() + kSealOverhead);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &len, plaintext.data(), plaintext.size(),
                                             id.data(), id.size(), nullptr, id.data(),
                                             block_key.data());
  return out;
}

Result<Bytes> OpenBlock(const Key32& block_key, const Key32& id_key, const BlockId& id,
                        ByteView sealed) {
  if (sealed.size() < kSealOverhead) return MakeError(ErrorCode::kCorrupt, "sealed block is too short");
  Bytes out(sealed.size() - kSealOverhead);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, sealed.data(),
                                                 sealed.size(), id.data(), id.size(), id.data(),
                                                 block_key.data()) != 0) {
    return MakeError(ErrorCode::kCorrupt, "sealed block fails authentication");
  }
  if (ComputeBlockId(id_key, out) != id) {
    return MakeError(ErrorCode::kCorrupt, "block content does not match its id");
  }
  return out;
}

}  // namespace tandem::crypto
