// BlockFetcher: gets blocks from the peers attached to a share. Each block
// is asked of the peers in turn (PeerSet::Turn) until one sends it genuine:
// a plain block must hash to its id, a sealed one must open with the share's
// keys to bytes that do. A block that is not genuine is refused and asked
// for elsewhere; the peer that sent it is named (on_rejected).
//
// Requests of all the share's pulls together are bounded (kBlocksInFlight),
// so that many files pulled at once cannot hold much memory in blocks.
//
// Threads: the event loop (owned by the ShareEngine); checking a block and
// placing its bytes run on the pool.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/async.h"
#include "base/rate_meter.h"
#include "base/bytes.h"
#include "base/result.h"
#include "crypto/record.h"
#include "fs/filesystem.h"
#include "sync/peer_set.h"
#include "sync/share_context.h"

namespace tandem::sync {

class BlockFetcher {
 public:
  // Called on the loop with a message naming the peer that sent a block
  // which is not the one asked for.
  using OnRejected = std::function<void(std::string why)>;

  BlockFetcher(const ShareContext& context, PeerSet& peers, OnRejected on_rejected);

  // Gets `block` and runs `place` with its plaintext on the pool, in the same
  // trip as the check. kNotFound when no peer had it (or `wanted` turned
  // false before the next peer was asked), kIo when `place` failed; `path`
  // names the file in messages.
  asio::awaitable<Result<void>> Fetch(crypto::BlockRef block, const std::string& path,
                                      std::function<Result<void>(ByteView plain)> place,
                                      std::function<bool()> wanted = nullptr);

  // The blocks of `entry` numbered in `missing`, written into `part` at
  // their `offsets`, several at once; the first failure stops the rest.
  // `on_block` (if any) is called on the loop with each block's size once it is written.
  asio::awaitable<Result<void>> FetchInto(const crypto::Entry& entry, const std::vector<size_t>& missing,
                                          const std::vector<uint64_t>& offsets, fs::FileInAssembly& part,
                                          std::function<void(uint64_t bytes)> on_block = nullptr);

  // For a blind replica, which cannot check more than its length: `block`
  // as sealed bytes, from the first peer that sends a copy of the right
  // size; nullopt when none did.
  asio::awaitable<std::optional<std::string>> FetchSealed(crypto::BlockRef block);

  // Block bytes received and kept since start (a blind replica counts its
  // own, CountReceived).
  uint64_t received_bytes() const { return received_.total(); }
  void CountReceived(uint64_t bytes) { received_.Add(bytes); }
  // Bytes a second over the last few seconds.
  uint64_t receive_rate() const { return received_.PerSecond(); }

  // Fetches waiting for a slot look again at whether they are still wanted.
  void WakeWaiters() { slots_.WakeAll(); }
  // Nothing more is fetched or written.
  void Stop() {
    stopped_ = true;
    slots_.WakeAll();
  }

 private:
  const ShareContext& context_;
  PeerSet& peers_;  // the engine's
  const OnRejected on_rejected_;
  static constexpr size_t kBlocksInFlight = 64;  // for the whole share
  AsyncSlots slots_;
  RateMeter received_;
  bool stopped_ = false;
};

}  // namespace tandem::sync
