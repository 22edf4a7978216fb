// Connection: one authenticated TLS connection to a peer device, carrying
// frames. Reading is pulled by the owner (Receive); writing is pushed
// (Send) into a queue that a single writer coroutine drains, so frames never
// interleave. Lives on the event loop; not thread-safe.
//
// TLS runs over memory BIOs rather than asio::ssl::stream: that stream moves
// one 16 KiB record per system call each way, which for a GiB is 65,536
// writes and as many reads on each side. Here the writer encrypts a batch
// of queued frames into one buffer and writes it with one call, and the
// reader decrypts everything one large read brought.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
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

inline constexpr std::chrono::seconds kHandshakeTimeout{10};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Runs the TLS handshake over `socket` (client side when `outgoing`) with
  // a deadline and returns the authenticated connection; kIo / kCorrupt on
  // failure.
  static asio::awaitable<Result<std::shared_ptr<Connection>>> Establish(asio::ip::tcp::socket socket,
                                                                       asio::ssl::context& tls, bool outgoing);
  ~Connection();

  // Starts the writer. REQUIRES: called once, before Send.
  void Start();

  // The next frame; kCorrupt for a bad frame, kNotFound once the connection
  // is closed (by either side, or by a socket or TLS error).
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

  asio::any_io_executor executor() { return socket_.get_executor(); }
  const crypto::Key32& peer_key() const { return peer_key_; }
  const std::string& peer_device_id() const { return peer_device_id_; }
  const Bytes& session_binding() const { return binding_; }
  bool outgoing() const { return outgoing_; }
  std::string remote_endpoint() const { return remote_; }
  const asio::ip::address& remote_address() const { return remote_address_; }
  // This end's address (the interface the connection goes out of).
  const asio::ip::address& local_address() const { return local_address_; }

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  using SslPtr = std::unique_ptr<SSL, SslFree>;

  Connection(asio::ip::tcp::socket socket, SslPtr ssl, bool outgoing, crypto::Key32 peer_key, Bytes binding);
  asio::awaitable<void> WriteLoop();
  // Gives back what a bulk transfer grew: the write buffer, the empty
  // ciphertext buffers and OpenSSL's record buffers.
  void ReleaseIdleBuffers();
  void Shutdown();
  // The reading side found the connection over.
  void Ended();

  asio::ip::tcp::socket socket_;
  SslPtr ssl_;
  BIO* from_network_;  // ciphertext read from the socket, for OpenSSL (owned by ssl_)
  BIO* to_network_;    // ciphertext OpenSSL wrote, for the socket (owned by ssl_)
  bool outgoing_;
  crypto::Key32 peer_key_;
  std::string peer_device_id_;
  Bytes binding_;
  std::string remote_;
  asio::ip::address remote_address_;
  asio::ip::address local_address_;
  protocol::FrameDecoder decoder_;
  // Left uninitialised: a connection that never carries much never touches
  // most of their pages.
  std::unique_ptr<uint8_t[]> read_buffer_;   // ciphertext, one socket read
  std::unique_ptr<uint8_t[]> plain_buffer_;  // plaintext, a few SSL_reads
  std::unique_ptr<uint8_t[]> write_buffer_;  // ciphertext, one socket write; none while idle
  std::deque<protocol::EncodedFrame> queue_;
  size_t front_written_ = 0;  // bytes of queue_.front() already encrypted
  size_t queued_bytes_ = 0;
  asio::steady_timer wake_writer_;
  asio::steady_timer room_;
  bool closed_ = false;
  bool broken_ = false;  // TLS failed; nothing more can be encrypted
};

}  // namespace tandem::net
