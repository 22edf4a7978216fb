#include "crypto/keys.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <cassert>
#include <cstring>

namespace tandem::crypto {
namespace {

// libsodium KDF contexts are exactly 8 bytes.
constexpr char kReadContext[] = "tdm-read";
constexpr char kSubkeyContext[] = "tdm-subk";
constexpr char kWriterProofContext[] = "tdm-wprf";
enum SubkeyId : uint64_t { kEntry = 1, kBlock = 2, kId = 3, kLocator = 4, kReaderProof = 5 };

Key32 Derive(const Key32& master, uint64_t id, const char* context) {
  Key32 out;
  crypto_kdf_derive_from_key(out.data(), out.size(), id, context, master.data());
  return out;
}

}  // namespace

void Init() {
  [[maybe_unused]] int rc = sodium_init();
  assert(rc >= 0);
}

const char* AccessModeName(AccessMode mode) {
  switch (mode) {
    case AccessMode::kBlind: return "blind";
    case AccessMode::kRead: return "read";
    case AccessMode::kWrite: return "write";
  }
  return "blind";
}

Result<AccessMode> ParseAccessMode(std::string_view text) {
  if (text == "write") return AccessMode::kWrite;
  if (text == "read") return AccessMode::kRead;
  if (text == "blind") return AccessMode::kBlind;
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown access mode '" + std::string(text) + "': use write, read or blind");
}

Key32 Sha256(ByteView data) {
  Key32 out;
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

DeviceKey DeviceKey::Generate() {
  Init();
  Key32 seed;
  randombytes_buf(seed.data(), seed.size());
  return *FromSeed(seed);
}

Result<DeviceKey> DeviceKey::FromSeed(ByteView seed) {
  Init();
  if (seed.size() != 32) return MakeError(ErrorCode::kCorrupt, "device key has the wrong length");
  DeviceKey key;
  std::memcpy(key.seed_.data(), seed.data(), 32);
  std::array<uint8_t, 64> secret;
  crypto_sign_seed_keypair(key.public_key_.data(), secret.data(), key.seed_.data());
  sodium_memzero(secret.data(), secret.size());
  return key;
}

std::string DeviceIdFromPublicKey(ByteView public_key) {
  std::string plain = Base32Encode(Sha256(public_key));
  std::string grouped;
  for (size_t i = 0; i < plain.size(); i += 7) {
    if (i > 0) grouped.push_back('-');
    grouped.append(plain.substr(i, 7));
  }
  return grouped;
}

uint64_t ShortIdFromPublicKey(ByteView public_key) { return ReadU64BE(Sha256(public_key)); }

std::string DeviceKey::DeviceId() const { return DeviceIdFromPublicKey(public_key_); }
uint64_t DeviceKey::ShortId() const { return ShortIdFromPublicKey(public_key_); }

ShareSecrets ShareSecrets::GenerateWrite() {
  Init();
  Key32 seed;
  randombytes_buf(seed.data(), seed.size());
  return FromWriteSeed(seed);
}

ShareSecrets ShareSecrets::FromWriteSeed(const Key32& write_seed) {
  Init();
  ShareSecrets s;
  s.mode_ = AccessMode::kWrite;
  s.write_seed_ = write_seed;
  crypto_sign_seed_keypair(s.share_id_.data(), s.signing_key_.data(), write_seed.data());
  s.read_key_ = Derive(write_seed, 1, kReadContext);
  s.writer_proof_key_ = Derive(write_seed, 1, kWriterProofContext);
  s.DeriveReadSubkeys();
  return s;
}

ShareSecrets ShareSecrets::FromReadKey(const Key32& share_id, const Key32& read_key) {
  Init();
  ShareSecrets s;
  s.mode_ = AccessMode::kRead;
  s.share_id_ = share_id;
  s.read_key_ = read_key;
  s.DeriveReadSubkeys();
  return s;
}

ShareSecrets ShareSecrets::FromShareId(const Key32& share_id) {
  Init();
  ShareSecrets s;
  s.mode_ = AccessMode::kBlind;
  s.share_id_ = share_id;
  return s;
}

ShareSecrets ShareSecrets::Downgrade(AccessMode mode) const {
  assert(static_cast<int>(mode) <= static_cast<int>(mode_));
  switch (mode) {
    case AccessMode::kWrite: return *this;
    case AccessMode::kRead: return FromReadKey(share_id_, read_key_);
    case AccessMode::kBlind: return FromShareId(share_id_);
  }
  return FromShareId(share_id_);
}

void ShareSecrets::DeriveReadSubkeys() {
  entry_key_ = Derive(read_key_, kEntry, kSubkeyContext);
  block_key_ = Derive(read_key_, kBlock, kSubkeyContext);
  id_key_ = Derive(read_key_, kId, kSubkeyContext);
  locator_key_ = Derive(read_key_, kLocator, kSubkeyContext);
  reader_proof_key_ = Derive(read_key_, kReaderProof, kSubkeyContext);
}

const Key32& ShareSecrets::write_seed() const { assert(CanWrite()); return write_seed_; }
const Key32& ShareSecrets::read_key() const { assert(CanRead()); return read_key_; }
const Key32& ShareSecrets::entry_key() const { assert(CanRead()); return entry_key_; }
const Key32& ShareSecrets::block_key() const { assert(CanRead()); return block_key_; }
const Key32& ShareSecrets::id_key() const { assert(CanRead()); return id_key_; }
const Key32& ShareSecrets::locator_key() const { assert(CanRead()); return locator_key_; }
const Key32& ShareSecrets::reader_proof_key() const { assert(CanRead()); return reader_proof_key_; }
const Key32& ShareSecrets::writer_proof_key() const { assert(CanWrite()); return writer_proof_key_; }

Bytes ShareSecrets::Sign(ByteView message) const {
  assert(CanWrite());
  Bytes signature(crypto_sign_BYTES);
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                       signing_key_.data());
  return signature;
}

bool ShareSecrets::Verify(ByteView message, ByteView signature) const {
  return signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     share_id_.data()) == 0;
}

}  // namespace tandem::crypto
