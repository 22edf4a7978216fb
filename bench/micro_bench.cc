// Micro-benchmarks of the hot paths, in MB/s (or records/s): content-defined
// chunking, block ids, sealing and opening blocks, and records made, sent
// and checked. A regression in any of them shows here before it shows in a
// sync. Run by `make bench`; not a test.
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_awaitable.hpp>

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <random>

#include "crypto/keyed_hash.h"
#include "crypto/keys.h"
#include "crypto/record.h"
#include "crypto/seal.h"
#include "net/tcp_connection.h"
#include "net/tls.h"
#include "scan/chunker.h"
#include "scan/ignore.h"

namespace tandem {
namespace {

Bytes RandomData(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(size);
  for (size_t i = 0; i < size; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, std::min<size_t>(8, size - i));
  }
  return out;
}

const crypto::ShareSecrets& Secrets() {
  static const crypto::ShareSecrets secrets = [] {
    crypto::Init();
    return crypto::ShareSecrets::GenerateWrite();
  }();
  return secrets;
}

// An in-memory file, so the chunker is measured without the disk.
class MemoryFile final : public fs::ReadableFile {
 public:
  explicit MemoryFile(ByteView data) : data_(data) {}
  Result<size_t> Read(std::span<uint8_t> buffer) override {
    size_t n = std::min(buffer.size(), data_.size() - offset_);
    std::memcpy(buffer.data(), data_.data() + offset_, n);
    offset_ += n;
    return n;
  }
  Result<fs::FileInfo> Stat() override { return fs::FileInfo{fs::FileKind::kRegular, data_.size(), 0, 0, 0, 0644}; }

 private:
  ByteView data_;
  size_t offset_ = 0;
};

void BM_FindCutPoints(benchmark::State& state) {
  Bytes data = RandomData(64 << 20, 1);
  for (auto _ : state) {
    size_t chunks = 0;
    for (size_t offset = 0; offset < data.size(); ++chunks) {
      offset += scan::FindCutPoint(ByteView(data).subspan(offset), {});
    }
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_FindCutPoints)->Unit(benchmark::kMillisecond);

void BM_StreamChunker(benchmark::State& state) {
  Bytes data = RandomData(64 << 20, 2);
  for (auto _ : state) {
    MemoryFile file(data);
    scan::StreamChunker chunker(file);
    size_t chunks = 0;
    for (auto chunk = chunker.Next(); chunk && !chunk->empty(); chunk = chunker.Next()) ++chunks;
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_StreamChunker)->Unit(benchmark::kMillisecond);

// Chunking plus a block id per chunk: what a scan spends per byte read.
void BM_ChunkAndHash(benchmark::State& state) {
  Bytes data = RandomData(64 << 20, 3);
  const auto& key = Secrets().id_key();
  for (auto _ : state) {
    MemoryFile file(data);
    scan::StreamChunker chunker(file);
    for (auto chunk = chunker.Next(); chunk && !chunk->empty(); chunk = chunker.Next()) {
      benchmark::DoNotOptimize(crypto::ComputeBlockId(key, *chunk));
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_ChunkAndHash)->Unit(benchmark::kMillisecond);

// One path checked against 50 patterns of a typical .tandemignore (build
// output, caches, editor files, secrets), most of which do not match: the
// per-path cost a scan of a working folder pays.
void BM_IgnoreCheck(benchmark::State& state) {
  std::string text;
  for (const char* p : {"node_modules", "build/", "dist/", ".cache", "__pycache__", "*.pyc", "*.o", "*.so", "*.class",
                        "target/", ".gradle", ".idea", ".vscode", "*.swp", "*~", ".#*", "#*#", ".DS_Store", "Thumbs.db",
                        "*.tmp", "*.bak", "*.log", "!important.log", ".env", ".env.*", "*.pem", "*.key", "coverage/",
                        ".pytest_cache", ".mypy_cache", ".tox", "venv/", ".venv/", "*.egg-info", "/out/", "/bin/",
                        "/obj/", "*.iml", "(?i)desktop.ini", "(?d).directory", "**/tmp/**", "*.{aux,toc,synctex.gz}",
                        ".sass-cache", "bower_components", "vendor/bundle", "*.min.js.map", "npm-debug.log*",
                        "yarn-error.log", ".terraform/", "*.tfstate"}) {
    text += std::string(p) + "\n";
  }
  auto rules = tandem::scan::IgnoreRules::Parse(".tandemignore", text, [](const std::string&) { return std::nullopt; });
  if (!rules) state.SkipWithError(rules.error().message.c_str());
  const std::vector<std::string> paths = {"src/sync/share_engine.cc", "docs/architecture.md", "README.md",
                                          "web/src/components/ShareList.tsx", "photos/2026/12/IMG_0042.JPG",
                                          "notes/meeting notes 2026-12-05.txt"};
  size_t i = 0;
  if (state.range(0) == 0) {
    for (auto _ : state) benchmark::DoNotOptimize(rules->Check(paths[i++ % paths.size()]));
  } else {
    // As a scan's walk asks: the folder's standing known, the name checked.
    std::vector<tandem::scan::IgnoreRules::Folder> folders;
    for (const std::string& path : paths) {
      const size_t slash = path.rfind('/');
      folders.push_back(slash == std::string::npos ? tandem::scan::IgnoreRules::Folder{}
                                                   : rules->FolderOf(path.substr(0, slash)));
    }
    for (auto _ : state) {
      const size_t k = i++ % paths.size();
      benchmark::DoNotOptimize(rules->CheckIn(folders[k], paths[k]));
    }
  }
}
// 0: the whole path (Check); 1: the name in its folder (CheckIn).
BENCHMARK(BM_IgnoreCheck)->Arg(0)->Arg(1);

void BM_BlockId(benchmark::State& state) {
  Bytes block = RandomData(static_cast<size_t>(state.range(0)), 4);
  const auto& key = Secrets().id_key();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::ComputeBlockId(key, block));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block.size()));
}
BENCHMARK(BM_BlockId)->Arg(16 << 10)->Arg(64 << 10)->Arg(256 << 10);

void BM_SealBlock(benchmark::State& state) {
  Bytes block = RandomData(static_cast<size_t>(state.range(0)), 5);
  const auto& secrets = Secrets();
  crypto::BlockId id = crypto::ComputeBlockId(secrets.id_key(), block);
  for (auto _ : state) benchmark::DoNotOptimize(crypto::SealBlock(secrets.block_key(), id, block));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block.size()));
}
BENCHMARK(BM_SealBlock)->Arg(64 << 10)->Arg(256 << 10);

// Opening includes checking the plaintext against its id, as a receiver does.
void BM_OpenBlock(benchmark::State& state) {
  Bytes block = RandomData(static_cast<size_t>(state.range(0)), 6);
  const auto& secrets = Secrets();
  crypto::BlockId id = crypto::ComputeBlockId(secrets.id_key(), block);
  Bytes sealed = crypto::SealBlock(secrets.block_key(), id, block);
  for (auto _ : state) {
    auto opened = crypto::OpenBlock(secrets.block_key(), secrets.id_key(), id, sealed);
    benchmark::DoNotOptimize(opened);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * block.size()));
}
BENCHMARK(BM_OpenBlock)->Arg(64 << 10)->Arg(256 << 10);

// Block responses through two Connections on loopback: TLS both ways,
// framing, protobuf and the kernel's TCP. Both ends run on this one thread,
// so the rate is the reciprocal of what a byte costs sender and receiver
// together.
void BM_BlocksOverTlsLoopback(benchmark::State& state) {
  using asio::ip::tcp;
  const size_t block_size = static_cast<size_t>(state.range(0));
  constexpr int kFramesPerRound = 256;
  crypto::Init();
  asio::io_context io;
  auto tls_a = net::MakeTlsContext(crypto::DeviceKey::Generate());
  auto tls_b = net::MakeTlsContext(crypto::DeviceKey::Generate());
  if (!tls_a || !tls_b) {
    state.SkipWithError("cannot make TLS contexts");
    return;
  }
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::shared_ptr<net::Connection> sender, receiver;
  auto accept = [&]() -> asio::awaitable<void> {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    auto c = co_await net::TcpConnection::Establish(std::move(socket), **tls_b, false);
    if (c) receiver = *c;
  };
  auto connect = [&]() -> asio::awaitable<void> {
    tcp::socket socket(io);
    co_await socket.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
    auto c = co_await net::TcpConnection::Establish(std::move(socket), **tls_a, true);
    if (c) sender = *c;
  };
  asio::co_spawn(io, accept(), asio::detached);
  asio::co_spawn(io, connect(), asio::detached);
  io.run();
  if (!sender || !receiver) {
    state.SkipWithError("no TLS connection on loopback");
    return;
  }
  sender->Start();
  receiver->Start();
  wire::Frame frame;
  frame.mutable_block_response()->set_request_id(1);
  Bytes block = RandomData(block_size, 7);
  frame.mutable_block_response()->set_sealed(std::string(AsChars(block)));
  for (auto _ : state) {
    bool ok = true;
    auto receive = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < kFramesPerRound && ok; ++i) {
        auto got = co_await receiver->Receive();
        ok = got && got->block_response().sealed().size() == block_size;
      }
    };
    // At most 4 MiB queued, as a daemon serving 64 requests at a time.
    auto send = [&]() -> asio::awaitable<void> {
      for (int i = 0; i < kFramesPerRound; ++i) {
        sender->Send(frame);
        co_await sender->WaitForRoom(4 << 20);
      }
    };
    io.restart();
    asio::co_spawn(io, send(), asio::detached);
    asio::co_spawn(io, receive(), [&](std::exception_ptr) { io.stop(); });
    io.run();
    if (!ok) {
      state.SkipWithError("a frame was lost or damaged");
      break;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kFramesPerRound * static_cast<int64_t>(block_size));
  sender->Close("done");
  receiver->Close("done");
  io.restart();
  io.poll();
}
BENCHMARK(BM_BlocksOverTlsLoopback)->Arg(64 << 10)->Unit(benchmark::kMillisecond);

crypto::Entry SampleEntry(size_t blocks) {
  crypto::Entry entry{.path = *RelPath::Parse("Documents/projects/2026/report-final.odt")};
  entry.kind = crypto::EntryKind::kFile;
  entry.mode = 0644;
  entry.mtime_ns = 1'700'000'000'123'456'789;
  entry.device_short_id = 0x1122334455667788;
  for (size_t i = 0; i < blocks; ++i) {
    Bytes seed = RandomData(64, i);
    entry.blocks.push_back({crypto::ComputeBlockId(Secrets().id_key(), seed), 65536});
    entry.size += 65536;
  }
  return entry;
}

VersionVector SampleVector() {
  VersionVector v;
  v.Set(0x1122334455667788, 7);
  v.Set(0x99AABBCCDDEEFF00, 3);
  return v;
}

// A scan's cost per new version: seal the entry and sign the record.
void BM_MakeRecord(benchmark::State& state) {
  crypto::Entry entry = SampleEntry(static_cast<size_t>(state.range(0)));
  VersionVector vector = SampleVector();
  for (auto _ : state) benchmark::DoNotOptimize(crypto::MakeRecord(Secrets(), entry, vector));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_MakeRecord)->Arg(1)->Arg(16);

// Encode for the wire and decode again.
void BM_RecordWireRoundTrip(benchmark::State& state) {
  crypto::Record record = crypto::MakeRecord(Secrets(), SampleEntry(static_cast<size_t>(state.range(0))), SampleVector());
  for (auto _ : state) {
    Bytes encoded = crypto::EncodeRecord(record);
    auto decoded = crypto::DecodeRecord(encoded);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RecordWireRoundTrip)->Arg(1)->Arg(16);

// A receiver's cost per record: verify the signature, open the entry.
void BM_VerifyAndOpenRecord(benchmark::State& state) {
  crypto::Record record = crypto::MakeRecord(Secrets(), SampleEntry(static_cast<size_t>(state.range(0))), SampleVector());
  for (auto _ : state) {
    bool ok = static_cast<bool>(crypto::VerifyRecord(Secrets(), record));
    auto entry = crypto::OpenRecord(Secrets(), record);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(entry);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_VerifyAndOpenRecord)->Arg(1)->Arg(16);

}  // namespace
}  // namespace tandem

// The daemon's allocator settings (src/cli/main.cc), so buffers behave as
// they do there.
int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
