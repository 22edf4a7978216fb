#include "net/address.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::net {
namespace {

TEST(PeerAddress, ParsesGoodAddressesToTheirNormalForm) {
  struct Case {
    std::string text;
    std::string host;
    uint16_t port;
    std::string normal;
  };
  const Case cases[] = {
      {"tcp/127.0.0.1:20209", "127.0.0.1", 20209, "tcp/127.0.0.1:20209"},
      {"tcp/host.example:1", "host.example", 1, "tcp/host.example:1"},
      {"tcp/[::1]:65535", "::1", 65535, "tcp/[::1]:65535"},
      {"tcp/[2001:db8::42]:443", "2001:db8::42", 443, "tcp/[2001:db8::42]:443"},
      {"tcp/[::ffff:192.0.2.1]:7", "::ffff:192.0.2.1", 7, "tcp/[::ffff:192.0.2.1]:7"},
      // A link-local address with its interface, as LAN discovery finds one.
      {"tcp/[fe80::1%eth0]:20209", "fe80::1%eth0", 20209, "tcp/[fe80::1%eth0]:20209"},
      {"tcp/localhost:20209", "localhost", 20209, "tcp/localhost:20209"},
      {"tcp/my-nas:8080", "my-nas", 8080, "tcp/my-nas:8080"},
      {"tcp/0.0.0.0:20209", "0.0.0.0", 20209, "tcp/0.0.0.0:20209"},
      {"tcp/host.example:080", "host.example", 80, "tcp/host.example:80"},
  };
  for (const Case& c : cases) {
    auto parsed = ParsePeerAddress(c.text);
    ASSERT_TRUE(parsed) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(parsed->transport, Transport::kTcp) << c.text;
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
    EXPECT_EQ(parsed->ToString(), c.normal) << c.text;

    // The normal form is a fixed point.
    auto again = ParsePeerAddress(parsed->ToString());
    ASSERT_TRUE(again) << c.normal;
    EXPECT_EQ(*again, *parsed);
    EXPECT_EQ(again->ToString(), c.normal);

    // The same over QUIC.
    auto quic = ParsePeerAddress("quic/" + c.text.substr(4));
    ASSERT_TRUE(quic) << c.text;
    EXPECT_EQ(quic->transport, Transport::kQuic);
    EXPECT_EQ(quic->host, c.host);
    EXPECT_EQ(quic->ToString(), "quic/" + c.normal.substr(4));
  }
}

TEST(PeerAddress, RejectsBadAddressesSayingWhatIsExpected) {
  struct Case {
    const char* why;
    std::string text;
  };
  const Case cases[] = {
      {"empty", ""},
      {"no transport", "127.0.0.1:20209"},
      {"no transport, v6", "[::1]:20209"},
      {"unknown transport", "udp/1.2.3.4:5"},
      {"transport in capitals", "TCP/1.2.3.4:5"},
      {"transport only", "tcp/"},
      {"missing port", "tcp/1.2.3.4"},
      {"empty port", "tcp/1.2.3.4:"},
      {"port zero", "tcp/1.2.3.4:0"},
      {"port 65536", "tcp/1.2.3.4:65536"},
      {"port overflowing", "tcp/1.2.3.4:99999999999999999999"},
      {"negative port", "tcp/1.2.3.4:-1"},
      {"port with plus sign", "tcp/1.2.3.4:+5"},
      {"non-numeric port", "tcp/1.2.3.4:http"},
      {"port then junk", "tcp/1.2.3.4:5x"},
      {"port then space", "tcp/1.2.3.4:5 "},
      {"port then path", "tcp/1.2.3.4:5/"},
      {"empty host", "tcp/:20209"},
      {"space in host", "tcp/my host:5"},
      {"underscore in host", "tcp/my_host:5"},
      {"empty label", "tcp/a..b:5"},
      {"leading dot", "tcp/.a:5"},
      {"trailing dash", "tcp/a-:5"},
      {"leading dash", "tcp/-a:5"},
      {"label over 63", "tcp/" + std::string(64, 'a') + ":5"},
      {"v6 without brackets", "tcp/::1:20209"},
      {"v6 without brackets or port", "tcp/2001:db8::1"},
      {"missing closing bracket", "tcp/[::1:5"},
      {"bad v6 in brackets", "tcp/[::g]:5"},
      {"v4 in brackets", "tcp/[1.2.3.4]:5"},
      {"name in brackets", "tcp/[localhost]:5"},
      {"empty brackets", "tcp/[]:5"},
      {"v6 with an empty zone", "tcp/[fe80::1%]:5"},
      {"v6 with a zone that is no interface name", "tcp/[fe80::1%a/b]:5"},
      {"v6 with a zone too long for an interface", "tcp/[fe80::1%abcdefghijklmnop]:5"},
      {"v6 without port", "tcp/[::1]"},
      {"v6 with empty port", "tcp/[::1]:"},
      {"junk after bracket", "tcp/[::1]x:5"},
      {"v6 port then junk", "tcp/[::1]:5junk"},
      {"leading space", " tcp/1.2.3.4:5"},
  };
  for (const Case& c : cases) {
    auto parsed = ParsePeerAddress(c.text);
    ASSERT_FALSE(parsed) << c.why << ": '" << c.text << "' was accepted as "
                         << parsed->ToString();
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << c.why;
    EXPECT_NE(parsed.error().message.find("'" + c.text + "'"), std::string::npos)
        << c.why << ": " << parsed.error().message;
    EXPECT_NE(parsed.error().message.find("expected tcp/HOST:PORT"), std::string::npos)
        << c.why << ": " << parsed.error().message;
  }
}

TEST(PeerAddress, OnlyAListenAddressMayAskForAnyFreePort) {
  auto listen = ParseListenAddress("tcp/127.0.0.1:0");
  ASSERT_TRUE(listen) << listen.error().message;
  EXPECT_EQ(listen->port, 0);
  EXPECT_EQ(listen->ToString(), "tcp/127.0.0.1:0");
  auto peer = ParsePeerAddress("tcp/127.0.0.1:0");
  ASSERT_FALSE(peer);
  EXPECT_NE(peer.error().message.find("from 1 to 65535"), std::string::npos) << peer.error().message;
  auto too_big = ParseListenAddress("tcp/127.0.0.1:65536");
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("from 0 (any free port)"), std::string::npos) << too_big.error().message;
}

TEST(ListenAddresses, HostAndPortAloneMeanBothTransportsAtThatPort) {
  auto both = ParseListenAddresses("0.0.0.0:20209");
  ASSERT_TRUE(both) << both.error().message;
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ(ListenAddressesToString(*both), "tcp/0.0.0.0:20209,quic/0.0.0.0:20209");
  auto v6 = ParseListenAddresses("[::]:0");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(ListenAddressesToString(*v6), "tcp/[::]:0,quic/[::]:0");
}

TEST(ListenAddresses, AListOfTransportsParsesToItsNormalFormWhichIsAFixedPoint) {
  const std::pair<std::string, std::string> cases[] = {
      {"tcp/127.0.0.1:0", "tcp/127.0.0.1:0"},
      {"quic/[::1]:20209", "quic/[::1]:20209"},
      {" tcp/0.0.0.0:1 , quic/0.0.0.0:2 ", "tcp/0.0.0.0:1,quic/0.0.0.0:2"},
      {"127.0.0.1:5,quic/[::]:5", "tcp/127.0.0.1:5,quic/127.0.0.1:5,quic/[::]:5"},
  };
  for (const auto& [text, normal] : cases) {
    auto parsed = ParseListenAddresses(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(ListenAddressesToString(*parsed), normal) << text;
    auto again = ParseListenAddresses(normal);
    ASSERT_TRUE(again) << normal;
    EXPECT_EQ(*again, *parsed);
  }
}

TEST(ListenAddresses, BadOnesAreRefusedSayingWhy) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "no listen address"},
      {" , ", "no listen address"},
      {"udp/1.2.3.4:5", "expected HOST:PORT"},
      {"1.2.3.4", "expected HOST:PORT"},
      {"quic/1.2.3.4:70000", "from 0 (any free port)"},
      {"tcp/1.2.3.4:5,1.2.3.4:5", "given twice"},
  };
  for (const auto& [text, why] : cases) {
    auto parsed = ParseListenAddresses(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(parsed.error().message.find(why), std::string::npos) << text << ": " << parsed.error().message;
  }
}

}  // namespace
}  // namespace tandem::net
