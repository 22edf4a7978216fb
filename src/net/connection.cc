#include "net/connection.h"

#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <spdlog/spdlog.h>

#include "net/tls.h"

namespace tandem::net {

using namespace asio::experimental::awaitable_operators;

asio::awaitable<Result<std::shared_ptr<Connection>>> Connection::Establish(TlsStream stream,
                                                                           bool outgoing) {
  asio::steady_timer deadline(stream.get_executor());
  deadline.expires_after(kHandshakeTimeout);
  std::error_code ec;
  auto type = outgoing ? asio::ssl::stream_base::client : asio::ssl::stream_base::server;
  auto outcome = co_await (stream.async_handshake(type, asio::redirect_error(asio::use_awaitable, ec)) ||
                           deadline.async_wait(asio::use_awaitable));
  if (outcome.index() == 1) co_return MakeError(ErrorCode::kIo, "TLS handshake timed out");
  if (ec) co_return MakeError(ErrorCode::kIo, "TLS handshake failed: " + ec.message());
  auto key = PeerPublicKey(stream.native_handle());
  if (!key) co_return key.error();
  auto binding = SessionBinding(stream.native_handle());
  if (!binding) co_return binding.error();
  co_return std::shared_ptr<Connection>(new Connection(std::move(stream), outgoing, *key, std::move(*binding)));
}

Connection::Connection(TlsStream stream, bool outgoing, crypto::Key32 peer_key, Bytes binding)
    : stream_(std::move(stream)), outgoing_(outgoing), peer_key_(peer_key),
      peer_device_id_(crypto::DeviceIdFromPublicKey(peer_key)), binding_(std::move(binding)),
      read_buffer_(64 * 1024), wake_writer_(stream_.get_executor()), room_(stream_.get_executor()) {
  std::error_code ec;
  auto endpoint = stream_.lowest_layer().remote_endpoint(ec);
  if (!ec) {
    PeerAddress address{Transport::kTcp, endpoint.address().to_string(), endpoint.port()};
    remote_ = address.ToString();
  }
  wake_writer_.expires_at(asio::steady_timer::time_point::max());
  room_.expires_at(asio::steady_timer::time_point::max());
}

void Connection::Start() {
  auto writer = [self = shared_from_this()]() { return self->WriteLoop(); };
  asio::co_spawn(stream_.get_executor(), writer(), [self = shared_from_this()](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::debug("connection {}: write failed: {}", self->remote_, ex.what());
    }
    self->Shutdown();
  });
}

asio::awaitable<Result<wire::Frame>> Connection::Receive() {
  while (true) {
    auto next = decoder_.Next();
    if (!next) co_return next.error();
    if (*next) co_return std::move(**next);
    if (closed_) co_return MakeError(ErrorCode::kNotFound, "connection closed");
    std::error_code ec;
    size_t n = co_await stream_.async_read_some(asio::buffer(read_buffer_),
                                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      closed_ = true;
      co_return MakeError(ErrorCode::kNotFound, "connection closed: " + ec.message());
    }
    decoder_.Feed(ByteView(read_buffer_.data(), n));
  }
}

void Connection::Send(const wire::Frame& frame) {
  if (closed_) return;
  Bytes bytes = protocol::EncodeFrame(frame);
  queued_bytes_ += bytes.size();
  queue_.push_back(std::move(bytes));
  wake_writer_.cancel();
}

asio::awaitable<void> Connection::WaitForRoom(size_t limit) {
  while (!closed_ && queued_bytes_ > limit) {
    std::error_code ec;
    co_await room_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> Connection::WriteLoop() {
  while (true) {
    if (queue_.empty()) {
      if (closed_) break;
      std::error_code ec;
      co_await wake_writer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    Bytes bytes = std::move(queue_.front());
    queue_.pop_front();
    co_await asio::async_write(stream_, asio::buffer(bytes), asio::use_awaitable);
    queued_bytes_ -= bytes.size();
    room_.cancel();
  }
  Shutdown();
}

void Connection::Close(const std::string& reason) {
  if (closed_) return;
  wire::Frame frame;
  frame.mutable_close()->set_reason(reason);
  Send(frame);
  closed_ = true;  // the writer flushes the queue, then shuts down
  wake_writer_.cancel();
  room_.cancel();
}

void Connection::Shutdown() {
  closed_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  room_.cancel();
  std::error_code ec;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.lowest_layer().close(ec);
}

}  // namespace tandem::net
