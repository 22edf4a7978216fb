#include "sync/ignore_patterns.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <vector>

namespace tandem::sync {
namespace {

// The repository setting that holds the sources of the rules in force.
constexpr std::string_view kSourcesSetting = "ignore_patterns";

}  // namespace

Result<std::optional<std::string>> IgnorePatterns::ReadPatternFile(fs::Filesystem& fs,
                                                                   const std::filesystem::path& path) {
  auto info = fs.Lstat(path);
  if (!info) {
    if (info.error().code == ErrorCode::kNotFound) return std::optional<std::string>();
    return info.error();
  }
  if (info->kind != fs::FileKind::kRegular) {
    return MakeError(ErrorCode::kInvalidArgument, path.filename().string() + " is not a plain file");
  }
  if (info->size > kMaxFileSize) {
    return MakeError(ErrorCode::kInvalidArgument, path.filename().string() + " is larger than 1 MiB");
  }
  TANDEM_ASSIGN_OR_RETURN(auto file, fs.OpenRead(path));
  std::string text;
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    TANDEM_ASSIGN_OR_RETURN(size_t n, file->Read(buffer));
    if (n == 0) break;
    text.append(reinterpret_cast<const char*>(buffer.data()), n);
    if (text.size() > kMaxFileSize) {
      return MakeError(ErrorCode::kInvalidArgument, path.filename().string() + " is larger than 1 MiB");
    }
  }
  return std::optional<std::string>(std::move(text));
}

namespace {

// Compiles `text` as .tandemignore, reading includes through `read`, which
// notes what it read in `sources`; an include that cannot be read is
// reported as the parser reports a missing one, with the reason logged.
Result<scan::IgnoreRules> CompileFrom(std::string_view text, std::map<std::string, std::string>& sources,
                                      const std::function<Result<std::optional<std::string>>(const std::string&)>& read) {
  std::optional<Error> unreadable;
  auto reader = [&](const std::string& path) -> std::optional<std::string> {
    auto got = read(path);
    if (!got) {
      if (!unreadable) unreadable = got.error();
      return std::nullopt;
    }
    if (*got) sources[path] = **got;
    return *got;
  };
  auto rules = scan::IgnoreRules::Parse(std::string(scan::kIgnoreFileName), text, reader);
  if (!rules && unreadable) {
    return MakeError(ErrorCode::kInvalidArgument, rules.error().message + " (" + unreadable->message + ")");
  }
  return rules;
}

}  // namespace

Result<scan::IgnoreRules> IgnorePatterns::Compile(fs::Filesystem& fs, const std::filesystem::path& root,
                                                  std::string_view text) {
  std::map<std::string, std::string> sources;
  return CompileFrom(text, sources, [&](const std::string& path) { return ReadPatternFile(fs, root / path); });
}

bool IgnorePatterns::Load(fs::Filesystem& fs, const std::filesystem::path& root, store::Repository& repo) {
  const std::string own(scan::kIgnoreFileName);
  Sources sources;
  Result<scan::IgnoreRules> compiled = scan::IgnoreRules();
  auto top = ReadPatternFile(fs, root / own);
  if (!top) {
    compiled = MakeError(ErrorCode::kInvalidArgument, own + ": " + top.error().message);
  } else if (*top) {
    sources[own] = **top;
    compiled = CompileFrom(**top, sources, [&](const std::string& path) { return ReadPatternFile(fs, root / path); });
  }
  if (compiled) {
    bool changed;
    {
      std::lock_guard lock(mutex_);
      changed = !rules_ || sources != sources_;
    }
    if (changed) {
      if (loaded_ || !sources.empty() || repo.GetSetting(kSourcesSetting)) {
        repo.PutSetting(kSourcesSetting, nlohmann::json(sources).dump());
      }
      if (!sources.empty() || loaded_) {
        spdlog::info("share {}: ignore patterns in force from {} files", (name_.empty() ? root.filename().string() : name_), sources.size());
      }
      Put(std::make_shared<const scan::IgnoreRules>(std::move(*compiled)), std::move(sources), {});
    } else {
      Put(rules(), std::move(sources), {});
    }
    loaded_ = true;
    return changed;
  }
  const std::string error = "the ignore patterns were not changed: " + compiled.error().message;
  {
    std::lock_guard lock(mutex_);
    if (!error_.starts_with(error)) spdlog::warn("share {}: {}", (name_.empty() ? root.filename().string() : name_), error);
    if (rules_) {
      error_ = error;
      return false;
    }
  }
  // Nothing in force yet (a start with a bad file): the rules last in
  // force, from the repository.
  std::shared_ptr<const scan::IgnoreRules> kept;
  Sources kept_sources;
  if (auto saved = repo.GetSetting(kSourcesSetting)) {
    auto json = nlohmann::json::parse(*saved, nullptr, /*allow_exceptions=*/false);
    if (json.is_object()) {
      for (const auto& [file, text] : json.items()) {
        if (text.is_string()) kept_sources[file] = text.get<std::string>();
      }
      Sources read_again;
      auto from_saved = [&](const std::string& path) -> Result<std::optional<std::string>> {
        auto it = kept_sources.find(path);
        return it == kept_sources.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
      };
      auto it = kept_sources.find(own);
      auto again = it == kept_sources.end() ? Result<scan::IgnoreRules>(scan::IgnoreRules())
                                            : CompileFrom(it->second, read_again, from_saved);
      if (again) kept = std::make_shared<const scan::IgnoreRules>(std::move(*again));
    }
  }
  const bool changed = kept != nullptr;
  Put(std::move(kept), std::move(kept_sources),
      changed ? error : error + "; no earlier patterns are known, so nothing is synced until it is fixed");
  loaded_ = true;
  return changed;
}

void IgnorePatterns::Put(std::shared_ptr<const scan::IgnoreRules> rules, Sources sources, std::string error) {
  std::lock_guard lock(mutex_);
  rules_ = std::move(rules);
  sources_ = std::move(sources);
  error_ = std::move(error);
}

std::shared_ptr<const scan::IgnoreRules> IgnorePatterns::rules() const {
  std::lock_guard lock(mutex_);
  return rules_;
}

std::string IgnorePatterns::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

bool IgnorePatterns::Ignores(std::string_view path) const {
  auto in_force = rules();
  return !in_force || in_force->Check(path).ignored;
}

bool IgnorePatterns::Touches(const fs::ChangedPaths& changed) const {
  if (changed.everything || changed.Covers(scan::kIgnoreFileName)) return true;
  std::shared_ptr<const scan::IgnoreRules> in_force;
  {
    std::lock_guard lock(mutex_);
    in_force = rules_;
    // A file a bad .tandemignore failed to include may be the fix.
    if (!error_.empty()) return true;
  }
  if (!in_force) return true;
  for (const std::string& file : in_force->files()) {
    if (changed.Covers(file)) return true;
  }
  return false;
}

}  // namespace tandem::sync
