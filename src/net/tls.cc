#include "net/tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

namespace tandem::net {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Error TlsError(const std::string& what) { return MakeError(ErrorCode::kInternal, "TLS setup: " + what); }


struct DeviceCertificate {
  PkeyPtr key;
  X509Ptr cert;
};

// A self-signed certificate for the device key; its subject names the device.
Result<DeviceCertificate> MakeDeviceCertificate(const crypto::DeviceKey& device) {
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, device.seed().data(),
                                           device.seed().size()));
  if (!key) return TlsError("cannot load the device key");
  X509Ptr cert(X509_new());
  if (!cert) return TlsError("cannot allocate a certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 100L * 365 * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  std::string cn = device.DeviceId().substr(0, 63);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  if (X509_sign(cert.get(), key.get(), nullptr) <= 0) return TlsError("cannot sign the certificate");
  return DeviceCertificate{std::move(key), std::move(cert)};
}

std::string TextOf(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<size_t>(size)) : std::string();
}

Result<crypto::Key32> RawEd25519Key(EVP_PKEY* key) {
  crypto::Key32 raw;
  size_t len = raw.size();
  if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519 ||
      EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size()) {
    return MakeError(ErrorCode::kCorrupt, "peer certificate does not carry an Ed25519 device key");
  }
  return raw;
}

}  // namespace

DeviceCertificatePem::~DeviceCertificatePem() { OPENSSL_cleanse(key.data(), key.size()); }

Result<DeviceCertificatePem> MakeDeviceCertificatePem(const crypto::DeviceKey& device) {
  auto made = MakeDeviceCertificate(device);
  if (!made) return made.error();
  BioPtr cert(BIO_new(BIO_s_mem()));
  BioPtr key(BIO_new(BIO_s_mem()));
  if (!cert || !key || PEM_write_bio_X509(cert.get(), made->cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key.get(), made->key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return TlsError("cannot write the device certificate");
  }
  DeviceCertificatePem pem;
  pem.certificate = TextOf(cert.get());
  pem.key = TextOf(key.get());
  // The memory BIO's copy of the key is wiped before it is freed.
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(key.get(), &memory);
  if (memory && memory->data) OPENSSL_cleanse(memory->data, memory->max);
  return pem;
}

Result<crypto::Key32> Ed25519KeyOfCertificate(ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return MakeError(ErrorCode::kCorrupt, "peer certificate cannot be read");
  return RawEd25519Key(X509_get0_pubkey(cert.get()));
}

Result<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const crypto::DeviceKey& device) {
  auto made = MakeDeviceCertificate(device);
  if (!made) return made.error();
  auto& [key, cert] = *made;
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION);
  if (SSL_CTX_use_certificate(native, cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(native, key.get()) != 1) {
    return TlsError("cannot install the device certificate");
  }
  // Both sides must show a certificate; its key, not a CA, is the identity.
  ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  ctx->set_verify_callback([](bool, asio::ssl::verify_context&) { return true; });
  return ctx;
}

Result<crypto::Key32> PeerPublicKey(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return MakeError(ErrorCode::kCorrupt, "peer presented no certificate");
  return RawEd25519Key(X509_get0_pubkey(cert));
}

Result<Bytes> SessionBinding(SSL* ssl) {
  Bytes out(32);
  if (SSL_export_keying_material(ssl, out.data(), out.size(), kSessionBindingLabel,
                                 sizeof(kSessionBindingLabel) - 1, nullptr, 0, 0) != 1) {
    return MakeError(ErrorCode::kInternal, "cannot derive the session binding");
  }
  return out;
}

}  // namespace tandem::net
