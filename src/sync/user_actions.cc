// What a user asks of one share through the service (ShareEngine): a read
// replica's local changes reverted, conflicts listed and resolved, the
// ignore patterns checked, read and replaced; and the
// test hook that sends a read replica's edits as forged records. Each checks
// what the share may do, does the disk work on the strand through
// sync/local_changes.h and sync/conflicts.h, and hands the engine what
// follows (needs to pull, a scan).
#include <asio/co_spawn.hpp>
#include <chrono>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "crypto/keyed_hash.h"
#include "scan/conflict.h"
#include "sync/forged_edits.h"
#include "sync/local_changes.h"
#include "sync/share_engine.h"

namespace tandem::sync {

asio::awaitable<Result<uint64_t>> ShareEngine::RevertLocalChanges(std::string path) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, health_.fault());
  if (!options_.secrets.CanRead() || options_.secrets.CanWrite()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        std::string("only read replicas keep local changes to revert; this share is a ") +
                            crypto::AccessModeName(options_.secrets.mode()) + " replica");
  }
  auto self = shared_from_this();
  auto revert = [self, path]() -> Result<Revert> {
    if (!self->repo_) return Revert{};
    TANDEM_RETURN_IF_ERROR(self->CheckFolder());
    return RevertOnDisk(*self->repo_, self->fs_, self->options_.secrets, self->author(), self->options_.root, path,
                        self->KeepAsVersion());
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

namespace {

Error NoIgnoresOnABlindReplica() {
  return MakeError(ErrorCode::kFailedPrecondition,
                   "a blind replica holds no files, so nothing in it is ignored; ignore patterns apply where the files are");
}

int64_t UnixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Only in the share's own folder: an unmounted or moved one has no
// .tandemignore, and reading that as "no patterns" would replace the rules
// kept for a restart with a bad file by none.
void ShareEngine::ReloadIgnorePatterns() {
  if (repo_ && CheckFolder() && ignores_.Load(fs_, options_.root, *repo_)) ignore_rules_changed_ = true;
}

void ShareEngine::LoadIgnorePatternsOnce() {
  if (repo_ && !ignores_.loaded() && CheckFolder()) ignores_.Load(fs_, options_.root, *repo_);
}

asio::awaitable<Result<void>> ShareEngine::RefreshIgnorePatterns() {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!options_.secrets.CanRead()) co_return NoIgnoresOnABlindReplica();
  auto self = shared_from_this();
  const bool changed = co_await RunOn(strand_, [self] {
    self->ReloadIgnorePatterns();
    return self->ignore_rules_changed_;
  });
  if (changed) ScheduleScan();
  TellIgnorePatterns(false);
  co_return Ok();
}

asio::awaitable<Result<scan::IgnoreVerdict>> ShareEngine::CheckIgnored(std::string path) {
  if (auto fresh = co_await RefreshIgnorePatterns(); !fresh) co_return fresh.error();
  auto rules = ignores_.rules();
  if (!rules) co_return MakeError(ErrorCode::kFailedPrecondition, ignores_.error());
  co_return rules->Check(path);
}

asio::awaitable<Result<ShareEngine::IgnorePatternsInfo>> ShareEngine::GetIgnorePatterns() {
  if (auto fresh = co_await RefreshIgnorePatterns(); !fresh) co_return fresh.error();
  auto self = shared_from_this();
  auto read = [self] {
    return IgnorePatterns::ReadPatternFile(self->fs_, self->options_.root / scan::kIgnoreFileName);
  };
  auto text = co_await RunOn(pool_.get_executor(), std::move(read));
  if (!text) co_return text.error();
  IgnorePatternsInfo info;
  info.exists = text->has_value();
  info.text = text->value_or("");
  if (auto rules = ignores_.rules()) info.files = rules->files();
  info.error = ignores_.error();
  info.ignored = report_.ignored();
  co_return info;
}

asio::awaitable<Result<ShareEngine::IgnorePatternsInfo>> ShareEngine::SetIgnorePatterns(std::string text) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!options_.secrets.CanRead()) co_return NoIgnoresOnABlindReplica();
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, health_.fault());
  if (text.size() > IgnorePatterns::kMaxFileSize) {
    co_return MakeError(ErrorCode::kInvalidArgument, "the patterns are larger than 1 MiB; nothing was saved");
  }
  auto self = shared_from_this();
  // Checked, then written aside in .tandem/tmp and renamed over the file:
  // a scan never meets half a file, nor a temporary one in the folder.
  auto save = [self, text]() -> Result<void> {
    TANDEM_RETURN_IF_ERROR(self->CheckFolder());
    auto compiled = IgnorePatterns::Compile(self->fs_, self->options_.root, text);
    if (!compiled) {
      return MakeError(ErrorCode::kInvalidArgument, compiled.error().message + "; nothing was saved");
    }
    const std::filesystem::path repo_dir = self->options_.root / RelPath::kRepoDirName;
    (void)fs::MakeFoldersBelow(self->fs_, repo_dir, "tmp");
    const std::filesystem::path tmp = repo_dir / "tmp" / "tandemignore.new";
    auto written = self->fs_.WriteNewFile(tmp, AsBytes(text), 0644, UnixNowNs());
    if (written) written = self->fs_.SyncFile(tmp);
    if (written) written = self->fs_.Rename(tmp, self->options_.root / scan::kIgnoreFileName);
    if (!written) {
      (void)self->fs_.Remove(tmp);
      return MakeError(ErrorCode::kIo, "cannot save " + std::string(scan::kIgnoreFileName) + ": " + written.error().message);
    }
    self->ReloadIgnorePatterns();
    return Ok();
  };
  if (auto saved = co_await RunOn(strand_, std::move(save)); !saved) co_return saved.error();
  co_return co_await GetIgnorePatterns();
}

asio::awaitable<Result<std::vector<KeptVersion>>> ShareEngine::ListVersions(std::string path) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!options_.secrets.CanRead()) {
    co_return MakeError(ErrorCode::kFailedPrecondition, "a blind replica holds no files, so it keeps no versions");
  }
  auto self = shared_from_this();
  co_return co_await RunOn(strand_, [self, path]() -> std::vector<KeptVersion> {
    return self->repo_ ? self->versions_.List(*self->repo_, path) : std::vector<KeptVersion>{};
  });
}

asio::awaitable<Result<KeptVersion>> ShareEngine::RestoreVersion(std::string path, std::optional<int64_t> at) {
  if (shut_down_) co_return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, health_.fault());
  if (!options_.secrets.CanWrite()) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        std::string("a restore is a change to the share, which a ") +
                            crypto::AccessModeName(options_.secrets.mode()) + " replica cannot make");
  }
  auto self = shared_from_this();
  auto restore = [self, path, at]() -> Result<KeptVersion> {
    if (!self->repo_) return MakeError(ErrorCode::kFailedPrecondition, "the share was removed");
    TANDEM_RETURN_IF_ERROR(self->CheckFolder());
    store::Repository& repo = *self->repo_;
    // Never through a symlink or a file where a folder was: that would
    // write outside the share.
    if (!fs::ParentsAreFolders(self->fs_, self->options_.root, *RelPath::Parse(path))) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "a folder above " + path + " is a symlink or a file here; not restoring through it");
    }
    std::optional<KeptVersion> chosen;
    for (const KeptVersion& v : self->versions_.List(repo, path)) {
      if (v.path == path && (!at || v.unix <= *at)) {
        chosen = v;
        break;  // newest first
      }
    }
    if (!chosen) {
      return MakeError(ErrorCode::kNotFound, "no version of " + path + (at ? " kept at or before that time" : "") +
                                                 " is kept; tandem versions SHARE PATH lists them");
    }
    // A copy, not the version itself: an edit of the restored file in
    // place must not change the version. Written aside, then renamed in.
    const std::filesystem::path repo_dir = self->options_.root / RelPath::kRepoDirName;
    (void)fs::MakeFoldersBelow(self->fs_, repo_dir, "tmp");
    // Not a .part name: the startup sweep removes those.
    const std::filesystem::path tmp = repo_dir / "tmp" / "restore.new";
    (void)self->fs_.Remove(tmp);
    // Copied by the kernel (copy_file_range), so a large file costs no
    // memory; with the version's modification time, made durable.
    const std::filesystem::path version = self->versions_.dir() / chosen->file;
    std::error_code ec;
    std::filesystem::copy_file(version, tmp, std::filesystem::copy_options::overwrite_existing, ec);
    Result<void> written = ec ? MakeError(ErrorCode::kIo, ec.message()) : Result<void>(Ok());
    if (written) {
      auto info = self->fs_.Lstat(version);
      if (info) written = self->fs_.SetMtime(tmp, info->mtime_ns);
    }
    if (written) written = self->fs_.SyncFile(tmp);
    if (!written) {
      (void)self->fs_.Remove(tmp);
      return MakeError(ErrorCode::kIo, "cannot restore " + path + ": " + written.error().message);
    }
    if (auto folders = fs::MakeFoldersBelow(self->fs_, self->options_.root, RelPath::Parse(path)->Parent());
        !folders) {
      (void)self->fs_.Remove(tmp);
      return folders.error();
    }
    // What is there now is kept first, as this device's change replaces it.
    std::optional<std::string> kept;
    auto disk = self->fs_.Lstat(self->options_.root / path);
    if (disk && disk->kind == fs::FileKind::kRegular) {
      auto keeping = self->versions_.Keep(repo, path, scan::Device7(self->options_.device_short_id), false,
                                          UnixNowNs() / 1'000'000'000);
      if (!keeping) {
        (void)self->fs_.Remove(tmp);
        return keeping.error();
      }
      kept = *keeping;
    }
    if (auto moved = self->fs_.Rename(tmp, self->options_.root / path); !moved) {
      if (kept) self->versions_.Drop(repo, *kept);
      (void)self->fs_.Remove(tmp);
      return MakeError(ErrorCode::kIo, "cannot restore " + path + ": " + moved.error().message);
    }
    return *chosen;
  };
  auto restored = co_await RunOn(strand_, std::move(restore));
  if (!restored) co_return restored.error();
  spdlog::info("share {}: \"{}\": restored as kept at {}", options_.name, path, restored->unix);
  scans_.ScanEntrySoon(path);  // an ordinary local change: indexed and sent
  co_return restored;
}

KeepBeforeChange ShareEngine::KeepAsVersion() {
  return [this](const std::string& rel, bool removing) -> Result<std::function<void()>> {
    if (!repo_) return std::function<void()>();
    TANDEM_ASSIGN_OR_RETURN(auto kept, versions_.KeepBefore(*repo_, rel, scan::Device7(options_.device_short_id), removing));
    if (!kept || removing) return std::function<void()>();
    return std::function<void()>([this, file = *kept] {
      if (repo_) versions_.Drop(*repo_, file);
    });
  };
}

asio::awaitable<Result<size_t>> ShareEngine::CleanupVersions() {
  if (shut_down_ || !options_.secrets.CanRead() || !healthy()) co_return size_t{0};
  auto self = shared_from_this();
  const VersioningPolicy policy = versions_.policy();
  const int64_t now = UnixNowNs() / 1'000'000'000;
  const size_t removed = co_await RunOn(strand_, [self, policy, now]() -> size_t {
    // Only in the share's own folder: another mounted in its place keeps its versions.
    if (!self->repo_ || !self->CheckFolder(/*thorough=*/true)) return 0;
    return self->versions_.Cleanup(*self->repo_, policy, now);
  });
  if (removed > 0) spdlog::info("share {}: {} old versions removed ({})", options_.name, removed, DescribeVersioning(policy));
  co_return removed;
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
  if (!healthy()) co_return MakeError(ErrorCode::kFailedPrecondition, health_.fault());
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
    return ResolveOnDisk(self->fs_, self->options_.root, conflict, keep, self->KeepAsVersion());
  };
  auto done = co_await RunOn(strand_, std::move(act));
  if (!done) co_return done.error();
  spdlog::info("share {}: conflict {}: {}", options_.name, conflict.id, *done);
  // Indexed now, so the resolution is a version like any other edit.
  if (auto scanned = co_await Scan({conflict.id}); !scanned) co_return scanned.error();
  const char* kept = keep == ConflictKeep::kLocal ? "local" : keep == ConflictKeep::kRemote ? "remote" : "both";
  Emit(EventType::kConflictResolved, {{"path", conflict.path}, {"copy", conflict.id}, {"keep", kept}, {"done", *done}});
  co_return *done;
}

void ShareEngine::SendForgedEdits() {
  spdlog::warn("share {}: TEST HOOK: sending {} local changes as records this replica cannot sign", options_.name,
               report_.local_changes().size());
  auto self = shared_from_this();
  auto forge = [self, changes = report_.local_changes()]() {
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

}  // namespace tandem::sync
