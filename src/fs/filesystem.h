// Filesystem: how the scanner and the engine touch a share's folder, reads
// and writes, so tests can inject faults (LevelDB's Env, Syncthing's
// fs.Filesystem; testing/fault_filesystem.h). A large file being assembled
// is written through its own descriptor (fs::PartFile), the one exception.
// Implementations must be safe to call from several threads at once (the
// engine uses one from its loop, its strand and the worker pool): a
// PosixFilesystem holds no state; a test's holds a mutex.
//
// Errors: kNotFound when the path (or a folder above it) is not there, kIo
// with the system's reason otherwise ("No space left on device").
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/rel_path.h"
#include "base/result.h"

namespace tandem::fs {

// What errno `err` says, and, for the failures a user can fix, what it
// comes to in plain words: "No space left on device (disk full)".
std::string ErrnoReason(int err);

enum class FileKind { kRegular, kDirectory, kSymlink, kOther };

struct FileInfo {
  FileKind kind = FileKind::kOther;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint32_t mode = 0;  // permission bits only
  bool operator==(const FileInfo&) const = default;
};

// What lstat/fstat reported, as a FileInfo.
FileInfo FromStat(const struct stat& st);

// The times for utimensat/futimens that set the modification time to
// `mtime_ns` (also before 1970) and leave the access time as it is.
std::array<struct timespec, 2> MtimeOnly(int64_t mtime_ns);
// Gives the open file these permission bits (07777) and modification time;
// false with errno set if either was refused.
bool SetModeAndMtime(int fd, uint32_t mode, int64_t mtime_ns);

class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Bytes read into `buffer` (0 at end of file), or kIo.
  virtual Result<size_t> Read(std::span<uint8_t> buffer) = 0;
  // Metadata of the open file, for noticing a change during the read.
  virtual Result<FileInfo> Stat() = 0;
};

class SegmentBufferPool;

// A file being assembled from blocks that arrive in any order (fs::PartFile
// on the real disk). Any thread; Write may run on several at once.
class FileInAssembly {
 public:
  virtual ~FileInAssembly() = default;
  // Places `data` at `offset`; kIo if the disk refused this or an earlier write.
  virtual Result<void> Write(uint64_t offset, ByteView data) = 0;
  // Everything placed goes to the disk (not yet durable).
  // REQUIRES: no Write is running.
  virtual Result<void> Flush() = 0;
  // Whether any byte in [offset, offset + size) was ever written (true when
  // the filesystem cannot tell): a resume reads only where data may be.
  virtual bool MayHoldData(uint64_t offset, uint64_t size) = 0;
  // Sets the permission bits and modification time the finished file takes.
  virtual Result<void> Stamp(uint32_t mode, int64_t mtime_ns) = 0;
};

class Filesystem {
 public:
  virtual ~Filesystem() = default;

  // Metadata without following a symlink; kNotFound when nothing is there.
  virtual Result<FileInfo> Lstat(const std::filesystem::path& path) = 0;
  // Names in a directory (no "." or ".."), unsorted.
  virtual Result<std::vector<std::string>> ListDir(const std::filesystem::path& path) = 0;
  virtual Result<std::unique_ptr<ReadableFile>> OpenRead(const std::filesystem::path& path) = 0;
  virtual Result<std::string> ReadLink(const std::filesystem::path& path) = 0;

  // A file or symlink (never a folder).
  virtual Result<void> Remove(const std::filesystem::path& path) = 0;
  // An empty folder.
  virtual Result<void> RemoveFolder(const std::filesystem::path& path) = 0;
  // Replaces a file or symlink at `to` in one step.
  virtual Result<void> Rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // A second name `to` for the file `from` (both on one filesystem); `to`
  // must not exist. kUnsupported where the filesystem has no hard links.
  virtual Result<void> HardLink(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
  // One folder; kAlreadyExists if something is there.
  virtual Result<void> MakeFolder(const std::filesystem::path& path) = 0;
  virtual Result<void> MakeSymlink(const std::string& target, const std::filesystem::path& path) = 0;
  // Permission bits (07777) of a file or folder.
  virtual Result<void> SetMode(const std::filesystem::path& path, uint32_t mode) = 0;
  // The modification time, leaving the access time; never follows a symlink.
  virtual Result<void> SetMtime(const std::filesystem::path& path, int64_t mtime_ns) = 0;
  // A new file at `path` (one there is replaced) holding `data`, with these
  // permission bits and modification time; not yet durable.
  virtual Result<void> WriteNewFile(const std::filesystem::path& path, ByteView data, uint32_t mode,
                                    int64_t mtime_ns) = 0;
  // A file at `path` of `size` bytes to assemble (created if missing; see
  // fs::PartFile::Open for `fresh` and `buffers`, which must outlive it).
  virtual Result<std::unique_ptr<FileInAssembly>> OpenPartFile(const std::filesystem::path& path, uint64_t size,
                                                              bool fresh, SegmentBufferPool& buffers) = 0;
  // Makes a file's content durable (fsync).
  virtual Result<void> SyncFile(const std::filesystem::path& path) = 0;
  // Makes everything written on the filesystem holding `path` durable (syncfs).
  virtual Result<void> SyncFilesystem(const std::filesystem::path& path) = 0;
};

// The real disk, through POSIX calls. Never follows symlinks when asked for metadata.
class PosixFilesystem final : public Filesystem {
 public:
  Result<FileInfo> Lstat(const std::filesystem::path& path) override;
  Result<std::vector<std::string>> ListDir(const std::filesystem::path& path) override;
  Result<std::unique_ptr<ReadableFile>> OpenRead(const std::filesystem::path& path) override;
  Result<std::string> ReadLink(const std::filesystem::path& path) override;
  Result<void> Remove(const std::filesystem::path& path) override;
  Result<void> RemoveFolder(const std::filesystem::path& path) override;
  Result<void> Rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Result<void> HardLink(const std::filesystem::path& from, const std::filesystem::path& to) override;
  Result<void> MakeFolder(const std::filesystem::path& path) override;
  Result<void> MakeSymlink(const std::string& target, const std::filesystem::path& path) override;
  Result<void> SetMode(const std::filesystem::path& path, uint32_t mode) override;
  Result<void> SetMtime(const std::filesystem::path& path, int64_t mtime_ns) override;
  Result<void> WriteNewFile(const std::filesystem::path& path, ByteView data, uint32_t mode,
                            int64_t mtime_ns) override;
  Result<std::unique_ptr<FileInAssembly>> OpenPartFile(const std::filesystem::path& path, uint64_t size, bool fresh,
                                                      SegmentBufferPool& buffers) override;
  Result<void> SyncFile(const std::filesystem::path& path) override;
  Result<void> SyncFilesystem(const std::filesystem::path& path) override;
};

// Whether every folder above `rel` (below `root`) is a real folder, or not
// there yet. Writing, moving or deleting below a symlinked or replaced
// folder would act outside the share. `known_folders`, if given, holds the
// folders (relative) already found real in this same batch of moves and
// takes in those found now: thousands of files moved into place together
// share a few folders, and each lstat walks the whole path.
bool ParentsAreFolders(Filesystem& fs, const std::filesystem::path& root, const RelPath& rel,
                       std::set<std::string>* known_folders = nullptr);

// Creates the folders of `rel` ("a/b/c", relative) below `base`, one level
// at a time, each only if missing. `base` itself is never created: when it
// is gone (a share's folder moved away, its drive unmounted) this fails with
// kNotFound instead of making an empty one in its place. kIo if a mkdir fails.
Result<void> MakeFoldersBelow(Filesystem& fs, const std::filesystem::path& base, std::string_view rel);
// The same on the real disk.
Result<void> MakeFoldersBelow(const std::filesystem::path& base, std::string_view rel);

}  // namespace tandem::fs
