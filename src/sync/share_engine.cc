#include "sync/share_engine.h"

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "crypto/keyed_hash.h"
#include "scan/conflict.h"
#include "sync/forged_edits.h"
#include "sync/local_changes.h"

namespace tandem::sync {
namespace {

// Records per database read when sending an index, and bytes per frame.
constexpr size_t kRecordsPerRead = 256;
constexpr size_t kBatchBytes = 4u << 20;
// Watcher events closer together than this are one change.
constexpr std::chrono::milliseconds kDebounce{20};
constexpr std::chrono::milliseconds kPullsSettle{200};
// Segments of large files gathered at once, per share: the 64 blocks in
// flight (~4 MiB) span five or six; more would only hold memory.
constexpr size_t kSegmentBuffers = 12;
// How often a healthy share checks that its folder is still the share's
// (two or three stat calls).
constexpr std::chrono::seconds kFolderCheckInterval{2};
// Deletions a scan found are recorded by a scan this much later, once no
// more have appeared (scan::Scanner::HoldDeletionsIn).
constexpr std::chrono::milliseconds kConfirmDeletions{1000};

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ShareEngine::ShareEngine(asio::io_context& loop, asio::thread_pool& pool, fs::Filesystem& fs,
                         Options options, std::unique_ptr<store::Repository> repo,
                         std::shared_ptr<store::RepositoryReader> reader)
    : loop_(loop), pool_(pool), fs_(fs), options_(std::move(options)),
      strand_(asio::make_strand(pool.get_executor())), repo_(std::move(repo)), reader_(std::move(reader)),
      block_server_(loop, pool, options_.root, options_.secrets, reader_,
                    {options_.test_hooks.forge_blocks, options_.test_hooks.slow_blocks}),
      epoch_(repo_->epoch()), replica_id_(repo_->replica_id()),
      guard_(std::make_shared<store::ShareFolderGuard>(options_.root, options_.secrets.share_id())),
      recover_timer_(loop), folder_check_timer_(loop), recover_backoff_(std::chrono::seconds(1), std::chrono::seconds(60)),
      confirm_deletions_(loop),
      debounce_(loop), pulls_settle_(loop), retry_timer_(loop), block_slots_(loop.get_executor(), kShareBlocksInFlight),
      large_pulls_(loop.get_executor(), kLargePulls), segment_buffers_(kSegmentBuffers) {
  guard_->PinDatabase(options_.root / RelPath::kRepoDirName / store::kIndexFileName);
}

Result<void> ShareEngine::CheckFolder(bool thorough) {
  auto checked = guard_->Check(thorough);
  if (!checked) {
    // Also when the database in use is no longer the folder's (kCorrupt):
    // whether the one there now is sound is for a fresh open to say.
    asio::post(loop_, [self = shared_from_this(), why = checked.error().message] {
      self->Fail(Health::kFolderUnavailable, why);
    });
  }
  return checked;
}

void ShareEngine::ReportStoreError(const store::StoreError& error, std::string_view what) {
  switch (error.fault()) {
    case store::StoreFault::kDamaged:
      Fail(Health::kRepositoryDamaged, "the share's repository is damaged (" + std::string(error.what()) + ")");
      return;
    case store::StoreFault::kFull:
      Fail(Health::kStoreUnavailable, "the disk holding the share's repository is full (" +
                                          std::string(error.what()) + "); free some space");
      return;
    case store::StoreFault::kOther:
      Fail(Health::kStoreUnavailable, std::string(what) + " failed: " + error.what());
      return;
  }
}

// Every way out of syncing goes through here: peers are let go (the Service
// stops offering the share, so no peer attaches again), no pull starts, no
// scan records anything. The need queue is rebuilt from the store on recovery.
void ShareEngine::Fail(Health health, std::string why) {
  if (shut_down_ || health == Health::kOk) return;
  // Damage outranks a transient cause: it is what the user must act on.
  if (health_ == Health::kRepositoryDamaged && health != Health::kRepositoryDamaged) return;
  switch (health) {
    case Health::kRepositoryDamaged:
      why += "; syncing is stopped. Run `tandem repair " + options_.name +
             "` to move the damaged repository aside and rebuild it from the folder and the peers";
      break;
    case Health::kFolderUnavailable:
      why += "; nothing is recorded or written there. Syncing resumes by itself when the folder is back";
      break;
    case Health::kStoreUnavailable:
      why += "; syncing is stopped and is retried by itself";
      break;
    case Health::kOk: break;
  }
  const bool changed = health_ != health;
  if (!changed && fault_ == why) return;
  health_ = health;
  fault_ = std::move(why);
  spdlog::error("share {}: {}", options_.name, fault_);
  if (!changed) return;
  block_slots_.WakeAll();
  large_pulls_.WakeAll();
  // Queued needs wait as blocked ones do: recovery queues them again.
  needs_.BlockQueued();
  auto peers = peers_.all();
  for (const auto& peer : peers) Detach(peer->link.get());
  recover_backoff_.Reset();
  ScheduleRecovery();
  if (options_.on_health_changed) options_.on_health_changed();
}

// Only a store that failed is retried here, less and less often: an engine
// whose folder went away is closed by the Service, which opens the share
// afresh when the folder is back; damage waits for `tandem repair`.
void ShareEngine::ScheduleRecovery() {
  if (recover_armed_ || shut_down_ || health_ != Health::kStoreUnavailable) return;
  recover_armed_ = true;
  recover_timer_.expires_after(recover_backoff_.Next());
  recover_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    self->recover_armed_ = false;
    if (ec || self->shut_down_) return;
    asio::co_spawn(self->loop_, self->TryRecover(), [self](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const store::StoreError& error) {
        // Still failing: the message may have changed (full, then damaged).
        self->ReportStoreError(error, "recovery");
      } catch (const std::exception& error) {
        spdlog::warn("share {}: recovery failed: {}", self->options_.name, error.what());
      }
      self->ScheduleRecovery();
    });
  });
}

asio::awaitable<void> ShareEngine::TryRecover() {
  auto self = shared_from_this();
  // The folder first, then one small write: a store that can write again
  // (space freed) can take what peers send.
  auto probe = [self]() -> Result<void> {
    TANDEM_RETURN_IF_ERROR(self->guard_->Check(/*thorough=*/true));
    if (self->repo_) self->repo_->Probe();
    return Ok();
  };
  const Health before = health_;
  Result<void> ok = co_await RunOn(strand_, std::move(probe));
  // Failed otherwise meanwhile (Fail armed its own retry): that decides.
  if (shut_down_ || health_ != before) co_return;
  if (!ok) {
    Fail(Health::kFolderUnavailable, ok.error().message);
    co_return;
  }
  Recovered();
}

asio::awaitable<void> ShareEngine::WatchFolder() {
  auto self = shared_from_this();
  while (!shut_down_) {
    folder_check_timer_.expires_after(kFolderCheckInterval);
    std::error_code ec;
    co_await folder_check_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (shut_down_) co_return;
    // Off the loop: a stat of a folder on a failing drive may block.
    if (healthy()) (void)co_await RunOn(pool_.get_executor(), [self] { return self->CheckFolder(/*thorough=*/true); });
  }
}

void ShareEngine::Recovered() {
  spdlog::info("share {}: available again; syncing resumes", options_.name);
  recover_timer_.cancel();
  health_ = Health::kOk;
  fault_.clear();
  last_error_.clear();
  recover_backoff_.Reset();
  if (options_.on_health_changed) options_.on_health_changed();
  auto self = shared_from_this();
  RetryBlockedNeeds();
  ScheduleScan();
  if (options_.secrets.CanRead()) {
    asio::co_spawn(loop_, [self] { return self->ComputeNeedsFromStore(); }(), LogErrors(self, "recovery"));
  } else {
    StartBlindFetch();
  }
}

void ShareEngine::Start() {
  ScheduleScan();
  asio::co_spawn(loop_, WatchFolder(), LogErrors(shared_from_this(), "folder check"));
  // Read replicas watch too: their local changes are tracked and reported.
  if (options_.secrets.CanRead()) {
    std::weak_ptr<ShareEngine> weak = weak_from_this();
    watcher_ = std::make_shared<fs::Watcher>(loop_, options_.root, [weak](fs::ChangedPaths changed) {
      if (auto self = weak.lock()) self->OnFolderChanged(std::move(changed));
    });
    if (auto started = watcher_->Start(); !started) {
      spdlog::warn("share {}: {}; relying on periodic rescans", options_.name, started.error().message);
    }
  }
  if (options_.secrets.CanRead()) {
    auto self = shared_from_this();
    auto start = [](std::shared_ptr<ShareEngine> self) -> asio::awaitable<void> {
      // What the index holds is shown from the start, not only after a
      // scan that may not run (a full disk, a missing folder).
      auto summarize = [self]() { return self->repo_ ? self->repo_->Summarize() : store::IndexSummary{}; };
      self->index_ = co_await RunOn(self->strand_, std::move(summarize));
      co_await self->ComputeNeedsFromStore();
      co_await self->SweepPartFiles();
    };
    asio::co_spawn(loop_, start(self), LogErrors(self, "startup"));
  } else {
    StartBlindFetch();
  }
}

void ShareEngine::OnFolderChanged(fs::ChangedPaths changed) {
  watcher_changes_.Merge(changed);
  if (pullers_ > 0) {
    scan_after_pull_ = true;
    return;
  }
  if (debounce_armed_ || shut_down_) return;
  debounce_armed_ = true;
  debounce_.expires_after(kDebounce);
  debounce_.async_wait([self = shared_from_this()](std::error_code) {
    self->debounce_armed_ = false;
    self->ScheduleScanOf(std::exchange(self->watcher_changes_, {}));
  });
}

// Pulling often pauses only for moments (between batches of records from a
// peer still scanning): the scan it deferred waits until pulling has stayed
// idle a while, so one walk of the tree covers every batch instead of one
// walk per batch holding up the next batch's plans.
void ShareEngine::ScanOncePullsSettle() {
  if (pulls_settle_armed_ || shut_down_) return;
  pulls_settle_armed_ = true;
  pulls_settle_.expires_after(kPullsSettle);
  pulls_settle_.async_wait([self = shared_from_this()](std::error_code ec) {
    self->pulls_settle_armed_ = false;
    if (ec || self->shut_down_ || !self->scan_after_pull_) return;
    if (self->pullers_ > 0) return;  // pulling again: its end arms this anew
    self->scan_after_pull_ = false;
    self->ScheduleScanOf(std::exchange(self->watcher_changes_, {}));
  });
}

asio::awaitable<Result<void>> ShareEngine::Shutdown(bool delete_repo) {
  shut_down_ = true;
  if (watcher_) watcher_->Stop();
  debounce_.cancel();
  pulls_settle_.cancel();
  retry_timer_.cancel();
  recover_timer_.cancel();
  folder_check_timer_.cancel();
  confirm_deletions_.cancel();
  block_slots_.WakeAll();
  large_pulls_.WakeAll();
  auto peers = peers_.all();
  for (const auto& peer : peers) Detach(peer->link.get());
  needs_.Clear();
  auto self = shared_from_this();
  auto close = [self, delete_repo]() -> Result<void> {
    self->repo_.reset();
    self->reader_->Close();
    if (!delete_repo) return Ok();
    return store::DeleteRepository(self->options_.root, self->options_.secrets.share_id());
  };
  co_return co_await RunOn(strand_, std::move(close));
}

void ShareEngine::ScheduleScan() {
  fs::ChangedPaths everything;
  everything.everything = true;
  ScheduleScanOf(std::move(everything));
}

void ShareEngine::ScheduleScanOf(fs::ChangedPaths changed) {
  if (shut_down_ || !options_.secrets.CanRead() || changed.empty()) return;
  scan_pending_.Merge(changed);
  if (scan_running_) return;  // the running loop takes it next
  scan_running_ = true;
  auto self = shared_from_this();
  asio::co_spawn(loop_, [self] { return self->ScanLoop(); }(), LogErrors(self, "scan"));
}

asio::awaitable<void> ShareEngine::ScanLoop() {
  while (!scan_pending_.empty() && !shut_down_) {
    (void)co_await RunScan(std::exchange(scan_pending_, {}), {});
  }
  scan_running_ = false;
}

asio::awaitable<Result<scan::ScanStats>> ShareEngine::Scan(std::set<std::string> record_now) {
  fs::ChangedPaths everything;
  everything.everything = true;
  co_return co_await RunScan(std::move(everything), std::move(record_now));
}

asio::awaitable<Result<scan::ScanStats>> ShareEngine::RunScan(fs::ChangedPaths changed,
                                                              std::set<std::string> record_now) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, fault_);
  if (!options_.secrets.CanRead()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        "this share is a blind replica: it holds no files to scan");
  }
  ++scans_in_flight_;
  auto self = shared_from_this();
  fs::ChangedPaths failed_scope = changed;
  auto work = [self, record_now = std::move(record_now), changed = std::move(changed)]() mutable {
    return self->ScanOnStrand(changed, std::move(record_now));
  };
  ScanOutcome outcome{MakeError(ErrorCode::kInternal, "scan did not run"), {}, {}, {}};
  try {
    outcome = co_await RunOn(strand_, std::move(work));
  } catch (const store::StoreError& e) {
    ReportStoreError(e, "scan");
    outcome.stats = MakeError(ErrorCode::kIo, std::string("scan failed: ") + e.what());
  } catch (const std::exception& e) {
    outcome.stats = MakeError(ErrorCode::kIo, std::string("scan failed: ") + e.what());
  }
  --scans_in_flight_;
  if (shut_down_) co_return outcome.stats;
  if (outcome.stats) {
    TakeScan(outcome);
  } else if (healthy()) {
    last_error_ = outcome.stats.error().message;
    spdlog::warn("share {}: {}", options_.name, last_error_);
    // Its paths are read by the next scan (the next change, or the backstop).
    watcher_changes_.Merge(failed_scope);
  }
  co_return outcome.stats;
}

ShareEngine::ScanOutcome ShareEngine::ScanOnStrand(const fs::ChangedPaths& changed, std::set<std::string> record_now) {
  ScanOutcome outcome{MakeError(ErrorCode::kInternal, "scan did not run"), {}, {}, {}};
  if (!repo_) {
    outcome.stats = MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
    return outcome;
  }
  auto self = shared_from_this();
  // The pool's other thread helps hash large files.
  scan::Helper helper = [self](std::function<void()> task) { asio::post(self->pool_, std::move(task)); };
  scan::Scanner scanner(fs_, *repo_, options_.secrets, author(), options_.root, {}, std::move(helper));
  scanner.OnBatchCommitted([self] { asio::post(self->loop_, [self] { self->PushUpdates(); }); });
  scanner.CheckFolderWith([self] { return self->CheckFolder(/*thorough=*/true); });
  held_deletions_.settle = kConfirmDeletions;
  held_deletions_.record_now = std::move(record_now);
  scanner.HoldDeletionsIn(&held_deletions_);
  if (options_.secrets.CanWrite()) {
    outcome.stats = scanner.ScanChanged(changed);
  } else {
    outcome.stats = scanner.ObserveChanged(changed, outcome.local_changes);
  }
  outcome.summary = repo_->Summarize();
  outcome.held = held_deletions_.paths;
  return outcome;
}

// On the loop: what a scan read replaces what earlier scans said of those
// paths (ScanStats::covered); then what it found is acted on.
void ShareEngine::TakeScan(ScanOutcome& outcome) {
  const scan::ScanStats& s = *outcome.stats;
  last_error_.clear();
  index_ = outcome.summary;
  last_scan_ = s;
  last_scan_unix_ = UnixNow();
  // A folder's key ("d/": it could not be listed) is replaced only by a
  // scan that read what is in it.
  std::erase_if(skipped_, [&](const auto& skipped) { return s.covered.Covers(skipped.first); });
  for (size_t i = 0; i < s.skipped_keys.size(); ++i) skipped_[s.skipped_keys[i]] = s.skipped_paths[i];
  if (!options_.secrets.CanWrite()) MergeLocalChanges(s.covered, std::move(outcome.local_changes));
  if (s.records_written > 0 || s.skipped > 0) {
    spdlog::info("share {}: scanned {} entries in {} ms, hashed {} files ({} bytes), {} new versions, {} deleted, {} skipped",
                 options_.name, s.entries_seen, s.duration_ms, s.files_hashed, s.bytes_hashed,
                 s.records_written, s.deleted, s.skipped);
  }
  held_paths_ = std::move(outcome.held);
  if (s.deletions_held > 0) ConfirmDeletionsSoon();
  auto self = shared_from_this();
  if (s.conflicts > 0) {
    // Settling wrote versions to pull here too (a conflict copy, the winner).
    asio::co_spawn(loop_, [self] { return self->ComputeNeedsFromStore(); }(), LogErrors(self, "conflict"));
  }
  if (s.records_written > 0) PushUpdates();
}

void ShareEngine::MergeLocalChanges(const fs::ChangedPaths& covered, std::vector<scan::LocalChange> found) {
  size_t before = local_changes_.size();
  std::erase_if(local_changes_, [&](const scan::LocalChange& change) { return covered.Covers(change.path); });
  local_changes_.insert(local_changes_.end(), found.begin(), found.end());
  std::sort(local_changes_.begin(), local_changes_.end(),
            [](const scan::LocalChange& a, const scan::LocalChange& b) { return a.path < b.path; });
  if (local_changes_.size() != before) {
    spdlog::info("share {}: {} local changes (a {} replica keeps them to itself)", options_.name,
                 local_changes_.size(), crypto::AccessModeName(options_.secrets.mode()));
  }
  if (options_.test_hooks.send_local_edits && !local_changes_.empty()) SendForgedEdits();
}

// Held deletions are recorded by a scan of them a moment later, if they are
// still missing then and the folder is still the share's. Armed once, not
// pushed back by scans of other paths (a file saved every 100 ms elsewhere
// must not keep a deletion from its peers).
void ShareEngine::ConfirmDeletionsSoon() {
  if (confirm_armed_) return;
  confirm_armed_ = true;
  confirm_deletions_.expires_after(kConfirmDeletions);
  confirm_deletions_.async_wait([self = shared_from_this()](std::error_code ec) {
    self->confirm_armed_ = false;
    if (ec) return;
    fs::ChangedPaths held;
    for (const std::string& path : self->held_paths_) held.AddEntry(path);
    self->ScheduleScanOf(std::move(held));
  });
}

void ShareEngine::SetEnabled(bool enabled) {
  if (enabled_ == enabled) return;
  enabled_ = enabled;
  if (!enabled) {
    large_pulls_.WakeAll();  // pulls waiting to start a large file give up
    auto peers = peers_.all();
    for (const auto& peer : peers) Detach(peer->link.get());
  }
}

void ShareEngine::Attach(std::shared_ptr<PeerLink> peer, std::string offer) {
  if (shut_down_ || !enabled_ || !healthy()) return;
  auto link = peers_.Add(peer, std::move(offer));
  if (!link) return;  // attached already
  spdlog::info("share {}: peer {} attached", options_.name, peer->device_id());
  // Ask for what we have not seen of the peer's store yet.
  auto self = shared_from_this();
  asio::co_spawn(loop_, RequestIndex(link), LogErrors(self, "index request"));
  RetryBlockedNeeds();
  StartBlindFetch();
}

asio::awaitable<void> ShareEngine::RequestIndex(std::shared_ptr<AttachedPeer> link) {
  auto self = shared_from_this();
  std::string device = link->link->device_id();
  auto read_progress = [self, device]() -> std::optional<store::PeerProgress> {
    if (!self->repo_) return std::nullopt;
    return self->repo_->GetPeerProgress(device);
  };
  auto progress = co_await RunOn(strand_, std::move(read_progress));
  wire::Frame frame;
  auto* req = frame.mutable_index_request();
  req->set_share(link->offer);
  if (options_.secrets.CanRead() && !options_.test_hooks.no_reader_proof) {
    req->set_reader_proof(std::string(AsChars(ReaderProofFor(options_.secrets, *link->link))));
  }
  if (progress) {
    req->set_epoch(std::string(AsChars(progress->epoch)));
    req->set_since(progress->last_seq);
  }
  link->link->Send(frame);
}

void ShareEngine::Detach(PeerLink* peer) {
  // Logged before the removal, which may drop the last reference to the peer.
  if (!peers_.Find(peer)) return;
  spdlog::info("share {}: peer {} detached", options_.name, peer->device_id());
  peers_.Remove(peer);
}

asio::awaitable<void> ShareEngine::OnIndexRequest(std::shared_ptr<PeerLink> peer, wire::IndexRequest request) {
  auto link = peers_.Find(peer.get());
  spdlog::debug("share {}: {} asks for records since {}{}", options_.name, peer->device_id(), request.since(),
                link ? "" : " (not attached: ignored)");
  if (!link) co_return;
  bool same_epoch = request.epoch() == std::string(AsChars(epoch_));
  try {
    uint64_t since = same_epoch ? request.since() : 0;
    if (since > 0) {
      // A peer that has seen more of this store than it holds was given
      // records a backup restored over: the numbers are being issued again,
      // so everything is sent again.
      auto last = [reader = reader_] { return reader->LastSeq(); };
      if (since > co_await RunOn(pool_.get_executor(), std::move(last))) since = 0;
    }
    co_await SendIndex(link, since);
  } catch (const store::StoreError& e) {
    ReportStoreError(e, "sending records to " + peer->device_id());
  }
}

asio::awaitable<void> ShareEngine::SendRecords(std::shared_ptr<AttachedPeer> link,
                                               std::vector<store::StoredRecord> records,
                                               uint64_t last_seq, bool caught_up) {
  wire::Frame frame;
  const crypto::ShareSecrets& secrets = options_.secrets;
  // A writer signs each batch of two or more once more, as a whole: the
  // receiver then checks one signature instead of one per record.
  const bool sign_batches = secrets.CanWrite();
  std::vector<crypto::Key32> digests;
  auto start_batch = [&] {
    frame.Clear();
    auto* batch = frame.mutable_index_batch();
    batch->set_share(link->offer);
    batch->set_epoch(std::string(AsChars(epoch_)));
    digests.clear();
  };
  auto send_batch = [&] {
    if (digests.size() >= 2) {
      frame.mutable_index_batch()->set_batch_signature(std::string(AsChars(crypto::SignRecordBatch(secrets, digests))));
    }
    link->link->Send(frame);
  };
  start_batch();
  size_t bytes = 0;
  for (const store::StoredRecord& stored : records) {
    size_t size = stored.record.sealed_entry.size() + 128;
    if (bytes > 0 && bytes + size > kBatchBytes) {
      frame.mutable_index_batch()->set_last_seq(stored.seq - 1);
      send_batch();
      co_await link->link->WaitForRoom();
      start_batch();
      bytes = 0;
    }
    crypto::RecordToWire(stored.record, frame.mutable_index_batch()->add_records());
    if (sign_batches) digests.push_back(crypto::RecordDigest(secrets.share_id(), stored.record));
    bytes += size;
  }
  frame.mutable_index_batch()->set_last_seq(last_seq);
  frame.mutable_index_batch()->set_caught_up(caught_up);
  send_batch();
  co_await link->link->WaitForRoom();
}

asio::awaitable<void> ShareEngine::SendIndex(std::shared_ptr<AttachedPeer> link, uint64_t since) {
  auto self = shared_from_this();
  link->live = false;
  while (!link->link->closed() && !shut_down_) {
    auto read_batch = [reader = reader_, since]() { return reader->RecordsSince(since, kRecordsPerRead); };
    auto records = co_await RunOn(pool_.get_executor(), std::move(read_batch));
    bool done = records.size() < kRecordsPerRead;
    uint64_t last = records.empty() ? since : records.back().seq;
    co_await SendRecords(link, std::move(records), last, done);
    since = last;
    if (done) break;
  }
  link->cursor = since;
  link->live = true;
  link->dirty = true;  // anything stored while we were sending goes out now
  if (!link->pushing) {
    asio::co_spawn(loop_, PushTo(link), LogErrors(self, "index push"));
  }
}

void ShareEngine::PushUpdates() {
  for (const auto& link : peers_.all()) {
    link->dirty = true;
    if (link->live && !link->pushing) {
      asio::co_spawn(loop_, PushTo(link), LogErrors(shared_from_this(), "index push"));
    }
  }
}

asio::awaitable<void> ShareEngine::PushTo(std::shared_ptr<AttachedPeer> link) {
  auto self = shared_from_this();
  link->pushing = true;
  while (link->dirty && !link->link->closed() && !shut_down_) {
    link->dirty = false;
    while (true) {
      uint64_t since = link->cursor;
      auto read_updates = [reader = reader_, since]() { return reader->RecordsSince(since, kRecordsPerRead); };
      auto records = co_await RunOn(pool_.get_executor(), std::move(read_updates));
      if (records.empty() || link->link->closed()) break;
      uint64_t last = records.back().seq;
      bool more = records.size() == kRecordsPerRead;
      co_await SendRecords(link, std::move(records), last, true);
      link->cursor = last;
      if (!more) break;
    }
  }
  link->pushing = false;
}

asio::awaitable<Result<void>> ShareEngine::OnIndexBatch(std::shared_ptr<PeerLink> peer, wire::IndexBatch batch) {
  auto link = peers_.Find(peer.get());
  if (!link) co_return Ok();
  auto self = shared_from_this();
  const std::string device = peer->device_id();
  auto checked = co_await CheckBatch(std::make_shared<wire::IndexBatch>(std::move(batch)));
  if (!checked) co_return checked.error();
  auto& [records, progress] = *checked;
  const size_t received = records.size();
  auto apply = [self, device, progress = std::move(progress),
                records = std::move(records)]() -> std::optional<AppliedBatch> {
    // Settling may copy a local file; and records of a folder that is not
    // the share's any more must not be taken as received there.
    if (!self->repo_ || !self->CheckFolder()) return std::nullopt;
    return ApplyRecords(*self->repo_, self->options_.secrets, self->replica_id_, {self->fs_, self->options_.root},
                        device, progress, records);
  };
  // A failure here is this device's, not the peer's: the share stops (and
  // the connection, which may carry other shares, stays up). The batch is
  // asked for again when the peer attaches next, from the stored progress.
  std::optional<AppliedBatch> applied;
  try {
    applied = co_await RunOn(strand_, std::move(apply));
  } catch (const store::StoreError& e) {
    ReportStoreError(e, "storing records from " + device);
    co_return Ok();
  }
  if (!applied) co_return Ok();  // gone, or the folder is not the share's: CheckFolder stopped it
  spdlog::debug("share {}: {} records from {}, {} stored", options_.name, received, device, applied->stored);
  if (applied->stored > 0) {
    // Echoing a peer's own records back would cost it a signature check
    // each (10,000 of them for a new tree), and, while its scan holds its
    // store, stall that connection. Skipped only when the peer has had
    // everything before them; otherwise the echo is merely redundant.
    if (applied->verbatim && link->live && link->cursor + 1 == applied->verbatim->first) {
      link->cursor = applied->verbatim->second;
    }
    AddNeeds(applied->needs);
    if (!options_.secrets.CanRead()) StartBlindFetch();
    PushUpdates();  // relay to our other peers
  }
  co_return Ok();
}

// Checking signatures and opening entries needs no store: it runs on the
// pool, so the strand stays free for pulls while a large index arrives. A
// signature check (~35 us) is most of a small file's cost to the receiver:
// a batch a writer signed as a whole is checked once, over the records'
// digests; any other record by record. Either way a large batch is worked
// through in halves, one on each pool thread.
asio::awaitable<Result<std::pair<std::vector<CheckedRecord>, store::PeerProgress>>> ShareEngine::CheckBatch(
    std::shared_ptr<const wire::IndexBatch> batch) {
  auto self = shared_from_this();
  // A live edit's batch of one or a few is not worth a second trip.
  const size_t n = static_cast<size_t>(batch->records_size());
  const size_t used = n >= 16 ? 2 : 1;
  std::array<std::optional<Result<std::vector<CheckedRecord>>>, 2> parts;
  std::function<asio::awaitable<void>(size_t)> check_part = [&](size_t k) -> asio::awaitable<void> {
    auto work = [self, batch, begin = n * k / used, end = n * (k + 1) / used] {
      return CheckRecords(self->options_.secrets, *batch, begin, end);
    };
    parts[k].emplace(co_await RunOn(pool_.get_executor(), std::move(work)));
  };
  co_await ForEachConcurrently(used, used, std::move(check_part));
  std::vector<CheckedRecord> checked;
  checked.reserve(n);
  for (size_t k = 0; k < used; ++k) {
    if (!*parts[k]) co_return parts[k]->error();  // the first bad record in the batch's order
    for (CheckedRecord& item : **parts[k]) checked.push_back(std::move(item));
  }
  if (!batch->batch_signature().empty()) {
    if (auto signed_ok = CheckBatchSignature(options_.secrets, *batch, checked); !signed_ok) co_return signed_ok.error();
  }
  co_return std::make_pair(std::move(checked), store::PeerProgress{ToBytes(AsBytes(batch->epoch())), batch->last_seq()});
}

asio::awaitable<Result<uint64_t>> ShareEngine::RevertLocalChanges(std::string path) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, fault_);
  if (!options_.secrets.CanRead() || options_.secrets.CanWrite()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        std::string("only read replicas keep local changes to revert; this share is a ") +
                            crypto::AccessModeName(options_.secrets.mode()) + " replica");
  }
  auto self = shared_from_this();
  auto revert = [self, path]() -> Result<Revert> {
    if (!self->repo_) return Revert{};
    TANDEM_RETURN_IF_ERROR(self->CheckFolder());
    return RevertOnDisk(*self->repo_, self->fs_, self->options_.secrets, self->author(), self->options_.root, path);
  };
  auto reverted = co_await RunOn(strand_, std::move(revert));
  if (!reverted) co_return reverted.error();
  for (const std::string& failure : reverted->failed) spdlog::warn("share {}: {}", options_.name, failure);
  if (!path.empty() && reverted->count == 0) {
    co_return MakeError(ErrorCode::kNotFound, "no local change at " + path + "; see tandem info for the list");
  }
  spdlog::info("share {}: reverting {} local changes", options_.name, reverted->count);
  AddNeeds(reverted->needs);
  ScheduleScan();
  co_return reverted->count;
}

asio::awaitable<Result<std::vector<Conflict>>> ShareEngine::ListConflicts() {
  if (!options_.secrets.CanRead()) {
    co_return MakeError(ErrorCode::kFailedPrecondition, "a blind replica cannot see file names, nor conflicts");
  }
  auto self = shared_from_this();
  auto list = [self]() -> std::vector<Conflict> {
    return self->repo_ ? sync::ListConflicts(*self->repo_, self->options_.secrets) : std::vector<Conflict>{};
  };
  co_return co_await RunOn(strand_, std::move(list));
}

asio::awaitable<Result<std::string>> ShareEngine::ResolveConflict(std::string key, ConflictKeep keep) {
  if (!options_.secrets.CanWrite()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        std::string("a ") + crypto::AccessModeName(options_.secrets.mode()) +
                            " replica cannot resolve conflicts: only write replicas change the share");
  }
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, fault_);
  auto listed = co_await ListConflicts();
  if (!listed) co_return listed.error();
  auto found = FindConflict(*listed, key);
  if (!found) co_return found.error();
  Conflict conflict = std::move(*found);
  const auto& secrets = options_.secrets;
  for (const std::string& path : {conflict.id, conflict.path}) {
    if (needs_.Contains(crypto::ComputeLocator(secrets.locator_key(), path))) {
      co_return MakeError(ErrorCode::kFailedPrecondition,
                          path + " has a newer version still arriving; resolve once the share is in sync");
    }
  }
  auto self = shared_from_this();
  auto act = [self, conflict, keep]() -> Result<std::string> {
    TANDEM_RETURN_IF_ERROR(self->CheckFolder());
    return ResolveOnDisk(self->fs_, self->options_.root, conflict, keep);
  };
  auto done = co_await RunOn(strand_, std::move(act));
  if (!done) co_return done.error();
  spdlog::info("share {}: conflict {}: {}", options_.name, conflict.id, *done);
  // Indexed now, so the resolution is a version like any other edit.
  if (auto scanned = co_await Scan({conflict.id}); !scanned) co_return scanned.error();
  co_return *done;
}

void ShareEngine::SendForgedEdits() {
  spdlog::warn("share {}: TEST HOOK: sending {} local changes as records this replica cannot sign", options_.name,
               local_changes_.size());
  auto self = shared_from_this();
  auto forge = [self, changes = local_changes_]() {
    if (!self->repo_) return std::vector<crypto::Record>{};
    return ForgeEditRecords(*self->repo_, self->fs_, self->options_.secrets, self->options_.root, changes,
                            self->options_.device_short_id, self->replica_id_);
  };
  auto send = [](std::shared_ptr<ShareEngine> self, decltype(forge) forge) -> asio::awaitable<void> {
    auto records = co_await RunOn(self->strand_, std::move(forge));
    for (const auto& peer : self->peers_.all()) {
      peer->link->Send(ForgedBatch(self->options_.secrets, peer->offer, self->epoch_, records,
                                   self->options_.test_hooks.sign_forged_batches));
    }
  };
  asio::co_spawn(loop_, send(self, std::move(forge)), LogErrors(self, "test hook"));
}

asio::awaitable<wire::BlockResponse> ShareEngine::OnBlockRequest(wire::BlockRequest request, bool peer_reads) {
  auto self = shared_from_this();
  wire::BlockResponse refused;
  refused.set_request_id(request.request_id());
  refused.set_not_available(true);
  if (shut_down_ || !enabled_ || !healthy()) co_return refused;
  try {
    co_return co_await block_server_.Answer(request, peer_reads);
  } catch (const store::StoreError& e) {
    ReportStoreError(e, "serving a block");  // answered "not available": the peer asks elsewhere
  }
  co_return refused;
}

EngineStatus ShareEngine::Status() const {
  EngineStatus status;
  if (scans_in_flight_ > 0) {
    status.state = "scanning";
  } else if (needs_.pulling()) {
    status.state = "syncing";
  } else {
    status.state = "idle";
  }
  status.need_files = needs_.files();
  status.received_bytes = received_bytes_;
  status.need_bytes = needs_.bytes();
  if (blind_fetching_ && status.state == "idle") status.state = "syncing";
  status.need_blocks = blind_missing_blocks_;
  status.need_bytes += blind_missing_bytes_;
  for (const auto& peer : peers_.all()) status.connected_devices.push_back(peer->link->device_id());
  status.local_changes = local_changes_;
  status.index = index_;
  status.last_scan = last_scan_;
  status.last_scan_unix = last_scan_unix_;
  status.last_error = !fault_.empty() ? fault_ : last_error_;
  for (const auto& [path, why] : skipped_) status.skipped.push_back(why);
  status.failed = needs_.failures();
  return status;
}

}  // namespace tandem::sync
