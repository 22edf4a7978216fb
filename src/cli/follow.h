// Following the daemon as it works: `tandem watch` (its events, live) and
// the `--wait` of `tandem add` and `tandem import` (a progress bar until
// the share is in sync). Both wait by long polls of events_poll, never by
// sleeping. Blocking; the CLI's main thread only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace tandem::cli {

// Prints events as they come until interrupted: in words, with per-file
// progress bars (redrawn in place on a terminal), or with `as_json` one
// JSON object per line. From `since` (default: from now on), of `share`
// (default: all). Returns the exit status (3: the daemon went away).
int Watch(const std::filesystem::path& config_dir, const std::string& share, bool as_json,
          std::optional<uint64_t> since);

// Shows a progress bar until share `share` (an id) is in sync: idle, with
// nothing needed and a peer's whole index received; for a share with no
// peer, until its folder is indexed. Returns the exit status (1: the share
// failed, with why).
int WaitUntilInSync(const std::filesystem::path& config_dir, const std::string& share);

}  // namespace tandem::cli
