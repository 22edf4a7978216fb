// TLS for peer connections: TLS 1.3 only, each side presents a self-signed
// certificate made from its Ed25519 device key, and each side learns the
// other's device id from that certificate. There is no CA: a device is its
// key, and what it may see is decided by the shares it proves it knows.
#pragma once

#include <openssl/ssl.h>

#include <asio/ssl/context.hpp>
#include <memory>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"

namespace tandem::net {

// A context usable for both accepting and connecting. kInternal if OpenSSL
// refuses the key or certificate.
Result<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const crypto::DeviceKey& device);

// The peer's raw Ed25519 public key, after a completed handshake.
Result<crypto::Key32> PeerPublicKey(SSL* ssl);

// 32 bytes both ends derive from this session (RFC 8446 exporter), binding
// share offers to it.
Result<Bytes> SessionBinding(SSL* ssl);

}  // namespace tandem::net
