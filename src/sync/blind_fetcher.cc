#include "sync/blind_fetcher.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"

namespace tandem::sync {
namespace {

constexpr size_t kPage = 256;              // missing blocks listed at once
constexpr size_t kBlocksInFlight = 64;     // block requests at once

}  // namespace

BlindFetcher::BlindFetcher(const ShareContext& context, std::unique_ptr<store::Repository>& repo,
                           BlockFetcher& fetcher, std::function<bool()> active,
                           std::function<void(store::IndexSummary)> on_pass)
    : context_(context), repo_(repo), fetcher_(fetcher), active_(std::move(active)), on_pass_(std::move(on_pass)),
      retry_timer_(context.loop) {}

void BlindFetcher::Start() {
  if (stopped_) return;
  if (fetching_) {
    again_ = true;
    retry_timer_.cancel();  // if it is waiting out a pause
    return;
  }
  fetching_ = true;
  auto run = [](BlindFetcher* self) -> asio::awaitable<void> {
    // The engine outlives the pass (spawn).
    ClearOnExit done(self->fetching_);
    co_await self->Run();
  };
  context_.spawn(run(this), "fetching sealed blocks");
}

void BlindFetcher::Stop() {
  stopped_ = true;
  retry_timer_.cancel();
}

asio::awaitable<void> BlindFetcher::Run() {
  do {
    again_ = false;
    co_await FetchMissing();
    if (missing_blocks_ > 0 && !again_ && !stopped_) {
      spdlog::debug("share {}: {} sealed blocks not available yet", context_.name, missing_blocks_);
      retry_timer_.expires_after(retry_backoff_.Next());
      auto [ec] = co_await retry_timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      if (!ec) again_ = true;
    } else if (missing_blocks_ == 0) {
      retry_backoff_.Reset();
    }
    // Inside the loop: records stored during this await must start a pass.
    auto summarize = [this] { return repo_ ? repo_->Summarize() : store::IndexSummary{}; };
    on_pass_(co_await RunOn(context_.strand, std::move(summarize)));
  } while (again_ && !stopped_ && active_());
}

asio::awaitable<void> BlindFetcher::FetchMissing() {
  uint64_t missing_blocks = 0;
  uint64_t missing_bytes = 0;
  Bytes after;
  while (!stopped_ && active_()) {
    auto list = [this, after] { return repo_ ? repo_->MissingSealedBlocks(after, kPage) : std::vector<crypto::BlockRef>{}; };
    std::vector<crypto::BlockRef> page = co_await RunOn(context_.strand, std::move(list));
    if (page.empty()) break;
    after = ToBytes(page.back().id);
    std::function<asio::awaitable<void>(size_t)> fetch_one = [&](size_t k) -> asio::awaitable<void> {
      const crypto::BlockRef block = page[k];
      auto sealed = co_await fetcher_.FetchSealed(block);
      if (!sealed) {
        ++missing_blocks;
        missing_bytes += block.size;
        co_return;
      }
      auto keep = [this, block, sealed = std::move(*sealed)] {
        // Kept only while some record still refers to it.
        if (!repo_ || !repo_->IsBlockReferenced(block.id)) return false;
        repo_->PutSealedBlock(block.id, AsBytes(sealed));
        return true;
      };
      co_await RunOn(context_.strand, std::move(keep));
      fetcher_.CountReceived(block.size);
    };
    co_await ForEachConcurrently(page.size(), kBlocksInFlight, std::move(fetch_one));
  }
  missing_blocks_ = missing_blocks;
  missing_bytes_ = missing_bytes;
}

}  // namespace tandem::sync
