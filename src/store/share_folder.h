// ShareFolder: how a folder proves it is a share's folder. A marker file in
// the repository folder (<share>/.tandem/share-id) names the share; a folder
// without it, or with another share's, is not the share, whatever path it
// sits at: an empty mount point, a folder re-created by some program, a
// drive mounted elsewhere. Nothing is scanned, recorded or written there.
//
// Threads: the free functions hold no state. A ShareFolderGuard may be
// called from any thread (its cache is behind a mutex).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "base/result.h"
#include "crypto/keys.h"

namespace tandem::store {

inline constexpr char kMarkerFileName[] = "share-id";

// Writes (atomically) the marker naming `share_id` into `root`/.tandem,
// which must exist. kIo when it cannot be written.
Result<void> WriteShareMarker(const std::filesystem::path& root, const crypto::Key32& share_id);

// Whether `root` is the share's folder now. On failure the code says what
// is wrong, and the message says it in words:
//   kNotFound           the folder is not there (moved, deleted, unmounted)
//   kInvalidArgument    the path is not a folder
//   kFailedPrecondition the folder holds no marker, or another share's
//   kIo                 the marker cannot be read
Result<void> CheckShareFolder(const std::filesystem::path& root, const crypto::Key32& share_id);

// Whether a marker file exists in `root`/.tandem at all.
bool HasShareMarker(const std::filesystem::path& root);

// Deletes `root`/.tandem, but only if it is this share's: its marker names
// the share, or it has no marker and its database does not name another
// share (from before markers). Nothing there: Ok. kFailedPrecondition when it belongs
// to another share (left alone); kIo when it cannot be deleted.
Result<void> DeleteRepository(const std::filesystem::path& root, const crypto::Key32& share_id);

// CheckShareFolder made cheap enough to run before every write: once a
// check passed, later ones compare the identity (device and inode) of the
// marker with what it was, one stat call (the path goes through the folder,
// so a folder moved away or replaced fails it too); only a change reads the
// marker again.
class ShareFolderGuard {
 public:
  ShareFolderGuard(std::filesystem::path root, const crypto::Key32& share_id);

  // As CheckShareFolder. `thorough` (every few seconds, not per write) also
  // checks that the pinned database file is still there and the same:
  // kCorrupt when it is gone or was replaced (the repository in use is no
  // longer the folder's).
  Result<void> Check(bool thorough = false);
  // From now on the database at `db_path` must stay the same file.
  void PinDatabase(const std::filesystem::path& db_path);

 private:
  struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const Identity&) const = default;
  };
  static std::optional<Identity> IdentityOf(const std::filesystem::path& path);

  const std::filesystem::path root_;
  const crypto::Key32 share_id_;
  std::mutex mutex_;
  std::optional<Identity> marker_id_;  // as of the last check that passed
  std::filesystem::path db_path_;
  std::optional<Identity> db_id_;
};

}  // namespace tandem::store
