// NeedQueue: the paths this device must bring up to date, in the order they
// are pulled, and what became of each try: pulled, waiting for a peer that
// has the blocks (blocked, retried when one attaches, sends records, or
// after a pause), or failed for a reason the user must see (listed in the
// status, logged once). A newer record for a path being pulled asks for one
// more pull once that one ends (generations).
//
// Plain data, no I/O and no asio: the engine's loop thread owns it and
// drives it (ShareEngine: pull workers take Next() and report Finish()).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "crypto/record.h"
#include "fs/filesystem.h"

namespace tandem::sync {

struct Need {
  uint64_t bytes = 0;
  bool deletion = false;  // the path is to be deleted here
  bool revert = false;  // replace a read replica's local change...
  // ...as long as the disk is still as it was when the revert was asked
  // (nothing: the path was missing then). A later edit is kept instead.
  std::optional<fs::FileInfo> revert_disk;
};

class NeedQueue {
 public:
  // How one pull ended.
  enum class Outcome {
    kPulled,   // the path is up to date
    kWaiting,  // no peer had the blocks yet, or the share cannot write now: retried quietly
    kFailed,   // a reason the user must see (`why`); retried too
  };
  // What Finish() decided.
  enum class Next {
    kDone,       // nothing more to do for this path
    kPullAgain,  // a newer record came during the pull: queued again
    kRetryLater, // blocked: arm the retry timer
  };

  // Adds (or replaces) the needs; a path new here, or blocked, is queued.
  // A path being pulled now is pulled again once that pull ends.
  void Add(const std::vector<std::pair<crypto::Locator, Need>>& needs);

  // The next path to pull and its generation (for Finish), skipping paths
  // no longer needed or blocked meanwhile; nothing when the queue is empty.
  std::optional<std::pair<crypto::Locator, uint64_t>> Take();
  // Records how the pull of `locator` (taken at `generation`) ended. With
  // kFailed, `why` is new (to be logged) if it differs from the last one.
  // `path` names the failure in failures().
  Next Finish(const crypto::Locator& locator, uint64_t generation, Outcome outcome, const std::string& why = {},
              bool* why_is_new = nullptr, const std::string& path = {});

  // Blocked paths go back to the queue (a peer attached, records came).
  void RetryBlocked();
  // Queued paths wait as blocked ones do (the share stopped syncing).
  void BlockQueued();
  void Clear();

  std::optional<Need> Find(const crypto::Locator& locator) const;
  bool Contains(const crypto::Locator& locator) const { return needs_.count(locator) > 0; }
  size_t queued() const { return queue_.size(); }
  bool has_blocked() const { return !blocked_.empty(); }
  // Needed paths of which some are not blocked: pulling is under way.
  bool pulling() const { return blocked_.size() < needs_.size(); }
  size_t files() const { return needs_.size(); }
  uint64_t bytes() const;
  size_t deletions() const;  // of files()
  // Every path needed (queued, being pulled, blocked), for sweeping part files.
  std::vector<crypto::Locator> locators() const;
  // The failed paths with their reasons, sorted by reason.
  struct Failure {
    std::string path;
    std::string reason;
  };
  std::vector<Failure> failures() const;

 private:
  // One per path a large share still needs: kept small (100,000 of them
  // when a device first joins), the rare revert's disk kept apart.
  struct Entry {
    uint64_t bytes = 0;
    uint64_t generation = 0;  // changes whenever a newer record asks for the path
    bool deletion = false;
  };
  std::deque<crypto::Locator> queue_;
  std::map<crypto::Locator, Entry> needs_;  // queued, being pulled or blocked
  std::map<crypto::Locator, std::optional<fs::FileInfo>> reverts_;  // Need::revert_disk of those that revert
  std::set<crypto::Locator> blocked_;       // waiting for a peer that has the blocks
  std::map<crypto::Locator, Failure> failed_;
  uint64_t generation_ = 0;
};

}  // namespace tandem::sync
