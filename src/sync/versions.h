// Versions: the old content of files that a change from a peer replaces or
// deletes here, kept in the share's .tandem/versions/ (`path/name~YYYYMMDD-
// HHMMSS.ext`, Syncthing's naming, UTC), never synced and never scanned
// (.tandem is neither). The repository notes which device's change it was.
//
// Keeping costs no copy. A file to be removed is moved into the versions
// (the rename is the removal). A file to be replaced gets a second name in
// the versions (a hard link) before the new content is renamed over it: a
// crash between the two leaves the old content at its name as well, never
// nowhere, and a failed replacement drops the link again (Drop). Where
// hard links are refused (a filesystem without them, a file the kernel's
// protected_hardlinks guards), a replacement keeps no version, said once
// in the log.
//
// Threads: the engine's strand (it uses the repository), except the
// policy, which any thread may set and read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "fs/filesystem.h"
#include "store/repository.h"
#include "sync/version_policy.h"

namespace tandem::sync {

// What a stage calls before it discards the content of the file at `rel`
// (removing it, or renaming another over it): keeps it as a version when
// versioning is on, and returns what undoes that if the replacement then
// fails (empty when there is nothing to undo). An empty KeepBeforeChange
// keeps nothing.
using KeepBeforeChange = std::function<Result<std::function<void()>>(const std::string& rel, bool removing)>;

struct KeptVersion {
  std::string path;    // the file's path in the share
  std::string file;    // the version, relative to .tandem/versions
  int64_t unix = 0;    // when it was kept
  int n = 1;           // the order of those kept in the same second
  uint64_t size = 0;
  std::string device;  // whose change replaced or deleted it (empty: not known)
};

class Versions {
 public:
  static constexpr const char* kDirName = "versions";  // in .tandem

  Versions(fs::Filesystem& fs, std::filesystem::path root);

  // The file at `rel` is about to be replaced (`removing` false) or
  // removed by a change from `device`: keeps its content as a version. A
  // removal moves the file, so the caller's removal then finds it gone.
  // Returns the version's file (relative to the versions folder), or
  // nothing when none was kept.
  Result<std::optional<std::string>> Keep(store::Repository& repo, const std::string& rel, const std::string& device,
                                          bool removing, int64_t now);
  // Keep, now, unless the policy is none: what the stages call before a
  // change from a peer replaces or removes a file.
  Result<std::optional<std::string>> KeepBefore(store::Repository& repo, const std::string& rel,
                                                const std::string& device, bool removing);
  // Undoes a Keep whose change did not happen.
  void Drop(store::Repository& repo, const std::string& file);

  void SetPolicy(const VersioningPolicy& policy);
  VersioningPolicy policy() const;

  // Every kept version at or below `under` (everything when empty), by path,
  // newest first.
  std::vector<KeptVersion> List(store::Repository& repo, const std::string& under = {});

  // Removes what `policy` lets go at `now`, and the oldest beyond its size
  // cap (never the newest version of a file). Returns how many went.
  size_t Cleanup(store::Repository& repo, const VersioningPolicy& policy, int64_t now);

  std::filesystem::path dir() const { return root_ / RelPath::kRepoDirName / kDirName; }
  // Whether hard links were refused here (versions of replaced files not kept).
  bool links_unsupported() const { return links_unsupported_; }

 private:
  fs::Filesystem& fs_;
  const std::filesystem::path root_;
  bool links_unsupported_ = false;
  mutable std::mutex mutex_;
  VersioningPolicy policy_ = VersioningPolicy::Default();
};

}  // namespace tandem::sync
