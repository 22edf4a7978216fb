#include "sync/discovery.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <asio/co_spawn.hpp>
#include <asio/ip/multicast.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "crypto/keyed_hash.h"
#include "net/address.h"
#include "net/interfaces.h"

namespace tandem::sync {
namespace {

using asio::ip::udp;
using Clock = std::chrono::steady_clock;

// Our own nonces are remembered this long (a copy of one of our beacons
// sent back to us later makes us dial ourselves, which the handshake ends).
constexpr std::chrono::minutes kNoncesKept{10};

asio::ip::address_v6 Group(unsigned interface_index) {
  asio::ip::address_v6 group = asio::ip::make_address_v6(LanDiscovery::kMulticastGroup);
  group.scope_id(interface_index);
  return group;
}

}  // namespace

LanDiscovery::LanDiscovery(asio::io_context& io, Options options, Callbacks callbacks)
    : io_(io), options_(options), callbacks_(std::move(callbacks)), v4_(io), v6_(io), timer_(io) {}

LanDiscovery::~LanDiscovery() { Stop(); }

void LanDiscovery::Stop() {
  announced_.clear();
  announced_ids_.clear();
  Close(false);
}

void LanDiscovery::Update() {
  std::vector<Share> shares = callbacks_.shares();
  std::set<std::string> ids;
  for (const Share& share : shares) ids.insert(share.id);
  const bool changed = ids != announced_ids_;
  announced_ = std::move(shares);
  announced_ids_ = std::move(ids);
  if (announced_.empty()) {
    Close();
    return;
  }
  bool forgot = false;
  for (auto it = found_.begin(); it != found_.end();) {
    if (announced_ids_.count(it->first)) {
      ++it;
    } else {
      it = found_.erase(it);
      forgot = true;
    }
  }
  if (!alive_) {
    alive_ = std::make_shared<bool>(true);
    asio::co_spawn(io_, TimerLoop(alive_), LogIfThrew("LAN discovery"));
  } else if (changed) {
    Announce();
  }
  if (forgot && callbacks_.found_changed) callbacks_.found_changed();
}

void LanDiscovery::Open() {
  std::error_code ec;
  v4_.open(udp::v4(), ec);
  if (!ec) v4_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) v4_.set_option(asio::socket_base::broadcast(true), ec);
  if (!ec) v4_.bind(udp::endpoint(asio::ip::address_v4::any(), options_.port), ec);
  std::string why;
  if (ec) {
    why = "IPv4: " + ec.message();
    v4_.close(ec);
  }
  // IPv6 is optional: a system without it discovers over IPv4 alone.
  v6_.open(udp::v6(), ec);
  if (!ec) v6_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) v6_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) v6_.bind(udp::endpoint(asio::ip::address_v6::any(), options_.port), ec);
  if (ec) {
    why += std::string(why.empty() ? "" : "; ") + "IPv6: " + ec.message();
    v6_.close(ec);
  }
  if (!v4_.is_open() && !v6_.is_open()) {
    const std::string problem = "cannot listen for LAN discovery on UDP port " + std::to_string(options_.port) + " (" +
                                why + "); peers on the local network are not found until it can";
    if (problem != problem_) spdlog::warn("{}", problem);
    problem_ = problem;
    return;
  }
  if (!why.empty()) spdlog::debug("LAN discovery: {}", why);
  problem_.clear();
  running_ = true;
  if (v4_.is_open()) asio::co_spawn(io_, ReceiveLoop(v4_, alive_), LogIfThrew("LAN discovery (IPv4)"));
  if (v6_.is_open()) asio::co_spawn(io_, ReceiveLoop(v6_, alive_), LogIfThrew("LAN discovery (IPv6)"));
  spdlog::info("LAN discovery on UDP port {}", options_.port);
  CheckInterfaces();
  Announce();
}

void LanDiscovery::Close(bool say) {
  if (alive_) *alive_ = false;
  alive_.reset();
  std::error_code ec;
  timer_.cancel();
  v4_.close(ec);
  v6_.close(ec);
  if (running_ && say) spdlog::info("LAN discovery off (no share asks for it)");
  running_ = false;
  problem_.clear();
  joined_.clear();
  addresses_.clear();
  if (!found_.empty()) {
    found_.clear();
    if (callbacks_.found_changed) callbacks_.found_changed();
  }
}

asio::awaitable<void> LanDiscovery::TimerLoop(std::shared_ptr<bool> alive) {
  while (*alive) {
    if (!running_) {
      Open();
    } else {
      const bool moved = CheckInterfaces();
      if (moved || Clock::now() - last_announce_ >= options_.interval) Announce();
      ForgetOld();
    }
    timer_.expires_after(options_.interface_check);
    std::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

bool LanDiscovery::CheckInterfaces() {
  std::set<asio::ip::address> now;
  std::set<unsigned> multicast;
  for (const net::LocalInterface& local : net::LocalInterfaces()) {
    if (!local.up) continue;
    now.insert(local.address);
    if (!local.loopback && local.multicast && local.address.is_v6() && local.address.to_v6().is_link_local()) {
      multicast.insert(local.index);
    }
  }
  if (v6_.is_open()) {
    for (unsigned index : multicast) {
      if (joined_.count(index)) continue;
      std::error_code ec;
      v6_.set_option(asio::ip::multicast::join_group(Group(index), index), ec);
      if (!ec) joined_.insert(index);
    }
    // An interface that went away took its membership with it.
    std::erase_if(joined_, [&](unsigned index) { return !multicast.count(index); });
  }
  const bool changed = now != addresses_;
  if (changed && !addresses_.empty()) {
    spdlog::info("this device's addresses changed: announcing the shares with LAN discovery again");
  }
  addresses_ = std::move(now);
  return changed;
}

void LanDiscovery::Announce() {
  if (!running_ || announced_.empty()) return;
  const uint16_t port = callbacks_.listening_port();
  if (port == 0) return;
  const auto [to_v4, to_v6] = callbacks_.listening_families ? callbacks_.listening_families() : std::pair{true, true};
  last_announce_ = Clock::now();
  // Where to: each IPv4 subnet's broadcast address, each IPv6 link's group.
  std::set<asio::ip::address_v4> broadcasts;
  std::set<unsigned> links;
  for (const net::LocalInterface& local : net::LocalInterfaces()) {
    if (!local.up || local.loopback) continue;
    if (local.broadcast) broadcasts.insert(*local.broadcast);
    if (local.multicast && local.address.is_v6() && local.address.to_v6().is_link_local()) links.insert(local.index);
  }
  bool sent_any = false;
  for (size_t first = 0; first < announced_.size(); first += protocol::kMaxBeaconTags) {
    protocol::Beacon beacon;
    randombytes_buf(beacon.nonce.data(), beacon.nonce.size());
    beacon.port = port;
    const size_t end = std::min(announced_.size(), first + protocol::kMaxBeaconTags);
    for (size_t i = first; i < end; ++i) {
      beacon.tags.push_back(crypto::ComputeDiscoveryTag(announced_[i].share_id, beacon.nonce, port));
    }
    sent_.emplace_back(beacon.nonce, last_announce_);
    while (!sent_.empty() && last_announce_ - sent_.front().second > kNoncesKept) sent_.pop_front();
    const Bytes bytes = protocol::EncodeBeacon(beacon);
    std::error_code ec;
    if (v4_.is_open() && to_v4) {
      for (const auto& broadcast : broadcasts) {
        v4_.send_to(asio::buffer(bytes), udp::endpoint(broadcast, options_.port), 0, ec);
        if (ec) spdlog::debug("LAN discovery: cannot send to {}: {}", broadcast.to_string(), ec.message());
        sent_any |= !ec;
      }
    }
    if (v6_.is_open() && to_v6) {
      for (unsigned index : links) {
        v6_.send_to(asio::buffer(bytes), udp::endpoint(Group(index), options_.port), 0, ec);
        // A link-local address still being checked (DAD) cannot send yet.
        if (ec) spdlog::debug("LAN discovery: cannot send on interface {}: {}", index, ec.message());
        sent_any |= !ec;
      }
    }
  }
  // Nothing went out (no network yet, addresses still tentative): again at
  // the next look at the interfaces, not in 30 s.
  if (!sent_any) last_announce_ = {};
}

asio::awaitable<void> LanDiscovery::ReceiveLoop(udp::socket& socket, std::shared_ptr<bool> alive) {
  std::array<uint8_t, 2048> buffer;
  udp::endpoint from;
  while (*alive) {
    std::error_code ec;
    const size_t size =
        co_await socket.async_receive_from(asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
    // Closed (or this object gone): touch nothing of it.
    if (!*alive || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;  // a datagram lost (ICMP errors surface here); the socket goes on
    OnBeacon(ByteView(buffer.data(), size), from.address());
  }
}

void LanDiscovery::OnBeacon(ByteView datagram, const asio::ip::address& from) {
  const auto now = Clock::now();
  auto beacon = protocol::DecodeBeacon(datagram);
  if (!beacon) return;  // anything may arrive on a LAN port; not worth a line in the log
  // Only beacons count toward the bound (junk costs no hash, so it need not).
  if (now - second_ >= std::chrono::seconds(1)) {
    second_ = now;
    beacons_this_second_ = 0;
  }
  if (++beacons_this_second_ > kBeaconsPerSecond) return;
  const bool ours = std::any_of(sent_.begin(), sent_.end(), [&](const auto& s) { return s.first == beacon->nonce; });
  if (ours) return;
  const std::set<protocol::BeaconTag> tags(beacon->tags.begin(), beacon->tags.end());
  const std::string address = net::PeerAddress{net::Transport::kTcp, from.to_string(), beacon->port}.ToString();
  bool changed = false;
  for (const Share& share : announced_) {
    if (!tags.count(crypto::ComputeDiscoveryTag(share.share_id, beacon->nonce, beacon->port))) continue;
    auto& addresses = found_[share.id];
    auto [it, added] = addresses.try_emplace(address, now);
    it->second = now;
    if (added && addresses.size() > kFoundPerShare) {
      auto oldest = std::min_element(addresses.begin(), addresses.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
      addresses.erase(oldest);
    }
    if (added) {
      spdlog::info("share {}: LAN discovery found a device holding it at {}", share.name, address);
      changed = true;
    }
  }
  if (changed && callbacks_.found_changed) callbacks_.found_changed();
}

void LanDiscovery::ForgetOld() {
  const auto now = Clock::now();
  bool changed = false;
  for (auto& [share, addresses] : found_) {
    const std::string name = NameOf(share);
    changed |= std::erase_if(addresses, [&](const auto& entry) {
                 if (now - entry.second <= options_.lifetime) return false;
                 spdlog::info("share {}: LAN discovery heard nothing from {} for a while; forgotten", name,
                              entry.first);
                 return true;
               }) > 0;
  }
  std::erase_if(found_, [](const auto& entry) { return entry.second.empty(); });
  if (changed && callbacks_.found_changed) callbacks_.found_changed();
}

std::string LanDiscovery::NameOf(const std::string& share) const {
  for (const Share& s : announced_) {
    if (s.id == share) return s.name;
  }
  return share;
}

std::vector<LanDiscovery::Found> LanDiscovery::FoundFor(const std::string& share) const {
  std::vector<Found> out;
  auto it = found_.find(share);
  if (it == found_.end()) return out;
  for (const auto& [address, seen] : it->second) out.push_back({address, seen});
  std::sort(out.begin(), out.end(), [](const Found& a, const Found& b) { return a.last_seen > b.last_seen; });
  return out;
}

}  // namespace tandem::sync
