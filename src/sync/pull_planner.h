// PullPlanner: the first half of pulling one path, on the engine's strand.
// It gathers the facts (the record, the index, the disk), lets DecidePull
// (pull_decision.h) choose, and carries out at once everything that needs
// no peer: removing, making a folder or a symlink, indexing the disk as it
// is, bringing over a mode. A file to assemble is left as a plan (kFetch),
// with every local copy of its blocks found; the Assembler does the rest.
//
// Nothing is written into a folder that is not the share's any more: the
// plan checks the folder first (check_folder). Nothing is written to a path
// this device ignores (IgnorePatterns): its record stays in the index, and
// is passed on, but the disk keeps what it holds. A folder a peer deleted
// that still holds ignored files goes only when all of them are marked (?d).
//
// Threads: the engine's strand, like the repository it reads and writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/record.h"
#include "fs/filesystem.h"
#include "fs/part_file.h"
#include "store/repository.h"
#include "sync/ignore_patterns.h"
#include "sync/pull_decision.h"
#include "sync/share_context.h"

namespace tandem::sync {

// What pulling one path comes to, and what its assembly needs.
struct PullPlan {
  enum class Step {
    kDone,         // nothing (more) to do
    kFetch,        // assemble the file: the Assembler's
    kRetryLater,   // this path failed (`error`); retried later
    kLocalChange,  // the disk holds an edit not indexed yet: scan it, then plan again
    kLookAlike,    // the name would overwrite another on this filesystem (`error`)
    kUnavailable,  // the folder is not the share's now (`error`)
  };
  Step step = Step::kDone;
  PullAction action = PullAction::kNothing;  // what was decided (and, unless kFetch, done)
  std::optional<crypto::Entry> entry;
  uint64_t seq = 0;
  VersionVector vector;  // of the record being applied
  // Set while reverting a read replica's local change: the disk it was asked for.
  std::optional<std::optional<fs::FileInfo>> revert;
  std::optional<store::LocalFileState> expected_local;  // what the index held when planned
  std::filesystem::path tmp;                            // the part file
  std::shared_ptr<fs::FileInAssembly> part;  // open from Assembler::Start until the blocks are all in
  std::vector<std::vector<store::BlockLocation>> sources;  // local copies of each block
  std::vector<uint64_t> offsets;                           // of each block
  std::vector<size_t> missing;                             // block indexes to fetch
  std::string error;

  PullPlan& Stop(Step why, std::string message) {
    step = why;
    error = std::move(message);
    return *this;
  }
};

// The disk a revert was asked for (nullopt: no revert; an empty inner
// optional: the path was missing then).
using RevertAsked = std::optional<std::optional<fs::FileInfo>>;

class PullPlanner {
 public:
  // `repo` is the engine's (null once closed). `check_folder`: whether the
  // folder is still the share's (the engine stops the share when not).
  PullPlanner(const ShareContext& context, std::unique_ptr<store::Repository>& repo, uint64_t device_short_id,
              std::function<Result<void>()> check_folder, const IgnorePatterns& ignores);

  // What pulling `locator` does, with all of it that needs no peer done.
  // Throws store::StoreError.
  PullPlan Plan(const crypto::Locator& locator, const RevertAsked& revert_asked);

 private:
  PullFacts GatherFacts(const crypto::Entry& entry, const RevertAsked& revert_asked);
  Result<void> MoveEditAside(const crypto::Entry& entry, const fs::FileInfo& disk);
  Result<void> MakeSymlinkFor(const crypto::Entry& entry, const crypto::Locator& locator);
  // Does what `decision` says, except a fetch, which is only prepared.
  Result<void> CarryOut(const PullDecision& decision, const PullFacts& facts, const crypto::Locator& locator,
                        PullPlan& plan);
  void PrepareFetch(const crypto::Locator& locator, PullPlan& plan);
  // A folder a peer deleted still holds `full`'s entries here: those that
  // are ignored and marked (?d) are removed, with what is below them. Any
  // other entry keeps the folder; an ignored one says so, by which line.
  Result<void> ClearDeletable(const std::filesystem::path& full, const std::string& rel);
  Result<void> RemoveTree(const std::filesystem::path& full, const std::string& rel);

  const ShareContext& context_;
  std::unique_ptr<store::Repository>& repo_;
  const uint64_t device_short_id_;
  const std::function<Result<void>()> check_folder_;
  const IgnorePatterns& ignores_;
};

// A pull's files in .tandem/tmp (a part file, a symlink made aside) are
// named after the first kTempNamePrefixSize hex digits of the path's
// locator, so that a part file's path is known from its name alone.
inline constexpr size_t kTempNamePrefixSize = 16;
std::string TempNamePrefix(const crypto::Locator& locator);

// The disk as the index records it, for `path` under the record's `vector`.
store::LocalFileState StateFromDisk(const std::string& path, crypto::EntryKind kind, const fs::FileInfo& info,
                                    std::vector<crypto::BlockRef> blocks, VersionVector vector);

// Whether the disk (a Lstat result) is as `then` says: the same file state,
// or missing both times.
bool SameDisk(const Result<fs::FileInfo>& now, const std::optional<fs::FileInfo>& then);

}  // namespace tandem::sync
