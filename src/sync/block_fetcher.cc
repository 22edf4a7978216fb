#include "sync/block_fetcher.h"

#include <spdlog/spdlog.h>

#include "crypto/keyed_hash.h"
#include "crypto/seal.h"

namespace tandem::sync {
namespace {

// Block requests of one file at once.
constexpr size_t kBlocksPerFile = 64;

}  // namespace

BlockFetcher::BlockFetcher(const ShareContext& context, PeerSet& peers, OnRejected on_rejected)
    : context_(context), peers_(peers), on_rejected_(std::move(on_rejected)),
      slots_(context.loop.get_executor(), kBlocksInFlight) {}

asio::awaitable<Result<void>> BlockFetcher::Fetch(crypto::BlockRef block, const std::string& path,
                                                  std::function<Result<void>(ByteView plain)> place,
                                                  std::function<bool()> wanted) {
  const auto gave_up = [&] { return MakeError(ErrorCode::kNotFound, "gave up on " + path); };
  AsyncSlots::Held slot = co_await slots_.Acquire([this] { return !stopped_; });
  if (!slot) co_return MakeError(ErrorCode::kNotFound, "the share is being removed");
  PeerSet::Turn turn = peers_.StartTurn();
  while (auto link = turn.Next()) {
    if (stopped_) break;
    if (wanted && !wanted()) co_return gave_up();
    auto fetched = co_await link->link->FetchBlock(link->offer, block.id, block.size);
    if (!fetched) {
      spdlog::debug("share {}: block {} from {}: {}", context_.name, HexEncode(block.id).substr(0, 12),
                    link->link->device_id(), fetched.error().message);
      continue;
    }
    if (stopped_) break;  // the folder may be gone: nothing is written now
    // kInvalidArgument: the peer's block is not the one asked for.
    auto store_block = [&secrets = context_.secrets, block, &place,
                        fetched = std::move(*fetched)]() mutable -> Result<void> {
      std::span<uint8_t> bytes{reinterpret_cast<uint8_t*>(fetched.bytes.data()), fetched.bytes.size()};
      ByteView plain = bytes;
      bool genuine = true;
      if (fetched.sealed) {
        auto opened = crypto::OpenBlockInPlace(secrets.block_key(), secrets.id_key(), block.id, bytes);
        genuine = opened.has_value();
        if (opened) plain = *opened;
      }
      genuine = genuine && plain.size() == block.size &&
                (fetched.sealed || crypto::ComputeBlockId(secrets.id_key(), plain) == block.id);
      if (!genuine) return MakeError(ErrorCode::kInvalidArgument, "not the block asked for");
      return place(plain);
    };
    auto written = co_await RunOn(context_.pool.get_executor(), std::move(store_block));
    if (written) {
      received_.Add(block.size);
      co_return Ok();
    }
    if (written.error().code != ErrorCode::kInvalidArgument) {
      // The disk's refusal, not the peer's: shown as the file's failure.
      co_return MakeError(ErrorCode::kIo, "cannot write " + path + ": " + written.error().message);
    }
    std::string why = "peer " + link->link->device_id() + " sent a block of " + path +
                      " that does not match its id; it was rejected";
    spdlog::warn("share {}: {}", context_.name, why);
    if (on_rejected_) on_rejected_(std::move(why));
  }
  co_return MakeError(ErrorCode::kNotFound,
                      "no connected peer has block " + HexEncode(block.id).substr(0, 12) + " of " + path);
}

asio::awaitable<Result<void>> BlockFetcher::FetchInto(const crypto::Entry& entry, const std::vector<size_t>& missing,
                                                      const std::vector<uint64_t>& offsets,
                                                      fs::FileInAssembly& part,
                                                      std::function<void(uint64_t bytes)> on_block) {
  std::optional<Error> failure;  // the first; the file's other blocks stop there
  std::function<asio::awaitable<void>(size_t)> fetch_one = [&](size_t k) -> asio::awaitable<void> {
    if (failure) co_return;
    size_t i = missing[k];
    // Written from the pool threads; `part` outlives them all.
    auto place = [&part, offset = offsets[i]](ByteView plain) { return part.Write(offset, plain); };
    auto fetched = co_await Fetch(entry.blocks[i], entry.path.str(), std::move(place), [&failure] { return !failure; });
    if (!fetched && !failure) failure = fetched.error();
    if (fetched && on_block) on_block(entry.blocks[i].size);
  };
  co_await ForEachConcurrently(missing.size(), kBlocksPerFile, std::move(fetch_one));
  if (failure) co_return *failure;
  co_return Ok();
}

// A blind replica never proves it can read, so never gets plain blocks; one
// that comes anyway is not kept. A wrong sealed one is caught by every
// reader (it opens to bytes that do not hash to its id) and asked for
// elsewhere.
asio::awaitable<std::optional<std::string>> BlockFetcher::FetchSealed(crypto::BlockRef block) {
  PeerSet::Turn turn = peers_.StartTurn();
  while (auto link = turn.Next()) {
    if (stopped_) break;
    auto fetched = co_await link->link->FetchBlock(link->offer, block.id, block.size);
    if (!fetched || !fetched->sealed || fetched->bytes.size() != block.size + crypto::kSealOverhead) continue;
    co_return std::move(fetched->bytes);
  }
  co_return std::nullopt;
}

}  // namespace tandem::sync
