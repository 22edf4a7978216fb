#include "sync/peer_link.h"

#include "crypto/keyed_hash.h"

namespace tandem::sync {

std::string OfferOf(const crypto::ShareSecrets& secrets, const Bytes& session_binding) {
  crypto::Key32 offer = crypto::ComputeShareOffer(secrets.share_id(), session_binding);
  return std::string(AsChars(offer));
}

namespace {

crypto::ConnectionRole OurRole(const PeerLink& link) {
  return link.outgoing() ? crypto::ConnectionRole::kDialer : crypto::ConnectionRole::kListener;
}
crypto::ConnectionRole TheirRole(const PeerLink& link) {
  return link.outgoing() ? crypto::ConnectionRole::kListener : crypto::ConnectionRole::kDialer;
}

}  // namespace

bool PeerProvesReading(const crypto::ShareSecrets& secrets, const PeerLink& link, ByteView proof) {
  return crypto::CheckReaderProof(secrets, link.session_binding(), TheirRole(link), proof);
}

Bytes ReaderProofFor(const crypto::ShareSecrets& secrets, const PeerLink& link) {
  return ToBytes(crypto::ComputeReaderProof(secrets.reader_proof_key(), link.session_binding(), OurRole(link)));
}

bool PeerProvesWriting(const crypto::ShareSecrets& secrets, const PeerLink& link, ByteView proof) {
  return crypto::CheckWriterProof(secrets, link.session_binding(), TheirRole(link), proof);
}

Bytes WriterProofFor(const crypto::ShareSecrets& secrets, const PeerLink& link) {
  return ToBytes(crypto::ComputeWriterProof(secrets.writer_proof_key(), link.session_binding(), OurRole(link)));
}

}  // namespace tandem::sync
