#include "sync/peer_link.h"

#include "crypto/keyed_hash.h"

namespace tandem::sync {

std::string OfferOf(const crypto::ShareSecrets& secrets, const Bytes& session_binding) {
  crypto::Key32 offer = crypto::ComputeShareOffer(secrets.share_id(), session_binding);
  return std::string(AsChars(offer));
}

bool PeerProvesReading(const crypto::ShareSecrets& secrets, const PeerLink& link, ByteView proof) {
  auto their_role = link.outgoing() ? crypto::ConnectionRole::kListener : crypto::ConnectionRole::kDialer;
  return crypto::CheckReaderProof(secrets, link.session_binding(), their_role, proof);
}

Bytes ReaderProofFor(const crypto::ShareSecrets& secrets, const PeerLink& link) {
  auto role = link.outgoing() ? crypto::ConnectionRole::kDialer : crypto::ConnectionRole::kListener;
  return ToBytes(crypto::ComputeReaderProof(secrets.reader_proof_key(), link.session_binding(), role));
}

}  // namespace tandem::sync
