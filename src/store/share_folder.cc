#include "store/share_folder.h"

#include <sys/stat.h>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "base/rel_path.h"
#include "store/repository.h"

namespace tandem::store {
namespace {

namespace stdfs = std::filesystem;

constexpr std::string_view kMarkerPrefix = "tandem share ";

stdfs::path MarkerPath(const stdfs::path& root) {
  return root / RelPath::kRepoDirName / kMarkerFileName;
}

std::string MarkerText(const crypto::Key32& share_id) {
  return std::string(kMarkerPrefix) + HexEncode(share_id) + "\n";
}

}  // namespace

Result<void> WriteShareMarker(const stdfs::path& root, const crypto::Key32& share_id) {
  return WriteFileAtomically(MarkerPath(root), MarkerText(share_id), 0644);
}

bool HasShareMarker(const stdfs::path& root) {
  struct stat st;
  return ::lstat(MarkerPath(root).c_str(), &st) == 0;
}

Result<void> CheckShareFolder(const stdfs::path& root, const crypto::Key32& share_id) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    return MakeError(ErrorCode::kNotFound, "the share's folder " + root.string() +
                                               " is missing (moved, deleted, or on a drive that is not mounted)");
  }
  if (!S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, "the share's path " + root.string() + " is not a folder");
  }
  auto marker = ReadWholeFile(MarkerPath(root));
  if (!marker && marker.error().code == ErrorCode::kNotFound) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the folder " + root.string() + " does not hold this share (no " +
                         std::string(RelPath::kRepoDirName) + "/" + kMarkerFileName +
                         "): an empty mount point, or a folder made in place of the share's");
  }
  if (!marker) return MakeError(ErrorCode::kIo, "cannot read the share's marker: " + marker.error().message);
  if (*marker != MarkerText(share_id)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the folder " + root.string() + " holds another share (its " +
                         std::string(RelPath::kRepoDirName) + "/" + kMarkerFileName + " names a different share id)");
  }
  return Ok();
}

Result<void> DeleteRepository(const stdfs::path& root, const crypto::Key32& share_id) {
  const stdfs::path dir = root / RelPath::kRepoDirName;
  std::error_code ec;
  if (!stdfs::exists(dir, ec)) return Ok();
  bool ours = true;
  if (HasShareMarker(root)) {
    ours = CheckShareFolder(root, share_id).has_value();
  } else if (auto repo = Repository::Open(dir, share_id, /*create=*/false); !repo) {
    ours = repo.error().code != ErrorCode::kFailedPrecondition;  // damaged or missing: nobody else's
  }
  if (!ours) {
    return MakeError(ErrorCode::kFailedPrecondition, "share removed; " + dir.string() +
                                                         " belongs to another share and was left alone");
  }
  stdfs::remove_all(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "share removed, but its repository " + dir.string() +
                                         " could not be deleted: " + ec.message());
  }
  return Ok();
}

ShareFolderGuard::ShareFolderGuard(stdfs::path root, const crypto::Key32& share_id)
    : root_(std::move(root)), share_id_(share_id) {}

std::optional<ShareFolderGuard::Identity> ShareFolderGuard::IdentityOf(const stdfs::path& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return Identity{st.st_dev, st.st_ino};
}

void ShareFolderGuard::PinDatabase(const stdfs::path& db_path) {
  std::lock_guard lock(mutex_);
  db_path_ = db_path;
  db_id_ = IdentityOf(db_path);
}

Result<void> ShareFolderGuard::Check(bool thorough) {
  std::lock_guard lock(mutex_);
  auto marker = IdentityOf(MarkerPath(root_));
  if (!marker || marker != marker_id_) {
    marker_id_.reset();
    TANDEM_RETURN_IF_ERROR(CheckShareFolder(root_, share_id_));
    marker_id_ = marker;
  }
  if (thorough && db_id_ && IdentityOf(db_path_) != db_id_) {
    return MakeError(ErrorCode::kCorrupt, "the share's repository " + db_path_.string() +
                                              " was deleted or replaced while in use");
  }
  return Ok();
}

}  // namespace tandem::store
