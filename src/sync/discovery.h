// LanDiscovery: finds, on the local network, the current addresses of
// devices that hold this device's shares, so that they connect without a
// peer entry and again after an address changes. Opt-in per share: with no
// share announced, no port is bound and nothing is sent.
//
// In the manner of Syncthing's local discovery: a beacon (protocol/beacon.h)
// goes to every IPv4 interface's broadcast address and to a link-local IPv6
// multicast group on every interface, every 30 s, at once when the shares
// announced change, and when this device's addresses change (the interfaces
// are looked at every few seconds). Unlike Syncthing's, a beacon names no
// device and no share: each share is a tag bound to a fresh nonce, which
// only holders of the share recognise.
//
// What a beacon yields is only a hint: the sender's address and the port it
// names, dialled like a manual peer address. The TLS handshake and the
// share offers decide, as for any peer; a forged or copied beacon can make
// this device dial somewhere, never attach a share there. Addresses not
// heard of again within 90 s are forgotten. Beacons are read at most
// kBeaconsPerSecond a second, so a flood costs a bounded number of hashes.
//
// Threads: the event loop (the Service's); not thread-safe.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "protocol/beacon.h"

namespace tandem::sync {

class LanDiscovery {
 public:
  // A share to announce and to look for: its config id, its name (for the
  // log), and its id as every holder knows it.
  struct Share {
    std::string id;
    std::string name;
    crypto::Key32 share_id;
  };
  struct Options {
    uint16_t port = protocol::kDiscoveryPort;
    std::chrono::milliseconds interval = std::chrono::seconds(30);
    std::chrono::milliseconds lifetime = std::chrono::seconds(90);
    std::chrono::milliseconds interface_check = std::chrono::seconds(3);
  };
  static constexpr int kBeaconsPerSecond = 50;
  // Addresses kept per share; past it the one heard of longest ago goes.
  static constexpr size_t kFoundPerShare = 16;
  // The IPv6 group (link-local scope) beacons go to.
  static constexpr const char* kMulticastGroup = "ff12::7464";

  struct Callbacks {
    std::function<std::vector<Share>()> shares;  // the shares to announce now
    std::function<uint16_t()> listening_port;    // this device's port for peers
    // The address families peers can reach it by (a listener on 0.0.0.0
    // takes no IPv6): beacons go out on those only.
    std::function<std::pair<bool, bool>()> listening_families;  // {IPv4, IPv6}
    std::function<void()> found_changed;         // an address was found or forgotten
  };

  LanDiscovery(asio::io_context& io, Options options, Callbacks callbacks);
  ~LanDiscovery();

  // The announced shares may have changed: opens the sockets when the first
  // share is announced, closes them when none is, and announces at once
  // when the set changed.
  void Update();
  void Stop();

  struct Found {
    std::string address;  // tcp/IP:PORT
    std::chrono::steady_clock::time_point last_seen;
  };
  // Where devices holding `share` (config id) were heard from, newest first.
  std::vector<Found> FoundFor(const std::string& share) const;
  // Why discovery is not running although a share asks for it (the port
  // could not be bound); empty when it runs or is not wanted.
  const std::string& problem() const { return problem_; }
  bool running() const { return running_; }

 private:
  void Open();
  // `say`: log that discovery is off (not when the daemon stops).
  void Close(bool say = true);
  std::string NameOf(const std::string& share) const;
  void Announce();
  asio::awaitable<void> ReceiveLoop(asio::ip::udp::socket& socket, std::shared_ptr<bool> alive);
  asio::awaitable<void> TimerLoop(std::shared_ptr<bool> alive);
  void OnBeacon(ByteView datagram, const asio::ip::address& from);
  // Looks at the interfaces; true when this device's addresses changed.
  bool CheckInterfaces();
  void ForgetOld();

  asio::io_context& io_;
  Options options_;
  Callbacks callbacks_;
  asio::ip::udp::socket v4_;
  asio::ip::udp::socket v6_;
  asio::steady_timer timer_;
  std::shared_ptr<bool> alive_;  // the loops of one Open() see false after Close()
  bool running_ = false;
  std::string problem_;
  std::vector<Share> announced_;
  std::set<std::string> announced_ids_;
  std::set<asio::ip::address> addresses_;   // this device's, at the last check
  std::set<unsigned> joined_;               // interfaces the IPv6 group is joined on
  // Our nonces of the last few minutes: our own beacons come back.
  std::deque<std::pair<protocol::BeaconNonce, std::chrono::steady_clock::time_point>> sent_;
  std::chrono::steady_clock::time_point last_announce_{};
  std::chrono::steady_clock::time_point second_{};
  int beacons_this_second_ = 0;
  std::map<std::string, std::map<std::string, std::chrono::steady_clock::time_point>> found_;  // share -> address -> seen
};

}  // namespace tandem::sync
