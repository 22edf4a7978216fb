#include "sync/share_engine.h"

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

#include "base/async.h"

namespace tandem::sync {
namespace {

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
                    ignores_, {options_.test_hooks.forge_blocks, options_.test_hooks.slow_blocks}),
      epoch_(repo_->epoch()), replica_id_(repo_->replica_id()),
      guard_(std::make_shared<store::ShareFolderGuard>(options_.root, options_.secrets.share_id())),
      versions_(fs, options_.root),
      context_{loop, pool, strand_, fs, options_.name, options_.root, options_.secrets,
               [this](asio::awaitable<void> work, const char* what) { Spawn(std::move(work), what); }, &versions_},
      health_(context_, guard_,
              {.on_failed = [this] { OnFailed(); },
               .on_recovered = [this] { OnRecovered(); },
               .probe_store = [this] { if (repo_) repo_->Probe(); }}),
      scans_(context_, [this](fs::ChangedPaths changed) { return ScanQuietly(std::move(changed)); },
             [this] { return pullers_ > 0; }),
      sender_(context_, reader_, epoch_),
      fetcher_(context_, peers_, [this](std::string why) { last_error_ = std::move(why); }),
      blind_(context_, repo_, fetcher_, [this] { return !shut_down_ && enabled_; },
             [this](store::IndexSummary summary) {
               index_ = std::move(summary);
               NoteState();
             }),
      group_commit_(context_, [this](const std::function<void()>& group) { return InCheckedTransaction(group); },
                    [this](const store::StoreError& e) { ReportStoreError(e, "moving finished files into place"); }),
      planner_(context_, repo_, options_.device_short_id, [this] { return CheckFolder(); }, ignores_),
      assembler_(context_, repo_, fetcher_, group_commit_,
                 [this](std::string path) {
                   asio::post(loop_, [self = shared_from_this(), path = std::move(path)] {
                     self->scans_.ScanEntrySoon(std::move(path));
                   });
                 },
                 ignores_),
      progress_(loop, [this](nlohmann::json data) { Emit(EventType::kDownloadProgress, std::move(data)); }),
      retry_timer_(loop), large_pulls_(loop.get_executor(), kLargePulls) {
  guard_->PinDatabase(options_.root / RelPath::kRepoDirName / store::kIndexFileName);
  versions_.SetPolicy(options_.versioning);
  ignores_.set_name(options_.name);
}

void ShareEngine::Emit(EventType type, nlohmann::json data) {
  if (options_.events) options_.events(type, std::move(data));
}

std::pair<std::string_view, std::string> ShareEngine::CurrentState() const {
  if (!health_.ok()) return {kStateError, health_.fault()};
  if (!last_error_.empty()) return {kStateError, last_error_};
  if (!enabled_) return {kStatePaused, "paused: nothing is sent or received until `tandem resume`"};
  if (scans_.scanning()) return {kStateScanning, "looking for changes in the folder"};
  for (const auto& peer : peers_.all()) {
    if (!peer->caught_up) return {kStateSyncing, "receiving the index of " + peer->link->device_id()};
  }
  if (needs_.pulling() || blind_.fetching()) {
    return {kStateSyncing, std::to_string(needs_.files()) + " paths to bring up to date"};
  }
  if (counting_pulled_ > 0) return {kStateSyncing, "counting what was pulled"};
  if (peers_.empty()) {
    return {kStateWaitingForPeers, met_peer_ ? "no peer is connected" : "no peer has connected yet"};
  }
  if (needs_.files() > 0) {
    const size_t failed = needs_.failures().size();
    return {kStateIdle, failed > 0 ? std::to_string(failed) + " paths cannot be synced (see failed)"
                                   : std::to_string(needs_.files()) + " paths wait for blocks no connected peer has"};
  }
  return {kStateIdle, ""};
}

void ShareEngine::NoteState() {
  if (shut_down_) return;
  auto [state, reason] = CurrentState();
  const bool in_sync = state == kStateIdle && needs_.files() == 0 && met_peer_ && needs_loaded_;
  if (in_sync) last_in_sync_unix_ = UnixNow();
  if (state != told_state_) {
    nlohmann::json data = {{"state", state}, {"reason", reason}, {"from", told_state_}};
    told_state_ = std::string(state);
    Emit(EventType::kShareStateChanged, std::move(data));
  }
  const std::string error = state == kStateError ? reason : std::string();
  if (error != told_error_) {
    told_error_ = error;
    if (!error.empty()) Emit(EventType::kShareError, {{"message", error}});
  }
}

void ShareEngine::TellChanges(EventType type, const std::vector<scan::LocalChange>& changes,
                              const std::vector<scan::ConflictCopy>& conflicts, const std::string& device,
                              bool kept_local) {
  if (!options_.events) return;
  for (const scan::LocalChange& change : changes) {
    nlohmann::json data = {{"path", change.path},
                           {"kind", scan::LocalChangeName(change.kind)},
                           {"type", crypto::EntryKindName(change.entry_kind)},
                           {"device", device}};
    if (kept_local) data["kept_local"] = true;
    Emit(type, std::move(data));
  }
  for (const scan::ConflictCopy& conflict : conflicts) {
    Emit(EventType::kConflictCreated, {{"path", conflict.path}, {"copy", conflict.copy}, {"device", device}});
  }
}

void ShareEngine::TellIgnorePatterns(bool changed) {
  const std::string error = ignores_.error();
  if (changed) {
    auto rules = ignores_.rules();
    Emit(EventType::kIgnorePatternsChanged, {{"files", rules ? rules->files() : std::vector<std::string>{}}});
  }
  if (error == told_ignore_error_) return;
  told_ignore_error_ = error;
  if (!error.empty()) Emit(EventType::kIgnorePatternsFailed, {{"message", error}});
}

void ShareEngine::Spawn(asio::awaitable<void> work, const char* what) {
  asio::co_spawn(loop_, std::move(work), LogErrors(shared_from_this(), what));
}

Result<void> ShareEngine::InCheckedTransaction(const std::function<void()>& body) {
  if (!repo_) return Ok();
  auto tx = repo_->Begin();
  TANDEM_RETURN_IF_ERROR(CheckFolder());
  body();
  tx.Commit();
  return Ok();
}

// Every way out of syncing comes here: peers are let go (the Service stops
// offering the share, so no peer attaches again), no pull starts, no scan
// records anything. The need queue is rebuilt from the store on recovery.
void ShareEngine::OnFailed() {
  fetcher_.WakeWaiters();
  large_pulls_.WakeAll();
  // Queued needs wait as blocked ones do: recovery queues them again.
  needs_.BlockQueued();
  auto peers = peers_.all();
  for (const auto& peer : peers) Detach(peer->link.get());
  if (options_.on_health_changed) options_.on_health_changed();
  NoteState();
}

void ShareEngine::OnRecovered() {
  last_error_.clear();
  if (options_.on_health_changed) options_.on_health_changed();
  NoteState();
  RetryBlockedNeeds();
  ScheduleScan();
  if (options_.secrets.CanRead()) {
    Spawn(ComputeNeedsFromStore(), "recovery");
  } else {
    StartBlindFetch();
  }
}

void ShareEngine::StartBlindFetch() {
  if (!shut_down_ && enabled_ && healthy() && !options_.secrets.CanRead()) blind_.Start();
}

void ShareEngine::RefreshSummary(bool after_pulls) {
  auto refresh = [](std::shared_ptr<ShareEngine> self, bool after_pulls) -> asio::awaitable<void> {
    // Until the counts include what was pulled, the share is not told idle:
    // "in sync" with the old counts (0 files) was shown once the status
    // was read between the last pull and this summary.
    struct Counting {
      ShareEngine* engine;
      bool active;
      ~Counting() {
        if (active) --engine->counting_pulled_;
      }
    } counting{self.get(), after_pulls};
    if (after_pulls) ++self->counting_pulled_;
    auto summarize = [self]() { return self->repo_ ? self->repo_->Summarize() : store::IndexSummary{}; };
    self->index_ = co_await RunOn(self->strand_, std::move(summarize));
    if (after_pulls) {
      counting.active = false;
      --self->counting_pulled_;
      self->NoteState();
    }
  };
  Spawn(refresh(shared_from_this(), after_pulls), "summary");
}

void ShareEngine::Start() {
  ScheduleScan();
  NoteState();
  health_.StartWatching();
  // Read replicas watch too: their local changes are tracked and reported.
  if (options_.secrets.CanRead()) {
    std::weak_ptr<ShareEngine> weak = weak_from_this();
    watcher_ = std::make_shared<fs::Watcher>(loop_, options_.root, [weak](fs::ChangedPaths changed) {
      if (auto self = weak.lock()) self->scans_.OnFolderChanged(std::move(changed));
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
      auto summarize = [self]() {
        if (!self->repo_) return store::IndexSummary{};
        // Before any need is computed: a path ignored here is not one.
        self->LoadIgnorePatternsOnce();
        return self->repo_->Summarize();
      };
      self->index_ = co_await RunOn(self->strand_, std::move(summarize));
      self->TellIgnorePatterns(false);
      co_await self->ComputeNeedsFromStore();
      self->needs_loaded_ = true;
      co_await self->assembler_.SweepPartFiles([self] { return self->needs_.locators(); },
                                               [self] { return self->shut_down_; });
      (void)co_await self->CleanupVersions();
    };
    asio::co_spawn(loop_, start(self), LogErrors(self, "startup"));
  } else {
    needs_loaded_ = true;  // a blind replica's needs are found by each fetch pass
    StartBlindFetch();
  }
}

asio::awaitable<Result<void>> ShareEngine::Shutdown(bool delete_repo) {
  shut_down_ = true;
  if (watcher_) watcher_->Stop();
  scans_.Stop();
  retry_timer_.cancel();
  health_.Stop();
  sender_.Stop();
  fetcher_.Stop();
  blind_.Stop();
  progress_.Stop();
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

asio::awaitable<void> ShareEngine::ScanQuietly(fs::ChangedPaths changed) {
  (void)co_await RunScan(std::move(changed), {});  // what failed is logged, and shown by Status
}

asio::awaitable<Result<scan::ScanStats>> ShareEngine::Scan(std::set<std::string> record_now) {
  fs::ChangedPaths everything;
  everything.everything = true;
  co_return co_await RunScan(std::move(everything), std::move(record_now));
}

asio::awaitable<Result<scan::ScanStats>> ShareEngine::RunScan(fs::ChangedPaths changed,
                                                              std::set<std::string> record_now) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, health_.fault());
  if (!options_.secrets.CanRead()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        "this share is a blind replica: it holds no files to scan");
  }
  scans_.ScanStarted();
  NoteState();
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
  scans_.ScanEnded();
  if (shut_down_) co_return outcome.stats;
  TellIgnorePatterns(outcome.ignore_rules_changed);
  if (outcome.stats) {
    TakeScan(outcome);
  } else if (healthy()) {
    last_error_ = outcome.stats.error().message;
    spdlog::warn("share {}: {}", options_.name, last_error_);
    scans_.ScanFailed(failed_scope);
  }
  NoteState();
  co_return outcome.stats;
}

ShareEngine::ScanOutcome ShareEngine::ScanOnStrand(const fs::ChangedPaths& changed, std::set<std::string> record_now) {
  ScanOutcome outcome{MakeError(ErrorCode::kInternal, "scan did not run"), {}, {}, {}};
  if (!repo_) {
    outcome.stats = MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
    return outcome;
  }
  auto self = shared_from_this();
  // The pattern files changed (or this is a scan of everything): read
  // again. Rules that changed make this a scan of everything, so that what
  // is no longer ignored is found.
  fs::ChangedPaths scope = changed;
  if (ignores_.Touches(changed)) ReloadIgnorePatterns();
  if (std::exchange(ignore_rules_changed_, false)) {
    outcome.ignore_rules_changed = true;
    scope = fs::ChangedPaths{};
    scope.everything = true;
  }
  auto rules = ignores_.rules();
  if (!rules) {
    // Not read yet (the folder failed its check) or not known (a bad file).
    auto folder = CheckFolder(/*thorough=*/true);
    outcome.stats = folder ? MakeError(ErrorCode::kFailedPrecondition, ignores_.error()) : folder.error();
    ignore_rules_changed_ |= outcome.ignore_rules_changed;
    outcome.ignore_rules_changed = false;
    return outcome;
  }
  // The pool's other thread helps hash large files.
  scan::Helper helper = [self](std::function<void()> task) { asio::post(self->pool_, std::move(task)); };
  scan::Scanner scanner(fs_, *repo_, options_.secrets, author(), options_.root, {}, std::move(helper));
  scanner.OnBatchCommitted([self] { asio::post(self->loop_, [self] { self->sender_.PushUpdates(self->peers_); }); });
  scanner.CheckFolderWith([self] { return self->CheckFolder(/*thorough=*/true); });
  held_deletions_.settle = scans_.pauses().confirm_deletions;
  held_deletions_.record_now = std::move(record_now);
  scanner.HoldDeletionsIn(&held_deletions_);
  scanner.IgnoreWith(std::move(rules));
  if (options_.secrets.CanWrite()) {
    outcome.stats = scanner.ScanChanged(scope);
  } else {
    outcome.stats = scanner.ObserveChanged(scope, outcome.local_changes);
  }
  // A failed scan of everything leaves the rules change for the next one:
  // what is no longer ignored must still be found and pulled.
  if (!outcome.stats && outcome.ignore_rules_changed) {
    ignore_rules_changed_ = true;
    outcome.ignore_rules_changed = false;
  }
  outcome.summary = repo_->Summarize();
  outcome.held = held_deletions_.paths;
  return outcome;
}

// On the loop: what a scan read replaces what earlier scans said of those
// paths (ScanStats::covered); then what it found is acted on.
void ShareEngine::TakeScan(ScanOutcome& outcome) {
  scan::ScanStats& s = *outcome.stats;
  last_error_.clear();
  index_ = outcome.summary;
  TellChanges(EventType::kLocalChangeDetected, s.changes, s.conflict_copies, options_.device_id);
  // Told: not kept with the last scan's figures (up to 10,000 paths, copied
  // by every status).
  s.changes = {};
  s.conflict_copies = {};
  // A read replica's changes are not recorded: those new since the last
  // scan are told as they are found.
  std::set<std::pair<std::string, scan::LocalChange::Kind>> known_changes;
  if (options_.events && !options_.secrets.CanWrite()) {
    for (const scan::LocalChange& change : report_.local_changes()) known_changes.emplace(change.path, change.kind);
  }
  if (outcome.ignore_rules_changed) report_.ForgetIgnored();
  const bool local_changes_changed = report_.Take(s, std::move(outcome.local_changes), UnixNow());
  if (local_changes_changed && options_.events && !options_.secrets.CanWrite()) {
    std::vector<scan::LocalChange> found;
    for (const scan::LocalChange& change : report_.local_changes()) {
      if (!known_changes.count({change.path, change.kind})) found.push_back(change);
    }
    TellChanges(EventType::kLocalChangeDetected, found, {}, options_.device_id, /*kept_local=*/true);
  }
  if (local_changes_changed) {
    spdlog::info("share {}: {} local changes (a {} replica keeps them to itself)", options_.name,
                 report_.local_changes().size(), crypto::AccessModeName(options_.secrets.mode()));
  }
  if (options_.test_hooks.send_local_edits && !report_.local_changes().empty()) SendForgedEdits();
  if (s.records_written > 0 || s.skipped > 0) {
    spdlog::info("share {}: scanned {} entries in {} ms, hashed {} files ({} bytes), {} new versions, {} deleted, {} skipped",
                 options_.name, s.entries_seen, s.duration_ms, s.files_hashed, s.bytes_hashed,
                 s.records_written, s.deleted, s.skipped);
  }
  scans_.HoldDeletions(std::move(outcome.held), s.deletions_held > 0);
  if (s.conflicts > 0 || outcome.ignore_rules_changed) {
    // Settling wrote versions to pull here too (a conflict copy, the
    // winner); records of paths no longer ignored are to be pulled now.
    Spawn(ComputeNeedsFromStore(), s.conflicts > 0 ? "conflict" : "ignore patterns");
  }
  if (s.records_written > 0) sender_.PushUpdates(peers_);
}

void ShareEngine::SetEnabled(bool enabled) {
  if (enabled_ == enabled) return;
  enabled_ = enabled;
  if (!enabled) {
    large_pulls_.WakeAll();  // pulls waiting to start a large file give up
    auto peers = peers_.all();
    for (const auto& peer : peers) Detach(peer->link.get());
  }
  NoteState();
}

void ShareEngine::Attach(std::shared_ptr<PeerLink> peer, std::string offer) {
  if (shut_down_ || !enabled_ || !healthy()) return;
  auto link = peers_.Add(peer, std::move(offer));
  if (!link) return;  // attached already
  spdlog::info("share {}: peer {} attached", options_.name, peer->device_id());
  Emit(EventType::kPeerConnected, {{"device", peer->device_id()}, {"address", peer->address()}});
  NoteState();
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
  if (options_.secrets.CanWrite()) {
    req->set_writer_proof(std::string(AsChars(WriterProofFor(options_.secrets, *link->link))));
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
  std::string reason = peer->close_reason();
  if (reason.empty()) reason = shut_down_ ? "the share was closed" : !enabled_ ? "the share was paused" : !healthy() ? "the share stopped syncing: " + health_.fault() : "the peer stopped sharing it";
  Emit(EventType::kPeerDisconnected, {{"device", peer->device_id()}, {"address", peer->address()}, {"reason", reason}});
  peers_.Remove(peer);
  NoteState();
}

asio::awaitable<void> ShareEngine::OnIndexRequest(std::shared_ptr<PeerLink> peer, wire::IndexRequest request) {
  auto link = peers_.Find(peer.get());
  spdlog::debug("share {}: {} asks for records since {}{}", options_.name, peer->device_id(), request.since(),
                link ? "" : " (not attached: ignored)");
  if (!link) co_return;
  try {
    co_await sender_.Answer(link, request);
  } catch (const store::StoreError& e) {
    ReportStoreError(e, "sending records to " + peer->device_id());
  }
}

asio::awaitable<Result<void>> ShareEngine::OnIndexBatch(std::shared_ptr<PeerLink> peer, wire::IndexBatch batch) {
  auto link = peers_.Find(peer.get());
  if (!link) co_return Ok();
  auto self = shared_from_this();
  const std::string device = peer->device_id();
  const bool batch_caught_up = batch.caught_up();
  auto checked = co_await CheckBatch(pool_, options_.secrets, std::make_shared<wire::IndexBatch>(std::move(batch)));
  if (!checked) co_return checked.error();
  auto& [records, progress] = *checked;
  const size_t received = records.size();
  auto apply = [self, device, progress = std::move(progress),
                records = std::move(records)]() -> std::optional<std::pair<AppliedBatch, store::IndexSummary>> {
    // Settling may copy a local file; and records of a folder that is not
    // the share's any more must not be taken as received there.
    if (!self->repo_ || !self->CheckFolder()) return std::nullopt;
    self->LoadIgnorePatternsOnce();
    AppliedBatch applied = ApplyRecords(*self->repo_, self->options_.secrets, self->replica_id_,
                                        {self->fs_, self->options_.root}, device, progress, records,
                                        &self->ignores_);
    // A few rows (kept by triggers): what completion is measured against.
    store::IndexSummary summary = applied.stored > 0 ? self->repo_->Summarize() : store::IndexSummary{};
    return std::make_pair(std::move(applied), summary);
  };
  // A failure here is this device's, not the peer's: the share stops (and
  // the connection, which may carry other shares, stays up). The batch is
  // asked for again when the peer attaches next, from the stored progress.
  std::optional<std::pair<AppliedBatch, store::IndexSummary>> result;
  try {
    result = co_await RunOn(strand_, std::move(apply));
  } catch (const store::StoreError& e) {
    ReportStoreError(e, "storing records from " + device);
    co_return Ok();
  }
  if (!result) co_return Ok();  // gone, or the folder is not the share's: CheckFolder stopped it
  AppliedBatch* applied = &result->first;
  if (applied->stored > 0 && !shut_down_) index_ = result->second;
  TellChanges(EventType::kRemoteChangeDetected, applied->changes, applied->conflict_copies, device);
  if (batch_caught_up && !link->caught_up) {
    link->caught_up = true;
    met_peer_ = true;
  }
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
    sender_.PushUpdates(peers_);  // relay to our other peers
  }
  NoteState();
  co_return Ok();
}

asio::awaitable<wire::BlockResponse> ShareEngine::OnBlockRequest(wire::BlockRequest request, bool peer_reads) {
  auto self = shared_from_this();
  wire::BlockResponse refused;
  refused.set_request_id(request.request_id());
  refused.set_not_available(true);
  if (shut_down_ || !enabled_ || !healthy()) co_return refused;
  try {
    wire::BlockResponse response = co_await block_server_.Answer(request, peer_reads);
    sent_.Add(response.sealed().size() + response.plain().size());
    co_return response;
  } catch (const store::StoreError& e) {
    ReportStoreError(e, "serving a block");  // answered "not available": the peer asks elsewhere
  }
  co_return refused;
}

EngineStatus ShareEngine::Status() const {
  EngineStatus status;
  auto [state, reason] = CurrentState();
  status.state = std::string(state);
  status.state_reason = std::move(reason);
  status.need_files = needs_.files();
  status.need_deletes = needs_.deletions();
  status.received_bytes = fetcher_.received_bytes();
  status.download_rate = fetcher_.receive_rate();
  status.sent_bytes = sent_.total();
  status.upload_rate = sent_.PerSecond();
  status.need_bytes = needs_.bytes();
  status.need_blocks = blind_.missing_blocks();
  status.need_bytes += blind_.missing_bytes();
  if (met_peer_ && needs_loaded_) {
    // As Syncthing measures it, in bytes of the share's version held here,
    // never 100 while anything is still needed. The share's version is what
    // the disk holds plus what is still needed (the index counts the disk,
    // not records); files being assembled count with the bytes they have.
    const uint64_t total = (options_.secrets.CanRead() ? index_.bytes : index_.sealed_bytes) + status.need_bytes;
    const uint64_t missing = status.need_bytes - std::min(status.need_bytes, progress_.bytes_done());
    double percent = total == 0 ? 100.0 : 100.0 * (1.0 - static_cast<double>(std::min(missing, total)) / total);
    if (status.need_files > 0 || status.need_blocks > 0 || blind_.fetching()) percent = std::min(percent, 99.9);
    status.completion = percent;
  }
  status.last_in_sync_unix = last_in_sync_unix_;
  for (const auto& peer : peers_.all()) {
    status.connected_devices.push_back(peer->link->device_id());
    status.peers.push_back({peer->link->device_id(), peer->link->address(), peer->caught_up, peer->cursor,
                            index_.max_seq});
  }
  status.local_changes = report_.local_changes();
  status.index = index_;
  status.last_scan = report_.last_scan();
  status.last_scan_unix = report_.last_scan_unix();
  status.last_error = !health_.ok() ? health_.fault() : last_error_;
  status.skipped = report_.skipped();
  status.ignored = report_.ignored();
  status.ignore_error = ignores_.error();
  status.failed = needs_.failures();
  return status;
}

}  // namespace tandem::sync
