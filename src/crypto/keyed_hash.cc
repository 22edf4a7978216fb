#include "crypto/keyed_hash.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>

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

DiscoveryTag ComputeDiscoveryTag(const Key32& share_id, ByteView nonce, uint16_t port) {
  // The label keeps a tag from ever equalling an offer (whose message is a
  // 32-byte exporter secret).
  static constexpr std::string_view kLabel = "tandem lan discovery v1";
  Bytes message(kLabel.begin(), kLabel.end());
  message.insert(message.end(), nonce.begin(), nonce.end());
  message.push_back(static_cast<uint8_t>(port >> 8));
  message.push_back(static_cast<uint8_t>(port & 0xff));
  const Key32 full = HmacSha256(share_id, message);
  DiscoveryTag tag;
  std::copy_n(full.begin(), tag.size(), tag.begin());
  return tag;
}

namespace {

// What both access proofs are: the key's HMAC over the binding and the role.
Key32 ComputeAccessProof(const Key32& proof_key, ByteView session_binding, ConnectionRole prover) {
  Bytes message(session_binding.begin(), session_binding.end());
  message.push_back(static_cast<uint8_t>(prover));
  return HmacSha256(proof_key, message);
}

bool SameProof(const Key32& expected, ByteView proof) {
  return proof.size() == expected.size() && CRYPTO_memcmp(expected.data(), proof.data(), expected.size()) == 0;
}

}  // namespace

Key32 ComputeReaderProof(const Key32& reader_proof_key, ByteView session_binding, ConnectionRole prover) {
  return ComputeAccessProof(reader_proof_key, session_binding, prover);
}

bool CheckReaderProof(const ShareSecrets& secrets, ByteView session_binding, ConnectionRole prover,
                      ByteView proof) {
  if (!secrets.CanRead()) return false;
  return SameProof(ComputeReaderProof(secrets.reader_proof_key(), session_binding, prover), proof);
}

Key32 ComputeWriterProof(const Key32& writer_proof_key, ByteView session_binding, ConnectionRole prover) {
  return ComputeAccessProof(writer_proof_key, session_binding, prover);
}

bool CheckWriterProof(const ShareSecrets& secrets, ByteView session_binding, ConnectionRole prover,
                      ByteView proof) {
  if (!secrets.CanWrite()) return false;
  return SameProof(ComputeWriterProof(secrets.writer_proof_key(), session_binding, prover), proof);
}

}  // namespace tandem::crypto
