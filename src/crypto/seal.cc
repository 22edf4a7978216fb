#include "crypto/seal.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <memory>
#include <new>
#include <stdexcept>

namespace tandem::crypto {
namespace {

constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
static_assert(kNonce == 24 && crypto_aead_xchacha20poly1305_ietf_ABYTES == kSealOverhead);

// Blocks are the bulk of what Tandem encrypts, and libsodium's portable
// ChaCha20 runs at about a quarter of OpenSSL's vectorised one. So blocks use
// the same XChaCha20-Poly1305 construction built from its two halves:
// HChaCha20 (libsodium) turns the key and the first 16 nonce bytes into a
// subkey, then OpenSSL's RFC 8439 ChaCha20-Poly1305 runs under that subkey
// with nonce 0^4 || the last 8 nonce bytes. The bytes are identical to
// libsodium's crypto_aead_xchacha20poly1305_ietf (a test holds them equal),
// so sealed blocks stay the same on disk and on the wire.
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct IetfParams {
  IetfParams() = default;
  IetfParams(const IetfParams&) = delete;
  IetfParams& operator=(const IetfParams&) = delete;
  ~IetfParams() { sodium_memzero(subkey.data(), subkey.size()); }
  Key32 subkey;
  std::array<uint8_t, 12> nonce{};
};

// Fills `p` in place (no copy of the subkey is left behind).
void DeriveIetf(const Key32& key, const BlockId& id, IetfParams& p) {
  crypto_core_hchacha20(p.subkey.data(), id.data(), key.data(), nullptr);
  std::copy(id.begin() + 16, id.begin() + kNonce, p.nonce.begin() + 4);
}

// One ChaCha20-Poly1305 pass. `out` receives the text, `tag` is written
// (sealing) or checked (opening). False when the tag does not match.
bool ChaChaPoly(bool seal, const IetfParams& p, ByteView ad, ByteView in, uint8_t* out,
                uint8_t* tag) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw std::bad_alloc();
  int len = 0;
  const int enc = seal ? 1 : 0;
  bool ok = EVP_CipherInit_ex(ctx.get(), EVP_chacha20_poly1305(), nullptr, nullptr, nullptr, enc) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, p.subkey.data(), p.nonce.data(), enc) == 1 &&
            EVP_CipherUpdate(ctx.get(), nullptr, &len, ad.data(), static_cast<int>(ad.size())) == 1;
  if (ok && !in.empty()) {
    ok = EVP_CipherUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) == 1;
  }
  if (ok && !seal) ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kSealOverhead, tag) == 1;
  if (ok) ok = EVP_CipherFinal_ex(ctx.get(), out + in.size(), &len) == 1;
  if (ok && seal) ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kSealOverhead, tag) == 1;
  return ok;
}

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

void SealBlockInto(const Key32& block_key, const BlockId& id, ByteView plaintext, std::span<uint8_t> out) {
  if (out.size() != plaintext.size() + kSealOverhead) throw std::invalid_argument("SealBlockInto: wrong output size");
  IetfParams params;
  DeriveIetf(block_key, id, params);
  if (!ChaChaPoly(true, params, id, plaintext, out.data(), out.data() + plaintext.size())) {
    throw std::runtime_error("ChaCha20-Poly1305 sealing failed");
  }
}

Bytes SealBlock(const Key32& block_key, const BlockId& id, ByteView plaintext) {
  Bytes out(plaintext.size() + kSealOverhead);
  SealBlockInto(block_key, id, plaintext, out);
  return out;
}

Result<ByteView> OpenBlockInPlace(const Key32& block_key, const Key32& id_key, const BlockId& id,
                                  std::span<uint8_t> sealed) {
  if (sealed.size() < kSealOverhead) return MakeError(ErrorCode::kCorrupt, "sealed block is too short");
  const size_t n = sealed.size() - kSealOverhead;
  Key32 tag;
  static_assert(sizeof(tag) >= kSealOverhead);
  std::copy(sealed.begin() + n, sealed.end(), tag.begin());
  IetfParams params;
  DeriveIetf(block_key, id, params);
  if (!ChaChaPoly(false, params, id, sealed.first(n), sealed.data(), tag.data())) {
    return MakeError(ErrorCode::kCorrupt, "sealed block fails authentication");
  }
  ByteView plain = sealed.first(n);
  if (ComputeBlockId(id_key, plain) != id) {
    return MakeError(ErrorCode::kCorrupt, "block content does not match its id");
  }
  return plain;
}

Result<Bytes> OpenBlock(const Key32& block_key, const Key32& id_key, const BlockId& id,
                        ByteView sealed) {
  Bytes copy = ToBytes(sealed);
  TANDEM_ASSIGN_OR_RETURN(ByteView plain, OpenBlockInPlace(block_key, id_key, id, copy));
  copy.resize(plain.size());
  return copy;
}

}  // namespace tandem::crypto
