#include "sync/versions.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

namespace tandem::sync {

Versions::Versions(fs::Filesystem& fs, std::filesystem::path root) : fs_(fs), root_(std::move(root)) {}

Result<std::optional<std::string>> Versions::Keep(store::Repository& repo, const std::string& rel,
                                                  const std::string& device, bool removing, int64_t now) {
  const std::filesystem::path from = root_ / rel;
  auto info = fs_.Lstat(from);
  if (!info || info->kind != fs::FileKind::kRegular) return std::optional<std::string>();  // only files' content
  const size_t slash = rel.rfind('/');
  const std::string folder = slash == std::string::npos ? "" : rel.substr(0, slash);
  const std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  const std::filesystem::path repo_dir = root_ / RelPath::kRepoDirName;
  // Below .tandem only: when it is gone, nothing is made in its place.
  TANDEM_RETURN_IF_ERROR(fs::MakeFoldersBelow(fs_, repo_dir, folder.empty() ? kDirName : std::string(kDirName) + "/" + folder));
  std::string file;
  for (int n = 1;; ++n) {
    file = (folder.empty() ? "" : folder + "/") + VersionFileName(name, now, n);
    if (!fs_.Lstat(dir() / file)) break;
    if (n > 1000) return MakeError(ErrorCode::kIo, "too many versions of " + rel + " in one second");
  }
  // A removal moves the file into the versions: one rename, which is the
  // removal itself, and no second name left on a live file if what follows
  // fails. A replacement links, so the name is never empty.
  Result<void> kept = removing ? fs_.Rename(from, dir() / file) : fs_.HardLink(from, dir() / file);
  if (!kept && !removing && kept.error().code == ErrorCode::kUnsupported) {
    if (!links_unsupported_) {
      spdlog::warn("versions: {}; files replaced there are not kept as versions", kept.error().message);
    }
    links_unsupported_ = true;
    return std::optional<std::string>();
  }
  if (!kept) return MakeError(ErrorCode::kIo, "cannot keep a version of " + rel + ": " + kept.error().message);
  repo.NoteVersion(file, {rel, device});
  return std::optional<std::string>(file);
}

Result<std::optional<std::string>> Versions::KeepBefore(store::Repository& repo, const std::string& rel,
                                                        const std::string& device, bool removing) {
  if (policy().kind == VersioningPolicy::Kind::kNone) return std::optional<std::string>();
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return Keep(repo, rel, device, removing, now);
}

void Versions::SetPolicy(const VersioningPolicy& policy) {
  std::lock_guard lock(mutex_);
  policy_ = policy;
}

VersioningPolicy Versions::policy() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

void Versions::Drop(store::Repository& repo, const std::string& file) {
  (void)fs_.Remove(dir() / file);
  repo.ForgetVersion(file);
}

std::vector<KeptVersion> Versions::List(store::Repository& repo, const std::string& under) {
  std::vector<KeptVersion> out;
  std::function<void(const std::filesystem::path&, const std::string&)> walk = [&](const std::filesystem::path& d,
                                                                                    const std::string& prefix) {
    auto names = fs_.ListDir(d);
    if (!names) return;
    for (const std::string& name : *names) {
      const std::string file = prefix.empty() ? name : prefix + "/" + name;
      auto info = fs_.Lstat(d / name);
      if (!info) continue;
      if (info->kind == fs::FileKind::kDirectory) {
        walk(d / name, file);
        continue;
      }
      auto parsed = ParseVersionFileName(name);
      if (!parsed || info->kind != fs::FileKind::kRegular) continue;
      KeptVersion v{.path = prefix.empty() ? parsed->name : prefix + "/" + parsed->name, .file = file,
                    .unix = parsed->unix, .n = parsed->n, .size = info->size};
      // The note has the path as it was (a long name is shortened in the
      // version's name) and whose change it was.
      if (auto note = repo.GetVersionNote(file)) {
        v.path = note->path;
        v.device = note->device;
      }
      if (!under.empty() && v.path != under && !v.path.starts_with(under + "/")) continue;
      out.push_back(std::move(v));
    }
  };
  walk(dir(), "");
  std::sort(out.begin(), out.end(), [](const KeptVersion& a, const KeptVersion& b) {
    return a.path != b.path ? a.path < b.path : a.unix != b.unix ? a.unix > b.unix : a.n > b.n;
  });
  return out;
}

size_t Versions::Cleanup(store::Repository& repo, const VersioningPolicy& policy, int64_t now) {
  std::vector<KeptVersion> all = List(repo);
  std::map<std::string, std::vector<size_t>> by_path;  // indexes into all, newest first
  for (size_t i = 0; i < all.size(); ++i) by_path[all[i].path].push_back(i);
  std::vector<bool> gone(all.size(), false);
  for (const auto& [path, indexes] : by_path) {
    std::vector<VersionStamp> stamps;
    for (size_t i : indexes) stamps.push_back({all[i].unix, all[i].size});
    for (size_t k : VersionsToRemove(policy, stamps, now)) gone[indexes[k]] = true;
  }
  if (policy.max_bytes > 0) {
    uint64_t total = 0;
    std::vector<size_t> oldest_first;
    for (size_t i = 0; i < all.size(); ++i) {
      if (gone[i]) continue;
      total += all[i].size;
      if (by_path[all[i].path].front() != i) oldest_first.push_back(i);  // never a file's newest
    }
    std::sort(oldest_first.begin(), oldest_first.end(), [&](size_t a, size_t b) { return all[a].unix < all[b].unix; });
    for (size_t i : oldest_first) {
      if (total <= policy.max_bytes) break;
      gone[i] = true;
      total -= all[i].size;
    }
  }
  size_t removed = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!gone[i]) continue;
    if (auto done = fs_.Remove(dir() / all[i].file); !done && done.error().code != ErrorCode::kNotFound) {
      spdlog::warn("versions: cannot remove {}: {}", all[i].file, done.error().message);
      continue;
    }
    repo.ForgetVersion(all[i].file);
    ++removed;
  }
  return removed;
}

}  // namespace tandem::sync
