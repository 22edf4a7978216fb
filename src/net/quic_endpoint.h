// QuicEndpoint: one UDP socket and the QUIC connections on it, found by the
// connection id each datagram carries. A listener's endpoint also accepts:
// a client's first Initial is answered with a Retry carrying a token bound
// to its address, and only an Initial that brings the token back costs a
// connection and a TLS handshake (so a flood of Initials from forged
// addresses costs one small datagram each). A dialled connection has an
// endpoint of its own, closed with it.
//
// A short-header packet for a connection id this endpoint does not know (its
// connection is gone: this device restarted, say) is answered with a
// stateless reset, which the peer can check because the reset tokens come
// from a secret derived from the device key: the peer learns at once that
// the connection is over, as TCP's reset would tell it. Resets are smaller
// than what prompted them and at most kResetsPerSecond go out.
//
// Other garbage (too short, unknown version, not an Initial) is dropped
// unanswered. Lives on the event loop; not thread-safe.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <array>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "net/connection.h"

namespace tandem::net {

class QuicConnection;
class QuicCredentials;

// Handshakes a listener runs at once; Initials past this are dropped.
inline constexpr size_t kMaxQuicHandshakes = 64;
// How long a Retry token is good for.
inline constexpr std::chrono::seconds kRetryTokenLifetime{10};
inline constexpr int kResetsPerSecond = 100;

class QuicEndpoint : public std::enable_shared_from_this<QuicEndpoint> {
 public:
  using AcceptFn = std::function<void(std::shared_ptr<Connection>)>;

  // A listener on `address`; each connection whose peer is proven goes to
  // `accepted`. kIo if the address cannot be bound.
  static Result<std::shared_ptr<QuicEndpoint>> Listen(asio::any_io_executor executor,
                                                      const asio::ip::udp::endpoint& address,
                                                      std::shared_ptr<QuicCredentials> credentials,
                                                      AcceptFn accepted);
  // A socket on any free port, for one connection this device dials.
  static Result<std::shared_ptr<QuicEndpoint>> ForDialing(asio::any_io_executor executor,
                                                          const asio::ip::udp::endpoint& remote,
                                                          std::shared_ptr<QuicCredentials> credentials);

  void Start();
  void Close();
  asio::any_io_executor executor() const { return executor_; }
  bool closed() const { return !socket_.is_open(); }
  asio::ip::udp::endpoint local_endpoint() const;

  // Datagrams carrying `id` go to `connection` from now on.
  void Route(const ngtcp2_cid& id, const std::shared_ptr<QuicConnection>& connection);
  void Unroute(const ngtcp2_cid& id);

  // Sends one datagram; false if the socket cannot take it now (the caller
  // waits with WhenWritable) or is gone.
  bool SendTo(const asio::ip::udp::endpoint& remote, ByteView datagram, std::error_code& ec);
  // The same, from `from`, one of this machine's addresses (a listener
  // bound to all of them answers from the one a peer reached).
  bool SendFrom(const asio::ip::address& from, const asio::ip::udp::endpoint& remote, ByteView datagram,
                std::error_code& ec);
  void WhenWritable(std::function<void()> then);

  // One datagram from `remote` to `local`, as the receive loop hands it
  // over (the fuzz target calls it directly; without `local`, the socket's).
  void Dispatch(const asio::ip::udp::endpoint& local, const asio::ip::udp::endpoint& remote, ByteView datagram);
  void Dispatch(const asio::ip::udp::endpoint& remote, ByteView datagram);

  // Datagrams read, and those dropped as garbage or past a limit (tests).
  uint64_t datagrams() const { return datagrams_; }
  uint64_t dropped() const { return dropped_; }

 private:
  QuicEndpoint(asio::any_io_executor executor, std::shared_ptr<QuicCredentials> credentials, AcceptFn accepted);
  asio::awaitable<void> ReceiveLoop();
  // One datagram (recvmsg: with the address it was sent to, into `local`).
  asio::awaitable<size_t> ReceiveOne(uint8_t* buffer, asio::ip::udp::endpoint& remote, asio::ip::address& local,
                                     std::error_code& ec);
  void OnInitial(const asio::ip::udp::endpoint& local, const asio::ip::udp::endpoint& remote, ByteView datagram);
  void SendRetry(const ngtcp2_pkt_hd& header, const asio::ip::address& from, const asio::ip::udp::endpoint& remote);
  void SendStatelessReset(const asio::ip::address& from, const asio::ip::udp::endpoint& remote, const ngtcp2_cid& id,
                          size_t prompted_by);
  asio::awaitable<void> AwaitHandshake(std::shared_ptr<QuicConnection> connection);

  asio::any_io_executor executor_;
  asio::ip::udp::socket socket_;
  asio::ip::udp::endpoint local_;
  std::shared_ptr<QuicCredentials> credentials_;
  AcceptFn accepted_;  // null for a dialer's endpoint
  std::map<std::string, std::weak_ptr<QuicConnection>> routes_;  // by connection id bytes
  std::array<uint8_t, 32> token_secret_{};
  size_t handshakes_ = 0;
  uint64_t datagrams_ = 0;
  uint64_t dropped_ = 0;
  bool waiting_writable_ = false;
  std::chrono::steady_clock::time_point reset_second_;
  int resets_this_second_ = 0;
  std::vector<std::function<void()>> when_writable_;
};

}  // namespace tandem::net
