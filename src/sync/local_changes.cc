#include "sync/local_changes.h"

#include <algorithm>

#include "crypto/keyed_hash.h"

namespace tandem::sync {
namespace {

bool AtOrBelow(const std::string& p, const std::string& path) {
  return path.empty() || p == path || (p.size() > path.size() && p.starts_with(path) && p[path.size()] == '/');
}

// The revert of an addition is its removal (a folder once empty).
Result<void> RemoveAddition(fs::Filesystem& fs, const std::filesystem::path& full) {
  auto disk = fs.Lstat(full);
  if (!disk) return disk.error().code == ErrorCode::kNotFound ? Ok() : Result<void>(disk.error());
  auto removed = disk->kind == fs::FileKind::kDirectory ? fs.RemoveFolder(full) : fs.Remove(full);
  if (!removed && removed.error().code != ErrorCode::kNotFound) return removed;
  return Ok();
}

}  // namespace

Result<Revert> RevertOnDisk(store::Repository& repo, fs::Filesystem& fs, const crypto::ShareSecrets& secrets,
                            scan::Author author, const std::filesystem::path& root, const std::string& path,
                            const KeepBeforeChange& keep_version) {
  std::vector<scan::LocalChange> changes;
  scan::Scanner scanner(fs, repo, secrets, author, root);
  if (auto scanned = scanner.ObserveAll(changes); !scanned) return scanned.error();
  // Deepest first, so an added folder is empty by the time it is removed.
  std::sort(changes.begin(), changes.end(),
            [](const scan::LocalChange& a, const scan::LocalChange& b) { return a.path > b.path; });
  Revert out;
  for (const scan::LocalChange& change : changes) {
    if (!AtOrBelow(change.path, path)) continue;
    crypto::Locator locator = crypto::ComputeLocator(secrets.locator_key(), change.path);
    auto stored = repo.GetRecord(locator);
    auto entry = stored ? crypto::OpenRecord(secrets, stored->record) : MakeError(ErrorCode::kNotFound, "");
    if (entry && !entry->deleted) {
      Need need{.bytes = entry->size, .revert = true, .revert_disk = std::nullopt};
      if (auto disk = fs.Lstat(root / change.path)) need.revert_disk = *disk;
      out.needs.emplace_back(locator, need);
      ++out.count;
      continue;
    }
    if (keep_version && change.entry_kind == crypto::EntryKind::kFile) {
      if (auto kept = keep_version(change.path, /*removing=*/true); !kept) {  // moves it
        out.failed.push_back("cannot keep " + change.path + " as a version: " + kept.error().message);
        continue;
      }
    }
    if (auto removed = RemoveAddition(fs, root / change.path); !removed) {
      out.failed.push_back("cannot remove " + change.path + ": " + removed.error().message);
      continue;
    }
    repo.DeleteFileState(change.path);
    ++out.count;
  }
  return out;
}

}  // namespace tandem::sync
