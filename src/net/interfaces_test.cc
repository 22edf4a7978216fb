#include "net/interfaces.h"

#include <gtest/gtest.h>

namespace tandem::net {
namespace {

LocalInterface Interface(const char* address, unsigned prefix) {
  LocalInterface entry;
  entry.name = "eth0";
  entry.address = asio::ip::make_address(address);
  entry.prefix_length = prefix;
  entry.up = true;
  return entry;
}

TEST(OnLocalNetwork, APeerInTheSubnetOfAnInterfaceIsLocalAndOneBeyondARouterIsNot) {
  const std::vector<LocalInterface> interfaces = {Interface("192.168.1.20", 24), Interface("2001:db8:1::5", 64)};
  EXPECT_TRUE(OnLocalNetwork(asio::ip::make_address("192.168.1.77"), interfaces));
  EXPECT_TRUE(OnLocalNetwork(asio::ip::make_address("::ffff:192.168.1.77"), interfaces));
  EXPECT_TRUE(OnLocalNetwork(asio::ip::make_address("2001:db8:1::99"), interfaces));
  EXPECT_FALSE(OnLocalNetwork(asio::ip::make_address("192.168.2.77"), interfaces));
  EXPECT_FALSE(OnLocalNetwork(asio::ip::make_address("203.0.113.9"), interfaces));
  EXPECT_FALSE(OnLocalNetwork(asio::ip::make_address("2001:db8:2::99"), interfaces));
  // An interface that is down, or has no netmask, makes nobody local.
  LocalInterface down = Interface("192.168.5.1", 24);
  down.up = false;
  EXPECT_FALSE(OnLocalNetwork(asio::ip::make_address("192.168.5.2"), {down}));
  EXPECT_FALSE(OnLocalNetwork(asio::ip::make_address("203.0.113.9"), {Interface("203.0.113.1", 0)}));
}

TEST(OnLocalNetwork, LoopbackAndLinkLocalAreAlwaysLocal) {
  EXPECT_TRUE(OnLocalNetwork(asio::ip::make_address("127.0.0.1"), {}));
  EXPECT_TRUE(OnLocalNetwork(asio::ip::make_address("::1"), {}));
  EXPECT_TRUE(OnLocalNetwork(asio::ip::make_address("169.254.3.4"), {}));
  EXPECT_TRUE(OnLocalNetwork(asio::ip::make_address("fe80::1"), {}));
  EXPECT_FALSE(OnLocalNetwork(asio::ip::make_address("10.1.2.3"), {}));
}

TEST(LocalInterfaces, ListsTheLoopbackInterface) {
  bool loopback = false;
  for (const LocalInterface& entry : LocalInterfaces()) loopback |= entry.loopback && entry.address.is_loopback();
  EXPECT_TRUE(loopback);
}

}  // namespace
}  // namespace tandem::net
