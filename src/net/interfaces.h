// This device's network interfaces as the system lists them now
// (getifaddrs): for telling a peer on the local network from one beyond it
// (bandwidth limits may spare the first), and for where LAN discovery
// sends and listens. Interfaces come and go (a laptop joins another
// network): callers list them again rather than keep a list.
//
// Threads: any; LocalInterfaces makes a system call, the rest is pure.
#pragma once

#include <asio/ip/address.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tandem::net {

struct LocalInterface {
  std::string name;
  unsigned index = 0;
  asio::ip::address address;
  unsigned prefix_length = 0;  // of the subnet the address is in
  std::optional<asio::ip::address_v4> broadcast;  // IPv4 interfaces that have one
  bool loopback = false;
  bool multicast = false;
  bool up = false;
};

// Every address of every interface; empty if the system would not say.
std::vector<LocalInterface> LocalInterfaces();

// Whether `peer` is on this side of any router: loopback, link-local, or
// inside the subnet of one of `interfaces`.
bool OnLocalNetwork(const asio::ip::address& peer, const std::vector<LocalInterface>& interfaces);

}  // namespace tandem::net
