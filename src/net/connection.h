// Connection: one authenticated connection to a peer device, carrying
// frames, whatever carries them (TCP with TLS: tcp_connection.h; QUIC:
// quic_connection.h). Everything above this seam (sessions, offers, limits)
// is the same for both and never asks which one it has, except to prefer
// one when a device pair has two.
//
// Reading is pulled by the owner (Receive); writing is pushed (Send), and a
// transport never interleaves two frames' bytes on one ordered stream. Lives
// on the event loop; not thread-safe.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "net/address.h"
#include "tandem.pb.h"

namespace tandem::net {

inline constexpr std::chrono::seconds kHandshakeTimeout{10};
// What Close may take to send what is queued before the connection goes.
inline constexpr std::chrono::seconds kCloseFlushTimeout{3};

// Who the other end is, as its TLS handshake proved, and where it is.
struct PeerIdentity {
  crypto::Key32 peer_key{};
  std::string peer_device_id;
  // 32 bytes both ends derive from this session (a TLS exporter): share
  // offers are bound to it, so they cannot be replayed on another session.
  Bytes binding;
  bool outgoing = false;
  std::string remote;  // "tcp/1.2.3.4:20209", "quic/[::1]:20209"
  asio::ip::address remote_address;
  asio::ip::address local_address;  // the interface the connection goes out of
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;

  // Starts the writer. REQUIRES: called once, before Send.
  virtual void Start() = 0;

  // The next frame; kCorrupt for a bad frame, kNotFound once the connection
  // is closed (by either side, or by a socket or TLS error).
  virtual asio::awaitable<Result<wire::Frame>> Receive() = 0;

  // Queues `frame`; no-op once closed.
  virtual void Send(const wire::Frame& frame) = 0;
  // Sends Close with `reason` (if still open), then shuts the connection down.
  virtual void Close(const std::string& reason) = 0;
  virtual bool closed() const = 0;

  // Bytes queued but not yet handed to the network (TCP) or not yet
  // acknowledged (QUIC); callers that stream large answers wait for this to
  // drop (WaitForRoom) so memory stays bounded.
  virtual size_t queued_bytes() const = 0;
  virtual asio::awaitable<void> WaitForRoom(size_t limit) = 0;

  virtual asio::any_io_executor executor() = 0;
  virtual Transport transport() const = 0;

  // This device's address the connection goes out of went away: carries on
  // from an address this device has now, if the transport can (QUIC's
  // dialling side migrates); false if it cannot.
  virtual bool MoveToNewAddress() { return false; }

  const crypto::Key32& peer_key() const { return identity_.peer_key; }
  const std::string& peer_device_id() const { return identity_.peer_device_id; }
  const Bytes& session_binding() const { return identity_.binding; }
  bool outgoing() const { return identity_.outgoing; }
  std::string remote_endpoint() const { return identity_.remote; }
  const asio::ip::address& remote_address() const { return identity_.remote_address; }
  const asio::ip::address& local_address() const { return identity_.local_address; }

 protected:
  explicit Connection(PeerIdentity identity) : identity_(std::move(identity)) {}
  PeerIdentity identity_;
};

}  // namespace tandem::net
