#include "sync/local_blocks.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "fs/filesystem.h"
#include "fs/part_file.h"

namespace tandem::sync {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool ReadExactly(int fd, uint8_t* out, size_t size, uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n, size -= static_cast<size_t>(n), offset += static_cast<uint64_t>(n);
  }
  return true;
}

}  // namespace

bool ReadVerifiedBlockInto(const std::filesystem::path& path, uint64_t offset, const crypto::BlockId& id,
                           const crypto::Key32& id_key, const store::BlockLocation::IndexedFile* indexed,
                           std::span<uint8_t> out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return false;
  auto as_indexed = [&] {
    struct stat st;
    if (!indexed || ::fstat(fd.get(), &st) != 0) return false;
    fs::FileInfo info = fs::FromStat(st);
    return info.kind == fs::FileKind::kRegular && info.size == indexed->size &&
           info.mtime_ns == indexed->mtime_ns && info.ctime_ns == indexed->ctime_ns && info.inode == indexed->inode;
  };
  bool trusted = as_indexed();
  if (!ReadExactly(fd.get(), out.data(), out.size(), offset)) return false;
  trusted = trusted && as_indexed();
  return trusted || crypto::ComputeBlockId(id_key, out) == id;
}

std::optional<Bytes> ReadVerifiedBlock(const std::filesystem::path& path, uint64_t offset, uint32_t size,
                                       const crypto::BlockId& id, const crypto::Key32& id_key,
                                       const store::BlockLocation::IndexedFile* indexed) {
  Bytes data(size);
  if (!ReadVerifiedBlockInto(path, offset, id, id_key, indexed, data)) return std::nullopt;
  return data;
}

bool HoldsNoData(const std::filesystem::path& path, uint64_t size) {
  Fd probe(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  return probe.get() >= 0 && !fs::MayHoldData(probe.get(), 0, size);
}

}  // namespace tandem::sync
