// Datagrams as anyone on the network can send them to a QUIC listener:
// whatever arrives, the listener reads its header, routes it, answers an
// Initial with a Retry or checks the token it brings, and drops the rest,
// without crashing or taking a connection for a datagram it cannot trust.
#include <asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "crypto/keys.h"
#include "net/quic_connection.h"
#include "net/quic_endpoint.h"

namespace {

using namespace tandem;

struct Listener {
  asio::io_context loop;
  std::shared_ptr<net::QuicEndpoint> endpoint;
  // Retries go here: a port of this machine's loopback that nobody reads.
  asio::ip::udp::endpoint sender{asio::ip::make_address("127.0.0.1"), 9};

  Listener() {
    auto credentials = net::QuicCredentials::Create(crypto::DeviceKey::Generate());
    if (!credentials) std::abort();
    auto listening = net::QuicEndpoint::Listen(loop.get_executor(),
                                               asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                               *credentials, [](std::shared_ptr<net::Connection>) { std::abort(); });
    if (!listening) std::abort();
    endpoint = *listening;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Listener* listener = new Listener();
  listener->endpoint->Dispatch(listener->sender, tandem::ByteView(data, size));
  listener->loop.poll();
  return 0;
}
