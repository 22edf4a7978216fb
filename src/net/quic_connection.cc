#include "net/quic_connection.h"

#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "net/interfaces.h"
#include "net/quic_endpoint.h"
#include "net/tls.h"

namespace tandem::net {
namespace {

using namespace asio::experimental::awaitable_operators;

// TLS 1.3 only, the AEADs ngtcp2's GnuTLS helper knows, and no middlebox
// compatibility mode (QUIC forbids it).
constexpr char kPriority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "%DISABLE_TLS13_COMPAT_MODE";
// Packets written per flush before the loop gets a turn (a bulk transfer
// otherwise starves the reading side, which brings the acknowledgements).
constexpr size_t kPacketsPerFlush = 64;
constexpr size_t kPacketBuffer = 64 * 1024;
constexpr size_t kVectorsPerWrite = 16;
// The application error code of a CONNECTION_CLOSE that Close sends.
constexpr uint64_t kClosedByApplication = 0x100;

void RandomBytes(uint8_t* out, size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) throw std::runtime_error("no randomness");
}

ngtcp2_cid RandomConnectionId() {
  ngtcp2_cid cid;
  cid.datalen = kConnectionIdSize;
  RandomBytes(cid.data, cid.datalen);
  return cid;
}

void Rand(uint8_t* out, size_t size, const ngtcp2_rand_ctx*) { RandomBytes(out, size); }

void SetAddress(ngtcp2_addr& addr, const asio::ip::udp::endpoint& endpoint) {
  std::memcpy(addr.addr, endpoint.data(), endpoint.size());
  addr.addrlen = static_cast<ngtcp2_socklen>(endpoint.size());
}

asio::ip::udp::endpoint EndpointOf(const ngtcp2_addr& addr) {
  asio::ip::udp::endpoint endpoint;
  std::memcpy(endpoint.data(), addr.addr, addr.addrlen);
  endpoint.resize(addr.addrlen);
  return endpoint;
}

void SetPath(ngtcp2_path_storage& storage, const asio::ip::udp::endpoint& local,
             const asio::ip::udp::endpoint& remote) {
  ngtcp2_path_storage_zero(&storage);
  SetAddress(storage.path.local, local);
  SetAddress(storage.path.remote, remote);
}

// What the routing table says of the way to `remote`: the address packets
// leave from and the MTU. Connecting a UDP socket sends nothing: it only
// looks the route up.
struct Route {
  asio::ip::address source;
  int mtu = 0;
};
Route RouteTo(const asio::ip::udp::endpoint& remote) {
  Route route;
  int fd = ::socket(remote.address().is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return route;
  if (::connect(fd, remote.data(), static_cast<socklen_t>(remote.size())) == 0) {
    asio::ip::udp::endpoint local;
    socklen_t size = static_cast<socklen_t>(local.capacity());
    if (::getsockname(fd, local.data(), &size) == 0) {
      local.resize(size);
      route.source = local.address();
    }
    socklen_t mtu_size = sizeof(route.mtu);
    if ((remote.address().is_v4() ? ::getsockopt(fd, IPPROTO_IP, IP_MTU, &route.mtu, &mtu_size)
                                  : ::getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &route.mtu, &mtu_size)) != 0) {
      route.mtu = 0;
    }
  }
  ::close(fd);
  return route;
}

// The largest UDP payload for packets to `remote`: on this side of any
// router, the route's MTU (loopback's is 64 KiB, a LAN's its interfaces'),
// since nothing between can have a smaller one; 0 beyond, where QUIC starts
// at 1200 bytes and probes for more (PMTUD). Fewer, larger packets are most
// of what QUIC costs in CPU on a fast link.
size_t LocalPathPayload(const asio::ip::udp::endpoint& remote) {
  if (!OnLocalNetwork(remote.address(), LocalInterfaces())) return 0;
  const int mtu = RouteTo(remote).mtu;
  const int headers = remote.address().is_v4() ? 20 + 8 : 40 + 8;
  if (mtu - headers <= static_cast<int>(NGTCP2_MAX_UDP_PAYLOAD_SIZE)) return 0;
  return std::min<size_t>(static_cast<size_t>(mtu - headers), kLargestLocalPayload);
}

// `payload`: LocalPathPayload's, or 0.
ngtcp2_settings Settings(size_t payload) {
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  // BBR v2 rather than CUBIC: it paces to the path's measured bandwidth and
  // does not halve its window for each random loss, which on a lossy link
  // kept CUBIC's at 10-30 KiB (16 MiB over 100 ms and 1% loss: 83 s; BBR
  // v2: 1.6 s; TCP: 2.1 s; docs/benchmarks.md).
  settings.cc_algo = NGTCP2_CC_ALGO_BBR2;
  if (payload) {
    settings.max_tx_udp_payload_size = payload;
    settings.no_tx_udp_payload_size_shaping = 1;
  }
  settings.initial_ts = QuicNow();
  settings.handshake_timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(kHandshakeTimeout).count();
  settings.max_window = kConnectionWindow;
  settings.max_stream_window = kStreamWindow;
  return settings;
}

ngtcp2_transport_params Parameters(size_t payload) {
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  // What this end's route takes, told to the peer, which sends no larger:
  // two hosts on one link may have different MTUs (a 9000-byte NAS beside a
  // 1500-byte laptop), and each side's own route says only its own.
  if (payload) params.max_udp_payload_size = payload;
  params.initial_max_streams_uni = kMaxPeerStreams;
  params.initial_max_streams_bidi = 0;
  params.initial_max_stream_data_uni = kStreamWindow;
  params.initial_max_data = kConnectionWindow;
  params.max_idle_timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(kQuicIdleTimeout).count();
  return params;
}

std::string TlsReason(int code) { return gnutls_strerror(code); }

}  // namespace

ngtcp2_tstamp QuicNow() {
  return static_cast<ngtcp2_tstamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// --- credentials ---------------------------------------------------------

Result<std::shared_ptr<QuicCredentials>> QuicCredentials::FromPem(const std::string& certificate,
                                                                   const std::string& key) {
  std::shared_ptr<QuicCredentials> made(new QuicCredentials());
  if (gnutls_certificate_allocate_credentials(&made->credentials_) != GNUTLS_E_SUCCESS) {
    return MakeError(ErrorCode::kInternal, "QUIC TLS setup: out of memory");
  }
  if (certificate.empty()) return made;
  gnutls_datum_t cert{reinterpret_cast<unsigned char*>(const_cast<char*>(certificate.data())),
                      static_cast<unsigned>(certificate.size())};
  gnutls_datum_t private_key{reinterpret_cast<unsigned char*>(const_cast<char*>(key.data())),
                             static_cast<unsigned>(key.size())};
  int rv = gnutls_certificate_set_x509_key_mem2(made->credentials_, &cert, &private_key, GNUTLS_X509_FMT_PEM, nullptr, 0);
  if (rv < 0) return MakeError(ErrorCode::kInternal, "QUIC TLS setup: cannot install the certificate: " + TlsReason(rv));
  return made;
}

Result<std::shared_ptr<QuicCredentials>> QuicCredentials::Create(const crypto::DeviceKey& device) {
  auto pem = MakeDeviceCertificatePem(device);
  if (!pem) return pem.error();
  auto created = FromPem(pem->certificate, pem->key);
  if (!created) return created.error();
  std::shared_ptr<QuicCredentials> made = std::move(*created);
  static constexpr char kResetLabel[] = "tandem QUIC stateless reset";
  unsigned int size = static_cast<unsigned int>(made->reset_secret_.size());
  if (!HMAC(EVP_sha256(), device.seed().data(), static_cast<int>(device.seed().size()),
            reinterpret_cast<const unsigned char*>(kResetLabel), sizeof(kResetLabel) - 1, made->reset_secret_.data(),
            &size)) {
    return MakeError(ErrorCode::kInternal, "QUIC TLS setup: cannot derive the reset key");
  }
  return made;
}

QuicCredentials::~QuicCredentials() {
  if (credentials_) gnutls_certificate_free_credentials(credentials_);
}

// --- set-up ---------------------------------------------------------------

QuicConnection::QuicConnection(std::shared_ptr<QuicEndpoint> endpoint, std::shared_ptr<QuicCredentials> credentials,
                               bool outgoing)
    : Connection(PeerIdentity{.outgoing = outgoing}), executor_(endpoint->executor()),
      endpoint_(std::move(endpoint)), credentials_(std::move(credentials)), packet_(kPacketBuffer),
      timer_(executor_), signal_(executor_) {
  ref_.get_conn = &QuicConnection::ConnOf;
  ref_.user_data = this;
  timer_.expires_at(asio::steady_timer::time_point::max());
  signal_.expires_at(asio::steady_timer::time_point::max());
}

QuicConnection::~QuicConnection() {
  ForgetConnectionIds();
  if (conn_) ngtcp2_conn_del(conn_);
  if (tls_) gnutls_deinit(tls_);
}

ngtcp2_conn* QuicConnection::ConnOf(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<QuicConnection*>(ref->user_data)->conn_;
}

const ngtcp2_callbacks& QuicConnection::Callbacks(bool server) {
  static const ngtcp2_callbacks callbacks = [] {
    ngtcp2_callbacks c{};
    c.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    c.encrypt = ngtcp2_crypto_encrypt_cb;
    c.decrypt = ngtcp2_crypto_decrypt_cb;
    c.hp_mask = ngtcp2_crypto_hp_mask_cb;
    c.update_key = ngtcp2_crypto_update_key_cb;
    c.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    c.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    c.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
    c.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    c.rand = Rand;
    c.handshake_completed = &QuicConnection::OnHandshakeCompletedCb;
    c.recv_stream_data = &QuicConnection::OnStreamDataCb;
    c.acked_stream_data_offset = &QuicConnection::OnAckedCb;
    c.get_new_connection_id = &QuicConnection::OnNewConnectionIdCb;
    c.remove_connection_id = &QuicConnection::OnRemoveConnectionIdCb;
    c.stream_reset = &QuicConnection::OnStreamResetCb;
    c.extend_max_stream_data = &QuicConnection::OnExtendMaxStreamDataCb;
    return c;
  }();
  static const ngtcp2_callbacks client = [] {
    ngtcp2_callbacks c = callbacks;
    c.client_initial = ngtcp2_crypto_client_initial_cb;
    c.recv_retry = ngtcp2_crypto_recv_retry_cb;
    return c;
  }();
  static const ngtcp2_callbacks for_server = [] {
    ngtcp2_callbacks c = callbacks;
    c.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    return c;
  }();
  return server ? for_server : client;
}

Result<void> QuicConnection::SetUpTls(bool server) {
  unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT | GNUTLS_FORCE_CLIENT_CERT) | GNUTLS_NO_END_OF_EARLY_DATA;
  int rv = gnutls_init(&tls_, flags);
  if (rv == 0) rv = gnutls_priority_set_direct(tls_, kPriority, nullptr);
  if (rv == 0) {
    rv = server ? ngtcp2_crypto_gnutls_configure_server_session(tls_)
                : ngtcp2_crypto_gnutls_configure_client_session(tls_);
    if (rv != 0) rv = GNUTLS_E_INTERNAL_ERROR;
  }
  if (rv == 0) rv = gnutls_credentials_set(tls_, GNUTLS_CRD_CERTIFICATE, credentials_->get());
  if (rv != 0) return MakeError(ErrorCode::kInternal, "QUIC TLS setup: " + TlsReason(rv));
  gnutls_session_set_ptr(tls_, &ref_);
  // Both sides show a certificate; its key, not a CA, is the identity.
  if (server) gnutls_certificate_server_set_request(tls_, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_verify_function(tls_, &QuicConnection::VerifyPeerCb);
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)), sizeof(kAlpn) - 1};
  gnutls_alpn_set_protocols(tls_, &alpn, 1, GNUTLS_ALPN_MANDATORY);
  ngtcp2_conn_set_tls_native_handle(conn_, tls_);
  return Ok();
}

asio::awaitable<Result<std::shared_ptr<Connection>>> QuicConnection::Dial(
    asio::any_io_executor executor, asio::ip::udp::endpoint remote, std::shared_ptr<QuicCredentials> credentials) {
  auto endpoint = QuicEndpoint::ForDialing(executor, remote, credentials);
  if (!endpoint) co_return endpoint.error();
  std::shared_ptr<QuicConnection> self(new QuicConnection(*endpoint, std::move(credentials), true));
  asio::ip::udp::endpoint local = (*endpoint)->local_endpoint();
  SetPath(self->path_, local, remote);
  ngtcp2_cid dcid = RandomConnectionId(), scid = RandomConnectionId();
  const size_t payload = LocalPathPayload(remote);
  ngtcp2_settings settings = Settings(payload);
  ngtcp2_transport_params params = Parameters(payload);
  // A dialled connection's reset tokens come from a key of its own: its
  // socket dies with this process, so nothing would use one from the device
  // key, and a listener then cannot be made to answer for its ids.
  RandomBytes(self->reset_secret_.data(), self->reset_secret_.size());
  if (ngtcp2_conn_client_new(&self->conn_, &dcid, &scid, &self->path_.path, NGTCP2_PROTO_VER_V1, &Callbacks(false),
                             &settings, &params, nullptr, self.get()) != 0) {
    (*endpoint)->Close();
    co_return MakeError(ErrorCode::kInternal, "QUIC setup: out of memory");
  }
  if (auto tls = self->SetUpTls(false); !tls) {
    (*endpoint)->Close();
    co_return tls.error();
  }
  self->RouteId(scid);
  (*endpoint)->Start();
  asio::co_spawn(self->executor_, self->TimerLoop(), LogIfThrew("a QUIC timer", spdlog::level::debug));
  self->Flush();
  auto done = co_await self->Handshake();
  if (!done) {
    self->Ended(done.error().message);
    co_return done.error();
  }
  co_return std::shared_ptr<Connection>(std::move(self));
}

std::shared_ptr<QuicConnection> QuicConnection::Accept(std::shared_ptr<QuicEndpoint> endpoint,
                                                       std::shared_ptr<QuicCredentials> credentials,
                                                       const ngtcp2_pkt_hd& header, const ngtcp2_cid* original_dcid,
                                                       const asio::ip::udp::endpoint& local,
                                                       const asio::ip::udp::endpoint& remote) {
  std::shared_ptr<QuicConnection> self(new QuicConnection(endpoint, std::move(credentials), false));
  SetPath(self->path_, local, remote);
  ngtcp2_cid scid = RandomConnectionId();
  const size_t payload = LocalPathPayload(remote);
  ngtcp2_settings settings = Settings(payload);
  ngtcp2_transport_params params = Parameters(payload);
  self->reset_secret_ = self->credentials_->reset_secret();
  if (original_dcid) {
    // The address is validated: ngtcp2 may send more than three times what
    // it received before the handshake ends.
    settings.token = header.token;
    // The client's first Initial went to `original_dcid`; this one, after
    // the Retry, to the id the Retry gave.
    params.original_dcid = *original_dcid;
    params.retry_scid = header.dcid;
    params.retry_scid_present = 1;
  } else {
    params.original_dcid = header.dcid;
  }
  params.stateless_reset_token_present = 1;
  const auto& secret = self->reset_secret_;
  if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, secret.data(), secret.size(),
                                                    &scid) != 0) {
    return nullptr;
  }
  if (ngtcp2_conn_server_new(&self->conn_, &header.scid, &scid, &self->path_.path, header.version,
                             &Callbacks(true), &settings, &params, nullptr, self.get()) != 0) {
    return nullptr;
  }
  if (!self->SetUpTls(true)) return nullptr;
  self->RouteId(header.dcid);
  self->RouteId(scid);
  asio::co_spawn(self->executor_, self->TimerLoop(), LogIfThrew("a QUIC timer", spdlog::level::debug));
  return self;
}

int QuicConnection::VerifyPeerCb(gnutls_session_t session) {
  auto* self = static_cast<QuicConnection*>(static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session))->user_data);
  unsigned count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (!chain || count == 0 || !Ed25519KeyOfCertificate(ByteView(chain[0].data, chain[0].size))) {
    self->peer_refused_ = true;
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

Result<void> QuicConnection::LearnPeer() {
  unsigned count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(tls_, &count);
  if (!chain || count == 0) return MakeError(ErrorCode::kCorrupt, "peer presented no certificate");
  auto key = Ed25519KeyOfCertificate(ByteView(chain[0].data, chain[0].size));
  if (!key) return key.error();
  Bytes binding(32);
  if (gnutls_prf_rfc5705(tls_, sizeof(kSessionBindingLabel) - 1, kSessionBindingLabel, 0, nullptr, binding.size(),
                         reinterpret_cast<char*>(binding.data())) != 0) {
    return MakeError(ErrorCode::kInternal, "cannot derive the session binding");
  }
  identity_.peer_key = *key;
  identity_.peer_device_id = crypto::DeviceIdFromPublicKey(*key);
  identity_.binding = std::move(binding);
  auto remote = EndpointOf(path_.path.remote);
  identity_.remote = PeerAddress{Transport::kQuic, remote.address().to_string(), remote.port()}.ToString();
  identity_.remote_address = remote.address();
  identity_.local_address = EndpointOf(path_.path.local).address();
  // A listener bound to every address does not say which one a peer
  // reached: the route back to the peer does (what KeepSessionsOn needs
  // when that address goes away).
  if (identity_.local_address.is_unspecified()) identity_.local_address = RouteTo(remote).source;
  return Ok();
}

asio::awaitable<Result<void>> QuicConnection::Handshake() {
  auto self = shared_from_this();
  asio::steady_timer deadline(executor_);
  deadline.expires_after(kHandshakeTimeout);
  bool late = false;
  while (!handshake_done_ && !closed_) {
    // Whichever comes first; the other wait is cancelled before this resumes.
    auto woken = co_await (signal_.async_wait(asio::experimental::as_tuple(asio::use_awaitable)) ||
                           deadline.async_wait(asio::experimental::as_tuple(asio::use_awaitable)));
    if (woken.index() == 1) {
      late = true;
      break;
    }
  }
  if (handshake_done_ && !closed_) {
    auto learnt = LearnPeer();
    if (!learnt) {
      Fail(NGTCP2_ERR_CALLBACK_FAILURE, learnt.error().message);
      co_return learnt.error();
    }
    co_return Ok();
  }
  if (late && !closed_) Ended("QUIC handshake timed out");
  if (peer_refused_) co_return MakeError(ErrorCode::kCorrupt, "peer certificate does not carry an Ed25519 device key");
  co_return MakeError(ErrorCode::kIo, "QUIC handshake failed: " + end_reason_);
}

// --- callbacks (inside ngtcp2: no ngtcp2 calls here) ----------------------

int QuicConnection::OnHandshakeCompletedCb(ngtcp2_conn*, void* self) {
  static_cast<QuicConnection*>(self)->handshake_done_ = true;
  static_cast<QuicConnection*>(self)->Wake();
  return 0;
}

int QuicConnection::OnStreamDataCb(ngtcp2_conn*, uint32_t, int64_t stream, uint64_t, const uint8_t* data, size_t size,
                                   void* self, void*) {
  return static_cast<QuicConnection*>(self)->OnStreamData(stream, ByteView(data, size));
}

int QuicConnection::OnStreamData(int64_t stream, ByteView data) {
  // Only the peer's unidirectional streams carry frames; ngtcp2 already
  // refuses bidirectional ones (none allowed) and streams past the limit.
  if (corrupt_) return 0;
  Incoming& in = incoming_[stream];
  in.decoder.Feed(data);
  while (true) {
    uint64_t before = in.decoder.decoded_bytes();
    auto next = in.decoder.Next();
    if (!next) {
      corrupt_ = next.error();
      break;
    }
    if (!*next) break;
    inbox_.push_back(Received{std::move(**next), stream, in.decoder.decoded_bytes() - before});
  }
  Wake();
  return 0;
}

int QuicConnection::OnAckedCb(ngtcp2_conn*, int64_t stream, uint64_t offset, uint64_t size, void* self, void*) {
  static_cast<QuicConnection*>(self)->OnAcked(stream, offset, size);
  return 0;
}

void QuicConnection::OnAcked(int64_t stream, uint64_t offset, uint64_t size) {
  for (Lane& lane : lanes_) {
    if (lane.stream != stream) continue;
    const uint64_t acked = offset + size;
    while (!lane.frames.empty() && lane.front_offset + lane.frames.front().size() <= acked) {
      lane.front_offset += lane.frames.front().size();
      queued_bytes_ -= lane.frames.front().size();
      lane.frames.pop_front();
    }
    Wake();
    return;
  }
}

int QuicConnection::OnNewConnectionIdCb(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t size, void* self) {
  auto* me = static_cast<QuicConnection*>(self);
  cid->datalen = size;
  RandomBytes(cid->data, size);
  const auto& secret = me->reset_secret_;
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), cid) != 0) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  me->RouteId(*cid);
  return 0;
}

int QuicConnection::OnRemoveConnectionIdCb(ngtcp2_conn*, const ngtcp2_cid* cid, void* self) {
  auto* me = static_cast<QuicConnection*>(self);
  me->endpoint_->Unroute(*cid);
  me->routed_.erase(std::string(reinterpret_cast<const char*>(cid->data), cid->datalen));
  return 0;
}

int QuicConnection::OnStreamResetCb(ngtcp2_conn*, int64_t, uint64_t, uint64_t, void* self, void*) {
  // A lane cut short loses part of a frame: the stream of frames is broken.
  auto* me = static_cast<QuicConnection*>(self);
  if (!me->corrupt_) me->corrupt_ = MakeError(ErrorCode::kCorrupt, "peer reset a stream");
  me->Wake();
  return 0;
}

int QuicConnection::OnExtendMaxStreamDataCb(ngtcp2_conn*, int64_t, uint64_t, void* self, void*) {
  static_cast<QuicConnection*>(self)->FlushSoon();
  return 0;
}

// --- datagrams and packets ---------------------------------------------------

bool QuicConnection::MoveToNewAddress() {
  if (!outgoing() || closed_ || !conn_ || !handshake_done_) return false;
  const asio::ip::udp::endpoint remote = peer_endpoint();
  auto moved = QuicEndpoint::ForDialing(executor_, remote, credentials_);
  if (!moved) return false;
  ngtcp2_path_storage path;
  SetPath(path, (*moved)->local_endpoint(), remote);
  if (ngtcp2_conn_initiate_immediate_migration(conn_, &path.path, QuicNow()) != 0) {
    (*moved)->Close();
    return false;
  }
  auto old = std::exchange(endpoint_, *moved);
  for (const std::string& id : routed_) {
    ngtcp2_cid cid;
    ngtcp2_cid_init(&cid, reinterpret_cast<const uint8_t*>(id.data()), id.size());
    old->Unroute(cid);
    endpoint_->Route(cid, std::static_pointer_cast<QuicConnection>(shared_from_this()));
  }
  old->Close();
  endpoint_->Start();
  held_packet_.clear();
  ngtcp2_path_copy(&path_.path, &path.path);
  identity_.local_address = endpoint_->local_endpoint().address();
  Flush();
  return true;
}

asio::ip::udp::endpoint QuicConnection::peer_endpoint() const { return EndpointOf(path_.path.remote); }

void QuicConnection::OnRefused() {
  if (!handshake_done_) {
    Ended("connection refused");
    return;
  }
  // Believed only while packets of ours go unanswered (data in flight, two
  // probes without an acknowledgement) and nothing came from the peer for a
  // second: an idle connection, or a live one, ignores forged ICMP.
  ngtcp2_conn_stat stat;
  ngtcp2_conn_get_conn_stat(conn_, &stat);
  if (stat.bytes_in_flight > 0 && stat.pto_count >= 2 &&
      std::chrono::steady_clock::now() - last_datagram_ >= kRefusedSilence) {
    Ended("the peer's port is closed (ICMP), and nothing came from it for a second");
  }
}

void QuicConnection::OnDatagram(const asio::ip::udp::endpoint& local, const asio::ip::udp::endpoint& remote,
                                ByteView datagram) {
  if (closed_ || !conn_) return;
  last_datagram_ = std::chrono::steady_clock::now();
  ngtcp2_path_storage storage;
  SetPath(storage, local, remote);
  ngtcp2_pkt_info info{};
  int rv = ngtcp2_conn_read_pkt(conn_, &storage.path, &info, datagram.data(), datagram.size(), QuicNow());
  if (rv != 0) {
    if (rv == NGTCP2_ERR_DRAINING) {
      ngtcp2_connection_close_error error;
      ngtcp2_conn_get_connection_close_error(conn_, &error);
      std::string reason(reinterpret_cast<const char*>(error.reason), error.reasonlen);
      Ended(reason.empty() ? "closed by the peer" : "closed by the peer: " + reason.substr(0, 200));
    } else if (rv == NGTCP2_ERR_DROP_CONN) {
      Ended("dropped");
    } else if (rv == NGTCP2_ERR_CRYPTO) {
      Fail(rv, peer_refused_ ? "peer certificate does not carry an Ed25519 device key"
                             : "TLS alert " + std::to_string(ngtcp2_conn_get_tls_alert(conn_)));
    } else {
      Fail(rv, ngtcp2_strerror(rv));
    }
    return;
  }
  Flush();
}

void QuicConnection::FlushSoon() {
  if (flush_posted_ || closed_) return;
  flush_posted_ = true;
  asio::post(executor_, [self = std::static_pointer_cast<QuicConnection>(shared_from_this())] {
    self->flush_posted_ = false;
    self->Flush();
  });
}

bool QuicConnection::Transmit(const asio::ip::address& from, const asio::ip::udp::endpoint& to, ByteView packet) {
  std::error_code ec;
  if (endpoint_->SendFrom(from, to, packet, ec)) return true;
  if (ec == asio::error::connection_refused) {
    // ICMP's answer to an earlier packet, reported on this send instead of
    // a receive. Posted: ending the connection here would end it mid-Flush.
    asio::post(executor_, [weak = std::weak_ptr<Connection>(shared_from_this())] {
      if (auto self = weak.lock()) static_cast<QuicConnection*>(self.get())->OnRefused();
    });
    return true;
  }
  if (ec != asio::error::would_block) return true;  // the socket is gone: as good as lost
  // The socket is full: the packet waits, and writing resumes once it has room.
  held_packet_.assign(packet.begin(), packet.end());
  held_to_ = to;
  held_from_ = from;
  endpoint_->WhenWritable([weak = std::weak_ptr<Connection>(shared_from_this())] {
    if (auto self = weak.lock()) static_cast<QuicConnection*>(self.get())->Flush();
  });
  return false;
}

void QuicConnection::Flush() {
  if (closed_ || !conn_) return;
  if (!held_packet_.empty()) {
    Bytes held = std::move(held_packet_);
    held_packet_.clear();
    if (!Transmit(held_from_, held_to_, held)) return;
  }
  const ngtcp2_tstamp now = QuicNow();
  for (Lane& lane : lanes_) lane.blocked = false;
  size_t packets = 0;
  bool mid_packet = false;  // ngtcp2 allows no other call until the packet is out
  // The same path and packet info for every call that adds to one packet.
  ngtcp2_path_storage storage;
  ngtcp2_path_storage_zero(&storage);
  ngtcp2_pkt_info info{};
  while (packets < kPacketsPerFlush) {
    // The control lane first, then the answer lanes from where the last
    // packet left off.
    Lane* lane = nullptr;
    for (size_t i = 0; i < lanes_.size() && !lane; ++i) {
      size_t index = i == 0 ? 0 : 1 + (next_answer_lane_ + i - 1) % kAnswerLanes;
      Lane& candidate = lanes_[index];
      if (!candidate.blocked && candidate.written < candidate.end && handshake_done_) lane = &candidate;
    }
    std::array<ngtcp2_vec, kVectorsPerWrite> vectors;
    size_t count = 0;
    if (lane) {
      if (lane->stream < 0 && (mid_packet || ngtcp2_conn_open_uni_stream(conn_, &lane->stream, nullptr) != 0)) {
        lane->stream = -1;
        lane->blocked = true;  // the peer allows no more streams yet, or not mid-packet
        continue;
      }
      uint64_t position = lane->front_offset;
      for (auto& frame : lane->frames) {
        if (count == vectors.size()) break;
        uint64_t end = position + frame.size();
        if (end > lane->written) {
          uint64_t skip = lane->written > position ? lane->written - position : 0;
          vectors[count++] = ngtcp2_vec{frame.data() + skip, static_cast<size_t>(frame.size() - skip)};
        }
        position = end;
      }
    }
    ngtcp2_ssize accepted = -1;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn_, &storage.path, &info, packet_.data(), packet_.size(), &accepted,
                                               NGTCP2_WRITE_STREAM_FLAG_MORE, lane ? lane->stream : -1,
                                               count ? vectors.data() : nullptr, count, now);
    if (lane && accepted > 0) lane->written += static_cast<uint64_t>(accepted);
    if (n == NGTCP2_ERR_WRITE_MORE) {
      mid_packet = true;
      continue;
    }
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
      if (lane) lane->blocked = true;
      mid_packet = true;
      continue;
    }
    if (lane && (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND)) {
      // We never shut a lane: the peer stopped reading it (STOP_SENDING),
      // and what it holds would never be acknowledged.
      if (!corrupt_) corrupt_ = MakeError(ErrorCode::kCorrupt, "peer stopped reading a stream");
      Fail(NGTCP2_ERR_CALLBACK_FAILURE, "peer stopped reading a stream");
      return;
    }
    mid_packet = false;
    if (n < 0) {
      Fail(static_cast<int>(n), ngtcp2_strerror(static_cast<int>(n)));
      return;
    }
    if (n == 0) break;  // nothing to send, or congestion says wait
    if (lane && lane != &lanes_[0]) next_answer_lane_ = (next_answer_lane_ + 1) % kAnswerLanes;
    for (Lane& l : lanes_) l.blocked = false;
    ngtcp2_path_copy(&path_.path, &storage.path);
    ++packets;
    if (!Transmit(EndpointOf(storage.path.local).address(), EndpointOf(storage.path.remote),
                  ByteView(packet_.data(), static_cast<size_t>(n)))) {
      break;
    }
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, now);
  if (packets == kPacketsPerFlush) FlushSoon();
  ArmTimer();
}

void QuicConnection::ArmTimer() {
  if (closed_ || !conn_) return;
  ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_);
  auto at = expiry == UINT64_MAX ? asio::steady_timer::time_point::max()
                                 : asio::steady_timer::time_point(std::chrono::nanoseconds(expiry));
  if (timer_.expiry() != at) timer_.expires_at(at);
}

asio::awaitable<void> QuicConnection::TimerLoop() {
  auto self = shared_from_this();
  while (!closed_) {
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_) break;
    if (ec) continue;  // moved by ArmTimer
    timer_.expires_at(asio::steady_timer::time_point::max());
    int rv = ngtcp2_conn_handle_expiry(conn_, QuicNow());
    if (rv != 0) {
      Ended(rv == NGTCP2_ERR_IDLE_CLOSE ? "no traffic: idle timeout"
                                        : rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT ? "handshake timed out"
                                                                             : ngtcp2_strerror(rv));
      break;
    }
    Flush();
  }
}

// --- frames -----------------------------------------------------------------

void QuicConnection::Start() {
  // Every lane's stream at once, outside any packet being written (where
  // ngtcp2 allows no other call); a lane the peer allows no stream for yet
  // opens later.
  if (conn_ && !closed_) {
    for (Lane& lane : lanes_) {
      if (lane.stream < 0 && ngtcp2_conn_open_uni_stream(conn_, &lane.stream, nullptr) != 0) lane.stream = -1;
    }
  }
}

void QuicConnection::SendBytes(ByteView bytes) {
  if (closed_) return;
  protocol::EncodedFrame raw(bytes.size());
  std::memcpy(raw.data(), bytes.data(), bytes.size());
  lanes_[0].end += raw.size();
  queued_bytes_ += raw.size();
  lanes_[0].frames.push_back(std::move(raw));
  FlushSoon();
}

void QuicConnection::Send(const wire::Frame& frame) {
  if (closed_) return;
  Lane& lane = frame.has_block_response() ? lanes_[1 + answers_sent_++ % kAnswerLanes] : lanes_[0];
  protocol::EncodedFrame bytes = protocol::EncodeFrame(frame);
  lane.end += bytes.size();
  queued_bytes_ += bytes.size();
  lane.frames.push_back(std::move(bytes));
  FlushSoon();
}

asio::awaitable<Result<wire::Frame>> QuicConnection::Receive() {
  auto self = shared_from_this();
  while (true) {
    if (!inbox_.empty()) {
      Received next = std::move(inbox_.front());
      inbox_.pop_front();
      if (!closed_ && conn_) {
        ngtcp2_conn_extend_max_stream_offset(conn_, next.stream, next.bytes);
        ngtcp2_conn_extend_max_offset(conn_, next.bytes);
        FlushSoon();
      }
      co_return std::move(next.frame);
    }
    if (corrupt_) co_return *corrupt_;
    if (closed_) co_return MakeError(ErrorCode::kNotFound, "connection closed: " + end_reason_);
    std::error_code ec;
    co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> QuicConnection::WaitForRoom(size_t limit) {
  auto self = shared_from_this();
  while (!closed_ && queued_bytes_ > limit) {
    std::error_code ec;
    co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void QuicConnection::Wake() { signal_.cancel(); }

// --- ends -------------------------------------------------------------------

void QuicConnection::Close(const std::string& reason) {
  if (closed_) return;
  wire::Frame frame;
  frame.mutable_close()->set_reason(reason);
  Send(frame);
  Flush();
  if (closed_) return;
  ngtcp2_connection_close_error error;
  ngtcp2_connection_close_error_default(&error);
  std::string phrase = reason.substr(0, 200);
  ngtcp2_connection_close_error_set_application_error(&error, kClosedByApplication,
                                                      reinterpret_cast<const uint8_t*>(phrase.data()), phrase.size());
  SendConnectionClose(error);
  Ended("closed: " + reason);
}

void QuicConnection::Fail(int code, const std::string& why) {
  if (closed_) return;
  if (conn_ && code != NGTCP2_ERR_DRAINING && code != NGTCP2_ERR_DROP_CONN && code != NGTCP2_ERR_IDLE_CLOSE) {
    ngtcp2_connection_close_error error;
    ngtcp2_connection_close_error_default(&error);
    ngtcp2_connection_close_error_set_transport_error_liberr(&error, code, nullptr, 0);
    SendConnectionClose(error);
  }
  Ended(why);
}

void QuicConnection::SendConnectionClose(const ngtcp2_connection_close_error& error) {
  if (!conn_ || ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) return;
  ngtcp2_path_storage storage;
  ngtcp2_path_storage_zero(&storage);
  ngtcp2_pkt_info info{};
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &storage.path, &info, packet_.data(), packet_.size(),
                                                      &error, QuicNow());
  if (n <= 0) return;
  std::error_code ec;
  endpoint_->SendFrom(EndpointOf(storage.path.local).address(), EndpointOf(storage.path.remote),
                      ByteView(packet_.data(), static_cast<size_t>(n)), ec);
}

void QuicConnection::Ended(std::string why) {
  if (closed_) return;
  closed_ = true;
  end_reason_ = std::move(why);
  timer_.cancel();
  Wake();
  ForgetConnectionIds();
}

void QuicConnection::RouteId(const ngtcp2_cid& id) {
  routed_.insert(std::string(reinterpret_cast<const char*>(id.data), id.datalen));
  endpoint_->Route(id, std::static_pointer_cast<QuicConnection>(shared_from_this()));
}

void QuicConnection::ForgetConnectionIds() {
  if (!endpoint_) return;
  for (const std::string& id : routed_) {
    ngtcp2_cid cid;
    ngtcp2_cid_init(&cid, reinterpret_cast<const uint8_t*>(id.data()), id.size());
    endpoint_->Unroute(cid);
  }
  routed_.clear();
  // A dialled connection's socket is its own.
  if (outgoing()) endpoint_->Close();
}

}  // namespace tandem::net
