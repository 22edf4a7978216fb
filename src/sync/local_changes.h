// A read replica's local changes undone (`tandem revert`): what a revert
// removes at once (additions) and what it asks the puller to bring back
// (modified and deleted paths, replaced only once the share's version is
// assembled, and only if the disk is still as it was when asked).
//
// Threads: RevertOnDisk where the repository is used (the engine's strand).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "fs/filesystem.h"
#include "scan/scanner.h"
#include "store/repository.h"
#include "sync/need_queue.h"
#include "sync/versions.h"

namespace tandem::sync {

struct Revert {
  uint64_t count = 0;  // paths reverted or queued
  std::vector<std::pair<crypto::Locator, Need>> needs;
  std::vector<std::string> failed;  // additions that could not be removed, each with why
};

// Reads the local changes afresh (a scan that records nothing) and reverts
// those at or below `path` (all when empty), deepest first: additions are
// removed now (a file's content going to `keep_version` first), the rest
// become needs marked as reverts (kept, if so, as they are replaced).
Result<Revert> RevertOnDisk(store::Repository& repo, fs::Filesystem& fs, const crypto::ShareSecrets& secrets,
                            scan::Author author, const std::filesystem::path& root, const std::string& path,
                            const KeepBeforeChange& keep_version = {});

}  // namespace tandem::sync
