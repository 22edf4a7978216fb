// Versioning policy: which kept versions of a file stay, as Syncthing's
// versioners decide it (trashcan, simple, staggered), and how a kept
// version is named (`name~YYYYMMDD-HHMMSS.ext`, UTC). Pure: the caller
// gives the time, so every rule is tested over days without waiting.
//
// Threads: any; no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace tandem::sync {

struct VersioningPolicy {
  enum class Kind { kNone, kTrashcan, kSimple, kStaggered };
  Kind kind = Kind::kTrashcan;
  // trashcan, simple: versions older than this go (0: never by age);
  // staggered: the maximum age (0: kept for ever, thinned to one a week).
  uint32_t days = 30;
  uint32_t keep = 5;       // simple: the newest this many of each file
  uint64_t max_bytes = 0;  // all versions of the share together; 0: no cap

  // What a share gets unless told otherwise: losing a file should take a
  // decision, not a slip.
  static VersioningPolicy Default() { return {}; }
  bool operator==(const VersioningPolicy&) const = default;
};

const char* VersioningKindName(VersioningPolicy::Kind kind);  // "none", "trashcan", ...
// kInvalidArgument naming the kinds for anything else.
Result<VersioningPolicy::Kind> ParseVersioningKind(std::string_view name);
// "trashcan, kept 30 days", "simple, the last 5 for 30 days", ...
std::string DescribeVersioning(const VersioningPolicy& policy);

// One kept version of one file.
struct VersionStamp {
  int64_t unix = 0;  // when it was kept, in seconds
  uint64_t size = 0;
};

// Which of one file's versions go (indexes into `versions`), at `now`.
// Never the newest one before its age limit: for a deleted file it is the
// only copy left.
std::vector<size_t> VersionsToRemove(const VersioningPolicy& policy, const std::vector<VersionStamp>& versions,
                                     int64_t now);

// Staggered thinning: one version per step for ages up to each limit.
struct ThinningStep {
  int64_t up_to_age;  // seconds
  int64_t step;       // seconds
};
const std::vector<ThinningStep>& StaggeredSteps();

// `name~20261205-143000.ext` for `name.ext` kept at `unix`; `n` > 1 for a
// second version kept in the same second: `name~20261205-143000-2.ext`.
// At most 255 bytes: a longer name gives up the end of its stem.
std::string VersionFileName(std::string_view name, int64_t unix, int n = 1);
// The file's own name and when it was kept, from a version's file name;
// nullopt for a name that is not one.
struct ParsedVersionName {
  std::string name;
  int64_t unix = 0;
  int n = 1;  // the order of versions kept in the same second
};
std::optional<ParsedVersionName> ParseVersionFileName(std::string_view file_name);

}  // namespace tandem::sync
