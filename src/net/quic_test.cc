// QUIC connections between two endpoints of this process on loopback: real
// UDP sockets, real TLS (GnuTLS), real ngtcp2.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <optional>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "net/quic_connection.h"
#include "net/quic_endpoint.h"

namespace tandem::net {
namespace {

using asio::ip::udp;

wire::Frame PingFrame() {
  wire::Frame frame;
  frame.mutable_ping();
  return frame;
}

wire::Frame AnswerOf(size_t size, uint64_t id) {
  wire::Frame frame;
  frame.mutable_block_response()->set_request_id(id);
  frame.mutable_block_response()->set_plain(std::string(size, static_cast<char>('a' + id % 26)));
  return frame;
}

asio::awaitable<void> ReadAll(std::shared_ptr<Connection> connection, std::vector<wire::Frame>* into,
                              std::optional<Error>* ended) {
  while (true) {
    auto frame = co_await connection->Receive();
    if (!frame) {
      *ended = frame.error();
      co_return;
    }
    into->push_back(std::move(*frame));
  }
}

asio::awaitable<void> DialInto(asio::any_io_executor executor, udp::endpoint remote,
                               std::shared_ptr<QuicCredentials> credentials,
                               std::optional<Result<std::shared_ptr<Connection>>>* outcome) {
  *outcome = co_await QuicConnection::Dial(executor, remote, credentials);
}

// A self-signed P-256 certificate and its key (PEM): a valid certificate
// that is not a device's.
std::pair<std::string, std::string> EcdsaCertificate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  auto text = [](BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<size_t>(size));
  };
  std::string cert_pem = text(cert_bio);
  std::string key_pem = text(key_bio);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return {cert_pem, key_pem};
}

class Quic : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = QuicCredentials::Create(device_a_);
    auto b = QuicCredentials::Create(device_b_);
    ASSERT_TRUE(a && b);
    credentials_a_ = *a;
    credentials_b_ = *b;
    auto listener = QuicEndpoint::Listen(loop_.get_executor(), udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                         credentials_b_, [this](std::shared_ptr<Connection> c) { accepted_ = c; });
    ASSERT_TRUE(listener) << listener.error().message;
    listener_ = *listener;
    listener_->Start();
  }
  void TearDown() override {
    if (listener_) listener_->Close();
    loop_.restart();
    loop_.run_for(std::chrono::milliseconds(50));
  }

  // Runs the loop until `done` (asked once per turn) or 20 s.
  template <typename Pred>
  bool RunUntil(Pred done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      loop_.restart();
      loop_.run_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  // Dials the listener from A; both ends once proven.
  void Connect() {
    std::optional<Result<std::shared_ptr<Connection>>> dialled;
    asio::co_spawn(loop_, DialInto(loop_.get_executor(), listener_->local_endpoint(), credentials_a_, &dialled),
                   [](std::exception_ptr) {});
    ASSERT_TRUE(RunUntil([&] { return dialled.has_value() && accepted_ != nullptr; }));
    ASSERT_TRUE(*dialled) << dialled->error().message;
    a_ = **dialled;
    b_ = accepted_;
    a_->Start();
    b_->Start();
  }

  // Collects frames `connection` receives until it ends.
  void Collect(std::shared_ptr<Connection> connection, std::vector<wire::Frame>& into, std::optional<Error>& ended) {
    asio::co_spawn(loop_, ReadAll(connection, &into, &ended), [](std::exception_ptr) {});
  }

  asio::io_context loop_;
  crypto::DeviceKey device_a_ = crypto::DeviceKey::Generate();
  crypto::DeviceKey device_b_ = crypto::DeviceKey::Generate();
  std::shared_ptr<QuicCredentials> credentials_a_, credentials_b_;
  std::shared_ptr<QuicEndpoint> listener_;
  std::shared_ptr<Connection> accepted_, a_, b_;
};

TEST_F(Quic, BothEndsLearnTheOthersDeviceAndTheSameSessionBinding) {
  Connect();
  EXPECT_EQ(a_->peer_device_id(), device_b_.DeviceId());
  EXPECT_EQ(b_->peer_device_id(), device_a_.DeviceId());
  EXPECT_EQ(a_->peer_key(), device_b_.public_key());
  EXPECT_EQ(a_->session_binding().size(), 32u);
  EXPECT_EQ(a_->session_binding(), b_->session_binding());
  EXPECT_TRUE(a_->outgoing());
  EXPECT_FALSE(b_->outgoing());
  EXPECT_EQ(a_->transport(), Transport::kQuic);
  EXPECT_EQ(a_->remote_endpoint(), "quic/127.0.0.1:" + std::to_string(listener_->local_endpoint().port()));
  EXPECT_EQ(b_->remote_address(), asio::ip::make_address("127.0.0.1"));
}

TEST_F(Quic, AClientWithoutADeviceCertificateIsRefusedAndTheListenerStillAccepts) {
  auto [cert, key] = EcdsaCertificate();
  auto ecdsa = QuicCredentials::FromPem(cert, key);
  auto none = QuicCredentials::FromPem("", "");
  ASSERT_TRUE(ecdsa && none);
  for (const auto& credentials : {*ecdsa, *none}) {
    std::optional<Result<std::shared_ptr<Connection>>> dialled;
    asio::co_spawn(loop_, DialInto(loop_.get_executor(), listener_->local_endpoint(), credentials, &dialled),
                   [](std::exception_ptr) {});
    ASSERT_TRUE(RunUntil([&] { return dialled.has_value(); }));
    // The client may finish its side first; the listener never hands it on.
    if (*dialled) {
      std::vector<wire::Frame> received;
      std::optional<Error> ended;
      Collect(**dialled, received, ended);
      ASSERT_TRUE(RunUntil([&] { return ended.has_value(); }));
      EXPECT_TRUE(received.empty());
    }
    EXPECT_EQ(accepted_, nullptr);
  }
  // A device can still connect.
  Connect();
  EXPECT_EQ(b_->peer_device_id(), device_a_.DeviceId());
}

TEST_F(Quic, AListenerWithoutADeviceCertificateIsRefusedByTheDialler) {
  auto [cert, key] = EcdsaCertificate();
  auto ecdsa = QuicCredentials::FromPem(cert, key);
  ASSERT_TRUE(ecdsa);
  auto impostor = QuicEndpoint::Listen(loop_.get_executor(), udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                       *ecdsa, [](std::shared_ptr<Connection>) {});
  ASSERT_TRUE(impostor);
  (*impostor)->Start();
  std::optional<Result<std::shared_ptr<Connection>>> dialled;
  asio::co_spawn(loop_, DialInto(loop_.get_executor(), (*impostor)->local_endpoint(), credentials_a_, &dialled),
                 [](std::exception_ptr) {});
  ASSERT_TRUE(RunUntil([&] { return dialled.has_value(); }));
  ASSERT_FALSE(*dialled);
  EXPECT_NE(dialled->error().message.find("Ed25519 device key"), std::string::npos) << dialled->error().message;
  (*impostor)->Close();
}

TEST_F(Quic, AListenerOnEveryAddressAnswersFromTheOneItWasReachedAt) {
  // Dialled at 127.0.0.2, a listener on 0.0.0.0 must answer from 127.0.0.2:
  // the dialler's socket takes nothing from any other address (the kernel
  // alone would pick 127.0.0.1, the route's own source).
  std::shared_ptr<Connection> accepted;
  auto any = QuicEndpoint::Listen(loop_.get_executor(), udp::endpoint(asio::ip::make_address("0.0.0.0"), 0),
                                  credentials_b_, [&](std::shared_ptr<Connection> c) { accepted = c; });
  ASSERT_TRUE(any) << any.error().message;
  (*any)->Start();
  std::optional<Result<std::shared_ptr<Connection>>> dialled;
  const udp::endpoint second(asio::ip::make_address("127.0.0.2"), (*any)->local_endpoint().port());
  asio::co_spawn(loop_, DialInto(loop_.get_executor(), second, credentials_a_, &dialled), [](std::exception_ptr) {});
  ASSERT_TRUE(RunUntil([&] { return dialled.has_value() && accepted != nullptr; }));
  ASSERT_TRUE(*dialled) << dialled->error().message;
  EXPECT_EQ((**dialled)->peer_device_id(), device_b_.DeviceId());
  EXPECT_EQ(accepted->local_address(), asio::ip::make_address("127.0.0.2"));
  (**dialled)->Close("done");
  (*any)->Close();
}

TEST_F(Quic, EachConnectionHasItsOwnBinding) {
  Connect();
  Bytes first = a_->session_binding();
  a_->Close("again");
  accepted_ = nullptr;
  Connect();
  EXPECT_NE(a_->session_binding(), first);
}

TEST_F(Quic, FramesArriveWholeAndControlFramesInOrderWhileLargeAnswersFlow) {
  Connect();
  std::vector<wire::Frame> received;
  std::optional<Error> ended;
  Collect(b_, received, ended);
  // Twenty 1 MiB answers and a 30 MiB one (past the default windows, within
  // ours) spread over the answer lanes; pings on the control lane between them.
  constexpr size_t kAnswers = 20;
  for (size_t i = 0; i < kAnswers; ++i) {
    a_->Send(AnswerOf(1 << 20, i));
    wire::Frame ping = PingFrame();
    a_->Send(ping);
  }
  a_->Send(AnswerOf(30u << 20, 99));
  ASSERT_TRUE(RunUntil([&] { return received.size() == 2 * kAnswers + 1; })) << received.size();
  std::set<uint64_t> ids;
  size_t pings = 0;
  for (const auto& frame : received) {
    if (frame.has_ping()) ++pings;
    if (frame.has_block_response()) {
      const auto& answer = frame.block_response();
      ids.insert(answer.request_id());
      size_t size = answer.request_id() == 99 ? 30u << 20 : 1u << 20;
      ASSERT_EQ(answer.plain().size(), size);
      EXPECT_EQ(answer.plain()[size / 2], static_cast<char>('a' + answer.request_id() % 26));
    }
  }
  EXPECT_EQ(pings, kAnswers);
  EXPECT_EQ(ids.size(), kAnswers + 1);
  // Everything sent was acknowledged: nothing is held any more.
  ASSERT_TRUE(RunUntil([&] { return a_->queued_bytes() == 0; }));
  EXPECT_FALSE(ended.has_value());
}

TEST_F(Quic, AReceiverThatDoesNotReadHoldsBackTheSenderWithinTheWindows) {
  Connect();
  // B never calls Receive: A's bytes stop at B's windows and stay queued at A.
  constexpr size_t kSent = 100u << 20;
  for (size_t i = 0; i < kSent >> 20; ++i) a_->Send(AnswerOf(1 << 20, i));
  ASSERT_TRUE(RunUntil([&] { return a_->queued_bytes() < kSent - kConnectionWindow + (4u << 20); }));
  loop_.restart();
  loop_.run_for(std::chrono::milliseconds(300));
  EXPECT_GE(a_->queued_bytes(), kSent - kConnectionWindow - (1u << 20))
      << "more than the connection window was taken by a receiver that reads nothing";
  // Once B reads, the rest flows.
  std::vector<wire::Frame> received;
  std::optional<Error> ended;
  Collect(b_, received, ended);
  ASSERT_TRUE(RunUntil([&] { return received.size() == kSent >> 20; })) << received.size();
}

TEST_F(Quic, CloseDeliversItsReasonAndEndsBothSides) {
  Connect();
  std::vector<wire::Frame> received;
  std::optional<Error> ended;
  Collect(b_, received, ended);
  a_->Send(PingFrame());
  a_->Close("done here");
  ASSERT_TRUE(RunUntil([&] { return ended.has_value(); }));
  ASSERT_EQ(received.size(), 2u);
  EXPECT_TRUE(received[0].has_ping());
  ASSERT_TRUE(received[1].has_close());
  EXPECT_EQ(received[1].close().reason(), "done here");
  EXPECT_EQ(ended->code, ErrorCode::kNotFound);
  EXPECT_TRUE(a_->closed());
  EXPECT_TRUE(b_->closed());
}

TEST_F(Quic, AfterARestartTheListenerResetsItsOldConnectionsSoTheirPeersKnowAtOnce) {
  Connect();
  const udp::endpoint where = listener_->local_endpoint();
  // B's process ends without a word (killed): its sockets are gone.
  listener_->Close();
  accepted_ = nullptr;
  b_.reset();
  // B starts again, with the same device key, on the same port.
  auto again = QuicCredentials::Create(device_b_);
  ASSERT_TRUE(again);
  auto listener = QuicEndpoint::Listen(loop_.get_executor(), where, *again, [](std::shared_ptr<Connection>) {});
  ASSERT_TRUE(listener) << listener.error().message;
  listener_ = *listener;
  listener_->Start();
  std::vector<wire::Frame> received;
  std::optional<Error> ended;
  Collect(a_, received, ended);
  const auto sent = std::chrono::steady_clock::now();
  a_->Send(PingFrame());
  ASSERT_TRUE(RunUntil([&] { return ended.has_value(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(5)) << "not left to the idle timeout";
  EXPECT_TRUE(a_->closed());
}

TEST_F(Quic, ADiallerWhosePeersPortClosedEndsWithinSecondsNotAtTheIdleTimeout) {
  Connect();
  std::vector<wire::Frame> received;
  std::optional<Error> ended;
  Collect(a_, received, ended);
  // B's process ends and nothing takes its port: only ICMP answers A.
  listener_->Close();
  listener_.reset();
  accepted_ = nullptr;
  b_.reset();
  const auto sent = std::chrono::steady_clock::now();
  a_->Send(PingFrame());
  ASSERT_TRUE(RunUntil([&] { return ended.has_value(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(10)) << "not left to the idle timeout";
  EXPECT_NE(ended->message.find("port is closed"), std::string::npos) << ended->message;
}

TEST_F(Quic, DiallingAPortWhereNothingListensFailsAtOnce) {
  udp::socket taken(loop_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const udp::endpoint nobody = taken.local_endpoint();
  taken.close();
  std::optional<Result<std::shared_ptr<Connection>>> dialled;
  const auto began = std::chrono::steady_clock::now();
  asio::co_spawn(loop_, DialInto(loop_.get_executor(), nobody, credentials_a_, &dialled), [](std::exception_ptr) {});
  ASSERT_TRUE(RunUntil([&] { return dialled.has_value(); }));
  ASSERT_FALSE(*dialled);
  EXPECT_NE(dialled->error().message.find("connection refused"), std::string::npos) << dialled->error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - began, kHandshakeTimeout / 2);
}

TEST_F(Quic, AFrameOverTheLimitEndsTheConnection) {
  Connect();
  std::vector<wire::Frame> received;
  std::optional<Error> ended;
  Collect(b_, received, ended);
  a_->Send(PingFrame());
  // A header announcing one byte more than a frame may have.
  const uint32_t size = protocol::kMaxFrameSize + 1;
  const uint8_t header[4] = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
                             static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
  std::static_pointer_cast<QuicConnection>(a_)->SendBytes(ByteView(header, sizeof(header)));
  ASSERT_TRUE(RunUntil([&] { return ended.has_value(); }));
  EXPECT_EQ(ended->code, ErrorCode::kCorrupt) << ended->message;
  EXPECT_NE(ended->message.find("exceeds the limit"), std::string::npos) << ended->message;
  ASSERT_EQ(received.size(), 1u) << "the frames before it still arrive";
}

TEST_F(Quic, AFloodOfInitialsCostsOneRetryEachAndNoConnection) {
  // A real client's first Initial, captured, then sent 2,000 times from one
  // address: each is answered by a Retry at most, none makes a connection
  // or a handshake, and a client that follows the rules still gets in.
  udp::socket relay(loop_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  relay.non_blocking(true);
  std::optional<Result<std::shared_ptr<Connection>>> dialled;
  asio::co_spawn(loop_, DialInto(loop_.get_executor(), relay.local_endpoint(), credentials_a_, &dialled),
                 [](std::exception_ptr) {});
  std::vector<uint8_t> buffer(65536);
  udp::endpoint from;
  size_t n = 0;
  ASSERT_TRUE(RunUntil([&] {
    std::error_code ec;
    n = relay.receive_from(asio::buffer(buffer), from, 0, ec);
    return !ec;
  }));
  const std::vector<uint8_t> initial(buffer.begin(), buffer.begin() + n);
  udp::socket flood(loop_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  constexpr int kSent = 2000;
  size_t retries = 0;
  for (int i = 0; i < kSent; ++i) {
    flood.send_to(asio::buffer(initial), listener_->local_endpoint());
    if (i % 100 == 99) {
      loop_.restart();
      loop_.run_for(std::chrono::milliseconds(2));
    }
  }
  ASSERT_TRUE(RunUntil([&] { return listener_->datagrams() >= kSent * 9 / 10; })) << listener_->datagrams();
  flood.non_blocking(true);
  std::error_code ec;
  while (true) {
    size_t got = flood.receive_from(asio::buffer(buffer), from, 0, ec);
    if (ec) break;
    EXPECT_LT(got, initial.size()) << "a Retry is smaller than the Initial it answers";
    ++retries;
  }
  EXPECT_GT(retries, 0u);
  EXPECT_EQ(accepted_, nullptr);
  Connect();
  EXPECT_EQ(b_->peer_device_id(), device_a_.DeviceId());
}

TEST_F(Quic, GarbageAndStrayPacketsAreDroppedAndTheListenerStillAccepts) {
  udp::socket stray(loop_, udp::v4());
  const std::string junk[] = {"", "x", std::string(1200, '\xff'), std::string(1500, '\0'),
                              std::string("\xc0\x00\x00\x00\x01") + std::string(1300, 'q')};
  for (const auto& datagram : junk) stray.send_to(asio::buffer(datagram), listener_->local_endpoint());
  ASSERT_TRUE(RunUntil([&] { return listener_->datagrams() >= 4; }));
  EXPECT_EQ(listener_->dropped(), listener_->datagrams());
  Connect();
  EXPECT_EQ(a_->peer_device_id(), device_b_.DeviceId());
}

TEST_F(Quic, OnlyAnInitialBringingBackItsRetryTokenFromItsOwnAddressMakesAConnection) {
  // A relay between a real client and the listener shows each step.
  udp::socket relay(loop_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  udp::socket elsewhere(loop_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  relay.non_blocking(true);
  std::optional<Result<std::shared_ptr<Connection>>> dialled;
  asio::co_spawn(loop_, DialInto(loop_.get_executor(), relay.local_endpoint(), credentials_a_, &dialled),
                 [](std::exception_ptr) {});
  std::vector<uint8_t> buffer(65536);
  udp::endpoint client, from;
  auto next_at_relay = [&](udp::endpoint& sender) {
    size_t n = 0;
    EXPECT_TRUE(RunUntil([&] {
      std::error_code ec;
      n = relay.receive_from(asio::buffer(buffer), sender, 0, ec);
      return !ec;
    }));
    return std::vector<uint8_t>(buffer.begin(), buffer.begin() + n);
  };
  // The client's first Initial: the listener answers with a Retry, and
  // nothing else happens.
  std::vector<uint8_t> first = next_at_relay(client);
  relay.send_to(asio::buffer(first), listener_->local_endpoint());
  std::vector<uint8_t> retry = next_at_relay(from);
  ASSERT_EQ(from, listener_->local_endpoint());
  EXPECT_EQ(retry[0] & 0xf0, 0xf0) << "a long header of type Retry";
  EXPECT_LT(retry.size(), first.size()) << "a Retry must not amplify";
  // The client answers the Retry with an Initial carrying the token.
  relay.send_to(asio::buffer(retry), client);
  std::vector<uint8_t> second = next_at_relay(from);
  ASSERT_EQ(from, client);
  // Replayed from another address, the token is refused.
  const uint64_t dropped = listener_->dropped();
  elsewhere.send_to(asio::buffer(second), listener_->local_endpoint());
  ASSERT_TRUE(RunUntil([&] { return listener_->dropped() == dropped + 1; }));
  // From the address it was given to, it makes the connection.
  relay.send_to(asio::buffer(second), listener_->local_endpoint());
  std::vector<uint8_t> handshake = next_at_relay(from);
  EXPECT_EQ(from, listener_->local_endpoint());
  EXPECT_EQ(listener_->dropped(), dropped + 1);
  EXPECT_FALSE(accepted_);
}

}  // namespace
}  // namespace tandem::net
