// Network: this device's side of the peer-to-peer mesh. Listens for peers
// over TCP and QUIC, dials every configured peer address with backoff, keeps
// one session per peer device (of two, one over QUIC stays; when both dial at
// once over the same transport, the connection opened by the device with the
// larger id stays), and tells sessions when the offered shares change. Lives
// on the event loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "net/address.h"
#include "net/quic_endpoint.h"
#include "sync/peer_session.h"

namespace tandem::sync {

class Network : public SessionHost {
 public:
  using OfferedFn = std::function<std::vector<std::shared_ptr<ShareEndpoint>>()>;

  // kInternal if the TLS context cannot be built.
  static Result<std::unique_ptr<Network>> Create(asio::io_context& io, const crypto::DeviceKey& device,
                                                 std::string device_name, OfferedFn offered);
  ~Network() override;

  // Starts accepting peers on each address; kIo with a clear message if one
  // cannot be bound, kInvalidArgument if it is not an IP address. Port 0
  // asks for any free port, the same one for TCP and QUIC.
  Result<void> Listen(const std::vector<net::PeerAddress>& addresses);
  // The port actually bound (useful with port 0): TCP's, else QUIC's.
  uint16_t listening_port() const;
  // Whether peers can reach the listener over {IPv4, IPv6}.
  std::pair<bool, bool> listening_families() const;

  // The peer addresses to keep connections to (all enabled shares' peers).
  void SetDialAddresses(const std::set<std::string>& addresses);
  // A share was added, removed, paused or resumed: offer again everywhere.
  void SharesChanged();
  // This device's addresses are now `addresses`: a session going out of an
  // address that went away is dead (nothing reaches it any more), though
  // TCP would take minutes to say so. A QUIC session this device dialled
  // moves to the new address (connection migration); any other is closed,
  // and this device dials again (its hello then says it holds no other
  // session, so the peer drops the dead one at once).
  void KeepSessionsOn(const std::set<asio::ip::address>& addresses);
  void Stop();

  // "connected (DEVICE-ID)", "connecting", "retrying in 4 s: <error>", ...
  std::string AddressState(const std::string& address) const;
  // The device connected at `address`, or empty.
  std::string ConnectedDevice(const std::string& address) const;

  // SessionHost.
  std::vector<std::shared_ptr<ShareEndpoint>> OfferedShares() override { return offered_(); }
  bool Register(const std::shared_ptr<PeerSession>& session) override;
  void Unregister(PeerSession* session) override;
  bool HasSessionWith(const std::string& device) const override { return sessions_.count(device) > 0; }
  const std::string& device_name() const override { return device_name_; }
  Throttle& upload_limit() override { return upload_limit_; }
  Throttle& download_limit() override { return download_limit_; }
  bool limits_apply_on_lan() const override { return limits_apply_on_lan_; }

  // The device's limits in bytes a second (0: none), in force at once.
  void SetLimits(uint64_t upload, uint64_t download, bool apply_on_lan);

 private:
  struct Dialer {
    std::string address;
    std::string state = "connecting";
    std::string device_id;  // learnt from the first successful connection
    bool active = true;
    bool waiting_for_session = false;  // another connection to its device is up
    asio::steady_timer wake;
    explicit Dialer(asio::io_context& io, std::string a) : address(std::move(a)), wake(io) {}
  };

  Network(asio::io_context& io, crypto::DeviceKey device, std::string device_name, OfferedFn offered,
          std::unique_ptr<asio::ssl::context> tls, std::shared_ptr<net::QuicCredentials> quic);
  Result<void> ListenOn(const net::PeerAddress& address);
  // One connection to the address `dialer` names, or why not.
  asio::awaitable<Result<std::shared_ptr<net::Connection>>> Connect(const net::PeerAddress& address);
  asio::awaitable<void> AcceptLoop();
  // Every kAddressCheck, this device's addresses: sessions on one that went
  // away move or close (KeepSessionsOn), whether or not LAN discovery runs.
  asio::awaitable<void> WatchAddresses();
  asio::awaitable<void> HandleIncoming(asio::ip::tcp::socket socket);
  asio::awaitable<void> DialLoop(std::shared_ptr<Dialer> dialer);
  void CloseOldestStrangers();
  asio::awaitable<void> RunSession(std::shared_ptr<net::Connection> connection, std::string dial_address);
  void WakeDialers();

  asio::io_context& io_;
  crypto::DeviceKey device_;
  std::string device_id_;
  std::string device_name_;
  OfferedFn offered_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::shared_ptr<net::QuicCredentials> quic_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer address_check_;
  std::shared_ptr<net::QuicEndpoint> quic_listener_;
  std::map<std::string, std::shared_ptr<PeerSession>> sessions_;  // by device id
  std::map<std::string, std::shared_ptr<Dialer>> dialers_;        // by address
  Throttle upload_limit_;
  Throttle download_limit_;
  bool limits_apply_on_lan_ = false;
  size_t handshakes_ = 0;
  bool stopped_ = false;
};

}  // namespace tandem::sync
