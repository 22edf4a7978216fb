#include "sync/share_health.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

#include "base/async.h"

namespace tandem::sync {
namespace {

// How often a healthy share checks that its folder is still the share's
// (two or three stat calls).
constexpr std::chrono::seconds kFolderCheckInterval{2};

}  // namespace

ShareHealth::ShareHealth(const ShareContext& context, std::shared_ptr<store::ShareFolderGuard> guard, Hooks hooks,
                         Backoff recovery)
    : context_(context), guard_(std::move(guard)), hooks_(std::move(hooks)), recover_timer_(context.loop),
      folder_check_timer_(context.loop), recover_backoff_(recovery) {}

Result<void> ShareHealth::CheckFolder(bool thorough) {
  auto checked = guard_->Check(thorough);
  if (!checked) {
    // Also when the database in use is no longer the folder's (kCorrupt):
    // whether the one there now is sound is for a fresh open to say.
    auto fail = [](ShareHealth* self, std::string why) -> asio::awaitable<void> {
      self->Fail(State::kFolderUnavailable, std::move(why));
      co_return;
    };
    context_.spawn(fail(this, checked.error().message), "folder check");
  }
  return checked;
}

void ShareHealth::ReportStoreError(const store::StoreError& error, std::string_view what) {
  switch (error.fault()) {
    case store::StoreFault::kDamaged:
      Fail(State::kRepositoryDamaged, "the share's repository is damaged (" + std::string(error.what()) + ")");
      return;
    case store::StoreFault::kFull:
      Fail(State::kStoreUnavailable, "the disk holding the share's repository is full (" +
                                         std::string(error.what()) + "); free some space");
      return;
    case store::StoreFault::kOther:
      Fail(State::kStoreUnavailable, std::string(what) + " failed: " + error.what());
      return;
  }
}

void ShareHealth::Fail(State state, std::string why) {
  if (stopped_ || state == State::kOk) return;
  // Damage outranks a transient cause: it is what the user must act on.
  if (state_ == State::kRepositoryDamaged && state != State::kRepositoryDamaged) return;
  switch (state) {
    case State::kRepositoryDamaged:
      why += "; syncing is stopped. Run `tandem repair " + context_.name +
             "` to move the damaged repository aside and rebuild it from the folder and the peers";
      break;
    case State::kFolderUnavailable:
      why += "; nothing is recorded or written there. Syncing resumes by itself when the folder is back";
      break;
    case State::kStoreUnavailable:
      why += "; syncing is stopped and is retried by itself";
      break;
    case State::kOk: break;
  }
  const bool changed = state_ != state;
  if (!changed && fault_ == why) return;
  state_ = state;
  fault_ = std::move(why);
  spdlog::error("share {}: {}", context_.name, fault_);
  if (!changed) return;
  hooks_.on_failed();
  recover_backoff_.Reset();
  ScheduleRecovery();
}

void ShareHealth::StartWatching() { context_.spawn(WatchFolder(), "folder check"); }

void ShareHealth::Stop() {
  stopped_ = true;
  recover_timer_.cancel();
  folder_check_timer_.cancel();
}

asio::awaitable<void> ShareHealth::WatchFolder() {
  while (!stopped_) {
    folder_check_timer_.expires_after(kFolderCheckInterval);
    co_await folder_check_timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (stopped_) co_return;
    // Off the loop: a stat of a folder on a failing drive may block.
    if (ok()) (void)co_await RunOn(context_.pool.get_executor(), [this] { return CheckFolder(/*thorough=*/true); });
  }
}

// Only a store that failed is retried here, less and less often.
void ShareHealth::ScheduleRecovery() {
  if (recover_armed_ || stopped_ || state_ != State::kStoreUnavailable) return;
  recover_armed_ = true;
  context_.spawn(RecoverAfterPause(), "recovery");
}

asio::awaitable<void> ShareHealth::RecoverAfterPause() {
  if (stopped_) co_return;
  recover_timer_.expires_after(recover_backoff_.Next());
  auto [ec] = co_await recover_timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  recover_armed_ = false;
  if (ec || stopped_) co_return;
  try {
    co_await TryRecover();
    co_return;
  } catch (const store::StoreError& error) {
    // Still failing: the message may have changed (full, then damaged).
    ReportStoreError(error, "recovery");
  } catch (const std::exception& error) {
    spdlog::warn("share {}: recovery failed: {}", context_.name, error.what());
  }
  ScheduleRecovery();
}

asio::awaitable<void> ShareHealth::TryRecover() {
  // The folder first, then one small write: a store that can write again
  // (space freed) can take what peers send.
  auto probe = [this]() -> Result<void> {
    TANDEM_RETURN_IF_ERROR(guard_->Check(/*thorough=*/true));
    hooks_.probe_store();
    return Ok();
  };
  const State before = state_;
  Result<void> checked = co_await RunOn(context_.strand, std::move(probe));
  // Failed otherwise meanwhile (Fail armed its own retry): that decides.
  if (stopped_ || state_ != before) co_return;
  if (!checked) {
    Fail(State::kFolderUnavailable, checked.error().message);
    co_return;
  }
  Recovered();
}

void ShareHealth::Recovered() {
  spdlog::info("share {}: available again; syncing resumes", context_.name);
  recover_timer_.cancel();
  state_ = State::kOk;
  fault_.clear();
  recover_backoff_.Reset();
  hooks_.on_recovered();
}

}  // namespace tandem::sync
