#include "scan/scanner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "crypto/keyed_hash.h"
#include "scan/known_paths.h"
#include "crypto/record.h"
#include "scan/block_hasher.h"
#include "scan/conflict.h"

namespace tandem::scan {
namespace {

using crypto::EntryKind;

// Commit in batches: one transaction per file would spend its time in fsync,
// one for the whole tree would hold the write lock for minutes and keep
// peers from seeing any of it until the end. A batch also ends after
// kBatchTime, so a peer starts pulling a large tree a moment after the scan
// starts rather than once it ends.
constexpr uint64_t kBatchRecords = 2000;
constexpr uint64_t kBatchBytes = 256ull << 20;
constexpr auto kBatchTime = std::chrono::milliseconds(200);

}  // namespace

std::optional<EntryKind> EntryKindOf(fs::FileKind kind) {
  switch (kind) {
    case fs::FileKind::kRegular: return EntryKind::kFile;
    case fs::FileKind::kDirectory: return EntryKind::kDirectory;
    case fs::FileKind::kSymlink: return EntryKind::kSymlink;
    case fs::FileKind::kOther: return std::nullopt;
  }
  return std::nullopt;
}

bool MatchesIndexedState(const store::LocalFileState& known, const fs::FileInfo& info) {
  auto kind = EntryKindOf(info.kind);
  if (!kind || known.kind != *kind || known.mode != info.mode) return false;
  if (*kind == EntryKind::kDirectory) return true;
  if (*kind == EntryKind::kFile && known.size != info.size) return false;
  return known.mtime_ns == info.mtime_ns && known.ctime_ns == info.ctime_ns && known.inode == info.inode;
}

bool DiskAsIndexed(const std::optional<store::LocalFileState>& indexed, const Result<fs::FileInfo>& disk) {
  return indexed ? disk && MatchesIndexedState(*indexed, *disk) : !disk;
}

namespace {

// The same version in every field a record carries (device aside).
bool SameVersion(const crypto::Entry& a, const crypto::Entry& b) {
  return a.path == b.path && a.kind == b.kind && a.size == b.size && a.mtime_ns == b.mtime_ns &&
         a.mode == b.mode && a.symlink_target == b.symlink_target && a.deleted == b.deleted &&
         a.blocks == b.blocks;
}

// On a filesystem with whole-second timestamps (FAT, many NFS servers) a
// same-size edit within the second after a file was read leaves size, mtime
// and ctime as indexed (Git's "racily clean" entries), so no scan would read
// it again. Such a state is stored with this ctime so the next scan re-reads
// the file. Nanosecond filesystems leave a window of one kernel tick (a few
// ms); re-reading every fresh file for that would double the hashing of all
// new data, so it is accepted there (docs/decisions.md).
constexpr int64_t kRacyCtime = -1;
constexpr int64_t kRacyWindowCoarseNs = 2'000'000'000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* LocalChangeName(LocalChange::Kind kind) {
  switch (kind) {
    case LocalChange::Kind::kAdded: return "added";
    case LocalChange::Kind::kModified: return "modified";
    case LocalChange::Kind::kDeleted: return "deleted";
  }
  return "modified";
}

// One walk of the tree; holds what the walk has seen so far. With
// `observed`, records nothing and lists local changes there instead.
class Scanner::Pass {
 public:
  Pass(Scanner& s, std::vector<LocalChange>* observed, const fs::ChangedPaths* changed)
      : s_(s), observed_(observed), changed_(changed) {}

  Result<ScanStats> Run() {
    if (s_.check_folder_) TANDEM_RETURN_IF_ERROR(s_.check_folder_());
    auto root = s_.fs_.Lstat(s_.root_);
    if (!root || root->kind != fs::FileKind::kDirectory) {
      return MakeError(ErrorCode::kNotFound,
                       "the share's folder " + s_.root_.string() + " is missing or not a folder");
    }
    if (!changed_ || changed_->everything) {
      stats_.covered.everything = true;
      s_.repo_.ForEachFileStateMeta([&](store::LocalFileState&& state) { known_.Add(state); });
      known_.Seal();
      tx_.emplace(s_.repo_.Begin());
      TANDEM_RETURN_IF_ERROR(WalkDirectory(s_.root_, "", IgnoreRules::Folder{}));
    } else {
      stats_.covered = Widen(*changed_);
      tx_.emplace(s_.repo_.Begin());
      TANDEM_RETURN_IF_ERROR(ReadChanged());
    }
    if (s_.check_folder_) TANDEM_RETURN_IF_ERROR(s_.check_folder_());
    WriteTombstones();
    tx_->Commit();
    tx_.reset();
    return stats_;
  }

 private:
  // `changed` with each path whose folders are not all indexed, real
  // folders on disk (new, replaced by a file or a symlink, gone) replaced
  // by the highest such folder, read whole; and each entry that is a folder
  // new to the index, or was not a folder before, read whole too.
  fs::ChangedPaths Widen(const fs::ChangedPaths& changed) {
    fs::ChangedPaths out;
    std::set<std::string> real_folders;  // checked in this pass
    auto is_real_folder = [&](const std::string& path) {
      if (real_folders.count(path)) return true;
      auto indexed = s_.repo_.GetFileState(path);
      auto info = s_.fs_.Lstat(s_.root_ / path);
      bool real = indexed && indexed->kind == EntryKind::kDirectory && info && info->kind == fs::FileKind::kDirectory;
      if (real) real_folders.insert(path);
      return real;
    };
    auto place = [&](const std::string& path, bool tree) {
      if (path == RelPath::kRepoDirName || path.starts_with(std::string(RelPath::kRepoDirName) + "/")) return;
      // A path a record named: so are the folders it is widened to.
      const bool unlisted = changed.unlisted.count(path) > 0;
      for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
        std::string folder = path.substr(0, slash);
        if (!is_real_folder(folder)) {
          if (unlisted) out.unlisted.insert(folder);
          out.AddTree(std::move(folder));
          return;
        }
      }
      if (unlisted) out.unlisted.insert(path);
      if (!tree && !is_real_folder(path)) tree = true;  // a file, or a folder new here: read whole
      if (tree) {
        out.AddTree(path);
      } else {
        out.AddEntry(path);
      }
    };
    for (const std::string& path : changed.trees) place(path, true);
    for (const std::string& path : changed.entries) place(path, false);
    // Nothing twice: drop what a tree above it covers.
    fs::ChangedPaths trees_only;
    for (const std::string& tree : out.trees) trees_only.AddTree(tree);
    fs::ChangedPaths result;
    result.unlisted = std::move(out.unlisted);
    for (const std::string& tree : out.trees) {
      size_t slash = tree.rfind('/');
      if (slash == std::string::npos || !trees_only.Covers(tree.substr(0, slash))) result.AddTree(tree);
    }
    for (const std::string& entry : out.entries) {
      if (!trees_only.Covers(entry)) result.AddEntry(entry);
    }
    return result;
  }

  // Reads the paths of stats_.covered, parents first.
  Result<void> ReadChanged() {
    const fs::ChangedPaths& covered = stats_.covered;
    for (const std::string& tree : covered.trees) {
      s_.repo_.ForEachFileStateMetaUnder(tree, [&](store::LocalFileState&& state) { known_.Add(state); });
    }
    for (const std::string& entry : covered.entries) {
      if (auto state = s_.repo_.GetFileState(entry)) known_.Add(*state);
    }
    known_.Seal();
    std::set<std::string> all(covered.trees.begin(), covered.trees.end());
    all.insert(covered.entries.begin(), covered.entries.end());
    // Look-alikes among the paths themselves (a case-only rename names both).
    std::map<std::string, int> keys;
    for (const std::string& path : all) ++keys[LookAlikeKey(path)];
    for (const std::string& path : all) {
      size_t slash = path.rfind('/');
      std::string prefix = slash == std::string::npos ? "" : path.substr(0, slash);
      std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
      std::filesystem::path dir = prefix.empty() ? s_.root_ : s_.root_ / prefix;
      bool doubtful = covered.unlisted.count(path) || keys[LookAlikeKey(path)] > 1 ||
                      s_.repo_.FindLookAlike(path).has_value();
      if (doubtful && !ListedIn(dir, name)) {
        continue;  // missing as spelled: the tombstone pass decides
      }
      TANDEM_RETURN_IF_ERROR(ReadEntry(dir, prefix, name, /*descend=*/covered.trees.count(path) > 0, FolderOf(prefix)));
      EndBatchIfDue();
    }
    return Ok();
  }

  // Whether `dir` lists `name` spelled so. A filesystem that ignores case
  // or Unicode normalisation finds a file by any spelling, so a name an
  // event or a pull asked for may be another name's file (after a case-only
  // rename, or beside a look-alike refused). Asked for a name a record gave
  // (ChangedPaths::unlisted), or when the index or the scan holds a
  // look-alike of the path: otherwise the name is the disk's own.
  bool ListedIn(const std::filesystem::path& dir, const std::string& name) {
    auto names = s_.fs_.ListDir(dir);
    return !names || std::find(names->begin(), names->end(), name) != names->end();
  }

  // `folder`: where `prefix` stands with the ignore rules.
  Result<void> WalkDirectory(const std::filesystem::path& dir, const std::string& prefix,
                             const IgnoreRules::Folder& folder) {
    auto names = s_.fs_.ListDir(dir);
    if (!names) {
      if (prefix.empty()) return names.error();
      Skip(prefix + "/", "cannot list this folder: " + names.error().message);
      unreadable_.push_back(prefix + "/");
      return Ok();
    }
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      if (prefix.empty() && name == RelPath::kRepoDirName) continue;
      TANDEM_RETURN_IF_ERROR(ReadEntry(dir, prefix, name, /*descend=*/true, folder));
    }
    return Ok();
  }

  // The entry `name` in `dir` (`prefix` below the root), and with `descend`
  // what is below it. Missing: left to the tombstones.
  Result<void> ReadEntry(const std::filesystem::path& dir, const std::string& prefix, const std::string& name,
                         bool descend, const IgnoreRules::Folder& folder) {
    std::string text = prefix.empty() ? name : prefix + "/" + name;
    if (text == kIgnoreFileName) return Ok();  // this device's own, never synced nor counted
    if (s_.ignore_ && s_.ignore_->CheckIn(folder, text).ignored) {
      // A path below an ignored folder (a change the watcher saw there) is
      // that folder's, as the whole walk would have met it.
      std::string top = text;
      for (size_t slash = text.find('/'); slash != std::string::npos; slash = text.find('/', slash + 1)) {
        if (Ignored(text.substr(0, slash))) {
          top = text.substr(0, slash);
          break;
        }
      }
      if (stats_.ignored.empty() || stats_.ignored.back() != top) stats_.ignored.push_back(std::move(top));
      // Only a line that re-includes something below makes an ignored
      // folder worth listing. What is indexed below one not listed stays
      // as it is (never taken for deleted), whatever Check says of it.
      if (!descend || !s_.ignore_->ReincludesBelowRoot()) {
        if (descend) pruned_.insert(text + "/");
        return Ok();
      }
      auto info = s_.fs_.Lstat(dir / name);
      if (info && info->kind == fs::FileKind::kDirectory) {
        return WalkDirectory(dir / name, text, s_.ignore_->Enter(folder, text));
      }
      return Ok();
    }
    auto rel = RelPath::Parse(text);
    if (!rel) {
      Skip(text, "this name cannot be synced (" + rel.error().message + ")");
      return Ok();
    }
    std::filesystem::path full = dir / name;
    auto info = s_.fs_.Lstat(full);
    if (!info) return Ok();  // vanished since the listing: the tombstone pass decides
    auto kind = EntryKindOf(info->kind);
    if (!kind) {
      Skip(text, "not synced: a FIFO, socket or device file, not a file, folder or symlink");
      return Ok();
    }
    ++stats_.entries_seen;
    Visit(*rel, full, *kind, *info);
    EndBatchIfDue();
    if (descend && *kind == EntryKind::kDirectory) {
      TANDEM_RETURN_IF_ERROR(WalkDirectory(full, text, s_.ignore_ ? s_.ignore_->Enter(folder, text) : folder));
    }
    return Ok();
  }

  void Visit(const RelPath& rel, const std::filesystem::path& full, EntryKind kind,
             const fs::FileInfo& info) {
    // Erased before anything can fail: a file that cannot be read now keeps
    // its last indexed version instead of turning into a tombstone.
    auto known = known_.Take(rel.str());
    bool was_known = known.has_value();
    std::optional<VersionVector> local_vector;
    std::optional<store::LocalFileState> indexed;
    if (was_known) {
      if (MatchesIndexedState(*known, info)) return;
      // The version the disk held, which a change descends from (the
      // known paths of a whole tree hold no versions).
      indexed = s_.repo_.GetFileState(rel.str());
      local_vector = indexed ? indexed->vector : VersionVector{};
    }
    crypto::Entry entry{.path = rel};
    entry.kind = kind;
    entry.mode = info.mode;
    store::LocalFileState state{.path = rel.str(), .kind = kind, .size = 0,
                                .mtime_ns = info.mtime_ns, .ctime_ns = info.ctime_ns,
                                .inode = info.inode, .mode = info.mode, .blocks = {}};
    if (kind == EntryKind::kFile) {
      auto read = ReadBlocks(full, info);
      if (!read) {
        Skip(rel.str(), read.error().message);
        return;
      }
      entry.blocks = std::move(*read);
      entry.size = info.size;
      entry.mtime_ns = info.mtime_ns;
    } else if (kind == EntryKind::kSymlink) {
      auto target = s_.fs_.ReadLink(full);
      if (!target) {
        Skip(rel.str(), "cannot read this symlink: " + target.error().message);
        return;
      }
      entry.symlink_target = *target;  // no mtime: links cannot carry one portably
    }
    state.size = entry.size;
    state.blocks = entry.blocks;
    bool coarse = info.mtime_ns % 1'000'000'000 == 0 && info.ctime_ns % 1'000'000'000 == 0;
    if (kind == EntryKind::kFile && coarse && NowNs() - info.mtime_ns < kRacyWindowCoarseNs) {
      state.ctime_ns = kRacyCtime;
    }
    // Only the stat data moved (a racy entry re-read, a chmod undone): the
    // disk still holds what was indexed, so there is no new version. This
    // compares with what is on disk, not with the latest record, which may
    // be a newer version from a peer that is still to be pulled.
    if (indexed && indexed->kind == kind && indexed->mode == state.mode && indexed->blocks == state.blocks &&
        (kind == EntryKind::kDirectory || indexed->mtime_ns == state.mtime_ns)) {
      state.vector = indexed->vector;
      s_.repo_.PutFileState(state);
      return;
    }
    if (observed_) {
      // What the disk holds now may still be the share's version (a symlink
      // re-created, the right file copied back in): then it is no change.
      crypto::Locator locator = crypto::ComputeLocator(s_.secrets_.locator_key(), rel.str());
      if (auto stored = s_.repo_.GetRecord(locator)) {
        auto share = crypto::OpenRecord(s_.secrets_, stored->record);
        if (share && !share->deleted && SameContent(*share, entry)) {
          state.vector = stored->record.vector;
          s_.repo_.PutFileState(state);
          return;
        }
      }
      observed_->push_back({rel.str(), was_known ? LocalChange::Kind::kModified : LocalChange::Kind::kAdded, kind});
      return;
    }
    auto vector = WriteVersion(std::move(entry), local_vector, &state);
    if (!vector) return;
    state.vector = std::move(*vector);
    s_.repo_.PutFileState(state);
  }

  // The file's block list, read in one pass; kIo if it changed while read
  // (it is picked up again by the next scan, once it has settled).
  Result<std::vector<crypto::BlockRef>> ReadBlocks(const std::filesystem::path& full,
                                                   const fs::FileInfo& info) {
    TANDEM_ASSIGN_OR_RETURN(auto file, s_.fs_.OpenRead(full));
    std::vector<crypto::BlockRef> blocks;
    StreamChunker chunker(*file, s_.chunker_, info.size);
    uint64_t total = 0;
    // Each batch is hashed (mostly by the helper) while this thread reads
    // and cuts the next: the two costs are about equal per byte.
    TANDEM_ASSIGN_OR_RETURN(std::vector<ByteView> batch, chunker.NextBatch());
    while (!batch.empty()) {
      Result<std::vector<ByteView>> next = std::vector<ByteView>();
      {
        PendingHashes hashing(s_.secrets_.id_key(), batch, s_.helper_, blocks);
        next = chunker.NextBatch();
      }
      for (ByteView chunk : batch) total += chunk.size();
      if (!next) return next.error();
      batch = std::move(*next);
    }
    TANDEM_ASSIGN_OR_RETURN(fs::FileInfo after, file->Stat());
    if (total != info.size || after.size != info.size || after.mtime_ns != info.mtime_ns) {
      return MakeError(ErrorCode::kIo, full.string() + " changed while it was read; will retry");
    }
    ++stats_.files_hashed;
    stats_.bytes_hashed += total;
    bytes_in_batch_ += total;
    return blocks;
  }

  // Records `entry`, the version now on disk (or its deletion), which descends
  // from `local_vector`, the version the disk held before (none for a path
  // new here). Returns the vector the local state now carries, or nothing
  // when the local state must stay as it was.
  std::optional<VersionVector> WriteVersion(crypto::Entry entry, const std::optional<VersionVector>& local_vector,
                                           const store::LocalFileState* on_disk = nullptr) {
    crypto::Locator locator = crypto::ComputeLocator(s_.secrets_.locator_key(), entry.path.str());
    entry.device_short_id = s_.author_.device;
    VersionVector base = local_vector.value_or(VersionVector{});
    auto previous = s_.repo_.GetRecord(locator);
    if (previous) {
      auto opened = crypto::OpenRecord(s_.secrets_, previous->record);
      if (opened && SameVersion(*opened, entry)) return previous->record.vector;  // metadata-only change on disk
      Ordering order = previous->record.vector.Compare(base);
      // Recreating a path whose deletion was applied here descends from that deletion.
      bool after_applied_delete = !local_vector && opened && opened->deleted;
      bool descends = order == Ordering::kBefore || order == Ordering::kEqual || after_applied_delete || !opened;
      if (!descends) {
        // The record is a version this disk never held (a peer's, not
        // pulled yet): the local change is concurrent with it.
        Version local{crypto::MakeRecord(s_.secrets_, entry, Descend(base, previous->record.vector, s_.author_.replica)),
                      entry};
        // Settling may copy the losing local file at once: it must know
        // what the disk holds now.
        auto old_state = on_disk ? s_.repo_.GetFileState(on_disk->path) : std::nullopt;
        if (on_disk) {
          store::LocalFileState state = *on_disk;
          state.vector = local.record.vector;
          s_.repo_.PutFileState(state);
        }
        LocalDisk disk{s_.fs_, s_.root_};
        Settlement settled = Settle(s_.repo_, s_.secrets_, s_.author_.replica, local, {previous->record, *opened}, &disk);
        stats_.records_written += settled.written.size();
        records_in_batch_ += settled.written.size();
        if (!settled.written.empty()) ++stats_.conflicts;
        if (!settled.copy_path.empty()) stats_.conflict_copies.push_back({entry.path.str(), settled.copy_path});
        // Left as it was, the local state still differs from the disk, so
        // no pull overwrites the edit.
        if (settled.unsettled) {
          if (old_state) {
            s_.repo_.PutFileState(*old_state);
          } else if (on_disk) {
            s_.repo_.DeleteFileState(on_disk->path);
          }
          return std::nullopt;
        }
        if (settled.merged.empty()) return previous->record.vector;  // same content
        return settled.a_wins ? settled.merged : local.record.vector;
      }
      base.Merge(previous->record.vector);
    }
    spdlog::debug("scan: new version of {} ({}{})", entry.path.str(), crypto::EntryKindName(entry.kind),
                  entry.deleted ? ", deleted" : "");
    VersionVector vector = Descend(base, {}, s_.author_.replica);
    s_.repo_.PutRecord(crypto::MakeRecord(s_.secrets_, entry, vector), entry.path.str());
    if (stats_.changes.size() < kMaxChangesListed) {
      const bool was_there = local_vector.has_value();  // the disk held it when last indexed
      stats_.changes.push_back({entry.path.str(),
                                entry.deleted ? LocalChange::Kind::kDeleted
                                : was_there   ? LocalChange::Kind::kModified
                                              : LocalChange::Kind::kAdded,
                                entry.kind});
    }
    ++stats_.records_written;
    ++records_in_batch_;
    return vector;
  }

  // Called between entries, never between a record and the local state
  // that goes with it: peers ask for a record's blocks as soon as the batch
  // is announced, and are served from the local state's block locations.
  void EndBatchIfDue() {
    if (records_in_batch_ == 0) return;
    if (records_in_batch_ >= kBatchRecords || bytes_in_batch_ >= kBatchBytes ||
        std::chrono::steady_clock::now() - batch_started_ >= kBatchTime) {
      tx_->Commit();
      tx_.emplace(s_.repo_.Begin());
      records_in_batch_ = 0;
      bytes_in_batch_ = 0;
      batch_started_ = std::chrono::steady_clock::now();
      if (s_.on_batch_) s_.on_batch_();
    }
  }

  // A path not indexed this pass, and why: counted, listed for the user
  // (tandem info) and logged, with bytes that are not UTF-8 escaped.
  void Skip(const std::string& path, const std::string& why) {
    ++stats_.skipped;
    std::string line = EscapeNonUtf8(path) + ": " + EscapeNonUtf8(why);
    spdlog::warn("scan: skipped {}", line);
    if (stats_.skipped_paths.size() < kMaxSkippedListed) {
      stats_.skipped_paths.push_back(std::move(line));
      stats_.skipped_keys.push_back(path);
    }
  }

  bool Ignored(const std::string& path) const { return s_.ignore_ && s_.ignore_->Check(path).ignored; }
  IgnoreRules::Folder FolderOf(const std::string& path) const {
    return s_.ignore_ && !path.empty() ? s_.ignore_->FolderOf(path) : IgnoreRules::Folder{};
  }

  bool UnderPruned(const std::string& path) const {
    for (size_t slash = path.find('/'); !pruned_.empty() && slash != std::string::npos; slash = path.find('/', slash + 1)) {
      if (pruned_.count(path.substr(0, slash + 1))) return true;
    }
    return false;
  }

  bool UnderUnreadable(const std::string& path) const {
    for (const std::string& u : unreadable_) {
      if (path == u || path.starts_with(u)) return true;
    }
    return false;
  }

  void WriteTombstones() {
    std::vector<std::string> gone;
    // An ignored path was not looked at: what the index says of it stays.
    known_.ForEachUnseen([&](const std::string& path) {
      if (!UnderUnreadable(path) && !UnderPruned(path) && !Ignored(path)) gone.push_back(path);
    });
    // Children before parents, so a receiver empties a folder before removing it.
    std::sort(gone.rbegin(), gone.rend());
    if (DeletionHold* hold = s_.hold_; hold && !observed_) {
      std::set<std::string> held;
      for (const std::string& path : gone) {
        if (!hold->record_now.count(path)) held.insert(path);
      }
      // Held paths this scan did not look at stay held, for a scan that does.
      std::set<std::string> elsewhere;
      for (const std::string& path : hold->paths) {
        if (!stats_.covered.Covers(path)) elsewhere.insert(path);
      }
      const auto now = std::chrono::steady_clock::now();
      const bool grew = std::any_of(held.begin(), held.end(), [&](const std::string& p) { return !hold->paths.count(p); });
      if (grew) hold->since = now;
      if (!held.empty() && (grew || now - hold->since < hold->settle)) {
        std::erase_if(gone, [&](const std::string& p) { return held.count(p) > 0; });
        held.merge(elsewhere);
      } else {
        held = std::move(elsewhere);
      }
      stats_.deletions_held = held.size();
      hold->paths = std::move(held);
    }
    if (observed_) {
      for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
        observed_->push_back({*it, LocalChange::Kind::kDeleted, known_.Peek(*it)->kind});
      }
      std::sort(observed_->begin(), observed_->end(),
                [](const LocalChange& a, const LocalChange& b) { return a.path < b.path; });
      return;
    }
    for (const std::string& path : gone) {
      auto rel = RelPath::Parse(path);
      if (!rel) {
        s_.repo_.DeleteFileState(path);
        continue;
      }
      const store::LocalFileState known = *known_.Peek(path);
      crypto::Entry tombstone{.path = *rel};
      tombstone.kind = known.kind;
      tombstone.deleted = true;
      tombstone.mtime_ns = NowNs();
      auto indexed = s_.repo_.GetFileState(path);
      if (!WriteVersion(std::move(tombstone), indexed ? indexed->vector : VersionVector{})) continue;
      s_.repo_.DeleteFileState(path);
      ++stats_.deleted;
      EndBatchIfDue();
    }
  }

  Scanner& s_;
  std::vector<LocalChange>* observed_;
  const fs::ChangedPaths* changed_;
  ScanStats stats_;
  KnownPaths known_;  // the index's paths this pass may meet; those met are taken
  std::vector<std::string> unreadable_;  // "dir/" prefixes of folders that could not be listed
  std::set<std::string> pruned_;         // "dir/" prefixes of ignored folders not listed
  std::optional<store::Transaction> tx_;
  uint64_t records_in_batch_ = 0;
  uint64_t bytes_in_batch_ = 0;
  std::chrono::steady_clock::time_point batch_started_ = std::chrono::steady_clock::now();
};

Scanner::Scanner(fs::Filesystem& fs, store::Repository& repo, const crypto::ShareSecrets& secrets,
                 Author author, std::filesystem::path root, ChunkerParams chunker, Helper helper)
    : fs_(fs), repo_(repo), secrets_(secrets), author_(author), root_(std::move(root)),
      chunker_(chunker), helper_(std::move(helper)) {}

Result<ScanStats> Scanner::ScanAll() { return Run(nullptr, nullptr); }

Result<ScanStats> Scanner::ObserveAll(std::vector<LocalChange>& changes) {
  changes.clear();
  return Run(&changes, nullptr);
}

Result<ScanStats> Scanner::ScanChanged(const fs::ChangedPaths& changed) { return Run(nullptr, &changed); }

Result<ScanStats> Scanner::ObserveChanged(const fs::ChangedPaths& changed, std::vector<LocalChange>& changes) {
  changes.clear();
  return Run(&changes, &changed);
}

Result<ScanStats> Scanner::Run(std::vector<LocalChange>* observed, const fs::ChangedPaths* changed) {
  auto start = std::chrono::steady_clock::now();
  auto stats = Pass(*this, observed, changed).Run();
  if (stats) {
    stats->duration_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::steady_clock::now() - start)
                                                   .count());
  }
  return stats;
}

}  // namespace tandem::scan
