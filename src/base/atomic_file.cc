#include "base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tandem {
namespace {

Error IoError(const std::string& what, const std::filesystem::path& path) {
  return MakeError(ErrorCode::kIo, what + " " + path.string() + ": " + std::strerror(errno));
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

Result<void> WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                                 unsigned mode) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  std::string tmp_template = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmp_template.data());
  if (fd < 0) return IoError("cannot create a temporary file beside", path);
  std::filesystem::path tmp = tmp_template;
  auto fail = [&](const std::string& what) {
    Error error = IoError(what, tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return error;
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot set permissions of");
  if (!WriteAll(fd, contents)) return fail("cannot write");
  if (::fsync(fd) != 0) return fail("cannot fsync");
  if (::close(fd) != 0) {
    Error error = IoError("cannot close", tmp);
    ::unlink(tmp.c_str());
    return error;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = IoError("cannot rename into place", path);
    ::unlink(tmp.c_str());
    return error;
  }
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return IoError("cannot open directory", dir);
  int rc = ::fsync(dir_fd);
  ::close(dir_fd);
  if (rc != 0) return IoError("cannot fsync directory", dir);
  return Ok();
}

Result<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return MakeError(ErrorCode::kNotFound, "no such file: " + path.string());
    return IoError("cannot open", path);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return IoError("cannot read", path);
  return buffer.str();
}

}  // namespace tandem
