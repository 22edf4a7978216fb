// ShareHealth: whether a share may sync now, and how it gets back to it.
// Nothing is scanned, recorded or written unless the folder still proves it
// is the share's (store::ShareFolderGuard: before every scan, plan, group of
// renames and applied batch, and every few seconds while healthy, since a
// .tandem may go with no event to say so). When it does not, or the
// repository fails, the share stops syncing in both directions with the
// reason in words, and the engine is told (on_failed). A store that failed
// (a full disk) is probed again here with backoff; a folder that went away
// is for the Service (it closes the engine, and opens the share afresh when
// the folder is back); damage waits for `tandem repair`.
//
// Threads: the event loop, except CheckFolder (any thread).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/backoff.h"
#include "base/result.h"
#include "store/share_folder.h"
#include "store/sqlite.h"
#include "sync/share_context.h"

namespace tandem::sync {

class ShareHealth {
 public:
  // Why the share is not syncing now, and how it gets out of that.
  enum class State {
    kOk,
    kFolderUnavailable,  // the folder, its marker or its database is not the one opened:
                         // the Service closes the engine and opens the share afresh
    kStoreUnavailable,   // the repository cannot write (a full disk) or read: retried with backoff
    kRepositoryDamaged,  // the repository is damaged or gone: waits for `tandem repair`
  };

  struct Hooks {
    std::function<void()> on_failed;     // loop: the share just stopped syncing
    std::function<void()> on_recovered;  // loop: it may sync again
    std::function<void()> probe_store;   // strand: one small write; throws store::StoreError
  };

  // A failed store is probed again after `recovery`'s pauses.
  ShareHealth(const ShareContext& context, std::shared_ptr<store::ShareFolderGuard> guard, Hooks hooks,
              Backoff recovery = Backoff(std::chrono::seconds(1), std::chrono::seconds(60)));

  // Any thread: whether the folder is still the share's; on failure the
  // share stops (posted to the loop). `thorough`: also whether the
  // repository in use is still the folder's.
  Result<void> CheckFolder(bool thorough = false);
  // A repository call failed with `error` while doing `what`.
  void ReportStoreError(const store::StoreError& error, std::string_view what);
  // Stop syncing with `why` (unless damage, which outranks it, is the reason already).
  void Fail(State state, std::string why);

  // Checks the folder every few seconds while healthy, until Stop.
  void StartWatching();
  void Stop();

  State state() const { return state_; }
  bool ok() const { return state_ == State::kOk; }
  const std::string& fault() const { return fault_; }  // empty when ok

 private:
  asio::awaitable<void> WatchFolder();
  void ScheduleRecovery();
  asio::awaitable<void> RecoverAfterPause();
  asio::awaitable<void> TryRecover();
  void Recovered();

  const ShareContext& context_;
  const std::shared_ptr<store::ShareFolderGuard> guard_;
  const Hooks hooks_;
  // Loop only.
  bool stopped_ = false;
  State state_ = State::kOk;
  std::string fault_;
  asio::steady_timer recover_timer_;
  asio::steady_timer folder_check_timer_;
  bool recover_armed_ = false;
  Backoff recover_backoff_;
};

}  // namespace tandem::sync
