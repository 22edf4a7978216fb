// IgnorePatterns: the ignore rules in force for one share (.tandemignore at
// its root and the files it #includes, scan/ignore.h), compiled once per
// change of those files.
//
// Bad patterns never sync more than before: a file that does not compile
// leaves the rules in force as they were, with the error kept to be shown.
// The sources of the rules in force are kept in the repository, so that a
// restart with a bad file keeps them too. When no rules were ever in force
// and the file is bad, what the user wants left alone is not known: rules()
// is null, and the share scans and pulls nothing until the file is fixed.
//
// Threads: Load on the engine's strand (it reads the folder and the
// repository); everything else from any thread (a mutex guards the rules;
// the rules themselves are immutable, shared).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "fs/changed_paths.h"
#include "fs/filesystem.h"
#include "scan/ignore.h"
#include "store/repository.h"

namespace tandem::sync {

class IgnorePatterns {
 public:
  // A pattern file larger than this is refused (it is a mistake, and the
  // rules are compiled and held in memory whole).
  static constexpr uint64_t kMaxFileSize = 1 << 20;

  // Reads .tandemignore and its includes from `root` and compiles them.
  // Returns true when the rules in force changed (a scan of everything is
  // then due: a path no longer ignored must be looked at).
  bool Load(fs::Filesystem& fs, const std::filesystem::path& root, store::Repository& repo);
  // The share's name, for the log (before the first Load; else the folder's).
  void set_name(std::string name) { name_ = std::move(name); }
  // Whether Load has run (strand): before it, rules() is null because
  // nothing was read yet, not because nothing is known.
  bool loaded() const { return loaded_; }

  // The rules in force; null when none are known (see above).
  std::shared_ptr<const scan::IgnoreRules> rules() const;
  // Why the pattern files are not in force as written; empty when they are.
  std::string error() const;
  // Whether `path` is ignored; not known rules ignore everything.
  bool Ignores(std::string_view path) const;
  // Whether a scan of `changed` must read the pattern files again first.
  bool Touches(const fs::ChangedPaths& changed) const;

  // `text` compiled as .tandemignore, its includes read from `root`: what
  // saving it would put in force, or why it cannot be.
  static Result<scan::IgnoreRules> Compile(fs::Filesystem& fs, const std::filesystem::path& root, std::string_view text);
  // A file of the share, as the rules read it: nullopt when missing; a file
  // over kMaxFileSize or unreadable is an error.
  static Result<std::optional<std::string>> ReadPatternFile(fs::Filesystem& fs, const std::filesystem::path& path);

 private:
  using Sources = std::map<std::string, std::string>;  // file → text
  void Put(std::shared_ptr<const scan::IgnoreRules> rules, Sources sources, std::string error);

  mutable std::mutex mutex_;
  std::shared_ptr<const scan::IgnoreRules> rules_;
  Sources sources_;  // of rules_
  std::string error_;
  bool loaded_ = false;
  std::string name_;
};

}  // namespace tandem::sync
