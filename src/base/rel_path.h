// RelPath: a path inside a share, in the one normal form that is signed,
// hashed into locators and sent to peers: UTF-8 components joined by '/',
// never absolute, never '.', '..', empty or NUL-containing, and never inside
// the reserved `.tandem` folder. Anything else is refused at the boundary,
// so a peer's record can never name a file outside its share.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "base/result.h"

namespace tandem {

class RelPath {
 public:
  static constexpr size_t kMaxLength = 4096;
  static constexpr size_t kMaxComponent = 255;
  static constexpr std::string_view kRepoDirName = ".tandem";

  // The path in normal form, or kInvalidArgument saying what is wrong.
  static Result<RelPath> Parse(std::string_view text);

  // REQUIRES: `name` is a single valid component.
  Result<RelPath> Child(std::string_view name) const;

  const std::string& str() const { return path_; }
  std::string_view Name() const;    // last component
  std::string Parent() const;       // "" for top-level entries
  size_t Depth() const;             // number of components

  auto operator<=>(const RelPath&) const = default;

 private:
  explicit RelPath(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// The form a path takes on a filesystem that ignores case and Unicode
// normalisation (macOS, Windows, ext4 with casefold): two paths with the same
// key would be one file there. A peer's path that only looks like an
// existing one is written beside it only where the folder's filesystem
// tells the two apart (sync: FindFoldedInto).
std::string LookAlikeKey(std::string_view path);

// Whether `name` is acceptable as one component (no '/', NUL, '.', '..', valid UTF-8).
Result<void> ValidateComponent(std::string_view name);

// `text` with every byte that is not part of valid UTF-8, and every control
// character, written as \xNN: a name from the disk made safe for a log line
// or a message (the log stays text, and a terminal is not driven by it).
std::string EscapeNonUtf8(std::string_view text);

}  // namespace tandem
