// Ignore patterns: which paths of a share this device leaves alone. The
// language is Syncthing's `.stignore`, so a user can copy one over:
//
//   - one pattern a line; the first line that matches a path decides;
//   - `*` matches within one path segment, `**` across segments, `?` one
//     character (not `/`), `[a-z]` a class (`[!a-z]` or `[^a-z]` its
//     complement), `{a,b}` alternatives, `\` escapes the next character;
//   - a leading `/` anchors the pattern at the share's root; otherwise it
//     matches at any depth;
//   - a pattern that matches a folder covers everything in it; one that
//     ends in `/` covers a folder's contents but not the folder itself;
//   - prefixes, in any order, each in its own parentheses: `!` re-includes
//     what a later line would ignore, `(?i)` ignores case (Unicode case
//     folding), `(?d)` marks files that may be deleted when they alone keep
//     a folder that a peer deleted;
//   - `//` starts a comment line; blank lines are skipped; a line's leading
//     and trailing spaces are trimmed;
//   - `#include FILE` reads patterns from another file of the share (a path
//     from the share's root; its patterns are still relative to the root).
//     A missing file, a file included twice, or a cycle is an error.
//
// Pure: compiled once per change of the pattern files, then asked per
// path. Any thread, no shared state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace tandem::scan {

// The pattern file at a share's root. It is this device's own: never
// synced (Check says so whatever the rules), so one device's ignores never
// become another's. Files it #includes are synced like any other.
inline constexpr std::string_view kIgnoreFileName = ".tandemignore";

// One line of a pattern file, as written, and where it was.
struct IgnoreLine {
  std::string file;  // ".tandemignore", or the included file
  int line = 0;      // from 1
  std::string text;  // the line as written, trimmed; with line 0, why

  // ".tandemignore:3: build/" (the user reads "ignored by " before it)
  std::string Where() const;
};

struct IgnoreVerdict {
  bool ignored = false;
  bool deletable = false;  // (?d): may go when it alone keeps a deleted folder
  // The line that decided; none when no line matched (not ignored).
  std::optional<IgnoreLine> by;
};

class IgnoreRules {
 public:
  // Reads a file of the share by its path from the root; nullopt if missing.
  using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

  // No rules: nothing is ignored.
  IgnoreRules();
  ~IgnoreRules();
  IgnoreRules(IgnoreRules&&) noexcept;
  IgnoreRules& operator=(IgnoreRules&&) noexcept;

  // Compiles `text`, the contents of `file_name`. kInvalidArgument naming the
  // file and line of the first malformed line, missing or repeated include,
  // or include cycle.
  static Result<IgnoreRules> Parse(const std::string& file_name, std::string_view text, const ReadFile& read);

  // `path`: relative to the share's root, '/'-separated, no leading '/'.
  // kIgnoreFileName is always ignored.
  IgnoreVerdict Check(std::string_view path) const;

  // Where a folder stands with the rules: a walk of the tree checks each
  // entry by its name alone (CheckIn), carrying what the folders above it
  // already said, instead of matching every rule against the whole path.
  struct Folder {
    // The first rule matching this folder or one above it, counting rules
    // that end in / (they cover what is in the folder); kNone: none.
    size_t cover = kNone;
  };
  static constexpr size_t kNone = static_cast<size_t>(-1);
  // `path` is the entry's whole path; `folder`, that of the folder holding
  // it (Folder{} for the root). The same verdict as Check(path).
  IgnoreVerdict CheckIn(const Folder& folder, std::string_view path) const;
  // The folder at `path`, inside `folder`.
  Folder Enter(const Folder& folder, std::string_view path) const;
  // The folder at `path`, from the root.
  Folder FolderOf(std::string_view path) const;

  // True when some line re-includes (`!`) a path below the root: an ignored
  // folder may then hold something that is not ignored, and must still be
  // looked into. `!/top` alone does not count.
  bool ReincludesBelowRoot() const { return reincludes_below_root_; }

  bool empty() const;
  // Every file the rules were read from, `.tandemignore` first: a change to
  // any of them means compiling again.
  const std::vector<std::string>& files() const { return files_; }

 private:
  struct Rule;
  // The first rule, before `limit`, with a match that ends at the end of
  // `path`; with `covering`, a rule ending in / counts (it covers what is
  // in the folder `path`). kNone when none.
  size_t FirstMatchAtEnd(std::string_view path, bool covering, size_t limit) const;
  IgnoreVerdict VerdictOf(size_t rule) const;
  // Which rules a name may match, by its last character (ignore.cc).
  struct Index;
  void BuildIndex();
  std::vector<Rule> rules_;
  std::unique_ptr<Index> index_;
  std::vector<std::string> files_;
  bool reincludes_below_root_ = false;
};

}  // namespace tandem::scan
