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

// The same device certificate and its key, in PEM, for QUIC's TLS stack
// (GnuTLS): one identity whatever carries the connection. The key's text is
// wiped when this goes.
struct DeviceCertificatePem {
  std::string certificate;
  std::string key;
  ~DeviceCertificatePem();
};
Result<DeviceCertificatePem> MakeDeviceCertificatePem(const crypto::DeviceKey& device);

// The raw Ed25519 key a DER certificate carries; kCorrupt if none.
Result<crypto::Key32> Ed25519KeyOfCertificate(ByteView der);

// The label both transports derive the session binding under.
inline constexpr char kSessionBindingLabel[] = "EXPORTER-tandem-share-offer";

// 32 bytes both ends derive from this session (RFC 8446 exporter), binding
// share offers to it.
Result<Bytes> SessionBinding(SSL* ssl);

}  // namespace tandem::net
