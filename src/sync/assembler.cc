#include "sync/assembler.h"

#include <spdlog/spdlog.h>

#include "base/async.h"
#include "scan/conflict.h"
#include "scan/scanner.h"
#include "sync/local_blocks.h"

namespace tandem::sync {
namespace {

namespace stdfs = std::filesystem;

// Segments of large files gathered at once, per share: the 64 blocks in
// flight (~4 MiB) span five or six; more would only hold memory.
constexpr size_t kSegmentBuffers = 12;

bool SameMeta(const store::LocalFileState& a, const store::LocalFileState& b) {
  return a.kind == b.kind && a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns &&
         a.inode == b.inode && a.mode == b.mode;
}

}  // namespace

Assembler::Assembler(const ShareContext& context, std::unique_ptr<store::Repository>& repo, BlockFetcher& fetcher,
                     GroupCommit& group_commit, std::function<void(std::string path)> on_local_change,
                     const IgnorePatterns& ignores)
    : context_(context), repo_(repo), fetcher_(fetcher), group_commit_(group_commit),
      on_local_change_(std::move(on_local_change)), ignores_(ignores), segment_buffers_(kSegmentBuffers) {}

bool Assembler::WritesWhole(const PullPlan& plan) {
  return plan.step == PullPlan::Step::kFetch && plan.entry->blocks.size() == 1 && plan.sources.front().empty();
}

void Assembler::Start(PullPlan& plan) {
  const crypto::Entry& entry = *plan.entry;
  bool resuming = context_.fs.Lstat(plan.tmp).has_value();
  if (resuming) {
    // One left by a fetch that got nothing (the sender could not serve yet)
    // is all holes: start it afresh, so it is written as a new file is.
    if (HoldsNoData(plan.tmp, entry.size)) resuming = !context_.fs.Remove(plan.tmp);
  }
  // A part file left stamped with a read-only mode (its group failed) is
  // written again: give its owner write access back first.
  if (resuming) (void)context_.fs.SetMode(plan.tmp, 0600);
  auto part = context_.fs.OpenPartFile(plan.tmp, entry.size, /*fresh=*/!resuming, segment_buffers_);
  if (!part) {
    plan.Stop(PullPlan::Step::kRetryLater, part.error().message);
    return;
  }
  plan.part = std::move(*part);
  uint64_t offset = 0;
  const auto& id_key = context_.secrets.id_key();
  for (size_t i = 0; i < entry.blocks.size(); ++i) {
    const crypto::BlockRef& block = entry.blocks[i];
    plan.offsets.push_back(offset);
    bool have = resuming && plan.part->MayHoldData(offset, block.size) &&
                ReadVerifiedBlock(plan.tmp, offset, block.size, block.id, id_key).has_value();
    for (size_t s = 0; !have && s < plan.sources[i].size(); ++s) {
      const store::BlockLocation& where = plan.sources[i][s];
      auto data = ReadVerifiedBlock(context_.root / where.path, where.offset, where.size, block.id, id_key);
      if (!data) continue;
      if (auto written = plan.part->Write(offset, *data); !written) {
        plan.Stop(PullPlan::Step::kRetryLater, "cannot write " + entry.path.str() + ": " + written.error().message);
        plan.part.reset();  // here, on the pool: closing may write
        return;
      }
      have = true;
    }
    if (!have) plan.missing.push_back(i);
    offset += block.size;
  }
}

asio::awaitable<Result<void>> Assembler::Assemble(PullPlan& plan, bool whole,
                                                 std::function<void(uint64_t bytes)> on_block) {
  Result<void> fetched = Ok();
  try {
    if (whole) {
      const crypto::Entry& entry = *plan.entry;
      // A file of one block is written, stamped and closed at once: its
      // temporary copy is complete when this returns (not yet synced). The
      // folders were made when the pull was planned: a share removed since
      // has no .tandem/tmp to write in, and gets none back.
      auto write = [&fs = context_.fs, tmp = plan.tmp, mode = entry.mode, mtime_ns = entry.mtime_ns](ByteView plain) {
        return fs.WriteNewFile(tmp, plain, mode, mtime_ns);
      };
      fetched = co_await fetcher_.Fetch(entry.blocks.front(), entry.path.str(), std::move(write));
    } else if (!plan.missing.empty()) {
      fetched = co_await fetcher_.FetchInto(*plan.entry, plan.missing, plan.offsets, *plan.part, std::move(on_block));
    }
  } catch (const std::exception& e) {
    // Still closed on the pool below: closing may write and wait for the disk.
    fetched = MakeError(ErrorCode::kIo, "fetching " + plan.entry->path.str() + ": " + e.what());
  }
  Result<void> closed = co_await Close(plan, fetched.has_value());
  if (!fetched) co_return fetched;
  if (!closed) {
    co_return MakeError(closed.error().code, "cannot write " + plan.entry->path.str() + ": " + closed.error().message);
  }
  co_return Ok();
}

// One trip to the pool closes the part file and, when every block came,
// gives it its mode and mtime before the sync, so they are durable with the
// data. What is gathered in memory goes to the disk also after a failure:
// the retry resumes from what the part file holds.
asio::awaitable<Result<void>> Assembler::Close(PullPlan& plan, bool complete) {
  if (!plan.part) co_return Ok();
  auto close_part = [part = std::move(plan.part), complete, mode = plan.entry->mode,
                     mtime_ns = plan.entry->mtime_ns]() mutable -> Result<void> {
    auto flushed = part->Flush();
    if (flushed && complete) flushed = part->Stamp(mode, mtime_ns);
    part.reset();
    return flushed;
  };
  co_return co_await RunOn(context_.pool.get_executor(), std::move(close_part));
}

asio::awaitable<Result<void>> Assembler::Finish(const crypto::Locator& locator, PullPlan plan) {
  stdfs::path tmp = plan.tmp;
  auto renamed = std::make_shared<bool>(false);
  auto move_into_place = [this, locator, renamed, plan = std::move(plan)]() {
    return MoveIntoPlace(locator, plan, *renamed);
  };
  auto finished = co_await group_commit_.Finish(tmp, std::move(move_into_place));
  if (*renamed) kept_parts_.erase(locator);
  co_return finished;
}

// The assembled file takes its name if the record is still the one
// assembled and the disk is still as planned.
Result<void> Assembler::MoveIntoPlace(const crypto::Locator& locator, const PullPlan& plan, bool& renamed) {
  if (!repo_) return Ok();
  store::Repository& repo = *repo_;
  const crypto::Entry& entry = *plan.entry;
  const std::string& rel = entry.path.str();
  stdfs::path full = context_.root / rel;
  auto stored = repo.GetRecord(locator);
  if (!stored || stored->seq != plan.seq) return Ok();  // superseded: the newer record is queued
  // Ignored while it was assembled: the disk is left as it is.
  if (ignores_.Ignores(rel)) return Ok();
  auto local = repo.GetFileState(rel);
  auto disk = context_.fs.Lstat(full);
  // A revert goes ahead only while the disk is as it was when asked.
  bool unchanged = (plan.revert && SameDisk(disk, *plan.revert)) ||
                   ((plan.expected_local ? local && SameMeta(*local, *plan.expected_local) : !local) &&
                    scan::DiskAsIndexed(local, disk));
  if (!unchanged) {
    on_local_change_(rel);
    return MakeError(ErrorCode::kFailedPrecondition, "waiting for a local change to be indexed");
  }
  if (!fs::ParentsAreFolders(context_.fs, context_.root, entry.path, group_commit_.folders_checked())) {
    return MakeError(ErrorCode::kIo, "not writing " + rel + ": a folder above it is a symlink or a file here");
  }
  // The content this replaces is kept first (a second name: no copy).
  std::optional<std::string> kept;
  if (context_.versions && disk && disk->kind == fs::FileKind::kRegular) {
    TANDEM_ASSIGN_OR_RETURN(kept, context_.versions->KeepBefore(repo, rel, scan::Device7(entry.device_short_id),
                                                                /*removing=*/false));
  }
  if (auto moved = context_.fs.Rename(plan.tmp, full); !moved) {
    if (kept) context_.versions->Drop(repo, *kept);
    return MakeError(ErrorCode::kIo, "cannot move " + rel + " into place: " + moved.error().message);
  }
  renamed = true;
  if (auto now = context_.fs.Lstat(full)) repo.PutFileState(StateFromDisk(rel, entry.kind, *now, entry.blocks, plan.vector));
  return Ok();
}

// Not posted: no pull of this path can then make a part file of the same
// name before the unlink runs. One system call.
void Assembler::KeepPartFile(const crypto::Locator& locator, const PullPlan& plan) {
  if (auto kept = kept_parts_.find(locator); kept != kept_parts_.end()) {
    const bool superseded = plan.step == PullPlan::Step::kDone ||
                            (plan.step == PullPlan::Step::kFetch && kept->second != plan.tmp);
    if (superseded) {
      (void)context_.fs.Remove(kept->second);
      kept_parts_.erase(kept);
    }
  }
  // Until it is renamed into place, whatever this pull writes stays for a resume.
  if (plan.step == PullPlan::Step::kFetch) kept_parts_[locator] = plan.tmp;
}

void Assembler::DropPartFile(const crypto::Locator& locator) {
  if (auto kept = kept_parts_.find(locator); kept != kept_parts_.end()) {
    (void)context_.fs.Remove(kept->second);
    kept_parts_.erase(kept);
  }
}

asio::awaitable<void> Assembler::SweepPartFiles(std::function<std::vector<crypto::Locator>()> needed_now,
                                                std::function<bool()> stopped) {
  auto list = [dir = context_.root / RelPath::kRepoDirName / "tmp"] {
    std::vector<stdfs::path> parts;
    std::error_code ec;
    for (stdfs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().extension() == ".part") parts.push_back(it->path());
    }
    return parts;
  };
  auto parts = co_await RunOn(context_.pool.get_executor(), std::move(list));
  if (stopped()) co_return;
  std::map<std::string, crypto::Locator> needed;
  for (const crypto::Locator& locator : needed_now()) needed.emplace(TempNamePrefix(locator), locator);
  // Decided and removed here on the loop, with no suspension in between:
  // a pull that starts meanwhile either is seen here or comes after.
  size_t removed = 0;
  for (stdfs::path& part : parts) {
    auto found = needed.find(part.filename().string().substr(0, kTempNamePrefixSize));
    bool stale = found == needed.end();
    if (!stale) {
      // A pull of the path already wants a part file of its own: this one
      // is of an older version.
      auto [kept, fresh] = kept_parts_.emplace(found->second, part);
      stale = !fresh && kept->second != part;
    }
    if (stale && context_.fs.Remove(part)) ++removed;
  }
  if (removed > 0) {
    spdlog::info("share {}: removed {} unfinished downloads of versions no longer wanted", context_.name, removed);
  }
}

}  // namespace tandem::sync
