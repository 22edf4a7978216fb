// BlindFetcher: a blind replica holds no key and no files, only the sealed
// blocks its records refer to. This fetches the ones it lacks from its
// peers, page by page, and looks again after a pause that grows while
// blocks stay missing (a writer still scanning, a relay still fetching).
//
// Threads: the event loop (owned by the ShareEngine); the repository is
// used on the engine's strand.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>

#include "base/backoff.h"
#include "store/repository.h"
#include "sync/block_fetcher.h"
#include "sync/share_context.h"

namespace tandem::sync {

class BlindFetcher {
 public:
  // `repo` is the engine's, used only on the strand (null once closed).
  // `active`: the engine still syncs (not shut down, not paused). After
  // each pass, `on_pass` gets the index summary as it then stands.
  BlindFetcher(const ShareContext& context, std::unique_ptr<store::Repository>& repo, BlockFetcher& fetcher,
               std::function<bool()> active, std::function<void(store::IndexSummary)> on_pass);

  // A pass over the missing blocks, now or (when one is running) right after.
  void Start();
  void Stop();

  bool fetching() const { return fetching_; }
  // Not found at any peer in the last pass.
  uint64_t missing_blocks() const { return missing_blocks_; }
  uint64_t missing_bytes() const { return missing_bytes_; }

 private:
  asio::awaitable<void> Run();
  // One pass over every missing block; counts what stayed missing.
  asio::awaitable<void> FetchMissing();

  const ShareContext& context_;
  std::unique_ptr<store::Repository>& repo_;
  BlockFetcher& fetcher_;
  const std::function<bool()> active_;
  const std::function<void(store::IndexSummary)> on_pass_;
  // Loop only.
  bool fetching_ = false;
  bool again_ = false;
  bool stopped_ = false;
  uint64_t missing_blocks_ = 0;
  uint64_t missing_bytes_ = 0;
  asio::steady_timer retry_timer_;
  Backoff retry_backoff_{std::chrono::milliseconds(500), std::chrono::seconds(30)};
};

}  // namespace tandem::sync
