// FaultFilesystem: the real disk, with faults a test switches on: a call of
// one kind on matching paths fails with the error given (a full disk, an
// I/O error, a refusal), once, a few times or until healed; or every write
// after the next N fails, as if the machine stopped there. Safe to share
// between threads (the engine calls it from the pool and its strand).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fs/filesystem.h"

namespace tandem::testing {

// The real disk, every call passed on: a base for test filesystems that
// change a few calls and leave the rest as they are.
class DiskFilesystem : public fs::Filesystem {
 public:
  Result<fs::FileInfo> Lstat(const std::filesystem::path& path) override { return real_.Lstat(path); }
  Result<std::vector<std::string>> ListDir(const std::filesystem::path& path) override { return real_.ListDir(path); }
  Result<std::unique_ptr<fs::ReadableFile>> OpenRead(const std::filesystem::path& path) override {
    return real_.OpenRead(path);
  }
  Result<std::string> ReadLink(const std::filesystem::path& path) override { return real_.ReadLink(path); }
  Result<void> Remove(const std::filesystem::path& path) override { return real_.Remove(path); }
  Result<void> RemoveFolder(const std::filesystem::path& path) override { return real_.RemoveFolder(path); }
  Result<void> HardLink(const std::filesystem::path& from, const std::filesystem::path& to) override {
    return real_.HardLink(from, to);
  }
  Result<void> Rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
    return real_.Rename(from, to);
  }
  Result<void> MakeFolder(const std::filesystem::path& path) override { return real_.MakeFolder(path); }
  Result<void> MakeSymlink(const std::string& target, const std::filesystem::path& path) override {
    return real_.MakeSymlink(target, path);
  }
  Result<void> SetMode(const std::filesystem::path& path, uint32_t mode) override { return real_.SetMode(path, mode); }
  Result<void> SetMtime(const std::filesystem::path& path, int64_t mtime_ns) override {
    return real_.SetMtime(path, mtime_ns);
  }
  Result<void> WriteNewFile(const std::filesystem::path& path, ByteView data, uint32_t mode,
                            int64_t mtime_ns) override {
    return real_.WriteNewFile(path, data, mode, mtime_ns);
  }
  Result<std::unique_ptr<fs::FileInAssembly>> OpenPartFile(const std::filesystem::path& path, uint64_t size,
                                                          bool fresh, fs::SegmentBufferPool& buffers) override {
    return real_.OpenPartFile(path, size, fresh, buffers);
  }
  Result<void> SyncFile(const std::filesystem::path& path) override { return real_.SyncFile(path); }
  Result<void> SyncFilesystem(const std::filesystem::path& path) override { return real_.SyncFilesystem(path); }

 protected:
  fs::PosixFilesystem real_;
};

class FaultFilesystem final : public DiskFilesystem {
 public:
  enum class Op {
    kLstat, kListDir, kOpenRead, kReadLink,
    kRemove, kRemoveFolder, kRename, kHardLink, kMakeFolder, kMakeSymlink, kSetMode, kSetMtime, kWriteNewFile,
    kSyncFile, kSyncFilesystem,
    kOpenPartFile, kWritePart,  // kWritePart: a block placed in a part file (also its flush and stamp)
  };

  // Calls of `op` whose path (either path, for a rename) contains
  // `path_part` (any path when empty) fail with `error`, the next `times`
  // times (until Heal when 0).
  void Fail(Op op, std::string path_part, Error error, int times = 0);
  // The next `writes` writes (of any kind) succeed; every one after fails
  // with kIo, as a disk that went away.
  void StopWritingAfter(int writes);
  // Every fault off.
  void Heal();
  // How many calls of `op` were made, failed ones included.
  int calls(Op op) const;

  Result<fs::FileInfo> Lstat(const std::filesystem::path& path) override;
  Result<std::vector<std::string>> ListDir(const std::filesystem::path& path) override;
  Result<std::unique_ptr<fs::ReadableFile>> OpenRead(const std::filesystem::path& path) override;
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
  Result<std::unique_ptr<fs::FileInAssembly>> OpenPartFile(const std::filesystem::path& path, uint64_t size,
                                                          bool fresh, fs::SegmentBufferPool& buffers) override;
  Result<void> SyncFile(const std::filesystem::path& path) override;
  Result<void> SyncFilesystem(const std::filesystem::path& path) override;

 private:
  class FaultyPartFile;
  struct Fault {
    Op op;
    std::string path_part;
    Error error;
    int times;  // left; 0: until healed
  };
  // The error this call must fail with, if any; counts the call.
  std::optional<Error> Check(Op op, const std::filesystem::path& path, const std::filesystem::path& other = {});

  mutable std::mutex mutex_;
  std::vector<Fault> faults_;
  int writes_left_ = -1;  // -1: no limit
  std::map<Op, int> calls_;
};

}  // namespace tandem::testing
