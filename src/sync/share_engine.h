// ShareEngine: one share at run time, as stages wired together. It owns the
// repository and what the stages share, starts and stops them, and is what
// the Service and the peer sessions talk to (ShareEndpoint). Each stage has
// a file pair of its own, whose header says which thread runs it:
//   ScanScheduler   when the folder is scanned, and which of it
//   ScanReport      what the scans found (skipped paths, local changes)
//   IgnorePatterns  the paths this device leaves alone (.tandemignore)
//   IndexSender     records out to each peer; index_batch.h: records in
//   NeedQueue       the paths to bring up to date
//   PullPlanner     decides a pull and does what needs no peer (strand)
//   Assembler       part files, assembly, the move into place
//   GroupCommit     assembled files made durable and renamed in groups
//   BlockFetcher    blocks from peers, checked; BlockServer: blocks to them
//   BlindFetcher    a blind replica's sealed blocks
//   ShareHealth     whether the folder and store allow syncing; recovery
//   PeerSet         the attached peers and whom to ask next
// The engine's own code is the wiring (share_engine.cc), the pull workers
// (puller.cc) and what a user asks of a share (user_actions.cc).
//
// Nothing is scanned, recorded or written unless the folder still proves it
// is the share's (ShareHealth). When it does not, or the repository fails,
// the engine stops syncing in both directions and tells the Service (which
// stops offering the share, and closes an engine whose folder went away, to
// open the share afresh when it is back).
//
// Threads: public members run on the event loop. The Repository is used only
// on the engine's strand; hashing, sealing and file I/O of single blocks run
// on the worker pool. Peer sessions call in from the loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <functional>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/async.h"
#include "base/backoff.h"
#include "base/rate_meter.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/record.h"
#include "fs/filesystem.h"
#include "fs/watcher.h"
#include "scan/scanner.h"
#include "store/repository.h"
#include "store/share_folder.h"
#include "store/sqlite.h"
#include "sync/assembler.h"
#include "sync/blind_fetcher.h"
#include "sync/block_fetcher.h"
#include "sync/block_server.h"
#include "sync/conflicts.h"
#include "sync/download_progress.h"
#include "sync/events.h"
#include "sync/group_commit.h"
#include "sync/ignore_patterns.h"
#include "sync/index_batch.h"
#include "sync/index_sender.h"
#include "sync/need_queue.h"
#include "sync/peer_link.h"
#include "sync/peer_set.h"
#include "sync/pull_planner.h"
#include "sync/scan_report.h"
#include "sync/scan_scheduler.h"
#include "sync/share_context.h"
#include "sync/share_health.h"
#include "sync/versions.h"
#include "tandem.pb.h"

namespace tandem::sync {

// A peer attached to the share, and how far the index exchange has come.
struct AttachedPeerStatus {
  std::string device_id;
  std::string address;
  bool caught_up = false;      // it has sent us its whole index
  uint64_t records_sent = 0;   // our records it has been sent (by sequence)...
  uint64_t records_total = 0;  // ... of all we hold
};

struct EngineStatus {
  std::string state;         // one of the kState* of events.h
  std::string state_reason;  // why, in words (empty when idle)
  // How much of the share's version this device holds, in percent: none
  // until a peer has sent its whole index since the engine started (before
  // that, nobody knows what the share's version is).
  std::optional<double> completion;
  uint64_t need_files = 0;
  uint64_t need_deletes = 0;  // of need_files: paths to delete here
  uint64_t need_bytes = 0;
  uint64_t download_rate = 0;  // bytes a second, over the last few seconds
  uint64_t upload_rate = 0;
  uint64_t sent_bytes = 0;         // block bytes served to peers since start
  int64_t last_in_sync_unix = 0;   // last time a peer's whole index was here and nothing was needed
  std::vector<AttachedPeerStatus> peers;
  uint64_t need_blocks = 0;     // blind: sealed blocks no peer had in the last pass
  uint64_t received_bytes = 0;  // block bytes fetched from peers since start
  std::vector<std::string> connected_devices;
  // A read replica's edits, which stay local (as of the last scan).
  std::vector<scan::LocalChange> local_changes;
  store::IndexSummary index;
  scan::ScanStats last_scan;
  int64_t last_scan_unix = 0;
  std::string last_error;
  // Paths this device cannot bring up to date, each with why.
  std::vector<NeedQueue::Failure> failed;
  // Paths the last scan could not index, each with why (special files,
  // unreadable files, names that cannot be synced).
  std::vector<std::string> skipped;
  // Ignored paths the scans met (a folder ignored whole counts once), and
  // why the pattern files are not in force as written (empty: they are).
  uint64_t ignored = 0;
  std::string ignore_error;
};

// A co_spawn completion handler for engine work: logs what failed, with the
// share's folder name; a failure of the repository also stops the share
// (ShareEngine::ReportStoreError).
template <typename Engine>
auto LogErrors(std::shared_ptr<Engine> engine, const char* what) {
  return [engine, what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const store::StoreError& ex) {
      engine->ReportStoreError(ex, what);
    } catch (const std::exception& ex) {
      spdlog::warn("share {}: {} failed: {}", engine->root().filename().string(), what, ex.what());
    }
  };
}


class ShareEngine final : public ShareEndpoint, public std::enable_shared_from_this<ShareEngine> {
 public:
  using Strand = ShareContext::Strand;

  // Misbehaviour on purpose, for tests of the peers that must resist it
  // (TANDEM_TEST_HOOKS; never set in normal use).
  struct TestHooks {
    bool send_local_edits = false;  // a read replica sends its edits as records it cannot sign
    bool sign_forged_batches = false;  // ... and signs them as a batch, with a key not the share's
    bool forge_blocks = false;      // blocks served are sealed right but hold other bytes
    bool slow_blocks = false;       // each block is served after a pause (a slow link)
    bool no_reader_proof = false;   // proves nothing, as an older build: its blocks come sealed
  };

  struct Options {
    std::string name;  // for logs
    std::filesystem::path root;
    crypto::ShareSecrets secrets;
    uint64_t device_short_id = 0;
    std::string device_id;  // this device's, as events name it
    TestHooks test_hooks;
    // Called on the loop whenever health() changes.
    std::function<void()> on_health_changed;
    // What happens, as it happens (events.h); may be empty.
    EventSink events;
    // What is kept of files a peer's change replaces or deletes (versions.h).
    VersioningPolicy versioning = VersioningPolicy::Default();
  };

  // Why the share is not syncing now (share_health.h).
  using Health = ShareHealth::State;

  // `reader` reads the same store as `repo`, for serving peers off the strand.
  ShareEngine(asio::io_context& loop, asio::thread_pool& pool, fs::Filesystem& fs, Options options,
              std::unique_ptr<store::Repository> repo, std::shared_ptr<store::RepositoryReader> reader);

  // Initial scan, the folder watcher, then what the store says still needs pulling.
  void Start();
  // Detaches every peer, waits for work on the strand, closes the repository
  // and (when asked) deletes .tandem. The engine is unusable afterwards.
  asio::awaitable<Result<void>> Shutdown(bool delete_repo);

  // A full scan now; its stats. Deletions it finds are recorded once they
  // have settled, by a scan a moment later (scan::Scanner::HoldDeletionsIn),
  // except those of `record_now` (deletions Tandem made itself).
  asio::awaitable<Result<scan::ScanStats>> Scan(std::set<std::string> record_now = {});
  // A full scan soon, coalescing with one already running (start, timer).
  void ScheduleScan() { scans_.ScanEverythingSoon(); }

  // A read replica's local changes (all, or those at or below `path`) are
  // undone: added paths are deleted, modified and deleted ones are brought
  // back to the share's version (replacing the file only once that version
  // is assembled). Returns how many paths were reverted or queued.
  asio::awaitable<Result<uint64_t>> RevertLocalChanges(std::string path);

  // Every conflict copy in the share, by path.
  asio::awaitable<Result<std::vector<Conflict>>> ListConflicts();
  // Settles one conflict (named by its copy's path, or by the file's path
  // when it has one copy): kLocal deletes the copy, kRemote moves the copy's
  // version to the file's name, kBoth renames the copy to a plain name. The
  // change is indexed before this returns, and syncs like any edit. Returns
  // what was done, in words. Write replicas only.
  asio::awaitable<Result<std::string>> ResolveConflict(std::string conflict, ConflictKeep keep);

  // The ignore patterns, as a UI shows and edits them (user_actions.cc).
  struct IgnorePatternsInfo {
    std::string text;                // .tandemignore as it is on disk (empty when there is none)
    bool exists = false;             // whether there is one
    std::vector<std::string> files;  // the files the rules in force were read from
    std::string error;               // why the files on disk are not in force (empty: they are)
    uint64_t ignored = 0;            // ignored paths the scans met
  };
  // Whether `path` is ignored here, and by which line. The pattern files
  // are read again first, so an edit just saved counts.
  asio::awaitable<Result<scan::IgnoreVerdict>> CheckIgnored(std::string path);
  asio::awaitable<Result<IgnorePatternsInfo>> GetIgnorePatterns();
  // Replaces .tandemignore with `text` once it compiles (kInvalidArgument
  // naming the line otherwise, and nothing is written); the new rules are
  // in force when this returns, and a scan of everything follows.
  asio::awaitable<Result<IgnorePatternsInfo>> SetIgnorePatterns(std::string text);

  // Versions (user_actions.cc): the policy, from now on; those kept (at or
  // below `path`); one put back at its path (the newest, or the newest kept
  // at or before `at`, Unix seconds), the content there kept first, as an
  // ordinary local change that syncs; and a cleanup by the policy.
  void SetVersioning(const VersioningPolicy& policy) { versions_.SetPolicy(policy); }
  // The share's bandwidth limits in bytes a second (0: none), in force at
  // once, also for blocks already waiting their turn.
  void SetLimits(uint64_t upload, uint64_t download) {
    upload_limit_.SetRate(upload);
    download_limit_.SetRate(download);
  }
  asio::awaitable<Result<std::vector<KeptVersion>>> ListVersions(std::string path);
  asio::awaitable<Result<KeptVersion>> RestoreVersion(std::string path, std::optional<int64_t> at);
  asio::awaitable<Result<size_t>> CleanupVersions();

  // Sync on/off: off detaches peers and stops pulling; scanning goes on.
  void SetEnabled(bool enabled);
  bool enabled() const { return enabled_; }

  // ShareEndpoint: what peer sessions call (loop only).
  void Attach(std::shared_ptr<PeerLink> peer, std::string offer) override;
  void Detach(PeerLink* peer) override;
  asio::awaitable<void> OnIndexRequest(std::shared_ptr<PeerLink> peer, wire::IndexRequest request) override;
  asio::awaitable<Result<void>> OnIndexBatch(std::shared_ptr<PeerLink> peer, wire::IndexBatch batch) override;
  asio::awaitable<wire::BlockResponse> OnBlockRequest(wire::BlockRequest request, bool peer_reads) override;
  void OnFailure(std::exception_ptr error, const char* what) override { LogErrors(shared_from_this(), what)(error); }

  EngineStatus Status() const;
  // Emits share_state_changed (and share_error) if the state moved since
  // last told. The engine calls it where the state may change; the Service
  // also calls it each second, to catch what no such place saw.
  void NoteState();
  Health health() const { return health_.state(); }
  bool healthy() const { return health_.ok(); }
  // A repository call failed with `error` while doing `what`: the share
  // stops syncing with the reason, and retries where waiting can help.
  void ReportStoreError(const store::StoreError& error, std::string_view what) {
    health_.ReportStoreError(error, what);
  }
  const crypto::ShareSecrets& secrets() const override { return options_.secrets; }
  Throttle& upload_limit() override { return upload_limit_; }
  Throttle& download_limit() override { return download_limit_; }
  const std::filesystem::path& root() const { return options_.root; }

 private:
  scan::Author author() const { return {options_.device_short_id, replica_id_}; }
  // Any thread: ShareHealth::CheckFolder.
  Result<void> CheckFolder(bool thorough = false) { return health_.CheckFolder(thorough); }
  // The share stopped syncing, or may sync again (ShareHealth's hooks).
  void OnFailed();
  void OnRecovered();
  // The engine's side of ShareContext::spawn.
  void Spawn(asio::awaitable<void> work, const char* what);
  // Strand: GroupCommit::InTransaction.
  Result<void> InCheckedTransaction(const std::function<void()>& body);

  // A scan for the ScanScheduler: its failure is logged and shown by Status.
  asio::awaitable<void> ScanQuietly(fs::ChangedPaths changed);
  // Scans `changed` (all of it when `everything`).
  asio::awaitable<Result<scan::ScanStats>> RunScan(fs::ChangedPaths changed, std::set<std::string> record_now);
  struct ScanOutcome {
    Result<scan::ScanStats> stats;
    store::IndexSummary summary;
    std::vector<scan::LocalChange> local_changes;
    std::set<std::string> held;  // deletions not recorded yet
    bool ignore_rules_changed = false;  // the scan read everything again for them
  };
  ScanOutcome ScanOnStrand(const fs::ChangedPaths& changed, std::set<std::string> record_now);  // strand
  void TakeScan(ScanOutcome& outcome);  // loop; REQUIRES: outcome.stats
  asio::awaitable<void> RequestIndex(std::shared_ptr<AttachedPeer> link);
  // Test hook: records for the local changes, with a signature that is not the share key's.
  void SendForgedEdits();
  // Tells a change of the ignore patterns, or of why they are not in force.
  void TellIgnorePatterns(bool changed);
  // Reads the pattern files again (strand); a change makes the next scan
  // one of everything.
  void ReloadIgnorePatterns();
  // The first read of the pattern files, before anything asks them (strand).
  void LoadIgnorePatternsOnce();
  // Strand: keeps what a user's action discards (this device's decision).
  KeepBeforeChange KeepAsVersion();
  // Reloads on the strand, then scans everything when the rules changed.
  asio::awaitable<Result<void>> RefreshIgnorePatterns();
  // The summary shown to the user, read afresh from the store.
  // after_pulls: the share is not idle until the new counts are in.
  void RefreshSummary(bool after_pulls = false);
  void Emit(EventType type, nlohmann::json data);
  // The state a status shows, and why.
  std::pair<std::string_view, std::string> CurrentState() const;
  // Changes found by a scan or a peer's batch, told as `type` events, and
  // the conflict copies they made.
  void TellChanges(EventType type, const std::vector<scan::LocalChange>& changes,
                   const std::vector<scan::ConflictCopy>& conflicts, const std::string& device, bool kept_local = false);


  // Puller (puller.cc).
  struct PullOutcome {
    NeedQueue::Outcome outcome;
    std::string why;  // unless pulled
    // What the pull did, for item_* events: the path, "update",
    // "metadata" or "delete" (empty: nothing the user sees), the size.
    std::string path;
    std::string_view action;
    uint64_t size = 0;
    bool started = false;  // item_started told already
  };
  // item_started/finished (and item_failed, when `why_is_new`) for a pull that ended.
  void TellPulled(const PullOutcome& pulled, bool why_is_new);
  void AddNeeds(const std::vector<std::pair<crypto::Locator, Need>>& needs);
  void StartPullers();
  asio::awaitable<void> PullWorker();
  // The last pull worker has ended: the deferred scan runs, the summary refreshes.
  void OnPullersIdle();
  // `out` says how it ended, and what it was about as soon as that is known.
  asio::awaitable<void> PullOne(crypto::Locator locator, PullOutcome& out);
  // A plan to fetch carried out: assembled, made durable, moved into place
  // (a large file's slot held by the caller).
  asio::awaitable<Result<void>> AssembleAndFinish(crypto::Locator locator, PullPlan plan);
  static PullOutcome AssemblyOutcome(const Result<void>& done);
  void RetryBlockedNeeds();
  // Blocked needs are retried after a pause that doubles while nothing
  // succeeds: the blocks may arrive at a peer later (a relay still pulling).
  void ScheduleRetry();
  asio::awaitable<void> ComputeNeedsFromStore();
  void StartBlindFetch();

  asio::io_context& loop_;
  asio::thread_pool& pool_;
  fs::Filesystem& fs_;
  Options options_;
  Strand strand_;
  std::unique_ptr<store::Repository> repo_;  // strand only
  // Serving peers (records to push, blocks to send) reads here, on the pool,
  // so a scan holding the strand does not stall peers.
  const std::shared_ptr<store::RepositoryReader> reader_;
  // Before the block server, which asks it.
  IgnorePatterns ignores_;
  const BlockServer block_server_;  // reads through reader_
  const Bytes epoch_;                         // of repo_, fixed at creation
  const uint64_t replica_id_;                 // of repo_: the id our versions carry
  // Proves the folder is the share's before anything is written; any thread.
  const std::shared_ptr<store::ShareFolderGuard> guard_;
  // The versions kept in .tandem/versions; before the context, which points here.
  Versions versions_;
  // What the stages below share (share_context.h).
  const ShareContext context_;
  bool shut_down_ = false;
  bool enabled_ = true;

  // What keeps the share from syncing, if anything.
  ShareHealth health_;
  // Strand only: paths missing at the last scan, not yet recorded as
  // deleted (scan::Scanner::HoldDeletionsIn).
  scan::DeletionHold held_deletions_;
  // Strand only: the ignore patterns changed outside a scan; the next scan
  // reads everything (ScanOnStrand).
  bool ignore_rules_changed_ = false;

  // Scanning.
  std::shared_ptr<fs::Watcher> watcher_;
  ScanScheduler scans_;
  ScanReport report_;  // what the scans found, for Status
  std::string last_error_;
  store::IndexSummary index_;

  // The stages, in the order they are built (each takes those above it).
  PeerSet peers_;
  IndexSender sender_;
  BlockFetcher fetcher_;
  BlindFetcher blind_;
  GroupCommit group_commit_;
  PullPlanner planner_;
  Assembler assembler_;

  // What is told (events.h).
  std::string told_state_;
  std::string told_error_;
  std::string told_ignore_error_;
  bool met_peer_ = false;  // a peer has sent its whole index since start
  int counting_pulled_ = 0;  // summaries under way after pulls: not idle until they end
  bool needs_loaded_ = false;  // what the store says is needed is in needs_ (after start)
  int64_t last_in_sync_unix_ = 0;
  RateMeter sent_;  // block bytes served
  Throttle upload_limit_;
  Throttle download_limit_;
  DownloadProgress progress_;

  // Pulling.
  NeedQueue needs_;
  asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
  // Blocked needs are retried after a pause that grows while nothing succeeds.
  Backoff retry_backoff_{std::chrono::milliseconds(500), std::chrono::seconds(30)};
  int pullers_ = 0;
  // Large files (fs::PartFile::kDirectFrom and up) assembled at once,
  // bounded apart from the small ones: each holds two descriptors and a
  // writer thread while it is open.
  static constexpr size_t kLargePulls = 16;
  AsyncSlots large_pulls_;
};

}  // namespace tandem::sync
