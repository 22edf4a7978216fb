// The puller half of ShareEngine: the pull workers take paths from the need
// queue, and each pull is planned (PullPlanner), assembled (Assembler) and
// its outcome given back to the queue. No disk access is made here.
#include <asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "sync/share_engine.h"

namespace tandem::sync {
namespace {

namespace stdfs = std::filesystem;

// Many files at once keep a group commit full and the network busy while
// each small file waits for its one round trip; the blocks in flight are
// bounded for the whole share, whatever the number of files. A worker waits
// for its file's group commit, so a quarter of them or more are often
// waiting there: 256 instead of 64 took W2 from 2.15-2.34 s to 1.93-2.22 s.
// (Block requests per share and large files at once: ShareEngine.)
constexpr int kPullWorkers = 256;  // files assembled at once

// Records read at once when looking for what the disk does not hold yet.
constexpr size_t kRecordsPerPage = 1024;

// What a pull does, as item events name it (Syncthing's words); empty for
// what the user does not see happen (the index catching up with the disk).
std::string_view ItemAction(const PullPlan& plan) {
  switch (plan.action) {
    case PullAction::kRemove: return "delete";
    case PullAction::kSetMetadata: return "metadata";
    case PullAction::kMakeFolder:
    case PullAction::kMakeSymlink:
    case PullAction::kFetch: return "update";
    case PullAction::kRefuseUnsafe:
    case PullAction::kRefuseFolded: return plan.entry->deleted ? "delete" : "update";
    default: return "";
  }
}

// What it takes for the disk to hold `entry`, or nothing when it does. A
// disk that holds this version's content gets its vector: a local edit
// then descends from it.
std::optional<Need> NeedOf(store::Repository& repo, const crypto::Entry& entry, const VersionVector& vector) {
  auto local = repo.GetFileState(entry.path.str());
  bool satisfied = entry.deleted ? !local
                                 : local && local->kind == entry.kind && local->mode == entry.mode &&
                                       (entry.kind == crypto::EntryKind::kDirectory ||
                                        (local->blocks == entry.blocks && local->size == entry.size));
  if (!satisfied) return Need{entry.deleted ? 0 : entry.size, entry.deleted};
  if (local && local->vector != vector) {
    local->vector = vector;
    repo.PutFileState(*local);
  }
  return std::nullopt;
}

}  // namespace

void ShareEngine::AddNeeds(const std::vector<std::pair<crypto::Locator, Need>>& needs) {
  needs_.Add(needs);
  StartPullers();
}

void ShareEngine::RetryBlockedNeeds() {
  needs_.RetryBlocked();
  StartPullers();
}

void ShareEngine::ScheduleRetry() {
  if (retry_armed_ || !needs_.has_blocked() || shut_down_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(retry_backoff_.Next());
  retry_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    self->retry_armed_ = false;
    if (!ec) self->RetryBlockedNeeds();
  });
}

void ShareEngine::StartPullers() {
  if (shut_down_ || !enabled_ || !healthy()) return;
  auto self = shared_from_this();
  while (pullers_ < kPullWorkers && pullers_ < static_cast<int>(needs_.queued())) {
    ++pullers_;
    asio::co_spawn(loop_, PullWorker(), [self](std::exception_ptr e) {
      --self->pullers_;
      // Needs queued while this worker was finishing must not wait for the
      // next event: start a worker for them now.
      self->StartPullers();
      // Counted here, after the worker has ended: two workers finishing
      // together would each have seen the other still running.
      if (self->pullers_ == 0) self->OnPullersIdle();
      LogErrors(self, "puller")(e);
    });
  }
  NoteState();
}

asio::awaitable<void> ShareEngine::ComputeNeedsFromStore() {
  auto self = shared_from_this();
  auto find_needs = [self]() {
    std::vector<std::pair<crypto::Locator, Need>> out;
    if (!self->repo_) return out;
    store::Repository& repo = *self->repo_;
    self->LoadIgnorePatternsOnce();
    // A page of records at a time: every record of a large share opened at
    // once held 400 bytes each (40 MiB for 100,000 files).
    uint64_t after = 0;
    for (bool more = true; more;) {
      std::vector<store::StoredRecord> page = repo.RecordsSince(after, kRecordsPerPage);
      more = page.size() == kRecordsPerPage;
      if (!page.empty()) after = page.back().seq;
      auto tx = repo.Begin();
      for (const store::StoredRecord& stored : page) {
        auto entry = crypto::OpenRecord(self->options_.secrets, stored.record);
        if (!entry || self->ignores_.Ignores(entry->path.str())) continue;
        if (auto need = NeedOf(repo, *entry, stored.record.vector)) out.emplace_back(stored.record.locator, *need);
      }
      tx.Commit();
    }
    return out;
  };
  auto needs = co_await RunOn(strand_, std::move(find_needs));
  if (!needs.empty()) {
    spdlog::info("share {}: {} paths still to bring up to date", options_.name, needs.size());
    AddNeeds(needs);
  }
}

asio::awaitable<void> ShareEngine::PullWorker() {
  auto self = shared_from_this();
  while (!shut_down_ && enabled_ && healthy()) {
    auto next = needs_.Take();
    if (!next) break;
    auto [locator, generation] = *next;
    // Filled in as the pull goes (what it is about, whether it was told
    // as started), so that one that throws is still told as finished.
    PullOutcome pulled{NeedQueue::Outcome::kFailed, "not pulled"};
    try {
      co_await PullOne(locator, pulled);
    } catch (const store::StoreError& e) {
      ReportStoreError(e, "pulling");
      pulled.outcome = NeedQueue::Outcome::kWaiting;
      pulled.why = e.what();
    } catch (const std::exception& e) {
      pulled.outcome = NeedQueue::Outcome::kFailed;
      pulled.why = e.what();
    }
    if (!needs_.Contains(locator)) {  // shut down meanwhile
      if (pulled.started) TellPulled(pulled, false);
      continue;
    }
    bool new_reason = false;
    NeedQueue::Next then = needs_.Finish(locator, generation, pulled.outcome, pulled.why, &new_reason, pulled.path);
    TellPulled(pulled, new_reason);
    if (then == NeedQueue::Next::kPullAgain) continue;  // a newer record arrived while this one was pulled
    switch (pulled.outcome) {
      case NeedQueue::Outcome::kPulled:
        // Pulled without its part file (a local edit superseded the version
        // it was for): nothing will resume it.
        assembler_.DropPartFile(locator);
        retry_backoff_.Reset();
        if (needs_.files() == 0) NoteState();
        continue;
      case NeedQueue::Outcome::kWaiting:
        // Retried when a peer (re)attaches or sends records.
        spdlog::debug("share {}: \"{}\": waiting for blocks: {}", options_.name, pulled.path, pulled.why);
        break;
      case NeedQueue::Outcome::kFailed:
        if (new_reason) spdlog::warn("share {}: \"{}\": {}", options_.name, pulled.path, pulled.why);
        break;
    }
    ScheduleRetry();
    NoteState();
  }
}

void ShareEngine::TellPulled(const PullOutcome& pulled, bool why_is_new) {
  if (pulled.action.empty() || !options_.events) return;
  // A fetch was told when it started; what the plan did alone starts and
  // ends here.
  if (!pulled.started) {
    Emit(EventType::kItemStarted, {{"path", pulled.path}, {"action", pulled.action}, {"size", pulled.size}});
  }
  nlohmann::json finished = {{"path", pulled.path}, {"action", pulled.action}, {"size", pulled.size}};
  if (pulled.outcome != NeedQueue::Outcome::kPulled) finished["error"] = pulled.why;
  Emit(EventType::kItemFinished, std::move(finished));
  if (pulled.outcome == NeedQueue::Outcome::kFailed && why_is_new) {
    Emit(EventType::kItemFailed, {{"path", pulled.path}, {"action", pulled.action}, {"reason", pulled.why}});
  }
}

void ShareEngine::OnPullersIdle() {
  if (shut_down_) return;
  scans_.OnPullersIdle();
  // The summary shown to the user catches up with what was pulled, and
  // the share says idle only then.
  RefreshSummary(/*after_pulls=*/true);
  NoteState();
}

// A failure of the assembly is waited out when no peer had the blocks
// (kNotFound) or the share cannot write now (kFailedPrecondition: paused,
// removed, the folder or the store refused); any other is the path's own.
ShareEngine::PullOutcome ShareEngine::AssemblyOutcome(const Result<void>& done) {
  if (done) return {NeedQueue::Outcome::kPulled, {}};
  const bool waiting = done.error().code == ErrorCode::kNotFound || done.error().code == ErrorCode::kFailedPrecondition;
  return {waiting ? NeedQueue::Outcome::kWaiting : NeedQueue::Outcome::kFailed, done.error().message};
}

asio::awaitable<void> ShareEngine::PullOne(crypto::Locator locator, PullOutcome& out) {
  auto self = shared_from_this();
  RevertAsked revert;
  if (auto need = needs_.Find(locator); need && need->revert) revert = need->revert_disk;
  // One transaction for the whole plan: each query alone would take and
  // drop SQLite's file locks, a handful of system calls each, and a plan
  // makes several (and one per block).
  auto plan_in_transaction = [self, locator, revert]() -> PullPlan {
    if (!self->repo_) return {};
    auto tx = self->repo_->BeginDeferred();
    PullPlan plan = self->planner_.Plan(locator, revert);
    tx.Commit();
    return plan;
  };
  auto plan = co_await RunOn(strand_, std::move(plan_in_transaction));
  assembler_.KeepPartFile(locator, plan);
  // What the item events say of it, once the plan has opened the record.
  auto ended = [&out](NeedQueue::Outcome outcome, std::string why) {
    out.outcome = outcome;
    out.why = std::move(why);
  };
  auto about = [&out, &plan] {
    out.path = plan.entry->path.str();
    out.action = ItemAction(plan);
    out.size = plan.entry->deleted ? 0 : plan.entry->size;
  };
  switch (plan.step) {
    case PullPlan::Step::kDone:
      if (plan.entry) about();
      co_return ended(NeedQueue::Outcome::kPulled, {});
    case PullPlan::Step::kRetryLater:
    case PullPlan::Step::kLookAlike:
      if (plan.entry) about();
      co_return ended(NeedQueue::Outcome::kFailed, plan.error);
    case PullPlan::Step::kUnavailable: co_return ended(NeedQueue::Outcome::kWaiting, plan.error);
    case PullPlan::Step::kLocalChange:
      // The disk holds something not yet indexed: index it first, then plan
      // again; the scan's outcome decides which version wins.
      scans_.ScanEntrySoon(plan.entry->path.str());
      co_return ended(NeedQueue::Outcome::kWaiting, "waiting for a local change to be indexed");
    case PullPlan::Step::kFetch: break;
  }
  AsyncSlots::Held large_slot;
  if (plan.entry->size >= fs::PartFile::kDirectFrom) {
    large_slot = co_await large_pulls_.Acquire([this] { return !shut_down_ && enabled_; });
    // Removed or paused while waiting: a removed share's folder may be gone
    // already, and a paused one must not start new files.
    if (!large_slot) co_return ended(NeedQueue::Outcome::kWaiting, "the share is paused or removed");
  }
  // Started once it may go ahead, not while it waits for a slot.
  about();
  Emit(EventType::kItemStarted, {{"path", out.path}, {"action", out.action}, {"size", out.size}});
  out.started = true;
  PullOutcome assembled = AssemblyOutcome(co_await AssembleAndFinish(locator, std::move(plan)));
  ended(assembled.outcome, std::move(assembled.why));
}

asio::awaitable<Result<void>> ShareEngine::AssembleAndFinish(crypto::Locator locator, PullPlan plan) {
  auto self = shared_from_this();
  const bool whole = Assembler::WritesWhole(plan);
  if (!whole) {
    // The disk work of a fetch needs no index: it runs beside the strand.
    auto start = [self, plan = std::move(plan)]() mutable {
      self->assembler_.Start(plan);
      return std::move(plan);
    };
    plan = co_await RunOn(pool_.get_executor(), std::move(start));
    if (plan.step == PullPlan::Step::kRetryLater) co_return MakeError(ErrorCode::kIo, plan.error);
  }
  // Progress is told of files assembled from blocks; one written whole
  // is there at once.
  std::function<void(uint64_t)> on_block;
  if (!whole) {
    uint64_t reused_bytes = plan.entry->size;
    for (size_t i : plan.missing) reused_bytes -= plan.entry->blocks[i].size;
    progress_.Begin(locator, plan.entry->path.str(), plan.entry->size, reused_bytes,
                    plan.entry->blocks.size() - plan.missing.size(), plan.missing.size());
    on_block = [self, locator](uint64_t bytes) { self->progress_.Fetched(locator, bytes); };
  }
  auto assembled = co_await assembler_.Assemble(plan, whole, std::move(on_block));
  if (!whole) progress_.End(locator, assembled.has_value());
  if (!assembled) co_return assembled;
  co_return co_await assembler_.Finish(locator, std::move(plan));
}

}  // namespace tandem::sync
