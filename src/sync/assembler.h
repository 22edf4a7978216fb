// Assembler: the second half of pulling a file, after PullPlanner has left
// a plan to fetch. It fills the file's part file in .tandem/tmp with every
// block a local file holds, fetches the rest from peers (BlockFetcher),
// closes and stamps it, and moves it into place in a group commit
// (GroupCommit), only if the record is still the one assembled and the
// disk still as planned: otherwise a local edit came meanwhile, and it is
// indexed first (on_local_change).
//
// A pull that fails keeps its part file for the next try to resume; the
// part files kept, by path, are the Assembler's (kept_parts_), and a later
// pull that wants another one, or none, removes the old one.
//
// Threads: Assemble, Finish and the part-file bookkeeping on the event loop;
// Start on the pool; MoveIntoPlace on the strand (in a group).
#pragma once

#include <asio/awaitable.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "fs/part_file.h"
#include "store/repository.h"
#include "sync/block_fetcher.h"
#include "sync/group_commit.h"
#include "sync/ignore_patterns.h"
#include "sync/pull_planner.h"
#include "sync/share_context.h"

namespace tandem::sync {

class Assembler {
 public:
  // `repo` is the engine's (strand only; null once closed). `on_local_change`
  // is called on the strand with a path whose disk changed since it was
  // planned: it is to be scanned. A path ignored by the time its file is
  // assembled is not written (`ignores`: the engine's).
  Assembler(const ShareContext& context, std::unique_ptr<store::Repository>& repo, BlockFetcher& fetcher,
            GroupCommit& group_commit, std::function<void(std::string path)> on_local_change,
            const IgnorePatterns& ignores);

  // Whether the pull of `plan` writes its one block straight into a new
  // file: a file of one block that no local file holds (most small files).
  // A part file would take three trips to the pool (create, place, close).
  static bool WritesWhole(const PullPlan& plan);

  // Pool: creates (or resumes) the plan's part file and fills in every
  // block a local file holds; the rest are left in plan.missing. On failure
  // plan.step is kRetryLater, with the error.
  void Start(PullPlan& plan);
  // Loop: the missing blocks fetched into the part file (or, `whole`, the
  // one block written as the file), which is then closed, and stamped with
  // the record's mode and mtime when complete.
  // `on_block` (if any) is called on the loop with each fetched block's size.
  asio::awaitable<Result<void>> Assemble(PullPlan& plan, bool whole, std::function<void(uint64_t bytes)> on_block = nullptr);
  // Loop: the assembled file made durable and moved into place, in a group.
  asio::awaitable<Result<void>> Finish(const crypto::Locator& locator, PullPlan plan);

  // Loop: the part file a pull of `locator` leaves for a resume, after its
  // plan; one it no longer wants is removed.
  void KeepPartFile(const crypto::Locator& locator, const PullPlan& plan);
  // Loop: `locator` was pulled without its part file (a local edit
  // superseded the version it was for): nothing will resume it.
  void DropPartFile(const crypto::Locator& locator);
  // Loop, at start: part files of paths not `needed` (asked once the folder
  // is listed, with no suspension before the removals) are removed; the
  // others are left to their pulls. Nothing is removed once `stopped`.
  asio::awaitable<void> SweepPartFiles(std::function<std::vector<crypto::Locator>()> needed,
                                       std::function<bool()> stopped);

 private:
  Result<void> MoveIntoPlace(const crypto::Locator& locator, const PullPlan& plan, bool& renamed);  // strand
  asio::awaitable<Result<void>> Close(PullPlan& plan, bool complete);

  const ShareContext& context_;
  std::unique_ptr<store::Repository>& repo_;
  BlockFetcher& fetcher_;
  GroupCommit& group_commit_;
  const std::function<void(std::string)> on_local_change_;
  const IgnorePatterns& ignores_;
  // Loop only. The part file each path's last pull left behind.
  std::map<crypto::Locator, std::filesystem::path> kept_parts_;
  // Large files being assembled gather whole segments here before they go
  // to the disk (fs::PartFile); shared by all of them, any thread.
  fs::SegmentBufferPool segment_buffers_;
};

}  // namespace tandem::sync
