// Conflicts: the conflicts API (tandem conflicts, tandem resolve) as plain
// functions over a share's repository and folder. Listing reads records;
// resolving acts on the disk only (the engine's scan then records the
// result as any edit). The conflict rules themselves are scan/conflict.h.
//
// Runs on the share's strand (it uses the Repository); blocking.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "fs/filesystem.h"
#include "store/repository.h"
#include "sync/versions.h"

namespace tandem::sync {

// One side of a conflict as listed to the user.
struct ConflictSide {
  std::string device7;  // first group of the device id that made it
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  bool present = true;  // false when the file at the name was deleted since
};

// A conflict copy and the file it was made beside. "local" is the version
// at the file's own name, "remote" the one kept in the copy.
struct Conflict {
  std::string id;    // the copy's path: what share_resolve_conflict takes
  std::string path;  // the file's path
  ConflictSide local;
  ConflictSide remote;
};

enum class ConflictKeep { kLocal, kRemote, kBoth };

// Every conflict copy in the share, by copy path.
std::vector<Conflict> ListConflicts(store::Repository& repo, const crypto::ShareSecrets& secrets);

// The conflict `key` names in `conflicts`: by its copy's path, or by the
// file's path when the file has one copy. kNotFound, or kInvalidArgument
// for a file with several copies, with what to do.
Result<Conflict> FindConflict(const std::vector<Conflict>& conflicts, const std::string& key);

// Settles `conflict` on disk below `root`: kLocal deletes the copy, kRemote
// moves it to the file's name, kBoth renames it to a plain name. Refuses
// (and changes nothing) when a folder above either path is not a real
// folder, the copy is not on disk, the file's name is a folder, or the plain
// name is taken. Returns what was done, in words. The version discarded
// (kLocal: the copy; kRemote: what was at the name) goes to `keep` first.
Result<std::string> ResolveOnDisk(fs::Filesystem& filesystem, const std::filesystem::path& root, const Conflict& conflict,
                                  ConflictKeep keep, const KeepBeforeChange& keep_version = {});

}  // namespace tandem::sync
