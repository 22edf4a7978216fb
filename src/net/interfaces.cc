#include "net/interfaces.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <bit>
#include <cstring>
#include <memory>

namespace tandem::net {
namespace {

std::optional<asio::ip::address> AddressOf(const sockaddr* sa) {
  if (!sa) return std::nullopt;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), in6->sin6_addr.s6_addr, bytes.size());
    return asio::ip::address_v6(bytes, in6->sin6_scope_id);
  }
  return std::nullopt;
}

unsigned PrefixLength(const asio::ip::address& mask) {
  unsigned bits = 0;
  if (mask.is_v4()) {
    bits = std::popcount(mask.to_v4().to_uint());
  } else {
    for (uint8_t byte : mask.to_v6().to_bytes()) bits += std::popcount(byte);
  }
  return bits;
}

bool SamePrefix(const asio::ip::address& a, const asio::ip::address& b, unsigned prefix) {
  if (a.is_v4() != b.is_v4()) return false;
  if (a.is_v4()) {
    if (prefix == 0) return true;
    const uint32_t mask = prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
    return (a.to_v4().to_uint() & mask) == (b.to_v4().to_uint() & mask);
  }
  const auto x = a.to_v6().to_bytes(), y = b.to_v6().to_bytes();
  for (unsigned i = 0; i < 16 && prefix > 0; ++i) {
    const unsigned take = std::min(prefix, 8u);
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - take));
    if ((x[i] & mask) != (y[i] & mask)) return false;
    prefix -= take;
  }
  return true;
}

}  // namespace

std::vector<LocalInterface> LocalInterfaces() {
  std::vector<LocalInterface> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owner(list, freeifaddrs);
  for (const ifaddrs* it = list; it; it = it->ifa_next) {
    auto address = AddressOf(it->ifa_addr);
    if (!address) continue;
    LocalInterface entry;
    entry.name = it->ifa_name;
    entry.index = if_nametoindex(it->ifa_name);
    entry.address = *address;
    if (auto mask = AddressOf(it->ifa_netmask)) entry.prefix_length = PrefixLength(*mask);
    entry.loopback = (it->ifa_flags & IFF_LOOPBACK) != 0;
    entry.multicast = (it->ifa_flags & IFF_MULTICAST) != 0;
    entry.up = (it->ifa_flags & IFF_UP) != 0 && (it->ifa_flags & IFF_RUNNING) != 0;
    if ((it->ifa_flags & IFF_BROADCAST) && address->is_v4()) {
      auto broadcast = AddressOf(it->ifa_broadaddr);
      if (broadcast && broadcast->is_v4() && !broadcast->to_v4().is_unspecified()) {
        entry.broadcast = broadcast->to_v4();
      } else if (entry.prefix_length > 0 && entry.prefix_length < 31) {
        // An address added without "brd" has none listed: the subnet's own.
        const uint32_t host_bits = 0xffffffffu >> entry.prefix_length;
        entry.broadcast = asio::ip::address_v4(address->to_v4().to_uint() | host_bits);
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

bool OnLocalNetwork(const asio::ip::address& peer, const std::vector<LocalInterface>& interfaces) {
  asio::ip::address address = peer;
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_loopback()) return true;
  if (address.is_v6() && address.to_v6().is_link_local()) return true;
  if (address.is_v4() && (address.to_v4().to_uint() >> 16) == 0xa9fe) return true;  // 169.254/16
  for (const LocalInterface& local : interfaces) {
    // An interface down, or with no netmask, says nothing about who is near.
    if (!local.up || local.prefix_length == 0) continue;
    if (SamePrefix(address, local.address, local.prefix_length)) return true;
  }
  return false;
}

}  // namespace tandem::net
