#include "sync/scan_scheduler.h"

#include "base/async.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <utility>

namespace tandem::sync {
namespace {


// Waits for `timer` to expire after `pause`; false when it was cancelled,
// or stopped before the wait began.
asio::awaitable<bool> Wait(asio::steady_timer& timer, std::chrono::milliseconds pause, const bool& stopped) {
  if (stopped) co_return false;
  timer.expires_after(pause);
  auto [ec] = co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  co_return !ec;
}

}  // namespace

ScanScheduler::ScanScheduler(const ShareContext& context, RunScan run, std::function<bool()> pulling, Pauses pauses)
    : context_(context), run_(std::move(run)), pulling_(std::move(pulling)), pauses_(pauses), debounce_(context.loop),
      pulls_settle_(context.loop), confirm_deletions_(context.loop) {}

void ScanScheduler::ScanSoon(fs::ChangedPaths changed) {
  if (stopped_ || !context_.secrets.CanRead() || changed.empty()) return;
  pending_.Merge(changed);
  if (running_) return;  // the running loop takes it next
  running_ = true;
  context_.spawn(Loop(), "scan");
}

void ScanScheduler::ScanEverythingSoon() {
  fs::ChangedPaths everything;
  everything.everything = true;
  ScanSoon(std::move(everything));
}

void ScanScheduler::ScanEntrySoon(std::string path) {
  fs::ChangedPaths changed;
  changed.AddAsked(std::move(path));
  ScanSoon(std::move(changed));
}

asio::awaitable<void> ScanScheduler::Loop() {
  // A scan that threw must not keep every later one from starting.
  ClearOnExit ended(running_);
  while (!pending_.empty() && !stopped_) co_await run_(std::exchange(pending_, {}));
}

void ScanScheduler::OnFolderChanged(fs::ChangedPaths changed) {
  watcher_changes_.Merge(changed);
  if (pulling_()) {
    scan_after_pull_ = true;
    return;
  }
  if (debounce_armed_ || stopped_) return;
  debounce_armed_ = true;
  // Timers are waited on in coroutines started by the engine (spawn): the
  // engine then outlives every wait.
  auto settle = [](ScanScheduler* self) -> asio::awaitable<void> {
    const bool expired = co_await Wait(self->debounce_, self->pauses_.debounce, self->stopped_);
    self->debounce_armed_ = false;
    if (expired) self->ScanSoon(std::exchange(self->watcher_changes_, {}));
  };
  context_.spawn(settle(this), "scan");
}

void ScanScheduler::OnPullersIdle() {
  if (!scan_after_pull_ || pulls_settle_armed_ || stopped_) return;
  pulls_settle_armed_ = true;
  auto settle = [](ScanScheduler* self) -> asio::awaitable<void> {
    const bool expired = co_await Wait(self->pulls_settle_, self->pauses_.pulls_settle, self->stopped_);
    self->pulls_settle_armed_ = false;
    if (!expired || self->stopped_ || !self->scan_after_pull_) co_return;
    if (self->pulling_()) co_return;  // pulling again: its end arms this anew
    self->scan_after_pull_ = false;
    self->ScanSoon(std::exchange(self->watcher_changes_, {}));
  };
  context_.spawn(settle(this), "scan");
}

void ScanScheduler::HoldDeletions(std::set<std::string> held, bool new_ones) {
  held_paths_ = std::move(held);
  if (new_ones) ConfirmDeletionsSoon();
}

// Armed once, not pushed back by scans of other paths: a file saved every
// 100 ms elsewhere must not keep a deletion from the peers.
void ScanScheduler::ConfirmDeletionsSoon() {
  if (confirm_armed_) return;
  confirm_armed_ = true;
  auto confirm = [](ScanScheduler* self) -> asio::awaitable<void> {
    const bool expired = co_await Wait(self->confirm_deletions_, self->pauses_.confirm_deletions, self->stopped_);
    self->confirm_armed_ = false;
    if (!expired) co_return;
    fs::ChangedPaths held;
    for (const std::string& path : self->held_paths_) held.AddEntry(path);
    self->ScanSoon(std::move(held));
  };
  context_.spawn(confirm(this), "scan");
}

void ScanScheduler::Stop() {
  stopped_ = true;
  debounce_.cancel();
  pulls_settle_.cancel();
  confirm_deletions_.cancel();
}

}  // namespace tandem::sync
