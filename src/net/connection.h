// Connection: one authenticated TLS connection to a peer device, carrying
// frames. Reading is pulled by the owner (Receive); writing is pushed
// (Send) into a queue that a single writer coroutine drains, so frames never
// interleave. Lives on the event loop; not thread-safe.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "net/address.h"
#include "protocol/framing.h"

namespace tandem::net {

using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

inline constexpr std::chrono::seconds kHandshakeTimeout{10};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Runs the TLS handshake (client side when `outgoing`) with a deadline and
  // returns the authenticated connection; kIo / kCorrupt on failure.
  static asio::awaitable<Result<std::shared_ptr<Connection>>> Establish(TlsStream stream,
                                                                       bool outgoing);

  // Starts the writer. REQUIRES: called once, before Send.
  void Start();

  // The next frame; throws on a socket error, returns kCorrupt for a bad
  // frame and kNotFound when the peer closed the connection.
  asio::awaitable<Result<wire::Frame>> Receive();

  // Queues `frame`; no-op once closed.
  void Send(const wire::Frame& frame);
  // Sends Close with `reason` (if still open), then shuts the socket down.
  void Close(const std::string& reason);
  bool closed() const { return closed_; }

  // Bytes queued but not yet written; callers that stream large answers
  // wait for this to drop (WaitForRoom) so memory stays bounded.
  size_t queued_bytes() const { return queued_bytes_; }
  asio::awaitable<void> WaitForRoom(size_t limit);

  asio::any_io_executor executor() { return stream_.get_executor(); }
  const crypto::Key32& peer_key() const { return peer_key_; }
  const std::string& peer_device_id() const { return peer_device_id_; }
  const Bytes& session_binding() const { return binding_; }
  bool outgoing() const { return outgoing_; }
  std::string remote_endpoint() const { return remote_; }

 private:
  Connection(TlsStream stream, bool outgoing, crypto::Key32 peer_key, Bytes binding);
  asio::awaitable<void> WriteLoop();
  void Shutdown();

  TlsStream stream_;
  bool outgoing_;
  crypto::Key32 peer_key_;
  std::string peer_device_id_;
  Bytes binding_;
  std::string remote_;
  protocol::FrameDecoder decoder_;
  Bytes read_buffer_;
  std::deque<Bytes> queue_;
  size_t queued_bytes_ = 0;
  asio::steady_timer wake_writer_;
  asio::steady_timer room_;
  bool closed_ = false;
};

}  // namespace tandem::net
