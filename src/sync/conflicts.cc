#include "sync/conflicts.h"

#include <algorithm>
#include <optional>
#include <system_error>
#include <utility>

#include "base/rel_path.h"
#include "crypto/keyed_hash.h"
#include "crypto/record.h"
#include "scan/conflict.h"

namespace tandem::sync {
namespace {

namespace stdfs = std::filesystem;

ConflictSide SideOf(const crypto::Entry& entry) {
  return {scan::Device7(entry.device_short_id), entry.mtime_ns, entry.size, !entry.deleted};
}

}  // namespace

std::vector<Conflict> ListConflicts(store::Repository& repo, const crypto::ShareSecrets& secrets) {
  std::vector<Conflict> out;
  std::vector<std::pair<crypto::Entry, scan::ConflictCopyName>> copies;
  std::vector<std::string> live;  // every path with a version, to find the file of a shortened copy
  repo.ForEachRecord([&](store::StoredRecord&& stored) {
    auto entry = crypto::OpenRecord(secrets, stored.record);
    if (!entry || entry->deleted) return;
    live.push_back(entry->path.str());
    if (auto name = scan::ParseConflictCopyPath(entry->path.str())) copies.emplace_back(std::move(*entry), *name);
  });
  for (const auto& [entry, name] : copies) {
    Conflict conflict{entry.path.str(), name.original, {}, SideOf(entry)};
    auto original = repo.GetRecord(crypto::ComputeLocator(secrets.locator_key(), name.original));
    if (!original && scan::MayBeShortened(conflict.id)) {
      // The copy's name gave up the end of the file's stem: find the file.
      for (const std::string& path : live) {
        if (scan::IsConflictCopyOf(conflict.id, path) && !scan::ParseConflictCopyPath(path)) {
          conflict.path = path;
          original = repo.GetRecord(crypto::ComputeLocator(secrets.locator_key(), path));
          break;
        }
      }
    }
    conflict.local.present = false;
    if (original) {
      if (auto opened = crypto::OpenRecord(secrets, original->record)) conflict.local = SideOf(*opened);
    }
    out.push_back(std::move(conflict));
  }
  std::sort(out.begin(), out.end(), [](const Conflict& a, const Conflict& b) { return a.id < b.id; });
  return out;
}

Result<Conflict> FindConflict(const std::vector<Conflict>& conflicts, const std::string& key) {
  const Conflict* found = nullptr;
  size_t by_path = 0;
  for (const Conflict& c : conflicts) {
    if (c.id == key) found = &c;
  }
  if (!found) {
    for (const Conflict& c : conflicts) {
      if (c.path == key) found = &c, ++by_path;
    }
    if (by_path > 1) {
      return MakeError(ErrorCode::kInvalidArgument,
                       key + " has " + std::to_string(by_path) + " conflict copies; name the copy to resolve");
    }
  }
  if (!found) {
    return MakeError(ErrorCode::kNotFound,
                     "no conflict named " + key + "; 'tandem conflicts SHARE' lists them");
  }
  return *found;
}

Result<std::string> ResolveOnDisk(fs::Filesystem& filesystem, const stdfs::path& root, const Conflict& conflict,
                                  ConflictKeep keep, const KeepBeforeChange& keep_version) {
  stdfs::path copy = root / conflict.id;
  for (const std::string& path : {conflict.id, conflict.path}) {
    auto rel = RelPath::Parse(path);
    if (!rel || !fs::ParentsAreFolders(filesystem, root, *rel)) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "a folder above " + path + " is a symlink or a file here; not touching it");
    }
  }
  if (!filesystem.Lstat(copy)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the conflict copy " + conflict.id + " is not on disk here yet; wait for the share to sync");
  }
  switch (keep) {
    case ConflictKeep::kLocal:
      if (keep_version) TANDEM_RETURN_IF_ERROR(keep_version(conflict.id, /*removing=*/true));  // moves it
      if (auto removed = filesystem.Remove(copy); !removed && removed.error().code != ErrorCode::kNotFound) {
        return removed.error();
      }
      return "kept " + conflict.path + " as it is; deleted " + conflict.id;
    case ConflictKeep::kRemote: {
      auto target = filesystem.Lstat(root / conflict.path);
      if (target && target->kind == fs::FileKind::kDirectory) {
        return MakeError(ErrorCode::kFailedPrecondition, conflict.path + " is a folder now; move it away first");
      }
      TANDEM_RETURN_IF_ERROR(fs::MakeFoldersBelow(filesystem, root, RelPath::Parse(conflict.path)->Parent()));
      std::function<void()> undo;
      if (keep_version) {
        TANDEM_ASSIGN_OR_RETURN(undo, keep_version(conflict.path, /*removing=*/false));
      }
      if (auto moved = filesystem.Rename(copy, root / conflict.path); !moved) {
        if (undo) undo();
        return moved.error();
      }
      return "replaced " + conflict.path + " with the version from " + conflict.remote.device7;
    }
    case ConflictKeep::kBoth: {
      auto name = scan::ParseConflictCopyPath(conflict.id);
      auto [stem, ext] = scan::SplitExtension(name->original);
      std::string plain = stem + " (" + name->device7 + " " + name->stamp + ")" + ext;
      auto plain_rel = RelPath::Parse(plain);
      if (!plain_rel) return MakeError(ErrorCode::kInvalidArgument, "cannot name the kept copy: " + plain_rel.error().message);
      if (filesystem.Lstat(root / plain)) {
        return MakeError(ErrorCode::kAlreadyExists, plain + " exists already; move it away first");
      }
      TANDEM_RETURN_IF_ERROR(filesystem.Rename(copy, root / plain));
      return "kept both: the other version is now " + plain;
    }
  }
  return MakeError(ErrorCode::kInvalidArgument, "unknown choice");
}

}  // namespace tandem::sync
