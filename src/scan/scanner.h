// Scanner: brings a share's records up to date with its directory. Walks the
// tree, or only the paths the watcher saw change (ScanChanged), never
// following symlinks, never entering .tandem; re-reads only the files whose
// size, mtime, ctime, inode or mode changed since they were last indexed, chunks them through StreamChunker (bounded memory), and writes a
// sealed, signed record for every path whose content changed, with this
// device's counter bumped. Paths gone from disk become tombstones.
//
// Runs on the share's strand (it uses the share's Repository); blocking.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "fs/changed_paths.h"
#include "fs/filesystem.h"
#include "scan/block_hasher.h"
#include "scan/chunker.h"
#include "scan/ignore.h"
#include "store/repository.h"

namespace tandem::scan {

// A difference between the folder and the index: a version a writer
// records, or one a read replica, which cannot sign it, keeps to itself.
struct LocalChange {
  enum class Kind { kAdded, kModified, kDeleted };
  std::string path;
  Kind kind = Kind::kModified;
  crypto::EntryKind entry_kind = crypto::EntryKind::kFile;
};
const char* LocalChangeName(LocalChange::Kind kind);  // "added", "modified", "deleted"

// A conflict settled by keeping the losing version of `path` as `copy`.
struct ConflictCopy {
  std::string path;
  std::string copy;
};

struct ScanStats {
  uint64_t entries_seen = 0;     // files, directories and symlinks walked
  uint64_t files_hashed = 0;     // files whose contents were read
  uint64_t bytes_hashed = 0;
  uint64_t records_written = 0;  // new versions, tombstones included
  uint64_t deleted = 0;          // tombstones written
  uint64_t skipped = 0;          // unreadable, unsupported or changing while read
  uint64_t conflicts = 0;        // local changes concurrent with a version not pulled yet
  uint64_t duration_ms = 0;      // wall time of the whole pass
  uint64_t deletions_held = 0;   // missing paths not recorded yet (HoldDeletionsIn)
  // The ignored paths this scan met, each once: a folder ignored whole is
  // one path, its contents not looked at.
  std::vector<std::string> ignored;
  // What `skipped` counts, path by path: "PATH: why" (the path's bytes that
  // are not UTF-8 escaped as \xNN), at most kMaxSkippedListed of them.
  std::vector<std::string> skipped_paths;
  std::vector<std::string> skipped_keys;  // the same paths as they are (a folder as "dir/")
  // What this scan read: everything, or the paths of a ScanChanged after
  // they were widened (a folder new to the index is read whole). What it
  // found there replaces what an earlier scan said of those paths.
  fs::ChangedPaths covered;
  // The versions recorded, path by path, at most kMaxChangesListed of them
  // (records_written counts them all), and the conflict copies made.
  std::vector<LocalChange> changes;
  std::vector<ConflictCopy> conflict_copies;
};
inline constexpr size_t kMaxSkippedListed = 200;
// As many as the service's event log keeps: more would only be dropped.
inline constexpr size_t kMaxChangesListed = 10'000;

// Whether what is on disk is still what was indexed (kind, mode, and for
// files size, and for files and symlinks mtime, ctime and inode).
bool MatchesIndexedState(const store::LocalFileState& known, const fs::FileInfo& info);
// The same for a path that may be indexed and may be on disk (`disk`, a
// Lstat result): indexed and still so, or neither indexed nor there. The
// one test of "the disk is still as indexed" before anything overwrites it.
bool DiskAsIndexed(const std::optional<store::LocalFileState>& indexed, const Result<fs::FileInfo>& disk);

// The entry kind a file on disk is indexed as, if it is one Tandem syncs.
std::optional<crypto::EntryKind> EntryKindOf(fs::FileKind kind);

// Who makes the versions a scan records: the device, named in each entry
// (and so in conflict copies' names), and the replica id its repository
// puts in version vectors (store::Repository::replica_id). One number for
// both where the difference does not matter (tests).
struct Author {
  Author(uint64_t device_short_id) : device(device_short_id), replica(device_short_id) {}  // NOLINT
  Author(uint64_t device_short_id, uint64_t replica_id) : device(device_short_id), replica(replica_id) {}
  uint64_t device;
  uint64_t replica;
};

// Deletions found missing but not recorded yet, between one scan and the
// next (Scanner::HoldDeletionsIn). Owned by the caller, used on the
// scanning thread.
struct DeletionHold {
  std::set<std::string> paths;
  std::chrono::steady_clock::time_point since;
  std::chrono::milliseconds settle{1000};
  std::set<std::string> record_now;
};

class Scanner {
 public:
  // REQUIRES: secrets.CanRead() (CanWrite() for ScanAll); all references
  // outlive the scanner. With a `helper`, large files are hashed on two
  // threads at once.
  Scanner(fs::Filesystem& fs, store::Repository& repo, const crypto::ShareSecrets& secrets,
          Author author, std::filesystem::path root, ChunkerParams chunker = {},
          Helper helper = nullptr);

  // Scans the whole tree. Problems with single files are logged and counted
  // in `skipped` (the file keeps its last indexed version); an unreadable
  // root is an error. SQLite failures throw StoreError.
  Result<ScanStats> ScanAll();

  // A read replica's scan: the same walk, but nothing is recorded. Paths
  // whose content differs from the share's version on disk are returned in
  // `changes`, in path order; stat-only changes just refresh the local state.
  Result<ScanStats> ObserveAll(std::vector<LocalChange>& changes);

  // The same as ScanAll and ObserveAll, for the paths in `changed` only:
  // each entry, and each tree whole; a path gone from the disk becomes a
  // tombstone, with everything indexed below it. A path whose folders are
  // not all indexed real folders any more is widened to the highest such
  // folder, read whole. Cost follows the change, not the share.
  Result<ScanStats> ScanChanged(const fs::ChangedPaths& changed);
  Result<ScanStats> ObserveChanged(const fs::ChangedPaths& changed, std::vector<LocalChange>& changes);

  // Called on the scanning thread after each batch of records is committed
  // before the last, so peers can start on a large tree while it is still
  // being indexed.
  void OnBatchCommitted(std::function<void()> notify) { on_batch_ = std::move(notify); }

  // Asked before the walk and again before any deletion is recorded: is the
  // folder still the share's? A folder that vanished or was swapped for
  // another mid-scan would otherwise look like every file deleted. Its error
  // ends the scan (nothing more is recorded).
  void CheckFolderWith(std::function<Result<void>()> check) { check_folder_ = std::move(check); }

  // Deletions are recorded only once they have settled: the paths missing
  // now are recorded as deleted if they were all missing at an earlier scan
  // (`hold->paths`) and no path has gone missing for `hold->settle`.
  // Otherwise they are held (`hold->paths` replaced; `hold->since` is when
  // the set last grew) and nothing is deleted; the caller scans again once
  // `settle` has passed. A folder being removed whole (`rm -rf`) loses its
  // .tandem before its deletions settle, and the folder check then stops
  // the scan: its files are never taken for deleted by the user. Paths in
  // `hold->record_now` (deletions Tandem made itself) are never held.
  void HoldDeletionsIn(DeletionHold* hold) { hold_ = hold; }

  // Paths these rules ignore are left alone: never read (a folder ignored
  // whole is not even listed, unless some line re-includes what is below
  // it), never recorded, and, when indexed before, never taken for
  // deleted: their records and local states stay as they were.
  void IgnoreWith(std::shared_ptr<const IgnoreRules> rules) { ignore_ = std::move(rules); }

 private:
  class Pass;
  // `changed`: nullptr for the whole tree.
  Result<ScanStats> Run(std::vector<LocalChange>* observed, const fs::ChangedPaths* changed);

  fs::Filesystem& fs_;
  store::Repository& repo_;
  const crypto::ShareSecrets& secrets_;
  Author author_;
  std::filesystem::path root_;
  ChunkerParams chunker_;
  Helper helper_;
  std::function<void()> on_batch_;
  std::function<Result<void>()> check_folder_;
  DeletionHold* hold_ = nullptr;
  std::shared_ptr<const IgnoreRules> ignore_;
};

}  // namespace tandem::scan
