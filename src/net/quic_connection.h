// QuicConnection: a Connection over QUIC (ngtcp2, with GnuTLS for its TLS).
// The same device certificate and the same proof of the peer's key as on TCP;
// the session binding is the same TLS exporter, from GnuTLS.
//
// Frames ride unidirectional streams each side opens, one per lane: every
// frame but block answers on the control lane, in the order sent (offers
// before the requests that rely on them, index batches in order); each block
// answer on one of kAnswerLanes lanes in turn, so a lost packet of one
// answer holds back neither the index nor the other answers. Bytes received
// are credited back to the peer (flow control) only once Receive has handed
// their frame out, so what a peer can make this end hold is bounded by the
// windows (kStreamWindow, kConnectionWindow).
//
// Lives on the event loop; not thread-safe. Every ngtcp2 call is in
// quic_connection.cc: the library's API changed names at 1.0, and this is
// the one file that would follow.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <array>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "net/connection.h"
#include "protocol/framing.h"

namespace tandem::net {

class QuicEndpoint;

// One side's receive windows. A frame's bytes are credited only once the
// whole frame is used, and ngtcp2 sends credit only once half a window's
// worth is owed: so a window must be twice the largest frame, or a large
// frame behind a few small ones would wait for credit forever. (Answers are
// small: blocks are at most 256 KiB.) The connection's window is what a peer
// can make this end hold.
inline constexpr uint64_t kStreamWindow = 2 * protocol::kMaxFrameSize + (2u << 20);
inline constexpr uint64_t kConnectionWindow = 2 * protocol::kMaxFrameSize + (8u << 20);
inline constexpr size_t kAnswerLanes = 4;
// Streams a peer may open: its lanes.
inline constexpr uint64_t kMaxPeerStreams = 1 + kAnswerLanes;
// Connection ids this end picks: 18 random bytes (QUIC allows up to 20).
inline constexpr size_t kConnectionIdSize = 18;
inline constexpr std::chrono::seconds kQuicIdleTimeout{60};
// Packets to a peer on the local network may be as large as its route's MTU
// allows, up to this.
inline constexpr size_t kLargestLocalPayload = 60 * 1024;
inline constexpr char kAlpn[] = "tandem/1";
inline constexpr std::chrono::seconds kRefusedSilence{1};

// ngtcp2's clock: the steady clock, in nanoseconds.
ngtcp2_tstamp QuicNow();

// The device certificate, as GnuTLS holds it, for every QUIC connection.
class QuicCredentials {
 public:
  static Result<std::shared_ptr<QuicCredentials>> Create(const crypto::DeviceKey& device);
  // Any certificate and key (PEM), or none when both are empty: what a
  // hostile client could present (the tests' use).
  static Result<std::shared_ptr<QuicCredentials>> FromPem(const std::string& certificate, const std::string& key);
  ~QuicCredentials();
  QuicCredentials(const QuicCredentials&) = delete;
  QuicCredentials& operator=(const QuicCredentials&) = delete;
  gnutls_certificate_credentials_t get() const { return credentials_; }
  // The key that makes stateless reset tokens: derived from the device key,
  // so after a restart this device can still end its old connections.
  const std::array<uint8_t, 32>& reset_secret() const { return reset_secret_; }

 private:
  QuicCredentials() = default;
  gnutls_certificate_credentials_t credentials_ = nullptr;
  std::array<uint8_t, 32> reset_secret_{};
};

class QuicConnection final : public Connection {
 public:
  // Dials `remote` from a UDP socket of its own and returns the connection
  // once both ends are proven; kIo on failure or after kHandshakeTimeout.
  static asio::awaitable<Result<std::shared_ptr<Connection>>> Dial(asio::any_io_executor executor,
                                                                  asio::ip::udp::endpoint remote,
                                                                  std::shared_ptr<QuicCredentials> credentials);

  // For QuicEndpoint: the connection a client's first Initial (`header`,
  // already checked by ngtcp2_accept and, when `original_dcid` is set,
  // validated by a Retry) asks for. nullptr if ngtcp2 or GnuTLS refuse.
  static std::shared_ptr<QuicConnection> Accept(std::shared_ptr<QuicEndpoint> endpoint,
                                                std::shared_ptr<QuicCredentials> credentials,
                                                const ngtcp2_pkt_hd& header, const ngtcp2_cid* original_dcid,
                                                const asio::ip::udp::endpoint& local,
                                                const asio::ip::udp::endpoint& remote);

  ~QuicConnection() override;

  void Start() override;
  asio::awaitable<Result<wire::Frame>> Receive() override;
  void Send(const wire::Frame& frame) override;
  void Close(const std::string& reason) override;
  bool closed() const override { return closed_; }
  size_t queued_bytes() const override { return queued_bytes_; }
  asio::awaitable<void> WaitForRoom(size_t limit) override;
  asio::any_io_executor executor() override { return executor_; }
  Transport transport() const override { return Transport::kQuic; }
  // Bytes on the control stream that need not be a frame: what a hostile
  // peer sends (the tests' use).
  void SendBytes(ByteView bytes);
  // The dialling side moves to a socket of its own on the address the route
  // to the peer now leaves from, and migrates there (the peer checks the new
  // path before it sends much on it). The accepting side cannot.
  bool MoveToNewAddress() override;

  // For QuicEndpoint: nothing listens where this connection dials (ICMP
  // said so). Ends a handshake at once, as TCP's refusal would. An
  // established connection ends only if nothing came from the peer for
  // kRefusedSilence either (ICMP is easy to forge; a live peer's packets
  // keep arriving): its process is gone, as TCP's reset would say.
  void OnRefused();
  // For QuicEndpoint: where this connection's packets go now.
  asio::ip::udp::endpoint peer_endpoint() const;
  // For QuicEndpoint: a datagram for this connection arrived.
  void OnDatagram(const asio::ip::udp::endpoint& local, const asio::ip::udp::endpoint& remote, ByteView datagram);
  // Ok once the handshake finished and the peer is proven (its identity
  // filled in); the error otherwise. Waits at most kHandshakeTimeout.
  asio::awaitable<Result<void>> Handshake();

 private:
  // Frames going out on one stream of ours. ngtcp2 may send any byte again
  // until it is acknowledged, so a frame stays here until then.
  struct Lane {
    int64_t stream = -1;
    std::deque<protocol::EncodedFrame> frames;
    uint64_t front_offset = 0;  // where frames.front() starts in the stream
    uint64_t written = 0;       // bytes handed to ngtcp2
    uint64_t end = 0;           // bytes queued in all
    bool blocked = false;       // flow control said no, for this packet
  };
  // Frames coming in on one of the peer's streams.
  struct Incoming {
    protocol::FrameDecoder decoder;
    uint64_t credited = 0;  // decoded bytes whose frames were handed out
  };
  struct Received {
    wire::Frame frame;
    int64_t stream;
    uint64_t bytes;
  };

  QuicConnection(std::shared_ptr<QuicEndpoint> endpoint, std::shared_ptr<QuicCredentials> credentials,
                 bool outgoing);
  Result<void> SetUpTls(bool server);
  static const ngtcp2_callbacks& Callbacks(bool server);
  static ngtcp2_conn* ConnOf(ngtcp2_crypto_conn_ref* ref);
  static int OnStreamDataCb(ngtcp2_conn*, uint32_t flags, int64_t stream, uint64_t offset, const uint8_t* data,
                            size_t size, void* self, void*);
  static int OnAckedCb(ngtcp2_conn*, int64_t stream, uint64_t offset, uint64_t size, void* self, void*);
  static int OnHandshakeCompletedCb(ngtcp2_conn*, void* self);
  static int OnNewConnectionIdCb(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t size, void* self);
  static int OnRemoveConnectionIdCb(ngtcp2_conn*, const ngtcp2_cid* cid, void* self);
  static int OnStreamResetCb(ngtcp2_conn*, int64_t stream, uint64_t final_size, uint64_t error, void* self, void*);
  static int OnExtendMaxStreamDataCb(ngtcp2_conn*, int64_t stream, uint64_t max_data, void* self, void*);
  static int VerifyPeerCb(gnutls_session_t session);

  int OnStreamData(int64_t stream, ByteView data);
  void OnAcked(int64_t stream, uint64_t offset, uint64_t size);
  Result<void> LearnPeer();

  // Writes what ngtcp2 will send now: stream data, acknowledgements,
  // retransmissions. Called after any change; never from a callback.
  void Flush();
  void FlushSoon();
  void ArmTimer();
  asio::awaitable<void> TimerLoop();
  // A fatal error from ngtcp2 (`code`) or from us: CONNECTION_CLOSE, if the
  // state allows one, then Ended.
  void Fail(int code, const std::string& why);
  void SendConnectionClose(const ngtcp2_connection_close_error& error);
  void Ended(std::string why);
  void Wake();
  void RouteId(const ngtcp2_cid& id);
  void ForgetConnectionIds();
  // Sends one packet; false if the socket is full (the packet is held, and
  // Flush runs again once there is room).
  bool Transmit(const asio::ip::address& from, const asio::ip::udp::endpoint& to, ByteView packet);

  asio::any_io_executor executor_;
  std::shared_ptr<QuicEndpoint> endpoint_;
  std::shared_ptr<QuicCredentials> credentials_;
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t tls_ = nullptr;
  ngtcp2_crypto_conn_ref ref_{};
  ngtcp2_path_storage path_{};  // where packets go, as ngtcp2 last said

  std::array<Lane, 1 + kAnswerLanes> lanes_;
  size_t next_answer_lane_ = 0;  // where Flush takes up the answer lanes
  size_t answers_sent_ = 0;      // which lane the next answer goes on
  std::map<int64_t, Incoming> incoming_;
  std::deque<Received> inbox_;
  size_t queued_bytes_ = 0;
  Bytes packet_;  // one datagram being written
  Bytes held_packet_;  // written, waiting for room in the socket
  asio::ip::udp::endpoint held_to_;
  asio::ip::address held_from_;
  // The key this connection's stateless reset tokens come from.
  std::array<uint8_t, 32> reset_secret_{};
  std::set<std::string> routed_;  // our connection ids the endpoint routes here

  asio::steady_timer timer_;   // ngtcp2's next deadline
  asio::steady_timer signal_;  // frames arrived, room made, handshake done, closed
  bool flush_posted_ = false;
  bool handshake_done_ = false;
  bool peer_refused_ = false;  // the peer's certificate did not carry a device key
  bool closed_ = false;
  std::chrono::steady_clock::time_point last_datagram_ = std::chrono::steady_clock::now();
  std::string end_reason_;
  std::optional<Error> corrupt_;
};

}  // namespace tandem::net
