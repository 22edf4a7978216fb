// TcpConnection: a Connection over TCP and TLS (OpenSSL). Writing goes
// into a queue that a single writer coroutine drains, so frames never
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
#include "net/connection.h"
#include "protocol/framing.h"

namespace tandem::net {

class TcpConnection final : public Connection {
 public:
  // Runs the TLS handshake over `socket` (client side when `outgoing`) with
  // a deadline and returns the authenticated connection; kIo / kCorrupt on
  // failure.
  static asio::awaitable<Result<std::shared_ptr<Connection>>> Establish(asio::ip::tcp::socket socket,
                                                                       asio::ssl::context& tls, bool outgoing);
  ~TcpConnection() override;

  void Start() override;
  asio::awaitable<Result<wire::Frame>> Receive() override;
  void Send(const wire::Frame& frame) override;
  void Close(const std::string& reason) override;
  bool closed() const override { return closed_; }
  size_t queued_bytes() const override { return queued_bytes_; }
  asio::awaitable<void> WaitForRoom(size_t limit) override;
  asio::any_io_executor executor() override { return socket_.get_executor(); }
  Transport transport() const override { return Transport::kTcp; }

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  using SslPtr = std::unique_ptr<SSL, SslFree>;

  TcpConnection(asio::ip::tcp::socket socket, SslPtr ssl, PeerIdentity identity);
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
  // After Close, how long the writer may take to flush what is queued: a
  // peer that reads nothing (gone with its address) must not keep the
  // connection, and the session on it, alive until TCP gives up.
  asio::steady_timer close_deadline_;
  bool closed_ = false;
  bool broken_ = false;  // TLS failed; nothing more can be encrypted
};

}  // namespace tandem::net
