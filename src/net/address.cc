#include "net/address.h"

#include <arpa/inet.h>

#include <cctype>
#include <charconv>

namespace tandem::net {
namespace {

Error Bad(std::string_view text, std::string_view why) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "invalid peer address '" + std::string(text) + "': " + std::string(why) +
                       " (expected tcp/HOST:PORT, quic/HOST:PORT or, for IPv6, tcp/[IPv6]:PORT)");
}

bool IsHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (++label > 63) return false;
  }
  return label > 0 && host.front() != '-' && host.back() != '-';
}

// An interface name as Linux allows it (at most 15 characters, no '/' or
// space), of the characters interface names use in practice.
bool IsZone(std::string_view zone) {
  if (zone.empty() || zone.size() > 15) return false;
  for (char c : zone) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

std::string PeerAddress::ToString() const {
  std::string out = transport == Transport::kTcp ? "tcp/" : "quic/";
  if (host.find(':') != std::string::npos) {
    out += "[" + host + "]";
  } else {
    out += host;
  }
  return out + ":" + std::to_string(port);
}

namespace {

Result<PeerAddress> Parse(std::string_view text, bool any_port) {
  PeerAddress address;
  std::string_view rest = text;
  if (rest.starts_with("tcp/")) {
    address.transport = Transport::kTcp;
    rest.remove_prefix(4);
  } else if (rest.starts_with("quic/")) {
    address.transport = Transport::kQuic;
    rest.remove_prefix(5);
  } else {
    return Bad(text, "unknown or missing transport");
  }
  std::string_view port_text;
  if (rest.starts_with("[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Bad(text, "missing ']' after the IPv6 address");
    address.host = std::string(rest.substr(1, close - 1));
    // A link-local address names its interface: [fe80::1%eth0].
    const size_t zone = address.host.find('%');
    const std::string ip = address.host.substr(0, zone);
    in6_addr v6;
    if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) {
      return Bad(text, "not a valid IPv6 address");
    }
    if (zone != std::string::npos && !IsZone(std::string_view(address.host).substr(zone + 1))) {
      return Bad(text, "not a valid interface name after '%'");
    }
    if (rest.size() == close + 1 || rest[close + 1] != ':') return Bad(text, "missing :PORT");
    port_text = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return Bad(text, "missing :PORT");
    address.host = std::string(rest.substr(0, colon));
    if (address.host.find(':') != std::string::npos) {
      return Bad(text, "IPv6 addresses go in brackets");
    }
    if (!IsHostName(address.host)) return Bad(text, "not a valid host name or IPv4 address");
    port_text = rest.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      (port == 0 && !any_port) || port > 65535) {
    return Bad(text, any_port ? "the port must be a number from 0 (any free port) to 65535"
                              : "the port must be a number from 1 to 65535");
  }
  address.port = static_cast<uint16_t>(port);
  return address;
}

}  // namespace

Result<PeerAddress> ParsePeerAddress(std::string_view text) { return Parse(text, false); }

Result<PeerAddress> ParseListenAddress(std::string_view text) { return Parse(text, true); }

Result<std::vector<PeerAddress>> ParseListenAddresses(std::string_view text) {
  std::vector<PeerAddress> addresses;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.starts_with("tcp/") || item.starts_with("quic/")) {
      TANDEM_ASSIGN_OR_RETURN(PeerAddress address, ParseListenAddress(item));
      addresses.push_back(address);
    } else if (!item.empty()) {
      auto both = ParseListenAddress("tcp/" + std::string(item));
      if (!both) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "invalid listen address '" + std::string(item) +
                             "': expected HOST:PORT (TCP and QUIC), tcp/HOST:PORT or quic/HOST:PORT");
      }
      addresses.push_back(*both);
      both->transport = Transport::kQuic;
      addresses.push_back(*both);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (addresses.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no listen address: expected HOST:PORT, e.g. 0.0.0.0:20209");
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (addresses[i] == addresses[j]) {
        return MakeError(ErrorCode::kInvalidArgument, "listen address " + addresses[i].ToString() + " is given twice");
      }
    }
  }
  return addresses;
}

std::string ListenAddressesToString(const std::vector<PeerAddress>& addresses) {
  std::string out;
  for (const PeerAddress& address : addresses) out += (out.empty() ? "" : ",") + address.ToString();
  return out;
}

}  // namespace tandem::net
