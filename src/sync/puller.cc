// The puller half of ShareEngine: bringing the disk up to the records. Every
// write goes through fs::Filesystem; no POSIX call is made here.
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "crypto/keyed_hash.h"
#include "crypto/seal.h"
#include "scan/conflict.h"
#include "sync/local_blocks.h"
#include "sync/pull_decision.h"
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
constexpr int kPullWorkers = 256;               // files assembled at once
constexpr size_t kBlocksInFlight = 64;          // block requests per file
constexpr size_t kBlindBlocksInFlight = 64;     // a blind replica's block requests

store::LocalFileState StateFromDisk(const std::string& path, crypto::EntryKind kind, const fs::FileInfo& info,
                                    std::vector<crypto::BlockRef> blocks, VersionVector vector) {
  return {.path = path, .kind = kind, .size = kind == crypto::EntryKind::kFile ? info.size : 0,
          .mtime_ns = info.mtime_ns, .ctime_ns = info.ctime_ns, .inode = info.inode, .mode = info.mode,
          .blocks = std::move(blocks), .vector = std::move(vector)};
}

// An indexed path that this folder's filesystem takes for `path` or for one
// of its folders not indexed yet (folders indexed here were checked when
// they came): the two differ only in case or Unicode normalisation, and the
// disk finds one file under both names (macOS, Windows, ext4 with casefold).
// Writing `path` would overwrite that file. On a filesystem that tells them
// apart (ext4, as Linux mostly is) both are written, as any two names; the
// filesystem is asked for each path, since casefold can be set per folder.
std::optional<std::string> FindFoldedInto(fs::Filesystem& fs, const stdfs::path& root, store::Repository& repo,
                                          const RelPath& path) {
  std::string prefix = path.str();
  while (!prefix.empty()) {
    if (auto found = repo.FindLookAlike(prefix)) {
      auto mine = fs.Lstat(root / prefix);
      auto theirs = fs.Lstat(root / *found);
      if (mine && theirs && mine->inode == theirs->inode) return found;
    }
    size_t slash = prefix.rfind('/');
    if (slash == std::string::npos) break;
    prefix.resize(slash);
    if (repo.GetFileState(prefix)) break;
  }
  return std::nullopt;
}

// A scan of a record's path (a name the disk did not give).
fs::ChangedPaths ChangedEntry(std::string path) {
  fs::ChangedPaths changed;
  changed.AddAsked(std::move(path));
  return changed;
}

// Whether the disk (a Lstat result) is as `then` says: the same file state,
// or missing both times.
bool SameDisk(const Result<fs::FileInfo>& now, const std::optional<fs::FileInfo>& then) {
  return now ? then && *now == *then : !then;
}

bool SameMeta(const store::LocalFileState& a, const store::LocalFileState& b) {
  return a.kind == b.kind && a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns &&
         a.inode == b.inode && a.mode == b.mode;
}

}  // namespace

struct ShareEngine::PullPlan {
  enum class Step { kDone, kFetch, kRetryLater, kLocalChange, kLookAlike, kUnavailable };
  Step step = Step::kDone;
  std::optional<crypto::Entry> entry;
  uint64_t seq = 0;
  VersionVector vector;  // of the record being applied
  // Set while reverting a read replica's local change: the disk it was asked for.
  std::optional<std::optional<fs::FileInfo>> revert;
  std::optional<store::LocalFileState> expected_local;  // what the disk held when planned
  stdfs::path tmp;
  std::shared_ptr<fs::FileInAssembly> part;  // open from StartTemporaryFile until the blocks are all in
  std::vector<std::vector<store::BlockLocation>> sources;  // local copies of each block
  std::vector<uint64_t> offsets;  // of each block
  std::vector<size_t> missing;    // block indexes to fetch
  std::string error;

  PullPlan& Stop(Step why, std::string message) {
    step = why;
    error = std::move(message);
    return *this;
  }
};

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
}

asio::awaitable<void> ShareEngine::ComputeNeedsFromStore() {
  auto self = shared_from_this();
  auto find_needs = [self]() {
    std::vector<std::pair<crypto::Locator, Need>> out;
    if (!self->repo_) return out;
    store::Repository& repo = *self->repo_;
    std::vector<std::tuple<crypto::Locator, crypto::Entry, VersionVector>> entries;
    repo.ForEachRecord([&](store::StoredRecord&& stored) {
      auto entry = crypto::OpenRecord(self->options_.secrets, stored.record);
      if (entry) entries.emplace_back(stored.record.locator, std::move(*entry), stored.record.vector);
    });
    auto tx = repo.Begin();
    for (auto& [locator, entry, vector] : entries) {
      auto local = repo.GetFileState(entry.path.str());
      bool satisfied = entry.deleted ? !local
                                     : local && local->kind == entry.kind && local->mode == entry.mode &&
                                           (entry.kind == crypto::EntryKind::kDirectory ||
                                            (local->blocks == entry.blocks && local->size == entry.size));
      if (!satisfied) {
        out.emplace_back(locator, Need{entry.deleted ? 0 : entry.size});
      } else if (local && local->vector != vector) {
        // The disk holds this version's content: a local edit descends from it.
        local->vector = vector;
        repo.PutFileState(*local);
      }
    }
    tx.Commit();
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
    Result<void> pulled = MakeError(ErrorCode::kInternal, "not pulled");
    try {
      pulled = co_await PullOne(locator);
    } catch (const store::StoreError& e) {
      ReportStoreError(e, "pulling");
      pulled = MakeError(ErrorCode::kFailedPrecondition, e.what());
    } catch (const std::exception& e) {
      pulled = MakeError(ErrorCode::kIo, e.what());
    }
    if (!needs_.Contains(locator)) continue;  // shut down meanwhile
    NeedQueue::Outcome outcome = NeedQueue::Outcome::kPulled;
    if (!pulled) {
      bool waiting = pulled.error().code == ErrorCode::kNotFound ||
                     pulled.error().code == ErrorCode::kFailedPrecondition;
      outcome = waiting ? NeedQueue::Outcome::kWaiting : NeedQueue::Outcome::kFailed;
    }
    bool new_reason = false;
    NeedQueue::Next then =
        needs_.Finish(locator, generation, outcome, pulled ? std::string() : pulled.error().message, &new_reason);
    if (then == NeedQueue::Next::kPullAgain) continue;  // a newer record arrived while this one was pulled
    if (pulled) {
      // Pulled without its part file (a local edit superseded the version
      // it was for): nothing will resume it.
      if (auto kept = kept_parts_.find(locator); kept != kept_parts_.end()) {
        (void)fs_.Remove(kept->second);
        kept_parts_.erase(kept);
      }
      retry_backoff_.Reset();
      continue;
    }
    if (outcome == NeedQueue::Outcome::kWaiting) {
      // Retried when a peer (re)attaches or sends records.
      spdlog::debug("share {}: waiting for blocks: {}", options_.name, pulled.error().message);
    } else if (new_reason) {
      spdlog::warn("share {}: {}", options_.name, pulled.error().message);
    }
    ScheduleRetry();
  }
}

void ShareEngine::OnPullersIdle() {
  if (shut_down_) return;
  if (scan_after_pull_) ScanOncePullsSettle();
  // The summary shown to the user catches up with what was pulled.
  auto self = shared_from_this();
  auto refresh = [](std::shared_ptr<ShareEngine> self) -> asio::awaitable<void> {
    auto summarize = [self]() { return self->repo_ ? self->repo_->Summarize() : store::IndexSummary{}; };
    self->index_ = co_await RunOn(self->strand_, std::move(summarize));
  };
  asio::co_spawn(loop_, refresh(self), LogErrors(self, "summary"));
}

// On the strand: what the record, the index and the disk say (pull_decision.h).
PullFacts ShareEngine::GatherFacts(const crypto::Entry& entry,
                                   const std::optional<std::optional<fs::FileInfo>>& revert_asked) {
  store::Repository& repo = *repo_;
  const stdfs::path full = options_.root / entry.path.str();
  PullFacts facts;
  facts.entry = &entry;
  facts.can_write = options_.secrets.CanWrite();
  facts.parents_are_folders = fs::ParentsAreFolders(fs_, options_.root, entry.path);
  if (!facts.parents_are_folders) return facts;
  facts.indexed = repo.GetFileState(entry.path.str());
  facts.disk = fs_.Lstat(full);
  facts.revert = revert_asked && SameDisk(facts.disk, *revert_asked);
  if (!entry.deleted && !facts.indexed) facts.folded_into = FindFoldedInto(fs_, options_.root, repo, entry.path);
  if (entry.kind == crypto::EntryKind::kSymlink && facts.disk && facts.disk->kind == fs::FileKind::kSymlink) {
    auto target = fs_.ReadLink(full);
    facts.symlink_as_recorded = target && *target == entry.symlink_target;
  }
  return facts;
}

// On the strand: decides what pulling `locator` does and does all of it
// that needs no peer; a file to assemble is left as kFetch, with every
// local copy of its blocks found.
ShareEngine::PullPlan ShareEngine::PlanPull(const crypto::Locator& locator,
                                            const std::optional<std::optional<fs::FileInfo>>& revert_asked) {
  PullPlan plan;
  store::Repository& repo = *repo_;
  auto stored = repo.GetRecord(locator);
  if (!stored) return plan;
  auto opened = crypto::OpenRecord(options_.secrets, stored->record);
  if (!opened) return plan;
  plan.entry = std::move(*opened);
  plan.seq = stored->seq;
  plan.vector = stored->record.vector;
  // Nothing is written into a folder that is not the share's any more.
  if (auto ok = CheckFolder(); !ok) return plan.Stop(PullPlan::Step::kUnavailable, ok.error().message);
  const PullFacts facts = GatherFacts(*plan.entry, revert_asked);
  const PullDecision decision = DecidePull(facts);
  plan.expected_local = facts.indexed;
  plan.revert = facts.revert ? revert_asked : std::nullopt;
  if (decision.move_edit_aside) {
    if (auto moved = MoveEditAside(*plan.entry, *facts.disk); !moved) {
      return plan.Stop(PullPlan::Step::kRetryLater, moved.error().message);
    }
    plan.expected_local.reset();
  }
  if (auto done = CarryOut(decision, facts, locator, plan); !done) {
    return plan.Stop(PullPlan::Step::kRetryLater, done.error().message);
  }
  return plan;
}

// A read replica cannot publish its edit: the edit moves aside to a
// conflict copy name, still a local change, and the share's version takes
// the name.
Result<void> ShareEngine::MoveEditAside(const crypto::Entry& entry, const fs::FileInfo& disk) {
  const std::string& rel = entry.path.str();
  crypto::Entry local{.path = entry.path};
  local.mtime_ns = disk.mtime_ns;
  local.device_short_id = options_.device_short_id;
  std::string copy;
  for (int later = 0; later < 100 && (copy.empty() || fs_.Lstat(options_.root / copy)); ++later) {
    copy = scan::ConflictCopyPath(local, later);
  }
  if (auto moved = fs_.Rename(options_.root / rel, options_.root / copy); !moved) {
    return MakeError(ErrorCode::kIo, "cannot move the local edit of " + rel + " aside: " + moved.error().message);
  }
  spdlog::warn("share {}: {} was edited here; the share's version takes its place and the edit is kept as {}",
               options_.name, rel, copy);
  repo_->DeleteFileState(rel);
  return Ok();
}

// Made aside in .tandem/tmp and renamed into place, replacing what is there.
Result<void> ShareEngine::MakeSymlinkFor(const crypto::Entry& entry, const crypto::Locator& locator) {
  const stdfs::path repo_dir = options_.root / RelPath::kRepoDirName;
  (void)fs::MakeFoldersBelow(fs_, repo_dir, "tmp");
  (void)fs::MakeFoldersBelow(fs_, options_.root, entry.path.Parent());
  stdfs::path tmp = repo_dir / "tmp" / (HexEncode(locator).substr(0, 16) + ".link");
  (void)fs_.Remove(tmp);
  auto made = fs_.MakeSymlink(entry.symlink_target, tmp);
  if (made) made = fs_.Rename(tmp, options_.root / entry.path.str());
  if (!made) {
    (void)fs_.Remove(tmp);
    return MakeError(ErrorCode::kIo, "cannot create symlink " + entry.path.str() + ": " + made.error().message);
  }
  return Ok();
}

// On the strand: does what `decision` says, except a fetch, which is only
// prepared (plan.step = kFetch). An error is this path's, retried later.
Result<void> ShareEngine::CarryOut(const PullDecision& decision, const PullFacts& facts,
                                   const crypto::Locator& locator, PullPlan& plan) {
  store::Repository& repo = *repo_;
  const crypto::Entry& entry = *plan.entry;
  const std::string& rel = entry.path.str();
  const stdfs::path full = options_.root / rel;
  // Never the share's folder or its .tandem: when those are gone, the
  // share is not here and nothing may be made in their place.
  const stdfs::path repo_dir = options_.root / RelPath::kRepoDirName;
  auto index_disk = [&](std::vector<crypto::BlockRef> blocks) {
    if (auto now = fs_.Lstat(full)) repo.PutFileState(StateFromDisk(rel, entry.kind, *now, std::move(blocks), plan.vector));
  };
  switch (decision.action) {
    case PullAction::kNothing:
      return Ok();
    case PullAction::kRefuseUnsafe:
      plan.Stop(PullPlan::Step::kRetryLater, decision.why);
      return Ok();
    case PullAction::kRefuseFolded:
      plan.Stop(PullPlan::Step::kLookAlike, decision.why);
      return Ok();
    case PullAction::kIndexLocalChange:
      plan.Stop(PullPlan::Step::kLocalChange, {});
      return Ok();
    case PullAction::kForgetIndexed:
      repo.DeleteFileState(rel);
      return Ok();
    case PullAction::kRemove: {
      // A folder only if empty: children go first.
      auto removed = facts.disk->kind == fs::FileKind::kDirectory ? fs_.RemoveFolder(full) : fs_.Remove(full);
      if (!removed && removed.error().code != ErrorCode::kNotFound) return removed;
      repo.DeleteFileState(rel);
      return Ok();
    }
    case PullAction::kMakeFolder: {
      if (facts.disk && facts.disk->kind != fs::FileKind::kDirectory && !decision.move_edit_aside) (void)fs_.Remove(full);
      auto made = fs::MakeFoldersBelow(fs_, options_.root, rel);
      if (made) made = fs_.SetMode(full, entry.mode);
      if (!made) return MakeError(ErrorCode::kIo, "cannot create folder " + rel + ": " + made.error().message);
      index_disk({});
      return Ok();
    }
    case PullAction::kIndexDisk:
      index_disk({});
      return Ok();
    case PullAction::kMakeSymlink:
      TANDEM_RETURN_IF_ERROR(MakeSymlinkFor(entry, locator));
      index_disk({});
      return Ok();
    case PullAction::kSetMetadata:
      (void)fs_.SetMode(full, entry.mode);
      (void)fs_.SetMtime(full, entry.mtime_ns);
      index_disk(entry.blocks);
      return Ok();
    case PullAction::kFetch:
      break;
  }
  Bytes list_id = ToBytes(crypto::Sha256(crypto::EncodeBlockList(entry.blocks)));
  plan.tmp = repo_dir / "tmp" / (HexEncode(locator).substr(0, 16) + "-" + HexEncode(list_id).substr(0, 16) + ".part");
  plan.sources.reserve(entry.blocks.size());
  for (const crypto::BlockRef& block : entry.blocks) plan.sources.push_back(repo.FindBlock(block.id));
  // Here on the strand, which Shutdown waits for before deleting .tandem:
  // the disk work after the fetch only creates files, never folders.
  (void)fs::MakeFoldersBelow(fs_, repo_dir, "tmp");
  (void)fs::MakeFoldersBelow(fs_, options_.root, entry.path.Parent());
  plan.step = PullPlan::Step::kFetch;
  return Ok();
}

// On the loop, not posted: no pull of this path can then make a part file
// of the same name before the unlink runs. One system call.
void ShareEngine::KeepPartFile(const crypto::Locator& locator, const PullPlan& plan) {
  if (auto kept = kept_parts_.find(locator); kept != kept_parts_.end()) {
    const bool superseded = plan.step == PullPlan::Step::kDone ||
                            (plan.step == PullPlan::Step::kFetch && kept->second != plan.tmp);
    if (superseded) {
      (void)fs_.Remove(kept->second);
      kept_parts_.erase(kept);
    }
  }
  // Until it is renamed into place, whatever this pull writes stays for a resume.
  if (plan.step == PullPlan::Step::kFetch) kept_parts_[locator] = plan.tmp;
}

asio::awaitable<Result<void>> ShareEngine::PullOne(crypto::Locator locator) {
  auto self = shared_from_this();
  std::optional<std::optional<fs::FileInfo>> revert;  // the disk the revert was asked for
  if (const Need* need = needs_.Find(locator); need && need->revert) revert = need->revert_disk;
  // One transaction for the whole plan: each query alone would take and
  // drop SQLite's file locks, a handful of system calls each, and a plan
  // makes several (and one per block).
  auto plan_in_transaction = [self, locator, revert]() -> PullPlan {
    if (!self->repo_) return {};
    auto tx = self->repo_->BeginDeferred();
    PullPlan plan = self->PlanPull(locator, revert);
    tx.Commit();
    return plan;
  };
  auto plan = co_await RunOn(strand_, std::move(plan_in_transaction));
  KeepPartFile(locator, plan);
  AsyncSlots::Held large_slot;
  if (plan.step == PullPlan::Step::kFetch && plan.entry->size >= fs::PartFile::kDirectFrom) {
    large_slot = co_await large_pulls_.Acquire([this] { return !shut_down_ && enabled_; });
    // Removed or paused while waiting: a removed share's folder may be gone
    // already, and a paused one must not start new files.
    if (!large_slot) co_return MakeError(ErrorCode::kFailedPrecondition, "the share is paused or removed");
  }
  // A file of one block that no local file holds (most small files) is
  // written whole in the pool trip that checks its block: a part file would
  // take three trips (create, place, close), and each trip is two thread
  // hand-offs. Its block is in memory either way.
  const bool whole = plan.step == PullPlan::Step::kFetch && plan.entry->blocks.size() == 1 &&
                     plan.sources.front().empty();
  if (plan.step == PullPlan::Step::kFetch && !whole) {
    // The disk work of a fetch needs no index: it runs beside the strand.
    auto start = [self, plan = std::move(plan)]() mutable {
      self->StartTemporaryFile(plan);
      return std::move(plan);
    };
    plan = co_await RunOn(pool_.get_executor(), std::move(start));
  }

  switch (plan.step) {
    case PullPlan::Step::kDone: co_return Ok();
    case PullPlan::Step::kRetryLater: co_return MakeError(ErrorCode::kIo, plan.error);
    case PullPlan::Step::kUnavailable: co_return MakeError(ErrorCode::kFailedPrecondition, plan.error);
    case PullPlan::Step::kLookAlike: co_return MakeError(ErrorCode::kAlreadyExists, plan.error);
    case PullPlan::Step::kLocalChange:
      // The disk holds something not yet indexed: index it first, then plan
      // again; the scan's outcome decides which version wins.
      ScheduleScanOf(ChangedEntry(plan.entry->path.str()));
      co_return MakeError(ErrorCode::kFailedPrecondition, "waiting for a local change to be indexed");
    case PullPlan::Step::kFetch: break;
  }
  if (auto assembled = co_await Assemble(plan, whole); !assembled) co_return assembled;
  stdfs::path tmp_path = plan.tmp;
  auto renamed = std::make_shared<bool>(false);
  auto move_into_place = [self, locator, renamed, plan = std::move(plan)]() {
    return self->MoveIntoPlace(locator, plan, *renamed);
  };
  auto finished = co_await FinishDurably(tmp_path, std::move(move_into_place));
  if (*renamed) kept_parts_.erase(locator);
  co_return finished;
}

// The file's blocks fetched into its temporary copy, which is then closed
// (and stamped with the record's mode and mtime when complete).
asio::awaitable<Result<void>> ShareEngine::Assemble(PullPlan& plan, bool whole) {
  auto self = shared_from_this();
  Result<void> fetched = Ok();
  try {
    if (whole) {
      const crypto::Entry& entry = *plan.entry;
      // A file of one block is written, stamped and closed at once: its
      // temporary copy is complete when this returns (not yet synced). The
      // folders were made when the pull was planned: a share removed since
      // has no .tandem/tmp to write in, and gets none back.
      auto write = [self, tmp = plan.tmp, mode = entry.mode, mtime_ns = entry.mtime_ns](ByteView plain) {
        return self->fs_.WriteNewFile(tmp, plain, mode, mtime_ns);
      };
      fetched = co_await FetchBlock(entry.blocks.front(), entry.path.str(), std::move(write));
    } else if (!plan.missing.empty()) {
      fetched = co_await FetchMissing(plan);
    }
  } catch (const std::exception& e) {
    // Still closed on the pool below: closing may write and wait for the disk.
    fetched = MakeError(ErrorCode::kIo, "fetching " + plan.entry->path.str() + ": " + e.what());
  }
  // One trip to the pool closes the part file and, if every block came,
  // gives it its mode and mtime before the sync, so they are durable with
  // the data. What is gathered in memory goes to the disk also after a
  // failure: the retry resumes from what the part file holds.
  const bool has_part = plan.part != nullptr;
  auto close_part = [part = std::move(plan.part), stamp = fetched.has_value(), mode = plan.entry->mode,
                     mtime_ns = plan.entry->mtime_ns]() mutable -> Result<void> {
    if (!part) return Ok();
    auto flushed = part->Flush();
    if (flushed && stamp) flushed = part->Stamp(mode, mtime_ns);
    part.reset();
    return flushed;
  };
  Result<void> closed = Ok();
  if (has_part) closed = co_await RunOn(pool_.get_executor(), std::move(close_part));
  if (!fetched) co_return fetched;
  if (!closed) co_return MakeError(closed.error().code, "cannot write " + plan.entry->path.str() + ": " + closed.error().message);
  co_return Ok();
}

// On the strand, in a group (FinishDurably): the assembled file takes its
// name if the record is still the one assembled and the disk is still as
// planned; otherwise a local edit came meanwhile and is indexed first.
Result<void> ShareEngine::MoveIntoPlace(const crypto::Locator& locator, const PullPlan& plan, bool& renamed) {
  if (!repo_) return Ok();
  store::Repository& repo = *repo_;
  const crypto::Entry& entry = *plan.entry;
  const std::string& rel = entry.path.str();
  stdfs::path full = options_.root / rel;
  auto stored = repo.GetRecord(locator);
  if (!stored || stored->seq != plan.seq) return Ok();  // superseded: the newer record is queued
  auto local = repo.GetFileState(rel);
  auto disk = fs_.Lstat(full);
  // A revert goes ahead only while the disk is as it was when asked.
  bool unchanged = (plan.revert && SameDisk(disk, *plan.revert)) ||
                   ((plan.expected_local ? local && SameMeta(*local, *plan.expected_local) : !local) &&
                    scan::DiskAsIndexed(local, disk));
  if (!unchanged) {
    asio::post(loop_, [self = shared_from_this(), rel] { self->ScheduleScanOf(ChangedEntry(rel)); });
    return MakeError(ErrorCode::kFailedPrecondition, "waiting for a local change to be indexed");
  }
  if (!fs::ParentsAreFolders(fs_, options_.root, entry.path, &folders_in_group_)) {
    return MakeError(ErrorCode::kIo, "not writing " + rel + ": a folder above it is a symlink or a file here");
  }
  if (auto moved = fs_.Rename(plan.tmp, full); !moved) {
    return MakeError(ErrorCode::kIo, "cannot move " + rel + " into place: " + moved.error().message);
  }
  renamed = true;
  if (auto now = fs_.Lstat(full)) repo.PutFileState(StateFromDisk(rel, entry.kind, *now, entry.blocks, plan.vector));
  return Ok();
}

asio::awaitable<void> ShareEngine::SweepPartFiles() {
  auto self = shared_from_this();
  auto list = [dir = options_.root / RelPath::kRepoDirName / "tmp"] {
    std::vector<stdfs::path> parts;
    std::error_code ec;
    for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".part") parts.push_back(it->path());
    }
    return parts;
  };
  auto parts = co_await RunOn(pool_.get_executor(), std::move(list));
  if (shut_down_) co_return;
  // Part files are named after the first 16 hex digits of their locator.
  std::map<std::string, crypto::Locator> needed;
  for (const crypto::Locator& locator : needs_.locators()) needed.emplace(HexEncode(locator).substr(0, 16), locator);
  // Decided and removed here on the loop, with no suspension in between:
  // a pull that starts meanwhile either is seen here or comes after.
  size_t removed = 0;
  for (stdfs::path& part : parts) {
    auto found = needed.find(part.filename().string().substr(0, 16));
    bool stale = found == needed.end();
    if (!stale) {
      // A pull of the path already wants a part file of its own: this one
      // is of an older version.
      auto [kept, fresh] = kept_parts_.emplace(found->second, part);
      stale = !fresh && kept->second != part;
    }
    if (stale && fs_.Remove(part)) ++removed;
  }
  if (removed > 0) {
    spdlog::info("share {}: removed {} unfinished downloads of versions no longer wanted", options_.name, removed);
  }
}

// Every assembled file is made durable before it takes its real name. One
// fsync per file costs a journal commit each (about 1 ms here, on the
// strand): 10,000 small files spent 10 s on it. Files are instead finished
// in groups: whatever is ready while the previous group commits waits for
// the next, and the group's renames and local states go in one SQLite
// transaction. A small group (a single edit while idle) fsyncs its files;
// a larger one is made durable by one syncfs, which also waits for other
// programs' dirty data on that filesystem, a cost worth paying only when
// it is shared by many files.
constexpr size_t kFsyncEachUpTo = 4;

struct ShareEngine::FinishTicket {
  explicit FinishTicket(asio::io_context& loop) : done(loop) {
    done.expires_at(asio::steady_timer::time_point::max());
  }
  stdfs::path tmp;                        // the assembled file
  std::function<Result<void>()> finish;  // on the strand, once synced
  Result<void> result = MakeError(ErrorCode::kInternal, "not finished");
  bool ready = false;
  asio::steady_timer done;
};

asio::awaitable<Result<void>> ShareEngine::FinishDurably(stdfs::path tmp, std::function<Result<void>()> finish) {
  auto ticket = std::make_shared<FinishTicket>(loop_);
  ticket->tmp = std::move(tmp);
  ticket->finish = std::move(finish);
  finish_queue_.push_back(ticket);
  if (!committing_) {
    committing_ = true;
    asio::co_spawn(loop_, CommitFinishedFiles(), LogErrors(shared_from_this(), "finishing files"));
  }
  while (!ticket->ready) {
    std::error_code ec;
    co_await ticket->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(ticket->result);
}

// On the pool: a small group fsyncs its files, a larger one syncs the
// filesystem once. A failure is the disk's (kIo: listed), never "waiting".
Result<void> ShareEngine::MakeDurable(const std::vector<stdfs::path>& files) {
  if (files.size() > kFsyncEachUpTo) {
    if (auto synced = fs_.SyncFilesystem(options_.root); !synced) return MakeError(ErrorCode::kIo, synced.error().message);
    return Ok();
  }
  for (const stdfs::path& file : files) {
    if (auto synced = fs_.SyncFile(file); !synced) return MakeError(ErrorCode::kIo, synced.error().message);
  }
  return Ok();
}

asio::awaitable<void> ShareEngine::CommitFinishedFiles() {
  auto self = shared_from_this();
  while (!finish_queue_.empty()) {
    std::vector<std::shared_ptr<FinishTicket>> group;
    group.swap(finish_queue_);
    Result<void> synced = Ok();
    try {
      std::vector<stdfs::path> files;
      for (const auto& ticket : group) files.push_back(ticket->tmp);
      auto sync = [self, files = std::move(files)] { return self->MakeDurable(files); };
      synced = co_await RunOn(pool_.get_executor(), std::move(sync));
      if (synced) {
        auto finish_all = [self, group]() {
          if (!self->repo_) return true;
          auto tx = self->repo_->Begin();
          // Folders found real are taken as such for the rest of the group
          // (a few ms for W2's ~120-file groups, against the microseconds
          // between one file's check and its rename): files moved together
          // share folders, and each lstat walks the whole path.
          self->folders_in_group_.clear();
          // Once per group: the folder is still the share's.
          if (auto ok = self->CheckFolder(); !ok) {
            for (const auto& ticket : group) ticket->result = MakeError(ErrorCode::kFailedPrecondition, ok.error().message);
            return true;
          }
          for (const auto& ticket : group) {
            try {
              ticket->result = ticket->finish();
            } catch (const store::StoreError&) {
              throw;  // the store's, not this file's: the share stops (ReportStoreError)
            } catch (const std::exception& e) {
              ticket->result = MakeError(ErrorCode::kIo, e.what());  // this file only; retried
            }
          }
          self->folders_in_group_.clear();
          tx.Commit();
          return true;
        };
        co_await RunOn(strand_, std::move(finish_all));
      }
    } catch (const store::StoreError& e) {
      ReportStoreError(e, "moving finished files into place");
      synced = MakeError(ErrorCode::kFailedPrecondition, e.what());
    } catch (const std::exception& e) {
      synced = MakeError(ErrorCode::kIo, e.what());
    }
    for (const auto& ticket : group) {
      if (!synced) ticket->result = synced.error();
      ticket->ready = true;
      ticket->done.cancel();
    }
  }
  // Reset before any suspension: a file queued from now on starts a new run.
  committing_ = false;
}

// Creates (or resumes) the file's temporary copy and fills in every block a
// local file holds; the rest are left in plan.missing.
void ShareEngine::StartTemporaryFile(PullPlan& plan) {
  const crypto::Entry& entry = *plan.entry;
  bool resuming = fs_.Lstat(plan.tmp).has_value();
  if (resuming) {
    // One left by a fetch that got nothing (the sender could not serve yet)
    // is all holes: start it afresh, so it is written as a new file is.
    if (HoldsNoData(plan.tmp, entry.size)) resuming = !fs_.Remove(plan.tmp);
  }
  // A part file left stamped with a read-only mode (its group failed) is
  // written again: give its owner write access back first.
  if (resuming) (void)fs_.SetMode(plan.tmp, 0600);
  auto part = fs_.OpenPartFile(plan.tmp, entry.size, /*fresh=*/!resuming, segment_buffers_);
  if (!part) {
    plan.step = PullPlan::Step::kRetryLater;
    plan.error = part.error().message;
    return;
  }
  plan.part = std::move(*part);
  uint64_t offset = 0;
  const auto& id_key = options_.secrets.id_key();
  for (size_t i = 0; i < entry.blocks.size(); ++i) {
    const crypto::BlockRef& block = entry.blocks[i];
    plan.offsets.push_back(offset);
    bool have = resuming && plan.part->MayHoldData(offset, block.size) &&
                ReadVerifiedBlock(plan.tmp, offset, block.size, block.id, id_key).has_value();
    for (size_t s = 0; !have && s < plan.sources[i].size(); ++s) {
      const store::BlockLocation& where = plan.sources[i][s];
      auto data = ReadVerifiedBlock(options_.root / where.path, where.offset, where.size, block.id, id_key);
      if (!data) continue;
      if (auto written = plan.part->Write(offset, *data); !written) {
        plan.step = PullPlan::Step::kRetryLater;
        plan.error = "cannot write " + entry.path.str() + ": " + written.error().message;
        plan.part.reset();  // here, on the pool: closing may write
        return;
      }
      have = true;
    }
    if (!have) plan.missing.push_back(i);
    offset += block.size;
  }
}

asio::awaitable<Result<void>> ShareEngine::FetchMissing(PullPlan& plan) {
  const crypto::Entry& entry = *plan.entry;
  std::optional<Error> failure;  // the first; the file's other blocks stop there
  // Written from the pool threads; outlives them all.
  fs::FileInAssembly* part = plan.part.get();
  std::function<asio::awaitable<void>(size_t)> fetch_one = [&](size_t k) -> asio::awaitable<void> {
    if (failure) co_return;
    size_t i = plan.missing[k];
    auto place = [part, offset = plan.offsets[i]](ByteView plain) { return part->Write(offset, plain); };
    auto fetched = co_await FetchBlock(entry.blocks[i], entry.path.str(), std::move(place),
                                       [&failure] { return !failure; });
    if (!fetched && !failure) failure = fetched.error();
  };
  co_await ForEachConcurrently(plan.missing.size(), kBlocksInFlight, std::move(fetch_one));
  if (failure) co_return *failure;
  co_return Ok();
}

asio::awaitable<Result<void>> ShareEngine::FetchBlock(crypto::BlockRef block, const std::string& path,
                                                      std::function<Result<void>(ByteView plain)> place,
                                                      std::function<bool()> wanted) {
  auto self = shared_from_this();
  const auto gave_up = [&] { return MakeError(ErrorCode::kNotFound, "gave up on " + path); };
  AsyncSlots::Held slot = co_await block_slots_.Acquire([this] { return !shut_down_; });
  if (!slot) co_return MakeError(ErrorCode::kNotFound, "the share is being removed");
  // Ask each connected peer in turn until one has a current copy.
  PeerSet::Turn turn = peers_.StartTurn();
  while (auto link = turn.Next()) {
    if (shut_down_) break;
    if (wanted && !wanted()) co_return gave_up();
    auto fetched = co_await link->link->FetchBlock(link->offer, block.id, block.size);
    if (!fetched) {
      spdlog::debug("share {}: block {} from {}: {}", options_.name, HexEncode(block.id).substr(0, 12),
                    link->link->device_id(), fetched.error().message);
      continue;
    }
    if (shut_down_) break;  // the folder may be gone: nothing is written now
    // kInvalidArgument: the peer's block is not the one asked for.
    auto store_block = [self, block, &place, fetched = std::move(*fetched)]() mutable -> Result<void> {
      const auto& secrets = self->options_.secrets;
      std::span<uint8_t> bytes{reinterpret_cast<uint8_t*>(fetched.bytes.data()), fetched.bytes.size()};
      ByteView plain = bytes;
      bool genuine = true;
      if (fetched.sealed) {
        auto opened = crypto::OpenBlockInPlace(secrets.block_key(), secrets.id_key(), block.id, bytes);
        genuine = opened.has_value();
        if (opened) plain = *opened;
      }
      genuine = genuine && plain.size() == block.size &&
                (fetched.sealed || crypto::ComputeBlockId(secrets.id_key(), plain) == block.id);
      if (!genuine) return MakeError(ErrorCode::kInvalidArgument, "not the block asked for");
      return place(plain);
    };
    auto written = co_await RunOn(pool_.get_executor(), std::move(store_block));
    if (written) {
      received_bytes_ += block.size;
      co_return Ok();
    }
    if (written.error().code != ErrorCode::kInvalidArgument) {
      // The disk's refusal, not the peer's: shown as the file's failure.
      co_return MakeError(ErrorCode::kIo, "cannot write " + path + ": " + written.error().message);
    }
    last_error_ = "peer " + link->link->device_id() + " sent a block of " + path +
                  " that does not match its id; it was rejected";
    spdlog::warn("share {}: {}", options_.name, last_error_);
  }
  co_return MakeError(ErrorCode::kNotFound,
                      "no connected peer has block " + HexEncode(block.id).substr(0, 12) + " of " + path);
}

void ShareEngine::StartBlindFetch() {
  if (shut_down_ || !enabled_ || !healthy() || options_.secrets.CanRead()) return;
  if (blind_fetching_) {
    blind_again_ = true;
    retry_timer_.cancel();  // if it is waiting out a pause
    return;
  }
  blind_fetching_ = true;
  auto self = shared_from_this();
  asio::co_spawn(loop_, BlindFetch(), [self](std::exception_ptr e) {
    self->blind_fetching_ = false;
    LogErrors(self, "fetching sealed blocks")(e);
  });
}

// A blind replica holds no key: it cannot check a sealed block beyond its
// length. A wrong one is caught by every reader (the block opens to bytes
// that do not hash to its id) and asked for elsewhere.
asio::awaitable<void> ShareEngine::BlindFetch() {
  constexpr size_t kPage = 256;
  auto self = shared_from_this();
  do {
    blind_again_ = false;
    uint64_t missing_blocks = 0;
    uint64_t missing_bytes = 0;
    Bytes after;
    while (!shut_down_ && enabled_) {
      auto list = [self, after]() {
        return self->repo_ ? self->repo_->MissingSealedBlocks(after, kPage) : std::vector<crypto::BlockRef>{};
      };
      std::vector<crypto::BlockRef> page = co_await RunOn(strand_, std::move(list));
      if (page.empty()) break;
      after = ToBytes(page.back().id);
      std::function<asio::awaitable<void>(size_t)> fetch_one = [&](size_t k) -> asio::awaitable<void> {
        const crypto::BlockRef block = page[k];
        PeerSet::Turn turn = peers_.StartTurn();
        while (auto link = turn.Next()) {
          if (shut_down_) break;
          auto fetched = co_await link->link->FetchBlock(link->offer, block.id, block.size);
          // A blind replica never proves it can read, so never gets plain
          // blocks; one that comes anyway is not kept.
          if (!fetched || !fetched->sealed || fetched->bytes.size() != block.size + crypto::kSealOverhead) continue;
          auto keep = [self, block, sealed = std::move(fetched->bytes)]() {
            // Kept only while some record still refers to it.
            if (!self->repo_ || !self->repo_->IsBlockReferenced(block.id)) return false;
            self->repo_->PutSealedBlock(block.id, AsBytes(sealed));
            return true;
          };
          co_await RunOn(strand_, std::move(keep));
          received_bytes_ += block.size;
          co_return;
        }
        ++missing_blocks;
        missing_bytes += block.size;
      };
      co_await ForEachConcurrently(page.size(), kBlindBlocksInFlight, std::move(fetch_one));
    }
    blind_missing_blocks_ = missing_blocks;
    blind_missing_bytes_ = missing_bytes;
    if (missing_blocks > 0 && !blind_again_ && !shut_down_) {
      // Peers may get them later (a writer still scanning, a relay still
      // fetching): look again after a pause.
      spdlog::debug("share {}: {} sealed blocks not available yet", options_.name, missing_blocks);
      retry_timer_.expires_after(retry_backoff_.Next());
      auto [ec] = co_await retry_timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      if (!ec) blind_again_ = true;
    } else if (missing_blocks == 0) {
      retry_backoff_.Reset();
    }
    // Inside the loop: records stored during this await must start a pass.
    auto summarize = [self]() { return self->repo_ ? self->repo_->Summarize() : store::IndexSummary{}; };
    index_ = co_await RunOn(strand_, std::move(summarize));
  } while (blind_again_ && !shut_down_ && enabled_);
}

}  // namespace tandem::sync
