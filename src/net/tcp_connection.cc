#include "net/tcp_connection.h"

#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <system_error>

#include "base/async.h"
#include "net/tls.h"

namespace tandem::net {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;

// One socket read, and the plaintext gathered before it goes to the frame
// decoder. A read this size holds 16 TLS records.
constexpr size_t kReadSize = 256 * 1024;
constexpr size_t kPlainSize = 32 * 1024;
// Plaintext encrypted per socket write: large enough that a bulk transfer
// costs a system call per 16 records, small enough that the ciphertext
// buffers stay small whatever the size of a frame.
constexpr size_t kWriteBatch = 256 * 1024;

// OpenSSL's reason for the last failure on this thread.
std::string OpenSslReason() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason ? reason : "protocol error";
}

// The most ciphertext one socket write takes: a batch of records and the
// overhead of each.
constexpr size_t kFlushSize = kWriteBatch + 16 * 1024;

// Writes everything OpenSSL left in `to_network` to the socket, through
// `buffer` (kFlushSize bytes, allocated on first use).
asio::awaitable<std::error_code> Flush(tcp::socket& socket, BIO* to_network, std::unique_ptr<uint8_t[]>& buffer) {
  while (size_t pending = BIO_ctrl_pending(to_network)) {
    if (!buffer) buffer = std::make_unique_for_overwrite<uint8_t[]>(kFlushSize);
    int n = BIO_read(to_network, buffer.get(), static_cast<int>(std::min(pending, kFlushSize)));
    if (n <= 0) break;
    std::error_code ec;
    co_await asio::async_write(socket, asio::buffer(buffer.get(), static_cast<size_t>(n)),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
  }
  co_return std::error_code();
}

asio::awaitable<Result<void>> Handshake(tcp::socket& socket, SSL* ssl, BIO* from_network, BIO* to_network) {
  Bytes in(16 * 1024);
  std::unique_ptr<uint8_t[]> out;
  while (true) {
    ERR_clear_error();
    int done = SSL_do_handshake(ssl);
    int error = done == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, done);
    std::string reason = error == SSL_ERROR_WANT_READ || error == SSL_ERROR_NONE ? "" : OpenSslReason();
    // Whatever OpenSSL wrote goes out first, an alert included.
    if (auto ec = co_await Flush(socket, to_network, out)) {
      co_return MakeError(ErrorCode::kIo, "TLS handshake failed: " + ec.message());
    }
    if (done == 1) co_return Ok();
    if (error != SSL_ERROR_WANT_READ) co_return MakeError(ErrorCode::kIo, "TLS handshake failed: " + reason);
    std::error_code ec;
    size_t n = co_await socket.async_read_some(asio::buffer(in), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return MakeError(ErrorCode::kIo, "TLS handshake failed: " + ec.message());
    BIO_write(from_network, in.data(), static_cast<int>(n));
  }
}

// A memory BIO that reports "try again" when empty, as a socket with no
// data yet would, instead of end of file.
BIO* NewBuffer() {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio) BIO_set_mem_eof_return(bio, -1);
  return bio;
}

// A memory BIO's buffer never shrinks: one that grew for a bulk transfer
// is worth replacing once it is empty, but only once the connection has been
// quiet for a while. Replacing it after every read (it empties each time)
// cost an allocation and a cleansing free per 256 KiB.
constexpr size_t kKeptBioSize = 64 * 1024;
constexpr std::chrono::seconds kKeepBuffersWhileIdle{2};

bool EmptyButLarge(BIO* bio) {
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  return BIO_ctrl_pending(bio) == 0 && memory && memory->max > kKeptBioSize;
}

// SSL_free_buffers is safe from 3.0.14, 3.1.6, 3.2.2 and 3.3.1 on.
bool FreeingRecordBuffersIsSafe() {
  unsigned major = OPENSSL_version_major(), minor = OPENSSL_version_minor(), patch = OPENSSL_version_patch();
  if (major != 3) return major > 3;
  switch (minor) {
    case 0: return patch >= 14;
    case 1: return patch >= 6;
    case 2: return patch >= 2;
    case 3: return patch >= 1;
    default: return true;
  }
}

}  // namespace

asio::awaitable<Result<std::shared_ptr<Connection>>> TcpConnection::Establish(tcp::socket socket,
                                                                           asio::ssl::context& tls,
                                                                           bool outgoing) {
  SslPtr ssl(SSL_new(tls.native_handle()));
  BIO* from_network = NewBuffer();
  BIO* to_network = NewBuffer();
  if (!ssl || !from_network || !to_network) {
    BIO_free(from_network);
    BIO_free(to_network);
    co_return MakeError(ErrorCode::kInternal, "cannot set up TLS: out of memory");
  }
  SSL_set_bio(ssl.get(), from_network, to_network);  // ssl owns both from here
  if (outgoing) {
    SSL_set_connect_state(ssl.get());
  } else {
    SSL_set_accept_state(ssl.get());
  }
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(kHandshakeTimeout);
  auto outcome = co_await (Handshake(socket, ssl.get(), from_network, to_network) ||
                           deadline.async_wait(asio::use_awaitable));
  if (outcome.index() == 1) co_return MakeError(ErrorCode::kIo, "TLS handshake timed out");
  if (auto& done = std::get<0>(outcome); !done) co_return done.error();
  auto key = PeerPublicKey(ssl.get());
  if (!key) co_return key.error();
  auto binding = SessionBinding(ssl.get());
  if (!binding) co_return binding.error();
  PeerIdentity identity{.peer_key = *key,
                        .peer_device_id = crypto::DeviceIdFromPublicKey(*key),
                        .binding = std::move(*binding),
                        .outgoing = outgoing};
  std::error_code ec;
  if (auto endpoint = socket.remote_endpoint(ec); !ec) {
    identity.remote = PeerAddress{Transport::kTcp, endpoint.address().to_string(), endpoint.port()}.ToString();
    identity.remote_address = endpoint.address();
  }
  if (auto local = socket.local_endpoint(ec); !ec) identity.local_address = local.address();
  co_return std::shared_ptr<Connection>(new TcpConnection(std::move(socket), std::move(ssl), std::move(identity)));
}

TcpConnection::TcpConnection(tcp::socket socket, SslPtr ssl, PeerIdentity identity)
    : Connection(std::move(identity)), socket_(std::move(socket)), ssl_(std::move(ssl)),
      from_network_(SSL_get_rbio(ssl_.get())), to_network_(SSL_get_wbio(ssl_.get())),
      read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(kReadSize)),
      plain_buffer_(std::make_unique_for_overwrite<uint8_t[]>(kPlainSize)),
      wake_writer_(socket_.get_executor()), room_(socket_.get_executor()), close_deadline_(socket_.get_executor()) {
  wake_writer_.expires_at(asio::steady_timer::time_point::max());
  room_.expires_at(asio::steady_timer::time_point::max());
}

TcpConnection::~TcpConnection() = default;

void TcpConnection::Start() {
  auto writer = [self = std::static_pointer_cast<TcpConnection>(shared_from_this())]() { return self->WriteLoop(); };
  asio::co_spawn(socket_.get_executor(), writer(), [self = std::static_pointer_cast<TcpConnection>(shared_from_this())](std::exception_ptr e) {
    if (!e) return;
    spdlog::debug("connection {}: write failed: {}", self->remote_endpoint(), WhatThrew(e));
    self->Shutdown();
  });
}

asio::awaitable<Result<wire::Frame>> TcpConnection::Receive() {
  while (true) {
    auto next = decoder_.Next();
    if (!next) co_return next.error();
    if (*next) co_return std::move(**next);
    if (closed_) co_return MakeError(ErrorCode::kNotFound, "connection closed");
    // Whatever plaintext the ciphertext already read holds, a few records at a time.
    size_t plain = 0;
    int error = SSL_ERROR_NONE;
    ERR_clear_error();
    while (plain < kPlainSize) {
      int n = SSL_read(ssl_.get(), plain_buffer_.get() + plain, static_cast<int>(kPlainSize - plain));
      if (n <= 0) {
        error = SSL_get_error(ssl_.get(), n);
        break;
      }
      plain += static_cast<size_t>(n);
    }
    // Reading can make TLS output of its own (a key update's answer): the
    // writer sends it even when no frame is queued.
    if (BIO_ctrl_pending(to_network_) > 0) wake_writer_.cancel();
    if (plain > 0) {
      decoder_.Feed(ByteView(plain_buffer_.get(), plain));
      continue;
    }
    if (error == SSL_ERROR_ZERO_RETURN) {
      Ended();
      co_return MakeError(ErrorCode::kNotFound, "connection closed by the peer");
    }
    if (error != SSL_ERROR_WANT_READ) {
      std::string reason = OpenSslReason();
      broken_ = true;
      Ended();
      co_return MakeError(ErrorCode::kNotFound, "connection closed: TLS: " + reason);
    }
    std::error_code ec;
    size_t n = co_await socket_.async_read_some(asio::buffer(read_buffer_.get(), kReadSize),
                                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      Ended();
      co_return MakeError(ErrorCode::kNotFound, "connection closed: " + ec.message());
    }
    BIO_write(from_network_, read_buffer_.get(), static_cast<int>(n));
  }
}

void TcpConnection::Send(const wire::Frame& frame) {
  if (closed_) return;
  protocol::EncodedFrame bytes = protocol::EncodeFrame(frame);
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  wake_writer_.cancel();
}

asio::awaitable<void> TcpConnection::WaitForRoom(size_t limit) {
  while (!closed_ && queued_bytes_ > limit) {
    std::error_code ec;
    co_await room_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> TcpConnection::WriteLoop() {
  while (true) {
    if (broken_) {
      // TLS failed while reading: the alert OpenSSL wrote still goes out,
      // queued frames no longer can.
      queue_.clear();
      front_written_ = 0;
      queued_bytes_ = 0;
    }
    if (queue_.empty() && BIO_ctrl_pending(to_network_) == 0) {
      if (closed_) break;
      // Idle. Buffers survive short pauses (a receiver goes quiet between
      // batches of requests); a quiet connection gives them back.
      std::error_code ec;
      wake_writer_.expires_after(kKeepBuffersWhileIdle);
      co_await wake_writer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      // A frame queued (or a TLS message the reader made) after the timer
      // fired but before this resumed found no wait to cancel: look again
      // before sleeping.
      if (!ec && queue_.empty() && BIO_ctrl_pending(to_network_) == 0 && !closed_) {
        ReleaseIdleBuffers();
        wake_writer_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_writer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    // Encrypt up to a batch of queued frames (a large frame in pieces), then
    // write the records in one call.
    size_t batch = 0;
    std::string failure;
    ERR_clear_error();
    while (!queue_.empty() && batch < kWriteBatch) {
      const protocol::EncodedFrame& front = queue_.front();
      size_t take = std::min(front.size() - front_written_, kWriteBatch - batch);
      if (SSL_write(ssl_.get(), front.data() + front_written_, static_cast<int>(take)) <= 0) {
        failure = "TLS: cannot encrypt: " + OpenSslReason();  // thrown once its alert is out
        break;
      }
      batch += take;
      front_written_ += take;
      if (front_written_ == front.size()) {
        queue_.pop_front();
        front_written_ = 0;
      }
    }
    if (auto ec = co_await Flush(socket_, to_network_, write_buffer_)) throw std::system_error(ec);
    queued_bytes_ -= batch;
    room_.cancel();
    if (!failure.empty()) throw std::runtime_error(failure);
  }
  Shutdown();
}

void TcpConnection::ReleaseIdleBuffers() {
  write_buffer_.reset();
  if (EmptyButLarge(to_network_)) {
    if (BIO* fresh = NewBuffer()) {
      SSL_set0_wbio(ssl_.get(), fresh);  // frees the old one
      to_network_ = fresh;
    }
  }
  // The reader may be waiting on the socket: it writes to from_network_
  // only once it wakes, so swapping the empty buffer under it is safe.
  if (EmptyButLarge(from_network_)) {
    if (BIO* fresh = NewBuffer()) {
      SSL_set0_rbio(ssl_.get(), fresh);
      from_network_ = fresh;
    }
  }
  // Refused (harmlessly) while a record is half read or half written, on
  // releases with the fix for CVE-2024-4741; older ones free a buffer still
  // in use, so there the record buffers stay.
  if (FreeingRecordBuffersIsSafe()) (void)SSL_free_buffers(ssl_.get());
}

void TcpConnection::Ended() {
  // The writer may be parked waiting for frames: it must wake to shut the
  // socket down, or the connection would never be freed.
  closed_ = true;
  wake_writer_.cancel();
  room_.cancel();
}

void TcpConnection::Close(const std::string& reason) {
  if (closed_) return;
  wire::Frame frame;
  frame.mutable_close()->set_reason(reason);
  Send(frame);
  closed_ = true;  // the writer flushes the queue, then shuts down
  wake_writer_.cancel();
  room_.cancel();
  close_deadline_.expires_after(kCloseFlushTimeout);
  close_deadline_.async_wait([self = std::static_pointer_cast<TcpConnection>(shared_from_this())](std::error_code ec) {
    if (!ec) self->Shutdown();
  });
}

void TcpConnection::Shutdown() {
  closed_ = true;
  close_deadline_.cancel();
  queue_.clear();
  front_written_ = 0;
  queued_bytes_ = 0;
  room_.cancel();
  std::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace tandem::net
