#include "sync/pull_planner.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "crypto/keyed_hash.h"
#include "scan/conflict.h"

namespace tandem::sync {
namespace {

namespace stdfs = std::filesystem;

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

}  // namespace

store::LocalFileState StateFromDisk(const std::string& path, crypto::EntryKind kind, const fs::FileInfo& info,
                                    std::vector<crypto::BlockRef> blocks, VersionVector vector) {
  return {.path = path, .kind = kind, .size = kind == crypto::EntryKind::kFile ? info.size : 0,
          .mtime_ns = info.mtime_ns, .ctime_ns = info.ctime_ns, .inode = info.inode, .mode = info.mode,
          .blocks = std::move(blocks), .vector = std::move(vector)};
}

std::string TempNamePrefix(const crypto::Locator& locator) {
  return HexEncode(locator).substr(0, kTempNamePrefixSize);
}

bool SameDisk(const Result<fs::FileInfo>& now, const std::optional<fs::FileInfo>& then) {
  return now ? then && *now == *then : !then;
}

PullPlanner::PullPlanner(const ShareContext& context, std::unique_ptr<store::Repository>& repo,
                         uint64_t device_short_id, std::function<Result<void>()> check_folder,
                         const IgnorePatterns& ignores)
    : context_(context), repo_(repo), device_short_id_(device_short_id), check_folder_(std::move(check_folder)),
      ignores_(ignores) {}

// On the strand: what the record, the index and the disk say (pull_decision.h).
PullFacts PullPlanner::GatherFacts(const crypto::Entry& entry,
                                   const RevertAsked& revert_asked) {
  store::Repository& repo = *repo_;
  const stdfs::path full = context_.root / entry.path.str();
  PullFacts facts;
  facts.entry = &entry;
  facts.can_write = context_.secrets.CanWrite();
  facts.parents_are_folders = fs::ParentsAreFolders(context_.fs, context_.root, entry.path);
  if (!facts.parents_are_folders) return facts;
  facts.indexed = repo.GetFileState(entry.path.str());
  facts.disk = context_.fs.Lstat(full);
  facts.revert = revert_asked && SameDisk(facts.disk, *revert_asked);
  if (!entry.deleted && !facts.indexed) facts.folded_into = FindFoldedInto(context_.fs, context_.root, repo, entry.path);
  if (entry.kind == crypto::EntryKind::kSymlink && facts.disk && facts.disk->kind == fs::FileKind::kSymlink) {
    auto target = context_.fs.ReadLink(full);
    facts.symlink_as_recorded = target && *target == entry.symlink_target;
  }
  return facts;
}

// On the strand: decides what pulling `locator` does and does all of it
// that needs no peer; a file to assemble is left as kFetch, with every
// local copy of its blocks found.
PullPlan PullPlanner::Plan(const crypto::Locator& locator,
                                            const RevertAsked& revert_asked) {
  PullPlan plan;
  store::Repository& repo = *repo_;
  auto stored = repo.GetRecord(locator);
  if (!stored) return plan;
  auto opened = crypto::OpenRecord(context_.secrets, stored->record);
  if (!opened) return plan;
  plan.entry = std::move(*opened);
  plan.seq = stored->seq;
  plan.vector = stored->record.vector;
  // Ignored here: the record is kept and passed on, the disk left alone.
  if (ignores_.Ignores(plan.entry->path.str())) return plan;
  // Nothing is written into a folder that is not the share's any more.
  if (auto ok = check_folder_(); !ok) return plan.Stop(PullPlan::Step::kUnavailable, ok.error().message);
  const PullFacts facts = GatherFacts(*plan.entry, revert_asked);
  const PullDecision decision = DecidePull(facts);
  plan.action = decision.action;
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
Result<void> PullPlanner::MoveEditAside(const crypto::Entry& entry, const fs::FileInfo& disk) {
  const std::string& rel = entry.path.str();
  crypto::Entry local{.path = entry.path};
  local.mtime_ns = disk.mtime_ns;
  local.device_short_id = device_short_id_;
  std::string copy;
  for (int later = 0; later < 100 && (copy.empty() || context_.fs.Lstat(context_.root / copy)); ++later) {
    copy = scan::ConflictCopyPath(local, later);
  }
  if (auto moved = context_.fs.Rename(context_.root / rel, context_.root / copy); !moved) {
    return MakeError(ErrorCode::kIo, "cannot move the local edit of " + rel + " aside: " + moved.error().message);
  }
  spdlog::warn("share {}: \"{}\": edited here; the share's version takes its place and the edit is kept as {}",
               context_.name, rel, copy);
  repo_->DeleteFileState(rel);
  return Ok();
}

// Made aside in .tandem/tmp and renamed into place, replacing what is there.
Result<void> PullPlanner::MakeSymlinkFor(const crypto::Entry& entry, const crypto::Locator& locator) {
  const stdfs::path repo_dir = context_.root / RelPath::kRepoDirName;
  (void)fs::MakeFoldersBelow(context_.fs, repo_dir, "tmp");
  (void)fs::MakeFoldersBelow(context_.fs, context_.root, entry.path.Parent());
  stdfs::path tmp = repo_dir / "tmp" / (TempNamePrefix(locator) + ".link");
  (void)context_.fs.Remove(tmp);
  auto made = context_.fs.MakeSymlink(entry.symlink_target, tmp);
  if (made) made = context_.fs.Rename(tmp, context_.root / entry.path.str());
  if (!made) {
    (void)context_.fs.Remove(tmp);
    return MakeError(ErrorCode::kIo, "cannot create symlink " + entry.path.str() + ": " + made.error().message);
  }
  return Ok();
}

// On the strand: does what `decision` says, except a fetch, which is only
// prepared (plan.step = kFetch). An error is this path's, retried later.
Result<void> PullPlanner::CarryOut(const PullDecision& decision, const PullFacts& facts,
                                   const crypto::Locator& locator, PullPlan& plan) {
  store::Repository& repo = *repo_;
  const crypto::Entry& entry = *plan.entry;
  const std::string& rel = entry.path.str();
  const stdfs::path full = context_.root / rel;
  auto index_disk = [&](std::vector<crypto::BlockRef> blocks) {
    if (auto now = context_.fs.Lstat(full)) repo.PutFileState(StateFromDisk(rel, entry.kind, *now, std::move(blocks), plan.vector));
  };
  // What a peer's change replaces or removes here is kept first, when
  // versioning is on (sync/versions.h); a file moved into the versions is
  // gone from its name, which the removal below takes as done.
  std::optional<std::string> kept;  // a replacement's version, dropped if the replacement fails
  auto keep = [&](bool removing) -> Result<void> {
    if (!context_.versions || !facts.disk || facts.disk->kind != fs::FileKind::kRegular) return Ok();
    TANDEM_ASSIGN_OR_RETURN(kept, context_.versions->KeepBefore(repo, rel, scan::Device7(entry.device_short_id), removing));
    return Ok();
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
      const bool folder = facts.disk->kind == fs::FileKind::kDirectory;
      if (!folder) TANDEM_RETURN_IF_ERROR(keep(/*removing=*/true));
      auto removed = folder ? context_.fs.RemoveFolder(full) : context_.fs.Remove(full);
      if (!removed && folder && removed.error().code != ErrorCode::kNotFound) {
        TANDEM_RETURN_IF_ERROR(ClearDeletable(full, rel));
        removed = context_.fs.RemoveFolder(full);
      }
      if (!removed && removed.error().code != ErrorCode::kNotFound) return removed;
      repo.DeleteFileState(rel);
      return Ok();
    }
    case PullAction::kMakeFolder: {
      if (facts.disk && facts.disk->kind != fs::FileKind::kDirectory && !decision.move_edit_aside) {
        TANDEM_RETURN_IF_ERROR(keep(/*removing=*/true));
        (void)context_.fs.Remove(full);
      }
      auto made = fs::MakeFoldersBelow(context_.fs, context_.root, rel);
      if (made) made = context_.fs.SetMode(full, entry.mode);
      if (!made) return MakeError(ErrorCode::kIo, "cannot create folder " + rel + ": " + made.error().message);
      index_disk({});
      return Ok();
    }
    case PullAction::kIndexDisk:
      index_disk({});
      return Ok();
    case PullAction::kMakeSymlink:
      if (!decision.move_edit_aside) TANDEM_RETURN_IF_ERROR(keep(/*removing=*/false));
      if (auto made = MakeSymlinkFor(entry, locator); !made) {
        if (kept) context_.versions->Drop(repo, *kept);
        return made;
      }
      index_disk({});
      return Ok();
    case PullAction::kSetMetadata:
      (void)context_.fs.SetMode(full, entry.mode);
      (void)context_.fs.SetMtime(full, entry.mtime_ns);
      index_disk(entry.blocks);
      return Ok();
    case PullAction::kFetch:
      PrepareFetch(locator, plan);
      return Ok();
  }
  return Ok();
}

Result<void> PullPlanner::ClearDeletable(const stdfs::path& full, const std::string& rel) {
  auto rules = ignores_.rules();
  // Everything below is checked before anything is removed: a (?d) folder
  // may hold a file a later line re-includes, or one ignored without (?d).
  std::vector<std::string> deletable;  // the folder's own entries, to remove whole
  std::function<Result<void>(const stdfs::path&, const std::string&, bool)> check =
      [&](const stdfs::path& dir, const std::string& prefix, bool top) -> Result<void> {
    TANDEM_ASSIGN_OR_RETURN(std::vector<std::string> names, context_.fs.ListDir(dir));
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string path = prefix + "/" + name;
      const scan::IgnoreVerdict verdict = rules ? rules->Check(path) : scan::IgnoreVerdict{};
      if (!verdict.ignored) {
        // Synced content: its own deletion comes first, or this is a local
        // addition the next scan records. Either way the folder waits.
        return MakeError(ErrorCode::kIo, "cannot delete folder " + rel + ": it still holds " + path);
      }
      if (!verdict.deletable) {
        return MakeError(ErrorCode::kFailedPrecondition,
                         "folder " + rel + " was deleted by a peer but is kept here: it holds " + path +
                             ", ignored by " + verdict.by->Where() +
                             " (mark such a line (?d) to let these files go with their folder)");
      }
      if (top) deletable.push_back(path);
      auto info = context_.fs.Lstat(dir / name);
      if (info && info->kind == fs::FileKind::kDirectory) TANDEM_RETURN_IF_ERROR(check(dir / name, path, false));
    }
    return Ok();
  };
  TANDEM_RETURN_IF_ERROR(check(full, rel, true));
  for (const std::string& path : deletable) {
    TANDEM_RETURN_IF_ERROR(RemoveTree(context_.root / path, path));
    spdlog::info("share {}: \"{}\": removed, ignored and marked (?d), with its deleted folder", context_.name, path);
  }
  return Ok();
}

Result<void> PullPlanner::RemoveTree(const stdfs::path& full, const std::string& rel) {
  auto info = context_.fs.Lstat(full);
  if (!info) return info.error().code == ErrorCode::kNotFound ? Ok() : Result<void>(info.error());
  if (info->kind == fs::FileKind::kDirectory) {
    TANDEM_ASSIGN_OR_RETURN(std::vector<std::string> names, context_.fs.ListDir(full));
    for (const std::string& name : names) TANDEM_RETURN_IF_ERROR(RemoveTree(full / name, rel + "/" + name));
    TANDEM_RETURN_IF_ERROR(context_.fs.RemoveFolder(full));
  } else {
    TANDEM_RETURN_IF_ERROR(context_.fs.Remove(full));
  }
  // Indexed before it was ignored: the index forgets it with the disk.
  repo_->DeleteFileState(rel);
  return Ok();
}

// The part file's name, every local copy of each block, and the folders
// the assembled file goes into.
void PullPlanner::PrepareFetch(const crypto::Locator& locator, PullPlan& plan) {
  const crypto::Entry& entry = *plan.entry;
  // Made below the share's folder only (fs::MakeFoldersBelow): when the
  // folder or its .tandem is gone, nothing may be made in their place.
  const stdfs::path repo_dir = context_.root / RelPath::kRepoDirName;
  Bytes list_id = ToBytes(crypto::Sha256(crypto::EncodeBlockList(entry.blocks)));
  plan.tmp = repo_dir / "tmp" / (TempNamePrefix(locator) + "-" + HexEncode(list_id).substr(0, 16) + ".part");
  plan.sources.reserve(entry.blocks.size());
  for (const crypto::BlockRef& block : entry.blocks) plan.sources.push_back(repo_->FindBlock(block.id));
  // Here on the strand, which Shutdown waits for before deleting .tandem:
  // the disk work after the fetch only creates files, never folders.
  (void)fs::MakeFoldersBelow(context_.fs, repo_dir, "tmp");
  (void)fs::MakeFoldersBelow(context_.fs, context_.root, entry.path.Parent());
  plan.step = PullPlan::Step::kFetch;
}

}  // namespace tandem::sync
