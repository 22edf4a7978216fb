// Concurrent versions of one path: which one keeps the name, what the other
// becomes, and the records that settle it. Every device applies the same
// rules to the same two versions and so reaches the same result.
//
// A write replica that meets two concurrent versions with different content
// settles them with records, not with a local choice: the loser is kept as a
// conflict copy (a new path whose name is derived from the losing version, so
// every device that settles the same pair names it alike and a copy is never
// made twice), and the winner is written again under a vector that dominates
// both. Relays and read replicas that cannot open or sign then simply apply
// the dominating record. Versions with the same content converge without a
// copy, by a rule (signature order) that even a blind replica can apply.
//
// Pure functions, except Settle, which writes to the repository; used on the
// share's strand.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/version_vector.h"
#include "crypto/keys.h"
#include "crypto/record.h"
#include "fs/filesystem.h"
#include "store/repository.h"

namespace tandem::scan {

// The first 7 characters of the device id whose short id this is, as in
// conflict copy names.
std::string Device7(uint64_t short_id);

// Whether `a` keeps the name over its concurrent version `b`. The same
// content: the larger signature (what a blind replica, which cannot open
// either, also picks). Otherwise an edit beats a delete, then the newer
// mtime, then the larger device short id, then the larger signature.
// Exactly one of Wins(a, b) and Wins(b, a) holds.
bool Wins(const crypto::Entry& a, const crypto::Record& ra, const crypto::Entry& b, const crypto::Record& rb);

// Whether two versions leave the same thing on disk (path aside): both
// deleted, or the same kind, mode, symlink target and blocks.
bool SameContent(const crypto::Entry& a, const crypto::Entry& b);

// `dir/name.ext` as {"dir/name", ".ext"}; a leading dot (".bashrc") starts
// the name, not an extension.
std::pair<std::string, std::string> SplitExtension(const std::string& path);

// `stem.sync-conflict-YYYYMMDD-HHMMSS-DEVICE7.ext`, from the losing
// version's mtime (UTC, plus `later_s` seconds when an earlier name is
// taken by another version) and the device that made it.
std::string ConflictCopyPath(const crypto::Entry& loser, int64_t later_s = 0);

// What a conflict copy's name says, if `path` is one.
struct ConflictCopyName {
  std::string original;  // the path the copy was made beside
  std::string device7;
  std::string stamp;     // YYYYMMDD-HHMMSS
};
// `original` is then the copy's name without the marker, which is not the
// file's when the copy's name had to be shortened (MayBeShortened).
std::optional<ConflictCopyName> ParseConflictCopyPath(const std::string& path);

// Whether `copy` is the name a conflict copy of `original` gets (shortened
// or not), for the stamp and device it names.
bool IsConflictCopyOf(const std::string& copy, const std::string& original);
// Whether the copy's name is as long as names get: its stem may have been
// shortened, and the file it was made beside must be looked for.
bool MayBeShortened(const std::string& copy);

// `base` with `device`'s counter above every counter in `base` and `seen`,
// and at least the wall clock in seconds: a new version that descends from
// `base` and is never dominated by `seen`. The clock keeps a repository
// restored from a backup from issuing counters it already issued after the
// backup was taken (Syncthing's vectors do the same; docs/decisions.md).
VersionVector Descend(const VersionVector& base, const VersionVector& seen, uint64_t device);

// One version of a path, opened.
struct Version {
  crypto::Record record;
  crypto::Entry entry;
};

struct Settlement {
  bool a_wins = false;
  // No copy of the loser could be named: nothing was written, and the
  // stored version stays (no version may be replaced without a copy).
  bool unsettled = false;
  // Locators written (the conflict copy first, then the merged winner), in
  // the order they must be pulled: the copy is taken from local blocks
  // before the winner may overwrite them.
  std::vector<crypto::Locator> written;
  std::string copy_path;  // the loser's conflict copy, when one was written
  VersionVector merged;  // the winner's new vector; empty when nothing was written
};

// The folder a write replica's files live in, for Settle to copy a losing
// version that sits on disk right away.
struct LocalDisk {
  fs::Filesystem& fs;
  std::filesystem::path root;
};

// If the file indexed at `from` holds `content`'s blocks and is unchanged on
// disk, copies it to `to` now (with `content`'s mode and mtime) and records
// the copy's local state with `vector`. The copy then needs no peer, and no
// later pull that replaces `from` can take the only copy of that content
// with it. Returns whether the copy was made.
bool CopyIndexedFile(store::Repository& repo, const LocalDisk& disk, const std::string& from,
                     const crypto::Entry& content, const std::string& to, const VersionVector& vector);

// Settles concurrent versions `a` and `b` of one path at a write replica:
// writes a conflict copy of the loser (unless it is a delete, or a copy with
// the same content exists already) and the winner under a vector dominating
// both. When their content is the same nothing is written; the winner by
// signature order is the result. With `disk`, a loser that is the file on
// disk (as indexed) is copied to its conflict name at once, and a winner
// that the disk already holds gives the local state the merged vector.
// `replica` is the settling repository's id in version vectors.
// REQUIRES: secrets.CanWrite().
Settlement Settle(store::Repository& repo, const crypto::ShareSecrets& secrets, uint64_t replica,
                  const Version& a, const Version& b, const LocalDisk* disk = nullptr);

}  // namespace tandem::scan
