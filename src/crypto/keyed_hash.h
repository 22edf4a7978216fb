// Keyed hashes that name things without revealing them: block ids (id key
// over the plaintext) and locators (locator key over the path). HMAC-SHA-256
// through OpenSSL, which uses SHA-NI where present; DESIGN.md §7 has the
// measurement that chose it over BLAKE2b. Pure functions, any thread.
#pragma once

#include "base/bytes.h"
#include "crypto/keys.h"

namespace tandem::crypto {

using BlockId = Key32;
using Locator = Key32;

BlockId ComputeBlockId(const Key32& id_key, ByteView plaintext);
Locator ComputeLocator(const Key32& locator_key, std::string_view rel_path);

}  // namespace tandem::crypto

namespace tandem::crypto {

// How a share is named on one TLS connection: HMAC-SHA-256 keyed by the share
// id over the session's exporter secret. Only a device that knows the share id
// recognises it, and it is useless on any other connection.
Key32 ComputeShareOffer(const Key32& share_id, ByteView session_binding);

// How a share is named in one LAN discovery beacon (protocol/beacon.h):
// HMAC-SHA-256 keyed by the share id over a label, the beacon's nonce and
// the TCP port it announces, cut to 16 bytes. Only a device that knows the
// share recognises it; a fresh nonce makes every beacon's tags new, so
// beacons cannot be linked to each other by their tags; the port is bound
// so a copied beacon cannot point elsewhere on the same address.
using DiscoveryTag = std::array<uint8_t, 16>;
DiscoveryTag ComputeDiscoveryTag(const Key32& share_id, ByteView nonce, uint16_t port);

// Which end of a TLS connection a reader proof speaks for. Both ends share
// the exporter secret, so without the role a blind peer could send a
// reader's own proof straight back to it.
enum class ConnectionRole : uint8_t { kDialer = 'd', kListener = 'l' };

// That the device at `prover` can read the share, shown on one TLS
// connection: HMAC-SHA-256 keyed by the reader-proof key over the session's
// exporter secret and the prover's role. A blind replica cannot make it; it
// is useless on any other connection and from the other end.
Key32 ComputeReaderProof(const Key32& reader_proof_key, ByteView session_binding, ConnectionRole prover);
// Whether `proof` is the reader proof of the device at `prover` for this
// session, in constant time; false when `secrets` cannot read themselves.
bool CheckReaderProof(const ShareSecrets& secrets, ByteView session_binding, ConnectionRole prover,
                      ByteView proof);

// The same for writing, keyed by the writer-proof key (from the write seed):
// a peer that shows it is sent records without their own signatures, which
// it makes again itself (store::Signatures).
Key32 ComputeWriterProof(const Key32& writer_proof_key, ByteView session_binding, ConnectionRole prover);
// False when `secrets` cannot write themselves.
bool CheckWriterProof(const ShareSecrets& secrets, ByteView session_binding, ConnectionRole prover,
                      ByteView proof);

}  // namespace tandem::crypto
