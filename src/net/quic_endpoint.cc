#include "net/quic_endpoint.h"

#include <ngtcp2/ngtcp2_crypto.h>
#include <openssl/rand.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "net/quic_connection.h"

namespace tandem::net {
namespace {

using asio::ip::udp;

// One datagram: QUIC's are at most 64 KiB.
constexpr size_t kDatagramBuffer = 65536;
// Kernel buffers asked for: a window's worth of packets in flight on a fast
// link must not overflow the receiving socket. Root may exceed the system's
// cap (the tests and the service); anyone else gets the cap.
constexpr int kSocketBuffer = 8 << 20;

std::string IdOf(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

// Larger kernel buffers, and never fragmenting: a packet larger than the
// path allows is refused (QUIC's path MTU probes rely on it).
void SetSocketOptions(udp::socket& socket) {
  int size = kSocketBuffer;
  int fd = socket.native_handle();
  int dont_fragment = IP_PMTUDISC_DO;
  (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont_fragment, sizeof(dont_fragment));
  int dont_fragment6 = IPV6_PMTUDISC_DO;
  (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &dont_fragment6, sizeof(dont_fragment6));
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  }
}

}  // namespace

QuicEndpoint::QuicEndpoint(asio::any_io_executor executor, std::shared_ptr<QuicCredentials> credentials,
                           AcceptFn accepted)
    : executor_(executor), socket_(executor), credentials_(std::move(credentials)), accepted_(std::move(accepted)) {
  if (RAND_bytes(token_secret_.data(), static_cast<int>(token_secret_.size())) != 1) {
    throw std::runtime_error("no randomness");
  }
}

Result<std::shared_ptr<QuicEndpoint>> QuicEndpoint::Listen(asio::any_io_executor executor,
                                                            const udp::endpoint& address,
                                                            std::shared_ptr<QuicCredentials> credentials,
                                                            AcceptFn accepted) {
  std::shared_ptr<QuicEndpoint> endpoint(new QuicEndpoint(executor, std::move(credentials), std::move(accepted)));
  std::error_code ec;
  endpoint->socket_.open(address.protocol(), ec);
  if (!ec) endpoint->socket_.bind(address, ec);
  if (ec) return MakeError(ErrorCode::kIo, ec.message());
  endpoint->socket_.non_blocking(true, ec);
  SetSocketOptions(endpoint->socket_);
  // Each datagram says which of this machine's addresses it was sent to.
  int on = 1;
  (void)setsockopt(endpoint->socket_.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
  if (address.address().is_v6()) {
    (void)setsockopt(endpoint->socket_.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
  }
  endpoint->local_ = endpoint->socket_.local_endpoint(ec);
  return endpoint;
}

Result<std::shared_ptr<QuicEndpoint>> QuicEndpoint::ForDialing(asio::any_io_executor executor,
                                                                const udp::endpoint& remote,
                                                                std::shared_ptr<QuicCredentials> credentials) {
  std::shared_ptr<QuicEndpoint> endpoint(new QuicEndpoint(executor, std::move(credentials), nullptr));
  std::error_code ec;
  endpoint->socket_.open(remote.protocol(), ec);
  // Connecting picks the interface (and so the local address) packets to
  // `remote` leave from; QUIC's path needs it.
  if (!ec) endpoint->socket_.connect(remote, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot reach " + remote.address().to_string() + ": " + ec.message());
  endpoint->socket_.non_blocking(true, ec);
  SetSocketOptions(endpoint->socket_);
  endpoint->local_ = endpoint->socket_.local_endpoint(ec);
  return endpoint;
}

udp::endpoint QuicEndpoint::local_endpoint() const { return local_; }

void QuicEndpoint::Start() {
  asio::co_spawn(executor_, [self = shared_from_this()] { return self->ReceiveLoop(); },
                 LogIfThrew("reading QUIC datagrams", spdlog::level::debug));
}

void QuicEndpoint::Close() {
  std::error_code ec;
  socket_.close(ec);
  when_writable_.clear();
}

void QuicEndpoint::Route(const ngtcp2_cid& id, const std::shared_ptr<QuicConnection>& connection) {
  routes_[IdOf(id.data, id.datalen)] = connection;
}

void QuicEndpoint::Unroute(const ngtcp2_cid& id) { routes_.erase(IdOf(id.data, id.datalen)); }

bool QuicEndpoint::SendTo(const udp::endpoint& remote, ByteView datagram, std::error_code& ec) {
  return SendFrom(local_.address(), remote, datagram, ec);
}

bool QuicEndpoint::SendFrom(const asio::ip::address& from, const udp::endpoint& remote, ByteView datagram,
                            std::error_code& ec) {
  if (!socket_.is_open()) {
    ec = asio::error::bad_descriptor;
    return false;
  }
  if (from.is_unspecified() || from == local_.address() || accepted_ == nullptr) {
    socket_.send_to(asio::buffer(datagram.data(), datagram.size()), remote, 0, ec);
    return !ec;
  }
  // A listener on every address answers from the one it was reached at: a
  // peer's connected socket takes datagrams from that address only.
  iovec io{const_cast<uint8_t*>(datagram.data()), datagram.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr message{};
  message.msg_name = const_cast<sockaddr*>(remote.data());
  message.msg_namelen = static_cast<socklen_t>(remote.size());
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  message.msg_control = control;
  cmsghdr* header = reinterpret_cast<cmsghdr*>(control);
  const bool v4 = from.is_v4() || (from.is_v6() && from.to_v6().is_v4_mapped());
  if (v4) {
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr =
        htonl((from.is_v4() ? from.to_v4() : asio::ip::make_address_v4(asio::ip::v4_mapped, from.to_v6())).to_uint());
    header->cmsg_level = IPPROTO_IP;
    header->cmsg_type = IP_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(info));
    std::memcpy(CMSG_DATA(header), &info, sizeof(info));
    message.msg_controllen = CMSG_SPACE(sizeof(info));
  } else {
    in6_pktinfo info{};
    const auto bytes = from.to_v6().to_bytes();
    std::memcpy(&info.ipi6_addr, bytes.data(), bytes.size());
    info.ipi6_ifindex = from.to_v6().scope_id();
    header->cmsg_level = IPPROTO_IPV6;
    header->cmsg_type = IPV6_PKTINFO;
    header->cmsg_len = CMSG_LEN(sizeof(info));
    std::memcpy(CMSG_DATA(header), &info, sizeof(info));
    message.msg_controllen = CMSG_SPACE(sizeof(info));
  }
  if (::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT) < 0) {
    ec = std::error_code(errno == EAGAIN ? EWOULDBLOCK : errno, asio::error::get_system_category());
    return false;
  }
  return true;
}

void QuicEndpoint::WhenWritable(std::function<void()> then) {
  when_writable_.push_back(std::move(then));
  if (waiting_writable_) return;
  waiting_writable_ = true;
  socket_.async_wait(udp::socket::wait_write, [self = shared_from_this()](std::error_code) {
    self->waiting_writable_ = false;
    auto waiting = std::move(self->when_writable_);
    self->when_writable_.clear();
    for (auto& then : waiting) then();
  });
}

asio::awaitable<void> QuicEndpoint::ReceiveLoop() {
  auto self = shared_from_this();
  auto buffer = std::make_unique_for_overwrite<uint8_t[]>(kDatagramBuffer);
  while (socket_.is_open()) {
    udp::endpoint remote;
    asio::ip::address local;
    std::error_code ec;
    size_t n = co_await ReceiveOne(buffer.get(), remote, local, ec);
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || !socket_.is_open()) break;
    if (ec == asio::error::connection_refused) {
      // Ending a connection takes its routes out: collected first.
      std::vector<std::shared_ptr<QuicConnection>> told;
      for (auto& [id, route] : routes_) {
        if (auto connection = route.lock()) told.push_back(std::move(connection));
      }
      for (auto& connection : told) connection->OnRefused();
      continue;
    }
    if (ec) continue;
    ++datagrams_;
    Dispatch(udp::endpoint(local.is_unspecified() ? local_.address() : local, local_.port()), remote,
             ByteView(buffer.get(), n));
  }
}

asio::awaitable<size_t> QuicEndpoint::ReceiveOne(uint8_t* buffer, udp::endpoint& remote, asio::ip::address& local,
                                                 std::error_code& ec) {
  while (true) {
    iovec io{buffer, kDatagramBuffer};
    alignas(cmsghdr) char control[256];
    msghdr message{};
    message.msg_name = remote.data();
    message.msg_namelen = static_cast<socklen_t>(remote.capacity());
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(socket_.native_handle(), &message, MSG_DONTWAIT);
    if (n >= 0) {
      remote.resize(message.msg_namelen);
      // Where it was sent to (a listener on every address learns which).
      for (cmsghdr* c = CMSG_FIRSTHDR(&message); c; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
          in_pktinfo info;
          std::memcpy(&info, CMSG_DATA(c), sizeof(info));
          // The address a reply goes out from: the destination, or for a
          // broadcast the interface's own address.
          local = asio::ip::address_v4(ntohl(info.ipi_spec_dst.s_addr));
          if (local_.address().is_v6()) local = asio::ip::make_address_v6(asio::ip::v4_mapped, local.to_v4());
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
          in6_pktinfo info;
          std::memcpy(&info, CMSG_DATA(c), sizeof(info));
          asio::ip::address_v6::bytes_type bytes;
          std::memcpy(bytes.data(), &info.ipi6_addr, bytes.size());
          // A link-local address means nothing without its interface.
          asio::ip::address_v6 destination(bytes);
          local = asio::ip::address_v6(bytes, destination.is_link_local() ? info.ipi6_ifindex : 0);
        }
      }
      ec.clear();
      co_return static_cast<size_t>(n);
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      ec = std::error_code(errno, asio::error::get_system_category());
      co_return 0;
    }
    co_await socket_.async_wait(udp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return 0;
  }
}

void QuicEndpoint::Dispatch(const udp::endpoint& remote, ByteView datagram) { Dispatch(local_, remote, datagram); }

void QuicEndpoint::Dispatch(const udp::endpoint& local, const udp::endpoint& remote, ByteView datagram) {
  ngtcp2_version_cid ids;
  // ngtcp2 asserts on an empty datagram rather than refusing it.
  int rv = datagram.empty() ? -1 : ngtcp2_pkt_decode_version_cid(&ids, datagram.data(), datagram.size(), kConnectionIdSize);
  if (rv != 0) {
    ++dropped_;  // garbage, or a version we do not speak
    return;
  }
  auto route = routes_.find(IdOf(ids.dcid, ids.dcidlen));
  if (route != routes_.end()) {
    if (auto connection = route->second.lock()) {
      connection->OnDatagram(local, remote, datagram);
      return;
    }
    routes_.erase(route);
  }
  if ((datagram[0] & 0x80) == 0 && ids.dcidlen == kConnectionIdSize) {
    // A stateless reset looks like a short header with a random id: one
    // from the address of a connection of ours goes to it, whose ngtcp2
    // knows the peer's reset tokens.
    for (auto& [id, route] : routes_) {
      auto connection = route.lock();
      if (connection && connection->peer_endpoint() == remote) {
        connection->OnDatagram(local, remote, datagram);
        return;
      }
    }
    ngtcp2_cid id;
    ngtcp2_cid_init(&id, ids.dcid, ids.dcidlen);
    SendStatelessReset(local.address(), remote, id, datagram.size());
    return;
  }
  if (!accepted_) {
    ++dropped_;
    return;
  }
  OnInitial(local, remote, datagram);
}

void QuicEndpoint::SendStatelessReset(const asio::ip::address& from, const udp::endpoint& remote, const ngtcp2_cid& id,
                                      size_t prompted_by) {
  ++dropped_;
  // Only a listener: its connection ids' tokens come from the device key.
  // A dialled connection's come from a key of its own, so a listener cannot
  // be made to answer for an id it does not hold with a token that works.
  if (!accepted_) return;
  // Smaller than the packet that prompted it (so two endpoints cannot keep
  // each other busy), and never so small that it cannot pass for a packet.
  constexpr size_t kSmallest = 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN + 16;
  if (prompted_by <= kSmallest) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - reset_second_ >= std::chrono::seconds(1)) {
    reset_second_ = now;
    resets_this_second_ = 0;
  }
  if (++resets_this_second_ > kResetsPerSecond) return;
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  const auto& secret = credentials_->reset_secret();
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), &id) != 0) return;
  const size_t size = std::min<size_t>(prompted_by - 1, 64);
  uint8_t random[64];
  if (RAND_bytes(random, sizeof(random)) != 1) return;
  uint8_t packet[64];
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(packet, size, token, random, size - 1 - sizeof(token));
  if (n <= 0) return;
  std::error_code ec;
  SendFrom(from, remote, ByteView(packet, static_cast<size_t>(n)), ec);
}

void QuicEndpoint::OnInitial(const udp::endpoint& local, const udp::endpoint& remote, ByteView datagram) {
  ngtcp2_pkt_hd header;
  if (ngtcp2_accept(&header, datagram.data(), datagram.size()) != 0 || handshakes_ >= kMaxQuicHandshakes) {
    ++dropped_;  // not a client's first Initial (or too short to be one), or too many at once
    return;
  }
  if (header.token.len == 0) {
    SendRetry(header, local.address(), remote);
    return;
  }
  ngtcp2_cid original_dcid;
  if (header.token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY ||
      ngtcp2_crypto_verify_retry_token(&original_dcid, header.token.base, header.token.len, token_secret_.data(),
                                       token_secret_.size(), header.version, remote.data(),
                                       static_cast<ngtcp2_socklen>(remote.size()), &header.dcid,
                                       std::chrono::duration_cast<std::chrono::nanoseconds>(kRetryTokenLifetime).count(),
                                       QuicNow()) != 0) {
    ++dropped_;  // a token from another address, expired, or forged
    return;
  }
  auto connection = QuicConnection::Accept(shared_from_this(), credentials_, header, &original_dcid, local, remote);
  if (!connection) {
    ++dropped_;
    return;
  }
  connection->OnDatagram(local, remote, datagram);
  ++handshakes_;
  asio::co_spawn(executor_, AwaitHandshake(std::move(connection)),
                 LogIfThrew("a QUIC handshake", spdlog::level::debug));
}

void QuicEndpoint::SendRetry(const ngtcp2_pkt_hd& header, const asio::ip::address& from, const udp::endpoint& remote) {
  ngtcp2_cid retry_scid;
  retry_scid.datalen = kConnectionIdSize;
  if (RAND_bytes(retry_scid.data, static_cast<int>(retry_scid.datalen)) != 1) return;
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  ngtcp2_ssize token_size = ngtcp2_crypto_generate_retry_token(
      token, token_secret_.data(), token_secret_.size(), header.version, remote.data(),
      static_cast<ngtcp2_socklen>(remote.size()), &retry_scid, &header.dcid, QuicNow());
  if (token_size < 0) return;
  uint8_t packet[1500];
  ngtcp2_ssize n = ngtcp2_crypto_write_retry(packet, sizeof(packet), header.version, &header.scid, &retry_scid,
                                             &header.dcid, token, static_cast<size_t>(token_size));
  if (n <= 0) return;
  std::error_code ec;
  SendFrom(from, remote, ByteView(packet, static_cast<size_t>(n)), ec);
}

asio::awaitable<void> QuicEndpoint::AwaitHandshake(std::shared_ptr<QuicConnection> connection) {
  auto self = shared_from_this();
  auto done = co_await connection->Handshake();
  --handshakes_;
  if (!done) {
    spdlog::debug("incoming QUIC connection refused: {}", done.error().message);
    co_return;
  }
  if (accepted_ && socket_.is_open()) accepted_(std::move(connection));
}

}  // namespace tandem::net
