#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "fs/filesystem.h"
#include "fs/part_file.h"

namespace tandem::fs {
namespace {

Error ErrnoError(const std::string& what, const std::filesystem::path& path) {
  int err = errno;
  ErrorCode code = (err == ENOENT || err == ENOTDIR) ? ErrorCode::kNotFound : ErrorCode::kIo;
  return MakeError(code, what + " " + path.string() + ": " + ErrnoReason(err));
}

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  ~PosixReadableFile() override { ::close(fd_); }

  Result<size_t> Read(std::span<uint8_t> buffer) override {
    while (true) {
      ssize_t n = ::read(fd_, buffer.data(), buffer.size());
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoError("cannot read", path_);
    }
  }

  Result<FileInfo> Stat() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoError("cannot stat", path_);
    return FromStat(st);
  }

 private:
  int fd_;
  std::filesystem::path path_;
};

}  // namespace

std::string ErrnoReason(int err) {
  std::string text = std::strerror(err);
  switch (err) {
    case EPERM:
    case EACCES:
      return text + " (permission denied)";
    case EROFS:
      return text + " (permission denied: the filesystem is read-only)";
    case ENOSPC:
    case EDQUOT:
      return text + " (disk full)";
    case ENAMETOOLONG:
    case EILSEQ:
      return text + " (name not allowed here)";
    case EINVAL:
      return text + " (refused by the filesystem: often a name it does not allow)";
    default:
      return text;
  }
}

std::array<struct timespec, 2> MtimeOnly(int64_t mtime_ns) {
  constexpr int64_t kNs = 1'000'000'000;
  // Floor division: tv_nsec must lie in [0, 1e9) also for negative times.
  int64_t seconds = mtime_ns / kNs - (mtime_ns % kNs < 0 ? 1 : 0);
  int64_t nanos = mtime_ns - seconds * kNs;
  return {{{0, UTIME_OMIT}, {static_cast<time_t>(seconds), static_cast<long>(nanos)}}};
}

bool SetModeAndMtime(int fd, uint32_t mode, int64_t mtime_ns) {
  auto times = MtimeOnly(mtime_ns);
  return ::fchmod(fd, mode & 07777) == 0 && ::futimens(fd, times.data()) == 0;
}

FileInfo FromStat(const struct stat& st) {
  FileInfo info;
  if (S_ISREG(st.st_mode)) {
    info.kind = FileKind::kRegular;
  } else if (S_ISDIR(st.st_mode)) {
    info.kind = FileKind::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    info.kind = FileKind::kSymlink;
  }
  info.size = static_cast<uint64_t>(st.st_size);
  info.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  info.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  info.inode = st.st_ino;
  info.mode = st.st_mode & 07777;
  return info;
}

Result<FileInfo> PosixFilesystem::Lstat(const std::filesystem::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ErrnoError("cannot stat", path);
  return FromStat(st);
}

Result<std::vector<std::string>> PosixFilesystem::ListDir(const std::filesystem::path& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return ErrnoError("cannot list", path);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* ent = ::readdir(dir)) {
    std::string_view name = ent->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) {
    errno = err;
    return ErrnoError("cannot list", path);
  }
  return names;
}

Result<std::unique_ptr<ReadableFile>> PosixFilesystem::OpenRead(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoError("cannot open", path);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<ReadableFile>(new PosixReadableFile(fd, path));
}

Result<std::string> PosixFilesystem::ReadLink(const std::filesystem::path& path) {
  std::string target(4096, '\0');
  ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
  if (n < 0) return ErrnoError("cannot read link", path);
  target.resize(static_cast<size_t>(n));
  return target;
}

Result<void> PosixFilesystem::Remove(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoError("cannot delete", path);
  return Ok();
}

Result<void> PosixFilesystem::RemoveFolder(const std::filesystem::path& path) {
  if (::rmdir(path.c_str()) != 0) return ErrnoError("cannot remove folder", path);
  return Ok();
}

Result<void> PosixFilesystem::Rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoError("cannot move " + from.string() + " to", to);
  return Ok();
}

Result<void> PosixFilesystem::HardLink(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EPERM || errno == EXDEV || errno == EOPNOTSUPP || errno == EMLINK) {
      return MakeError(ErrorCode::kUnsupported, "cannot link " + from.string() + " as " + to.string() + ": " +
                                                    std::strerror(errno));
    }
    return ErrnoError("cannot link " + from.string() + " as", to);
  }
  return Ok();
}

Result<void> PosixFilesystem::MakeFolder(const std::filesystem::path& path) {
  if (::mkdir(path.c_str(), 0755) != 0) {
    if (errno == EEXIST) return MakeError(ErrorCode::kAlreadyExists, path.string() + " exists already");
    return ErrnoError("cannot create folder", path);
  }
  return Ok();
}

Result<void> PosixFilesystem::MakeSymlink(const std::string& target, const std::filesystem::path& path) {
  if (::symlink(target.c_str(), path.c_str()) != 0) return ErrnoError("cannot create symlink", path);
  return Ok();
}

Result<void> PosixFilesystem::SetMode(const std::filesystem::path& path, uint32_t mode) {
  if (::chmod(path.c_str(), mode & 07777) != 0) return ErrnoError("cannot set the mode of", path);
  return Ok();
}

Result<void> PosixFilesystem::SetMtime(const std::filesystem::path& path, int64_t mtime_ns) {
  if (::utimensat(AT_FDCWD, path.c_str(), MtimeOnly(mtime_ns).data(), AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError("cannot set the time of", path);
  }
  return Ok();
}

Result<void> PosixFilesystem::WriteNewFile(const std::filesystem::path& path, ByteView data, uint32_t mode,
                                           int64_t mtime_ns) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
  int fd = ::open(path.c_str(), kFlags, 0600);
  // One left read-only (stamped, then its group failed): start it again.
  if (fd < 0 && errno == EACCES && ::unlink(path.c_str()) == 0) fd = ::open(path.c_str(), kFlags, 0600);
  if (fd < 0) return ErrnoError("cannot create", path);
  auto fail = [&](const char* what) {
    Error error = ErrnoError(what, path);
    ::close(fd);
    return error;
  };
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ENOSPC;  // no progress and no error: as good as a full disk
    if (n <= 0) return fail("cannot write");
    done += static_cast<size_t>(n);
  }
  if (!SetModeAndMtime(fd, mode, mtime_ns)) return fail("cannot set the mode and time of");
  if (::close(fd) != 0) return ErrnoError("cannot write", path);
  return Ok();
}

namespace {

// Opens `path` read-only and runs `sync` (fsync, syncfs) on it.
Result<void> SyncThrough(const std::filesystem::path& path, int flags, int (*sync)(int), const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return ErrnoError("cannot open", path);
  std::optional<Error> error;
  if (sync(fd) != 0) error = ErrnoError(what, path);
  ::close(fd);
  if (error) return *error;
  return Ok();
}

}  // namespace

Result<void> PosixFilesystem::SyncFile(const std::filesystem::path& path) {
  return SyncThrough(path, O_NOFOLLOW, ::fsync, "cannot sync");
}

Result<void> PosixFilesystem::SyncFilesystem(const std::filesystem::path& path) {
  return SyncThrough(path, 0, ::syncfs, "cannot sync the filesystem of");
}

bool ParentsAreFolders(Filesystem& fs, const std::filesystem::path& root, const RelPath& rel,
                       std::set<std::string>* known_folders) {
  std::string parent = rel.Parent();
  std::filesystem::path path = root;
  size_t start = 0;
  while (start < parent.size()) {
    size_t slash = parent.find('/', start);
    if (slash == std::string::npos) slash = parent.size();
    path /= parent.substr(start, slash - start);
    std::string folder = parent.substr(0, slash);
    if (!known_folders || !known_folders->contains(folder)) {
      auto info = fs.Lstat(path);
      if (!info) return true;  // missing: created as a real folder when needed
      if (info->kind != FileKind::kDirectory) return false;
      if (known_folders) known_folders->insert(std::move(folder));
    }
    start = slash + 1;
  }
  return true;
}

Result<void> MakeFoldersBelow(Filesystem& fs, const std::filesystem::path& base, std::string_view rel) {
  auto info = fs.Lstat(base);
  if (!info || info->kind != FileKind::kDirectory) {
    return MakeError(ErrorCode::kNotFound, base.string() + " is not there; not creating it");
  }
  std::filesystem::path path = base;
  size_t start = 0;
  while (start < rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    path /= std::string(rel.substr(start, slash - start));
    if (auto made = fs.MakeFolder(path); !made && made.error().code != ErrorCode::kAlreadyExists) {
      return MakeError(ErrorCode::kIo, "cannot create folder " + path.string() + ": " + made.error().message);
    }
    start = slash + 1;
  }
  return Ok();
}

Result<void> MakeFoldersBelow(const std::filesystem::path& base, std::string_view rel) {
  PosixFilesystem disk;
  return MakeFoldersBelow(disk, base, rel);
}

Result<std::unique_ptr<FileInAssembly>> PosixFilesystem::OpenPartFile(const std::filesystem::path& path,
                                                                     uint64_t size, bool fresh,
                                                                     SegmentBufferPool& buffers) {
  auto part = PartFile::Open(path, size, fresh, buffers);
  if (!part) return part.error();
  return std::unique_ptr<FileInAssembly>(std::move(*part));
}

}  // namespace tandem::fs
