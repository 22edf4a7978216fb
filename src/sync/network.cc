#include "sync/network.h"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "base/backoff.h"
#include "net/interfaces.h"
#include "net/quic_connection.h"
#include "net/tcp_connection.h"
#include "net/tls.h"

namespace tandem::sync {
namespace {

using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;

// Pauses between dials of an address that keeps failing: doubling, with
// jitter, up to the cap. A connection that ends within kStableSession counts
// as a failure too, so a peer that accepts and then drops us (its share
// broken, its disk full) is dialled less and less often, not in a loop.
constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::seconds kMaxBackoff{30};
constexpr std::chrono::seconds kStableSession{20};
constexpr std::chrono::seconds kConnectTimeout{10};
// Connections still in their TLS handshake; more are refused at once, so a
// flood of half-open connections cannot pile up.
constexpr size_t kMaxHandshakes = 64;
// Incoming sessions that share nothing with this device. Anyone can finish
// a handshake with a fresh key; past this many such sessions the oldest are
// closed, so strangers cannot hold file descriptors without bound. A real
// peer's offers arrive one round trip after its hello, long before it is
// the oldest; one closed early redials.
constexpr size_t kMaxStrangers = 32;
// How often this device's addresses are looked at.
constexpr std::chrono::seconds kAddressCheck{2};
// Two sessions with one device that began this close together are the two
// ends dialling at once, not one end replacing a connection it gave up.
constexpr std::chrono::seconds kDialRace{5};


}  // namespace

Result<std::unique_ptr<Network>> Network::Create(asio::io_context& io, const crypto::DeviceKey& device,
                                                 std::string device_name, OfferedFn offered) {
  auto tls = net::MakeTlsContext(device);
  if (!tls) return tls.error();
  auto quic = net::QuicCredentials::Create(device);
  if (!quic) return quic.error();
  return std::unique_ptr<Network>(
      new Network(io, device, std::move(device_name), std::move(offered), std::move(*tls), std::move(*quic)));
}

Network::Network(asio::io_context& io, crypto::DeviceKey device, std::string device_name, OfferedFn offered,
                 std::unique_ptr<asio::ssl::context> tls, std::shared_ptr<net::QuicCredentials> quic)
    : io_(io), device_(device), device_id_(device.DeviceId()), device_name_(std::move(device_name)),
      offered_(std::move(offered)), tls_(std::move(tls)), quic_(std::move(quic)), acceptor_(io), address_check_(io) {
  asio::co_spawn(io_, WatchAddresses(), LogIfThrew("watching this device's addresses"));
}

Network::~Network() { Stop(); }

Result<void> Network::Listen(const std::vector<net::PeerAddress>& addresses) {
  // Port 0: the port TCP got, for QUIC too (a peer is told one port). Rarely
  // it is taken for UDP; then both try again elsewhere.
  // A port given for one transport is the other's too.
  uint16_t given = 0;
  for (const net::PeerAddress& address : addresses) {
    if (address.port != 0 && given == 0) given = address.port;
  }
  for (int attempt = 0;; ++attempt) {
    uint16_t chosen = given;
    Result<void> outcome = Ok();
    for (net::PeerAddress address : addresses) {
      if (address.port == 0 && chosen != 0) address.port = chosen;
      outcome = ListenOn(address);
      if (!outcome) break;
      if (chosen == 0) chosen = listening_port();
    }
    if (outcome || attempt == 4 || std::none_of(addresses.begin(), addresses.end(), [](const auto& a) {
          return a.port == 0;
        })) {
      if (!outcome) {
        std::error_code ec;
        acceptor_.close(ec);
        if (quic_listener_) quic_listener_->Close();
        quic_listener_.reset();
      }
      return outcome;
    }
    std::error_code ec;
    acceptor_.close(ec);
    acceptor_ = tcp::acceptor(io_);
    if (quic_listener_) quic_listener_->Close();
    quic_listener_.reset();
  }
}

Result<void> Network::ListenOn(const net::PeerAddress& address) {
  std::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "listen address " + address.ToString() + " must be an IP address, e.g. tcp/0.0.0.0:20209");
  }
  auto refused = [&](const std::string& why) {
    return MakeError(ErrorCode::kIo,
                     "cannot listen on " + address.ToString() + ": " + why + "; choose another address with --listen");
  };
  if (address.transport == net::Transport::kQuic) {
    if (quic_listener_) return refused("QUIC already listens on " + quic_listener_->local_endpoint().address().to_string());
    auto listener = net::QuicEndpoint::Listen(
        io_.get_executor(), asio::ip::udp::endpoint(ip, address.port), quic_,
        [this](std::shared_ptr<net::Connection> connection) {
          if (stopped_) return;
          asio::co_spawn(io_, RunSession(std::move(connection), ""), LogIfThrew("a QUIC session", spdlog::level::debug));
        });
    if (!listener) return refused(listener.error().message);
    quic_listener_ = *listener;
    quic_listener_->Start();
  } else {
    if (acceptor_.is_open()) return refused("TCP already listens on " + acceptor_.local_endpoint(ec).address().to_string());
    tcp::endpoint endpoint(ip, address.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return refused(ec.message());
    asio::co_spawn(io_, AcceptLoop(), LogIfThrew("accepting peers", spdlog::level::err));
  }
  net::PeerAddress bound = address;
  bound.port = listening_port();
  if (address.transport == net::Transport::kQuic) bound.port = quic_listener_->local_endpoint().port();
  spdlog::info("listening for peers on {}", bound.ToString());
  return Ok();
}

uint16_t Network::listening_port() const {
  std::error_code ec;
  auto endpoint = acceptor_.local_endpoint(ec);
  if (!ec) return endpoint.port();
  return quic_listener_ ? quic_listener_->local_endpoint().port() : 0;
}

std::pair<bool, bool> Network::listening_families() const {
  std::pair<bool, bool> families{false, false};
  auto add = [&](const asio::ip::address& address) {
    if (address.is_v4()) {
      families.first = true;
    } else {
      // [::] takes IPv4 too (Linux's default dual stack); a v6 address only itself.
      families.first = families.first || address.is_unspecified();
      families.second = true;
    }
  };
  std::error_code ec;
  if (auto endpoint = acceptor_.local_endpoint(ec); !ec) add(endpoint.address());
  if (quic_listener_) add(quic_listener_->local_endpoint().address());
  return families;
}

void Network::Stop() {
  if (stopped_) return;
  stopped_ = true;
  // Blocks waiting for their turn go at once (into closed connections), so
  // nothing is left waiting on a timer when the loop is drained.
  upload_limit_.SetRate(0);
  download_limit_.SetRate(0);
  std::error_code ec;
  acceptor_.close(ec);
  address_check_.cancel();
  if (quic_listener_) quic_listener_->Close();
  for (auto& [address, dialer] : dialers_) {
    dialer->active = false;
    dialer->wake.cancel();
  }
  auto sessions = sessions_;
  for (auto& [device, session] : sessions) session->Close("shutting down");
}

asio::awaitable<void> Network::AcceptLoop() {
  while (!stopped_) {
    std::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || stopped_) co_return;
    if (ec) continue;
    if (handshakes_ >= kMaxHandshakes) {
      socket.close(ec);
      continue;
    }
    asio::co_spawn(io_, HandleIncoming(std::move(socket)), LogIfThrew("an incoming connection", spdlog::level::debug));
  }
}

asio::awaitable<void> Network::HandleIncoming(tcp::socket socket) {
  ++handshakes_;
  auto connection = co_await net::TcpConnection::Establish(std::move(socket), *tls_, false);
  --handshakes_;
  if (!connection) {
    spdlog::debug("incoming connection refused: {}", connection.error().message);
    co_return;
  }
  co_await RunSession(std::move(*connection), "");
}

asio::awaitable<void> Network::RunSession(std::shared_ptr<net::Connection> connection, std::string dial_address) {
  if (connection->peer_key() == device_.public_key()) {
    connection->Start();
    connection->Close("connected to ourselves");
    co_return;
  }
  auto session = std::make_shared<PeerSession>(std::move(connection), *this, std::move(dial_address));
  co_await session->Run();
}

bool Network::Register(const std::shared_ptr<PeerSession>& session) {
  if (stopped_) return false;
  auto [it, inserted] = sessions_.emplace(session->device_id(), session);
  if (!inserted) {
    // Keep one over QUIC (it survives address changes and loss better);
    // between two over the same transport, the one opened by the device with
    // the larger id, so both ends drop the same one; between two of the same
    // kind, the newer.
    const auto& existing = it->second;
    auto opener = [&](const PeerSession& s) { return s.outgoing() ? device_id_ : s.device_id(); };
    std::string existing_opener = opener(*existing);
    std::string new_opener = opener(*session);
    bool keep_new = session->transport() != existing->transport()
                        ? session->transport() == net::Transport::kQuic
                        : existing_opener == new_opener || new_opener > existing_opener;
    // The peer gave the existing one up (its hello says it holds no other),
    // which this end may not know yet: after an address change nothing
    // reaches it to say so.
    if (session->peer_holds_no_other() && std::chrono::steady_clock::now() - existing->started() > kDialRace) {
      keep_new = true;
    }
    if (!keep_new) return false;
    existing->Close("duplicate connection");
    it->second = session;
  }
  if (!session->dial_address().empty()) {
    if (auto d = dialers_.find(session->dial_address()); d != dialers_.end()) {
      d->second->device_id = session->device_id();
      d->second->state = "connected (" + session->device_id() + ")";
    }
  }
  CloseOldestStrangers();
  return true;
}

void Network::CloseOldestStrangers() {
  std::vector<std::shared_ptr<PeerSession>> strangers;
  for (const auto& [device, session] : sessions_) {
    if (!session->outgoing() && session->SharesNothing() && !session->closed()) strangers.push_back(session);
  }
  if (strangers.size() <= kMaxStrangers) return;
  std::sort(strangers.begin(), strangers.end(), [](const auto& a, const auto& b) { return a->started() < b->started(); });
  size_t excess = strangers.size() - kMaxStrangers;
  for (size_t i = 0; i < excess; ++i) strangers[i]->Close("too many connected devices share nothing with this one");
  spdlog::info("closed the oldest {} of {} connections from devices that share nothing with this one (at most {} "
               "are kept)", excess, strangers.size(), kMaxStrangers);
}

void Network::Unregister(PeerSession* session) {
  auto it = sessions_.find(session->device_id());
  if (it != sessions_.end() && it->second.get() == session) {
    sessions_.erase(it);
    WakeDialers();
  }
}

// Only dialers that wait for another connection to the same device to end:
// one that is pausing after failures keeps its pause (a connection that
// keeps ending must not turn into a dial loop).
void Network::WakeDialers() {
  for (auto& [address, dialer] : dialers_) {
    if (dialer->waiting_for_session) dialer->wake.cancel();
  }
}

void Network::SetDialAddresses(const std::set<std::string>& addresses) {
  for (auto it = dialers_.begin(); it != dialers_.end();) {
    if (!addresses.count(it->first)) {
      it->second->active = false;
      it->second->wake.cancel();
      it = dialers_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& address : addresses) {
    if (dialers_.count(address) || stopped_) continue;
    auto dialer = std::make_shared<Dialer>(io_, address);
    dialers_.emplace(address, dialer);
    asio::co_spawn(io_, DialLoop(dialer), LogIfThrew("dialling a peer"));
  }
}

void Network::SetLimits(uint64_t upload, uint64_t download, bool apply_on_lan) {
  upload_limit_.SetRate(upload);
  download_limit_.SetRate(download);
  limits_apply_on_lan_ = apply_on_lan;
}

void Network::KeepSessionsOn(const std::set<asio::ip::address>& addresses) {
  auto sessions = sessions_;
  for (auto& [device, session] : sessions) {
    asio::ip::address local = session->local_address();
    if (local.is_v6() && local.to_v6().is_v4_mapped()) {  // IPv4 on a dual-stack listener
      local = asio::ip::make_address_v4(asio::ip::v4_mapped, local.to_v6());
    }
    if (local.is_unspecified() || addresses.count(local)) continue;
    if (session->MoveToNewAddress()) {
      spdlog::info("peer {}: this device's address {} went away; the connection moved", session->device_id(),
                   local.to_string());
      continue;
    }
    session->Close("this device's address " + local.to_string() + " went away");
  }
}

asio::awaitable<void> Network::WatchAddresses() {
  std::set<asio::ip::address> known;
  while (!stopped_) {
    std::set<asio::ip::address> now;
    for (const net::LocalInterface& local : net::LocalInterfaces()) {
      if (local.up) now.insert(local.address);
    }
    if (!known.empty() && now != known && !now.empty()) KeepSessionsOn(now);
    known = std::move(now);
    address_check_.expires_after(kAddressCheck);
    std::error_code ec;
    co_await address_check_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Network::SharesChanged() {
  for (auto& [device, session] : sessions_) session->SendOffers();
}

std::string Network::ConnectedDevice(const std::string& address) const {
  auto it = dialers_.find(address);
  if (it == dialers_.end() || it->second->device_id.empty()) return {};
  return sessions_.count(it->second->device_id) ? it->second->device_id : std::string();
}

std::string Network::AddressState(const std::string& address) const {
  auto it = dialers_.find(address);
  if (it == dialers_.end()) return "not dialled (sync paused)";
  const Dialer& dialer = *it->second;
  if (!dialer.device_id.empty()) {
    auto session = sessions_.find(dialer.device_id);
    if (session != sessions_.end()) return "connected (" + dialer.device_id + ")";
  }
  return dialer.state;
}

asio::awaitable<void> Network::DialLoop(std::shared_ptr<Dialer> dialer) {
  Backoff backoff(kFirstBackoff, kMaxBackoff);
  auto parsed = net::ParsePeerAddress(dialer->address);
  if (!parsed) {
    dialer->state = parsed.error().message;
    co_return;
  }
  while (dialer->active && !stopped_) {
    // Already connected to that device (perhaps it dialled us): wait until that ends.
    if (!dialer->device_id.empty() && sessions_.count(dialer->device_id)) {
      dialer->wake.expires_after(kMaxBackoff);
      std::error_code ec;
      dialer->waiting_for_session = true;
      co_await dialer->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      dialer->waiting_for_session = false;
      continue;
    }
    dialer->state = "connecting";
    std::string failure;
    auto connection = co_await Connect(*parsed);
    if (!connection) {
      failure = connection.error().message;
    } else if ((*connection)->peer_key() == device_.public_key()) {
      failure = "this address is this device itself";
      co_await RunSession(std::move(*connection), dialer->address);
    } else {
      auto session_device = (*connection)->peer_device_id();
      const auto began = std::chrono::steady_clock::now();
      co_await RunSession(std::move(*connection), dialer->address);
      dialer->device_id = session_device;
      failure = "disconnected";
      if (std::chrono::steady_clock::now() - began >= kStableSession) backoff.Reset();
    }
    if (!dialer->active || stopped_) break;
    const std::chrono::milliseconds pause = backoff.Next();
    dialer->state = "retrying in " + std::to_string((pause.count() + 999) / 1000) + " s: " + failure;
    dialer->wake.expires_after(pause);
    std::error_code ec;
    co_await dialer->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<Result<std::shared_ptr<net::Connection>>> Network::Connect(const net::PeerAddress& address) {
  std::error_code ec;
  if (address.transport == net::Transport::kQuic) {
    asio::ip::udp::resolver resolver(io_);
    auto endpoints = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return MakeError(ErrorCode::kIo, "cannot resolve " + address.host + ": " + ec.message());
    // Each address the name has, in turn, as TCP's connect does.
    Error last = MakeError(ErrorCode::kIo, "no address for " + address.host);
    for (const auto& entry : endpoints) {
      auto connection = co_await net::QuicConnection::Dial(io_.get_executor(), entry.endpoint(), quic_);
      if (connection) co_return connection;
      last = connection.error();
    }
    co_return last;
  }
  tcp::resolver resolver(io_);
  auto endpoints = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return MakeError(ErrorCode::kIo, "cannot resolve " + address.host + ": " + ec.message());
  tcp::socket socket(io_);
  asio::steady_timer deadline(io_);
  deadline.expires_after(kConnectTimeout);
  auto outcome = co_await (asio::async_connect(socket, endpoints, asio::redirect_error(asio::use_awaitable, ec)) ||
                           deadline.async_wait(asio::use_awaitable));
  if (outcome.index() == 1) co_return MakeError(ErrorCode::kIo, "connection timed out");
  if (ec) co_return MakeError(ErrorCode::kIo, ec.message());
  socket.set_option(tcp::no_delay(true), ec);
  co_return co_await net::TcpConnection::Establish(std::move(socket), *tls_, true);
}

}  // namespace tandem::sync
