// ScanScheduler: when a share's folder is scanned, and which of it. The
// watcher's paths are gathered until events have settled for a moment
// (kDebounce) and then scanned together; what comes while a scan runs is
// scanned right after it, in one go. While files are being pulled, the
// watcher mostly reports the engine's own renames: the paths wait until
// pulling has stayed idle a while, and are scanned once then. Deletions a
// scan held back (scan::Scanner::HoldDeletionsIn) are scanned again a
// moment later, once, not pushed back by scans of other paths.
//
// Threads: the event loop only (owned by the ShareEngine).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>

#include "fs/watcher.h"
#include "sync/share_context.h"

namespace tandem::sync {

struct ScanPauses {
  // Watcher events closer together than this are one change.
  std::chrono::milliseconds debounce{20};
  // Pulling often pauses only for moments (between batches of records
  // from a peer still scanning): the scan it deferred waits until pulling
  // has stayed idle this long, so one scan covers every batch instead of
  // one per batch holding up the next batch's plans.
  std::chrono::milliseconds pulls_settle{200};
  // Deletions a scan held are scanned again this much later, once no
  // more have appeared (scan::Scanner::HoldDeletionsIn).
  std::chrono::milliseconds confirm_deletions{1000};
};

class ScanScheduler {
 public:
  using Pauses = ScanPauses;
  // Runs one scan of the paths given; awaited, so scans never overlap.
  using RunScan = std::function<asio::awaitable<void>(fs::ChangedPaths)>;

  // `pulling`: whether pull workers are running now.
  ScanScheduler(const ShareContext& context, RunScan run, std::function<bool()> pulling, Pauses pauses = {});
  const Pauses& pauses() const { return pauses_; }

  // A scan of `changed` soon, merged with one pending or running.
  void ScanSoon(fs::ChangedPaths changed);
  void ScanEverythingSoon();
  // One path that the disk did not name (a record's).
  void ScanEntrySoon(std::string path);

  // The watcher's callback.
  void OnFolderChanged(fs::ChangedPaths changed);
  // The last pull worker has ended: what the watcher saw meanwhile is
  // scanned once pulling has stayed idle for kPullsSettle.
  void OnPullersIdle();
  // A scan failed: its paths are read by the next one (the next change, or
  // the backstop).
  void ScanFailed(const fs::ChangedPaths& scope) { watcher_changes_.Merge(scope); }
  // The deletions the last scan held back; `new_ones` arms their second look.
  void HoldDeletions(std::set<std::string> held, bool new_ones);

  bool scanning() const { return scans_in_flight_ > 0; }
  // Around each scan, also those run outside this scheduler (ShareEngine::Scan).
  void ScanStarted() { ++scans_in_flight_; }
  void ScanEnded() { --scans_in_flight_; }

  void Stop();

 private:
  asio::awaitable<void> Loop();
  void ConfirmDeletionsSoon();

  const ShareContext& context_;
  const RunScan run_;
  const std::function<bool()> pulling_;
  const Pauses pauses_;
  bool stopped_ = false;
  bool running_ = false;
  int scans_in_flight_ = 0;
  fs::ChangedPaths pending_;          // what the next scan reads
  fs::ChangedPaths watcher_changes_;  // seen by the watcher, not handed to a scan yet
  asio::steady_timer debounce_;
  bool debounce_armed_ = false;
  // Watcher events while pulling: one scan after the pullers finish.
  bool scan_after_pull_ = false;
  asio::steady_timer pulls_settle_;
  bool pulls_settle_armed_ = false;
  asio::steady_timer confirm_deletions_;
  bool confirm_armed_ = false;
  std::set<std::string> held_paths_;  // as of the last scan
};

}  // namespace tandem::sync
