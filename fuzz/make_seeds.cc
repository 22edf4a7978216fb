// Writes the seed corpus (fuzz/corpus/<target>/): one valid example of each
// kind of input, so the fuzzers start from what the code really parses.
// Run by hand after a format change: make_seeds <fuzz/corpus>.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "crypto/record.h"
#include "net/quic_connection.h"
#include "net/quic_endpoint.h"
#include "crypto/token.h"
#include "protocol/beacon.h"
#include "protocol/framing.h"

namespace {

namespace fs = std::filesystem;
using namespace tandem;

void Write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}
void Write(const fs::path& dir, const std::string& name, const Bytes& bytes) {
  Write(dir, name, std::string(bytes.begin(), bytes.end()));
}

asio::awaitable<void> Dial(asio::any_io_executor executor, asio::ip::udp::endpoint to,
                          std::shared_ptr<net::QuicCredentials> credentials) {
  (void)co_await net::QuicConnection::Dial(executor, to, credentials);
}

// A real client's first Initial, and the one it sends after the listener's
// Retry (with the token), relayed through a socket of ours.
std::vector<std::string> QuicInitials() {
  using asio::ip::udp;
  asio::io_context loop;
  auto client = net::QuicCredentials::Create(crypto::DeviceKey::Generate());
  auto server = net::QuicCredentials::Create(crypto::DeviceKey::Generate());
  auto listener = net::QuicEndpoint::Listen(loop.get_executor(), udp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
                                            *server, nullptr);
  if (!client || !server || !listener) return {};
  (*listener)->Start();
  udp::socket relay(loop, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  relay.non_blocking(true);
  asio::co_spawn(loop, Dial(loop.get_executor(), relay.local_endpoint(), *client), [](std::exception_ptr) {});
  std::vector<std::string> out;
  udp::endpoint dialler, from;
  std::string buffer(65536, '\0');
  auto next = [&](udp::endpoint& sender) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      loop.run_for(std::chrono::milliseconds(5));
      std::error_code ec;
      size_t n = relay.receive_from(asio::buffer(buffer), sender, 0, ec);
      if (!ec) return buffer.substr(0, n);
    }
    return std::string();
  };
  out.push_back(next(dialler));
  relay.send_to(asio::buffer(out.back()), (*listener)->local_endpoint());
  std::string retry = next(from);
  relay.send_to(asio::buffer(retry), dialler);
  out.push_back(next(from));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds <corpus dir>\n");
    return 2;
  }
  fs::path root = argv[1];
  auto secrets = crypto::ShareSecrets::FromWriteSeed(crypto::Key32{7});

  crypto::Entry file{.path = *RelPath::Parse("docs/a file.txt")};
  file.kind = crypto::EntryKind::kFile;
  file.size = 70000;
  file.mtime_ns = 1'700'000'000'123'456'789;
  file.mode = 0644;
  file.device_short_id = 42;
  file.blocks = {{crypto::BlockId{1}, 65536}, {crypto::BlockId{2}, 4464}};
  crypto::Entry link{.path = *RelPath::Parse("link")};
  link.kind = crypto::EntryKind::kSymlink;
  link.symlink_target = "../elsewhere";
  crypto::Entry gone{.path = *RelPath::Parse("old/dir")};
  gone.kind = crypto::EntryKind::kDirectory;
  gone.deleted = true;
  VersionVector vector;
  vector.Set(42, 3);
  vector.Set(7, 1);

  // The frame seed prefixes one byte: how the stream is cut into reads.
  auto frame_seed = [&](const std::string& name, const wire::Frame& frame, char cut) {
    protocol::EncodedFrame bytes = protocol::EncodeFrame(frame);
    Write(root / "frame_decoder", name, std::string(1, cut) + std::string(AsChars(bytes.bytes())));
  };
  wire::Frame hello;
  hello.mutable_hello()->set_protocol_version(protocol::kProtocolVersion);
  hello.mutable_hello()->set_device_name("laptop");
  frame_seed("hello", hello, 3);
  wire::Frame batch;
  batch.mutable_index_batch()->set_share(std::string(32, 's'));
  batch.mutable_index_batch()->set_last_seq(9);
  int n = 0;
  for (const crypto::Entry& entry : {file, link, gone}) {
    crypto::Record record = crypto::MakeRecord(secrets, entry, vector);
    crypto::RecordToWire(record, batch.mutable_index_batch()->add_records());
    Write(root / "record", "record-" + std::to_string(n), crypto::EncodeRecord(record));
    Write(root / "record", "entry-" + std::to_string(n), crypto::EncodeEntry(entry));
    wire::Record msg;
    crypto::RecordToWire(record, &msg);
    Write(root / "record", "wire-record-" + std::to_string(n), msg.SerializeAsString());
    ++n;
  }
  Write(root / "record", "block-list", crypto::EncodeBlockList(file.blocks));
  frame_seed("index-batch", batch, 63);
  wire::Frame request;
  request.mutable_block_request()->set_request_id(5);
  request.mutable_block_request()->set_block_id(std::string(32, 'b'));
  request.mutable_block_request()->set_size(65536);
  frame_seed("block-request", request, 0);
  wire::Frame response;
  response.mutable_block_response()->set_request_id(5);
  response.mutable_block_response()->set_sealed(std::string(1000, 'x'));
  frame_seed("block-response", response, 17);
  wire::Frame close;
  close.mutable_close()->set_reason("bye");
  frame_seed("close", close, 1);

  for (auto mode : {crypto::AccessMode::kWrite, crypto::AccessMode::kRead, crypto::AccessMode::kBlind}) {
    std::string name = crypto::AccessModeName(mode);
    Write(root / "token", name, crypto::EncodeToken(secrets, mode));
    Write(root / "token", name + "-named", crypto::EncodeToken(secrets, mode, "Photos & notes"));
  }
  int i = 0;
  for (const char* address : {"tcp/127.0.0.1:20209", "tcp/[::1]:8080", "tcp/example.org:1", "tcp/localhost",
                              "quic/10.0.0.1:443", "tcp/[fe80::1%eth0]:22"}) {
    Write(root / "address", "address-" + std::to_string(i++), std::string(address));
  }
  for (size_t tags : {size_t{1}, size_t{3}, protocol::kMaxBeaconTags}) {
    protocol::Beacon beacon;
    beacon.nonce.fill(7);
    beacon.port = 20209;
    beacon.tags.resize(tags);
    for (size_t t = 0; t < tags; ++t) beacon.tags[t].fill(static_cast<uint8_t>(t));
    const Bytes bytes = protocol::EncodeBeacon(beacon);
    Write(root / "beacon", "beacon-" + std::to_string(tags), std::string(bytes.begin(), bytes.end()));
  }
  for (const char* listen : {"0.0.0.0:20209", "tcp/127.0.0.1:0,quic/[::]:0", " [::1]:5 , tcp/1.2.3.4:6"}) {
    Write(root / "address", "address-" + std::to_string(i++), std::string(listen));
  }
  i = 0;
  for (const std::string& initial : QuicInitials()) {
    Write(root / "quic_datagram", "initial-" + std::to_string(i++), initial);
  }
  // A short header for a connection id nobody has, and a version nobody speaks.
  Write(root / "quic_datagram", "short-header", std::string("\x40", 1) + std::string(18, 'c') + std::string(40, 'x'));
  Write(root / "quic_datagram", "unknown-version",
        std::string("\xc0\x0a\x0a\x0a\x0a\x08", 6) + std::string(8, 'd') + std::string(1, '\0') + std::string(1200, 'p'));
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
