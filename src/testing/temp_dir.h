// TempDir: a fresh directory for one test, removed with everything in it
// when the test ends. Also small file helpers tests share.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace tandem::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// Creates parent folders as needed.
void WriteFile(const std::filesystem::path& path, std::string_view contents);
std::string ReadFile(const std::filesystem::path& path);
// Every entry under `root` except .tandem: files map to their contents,
// folders to "<dir>", symlinks to "-> target"; with `modes`, permission
// bits are appended.
std::map<std::string, std::string> SnapshotTree(const std::filesystem::path& root, bool modes = false);

// `size` bytes from a deterministic generator seeded with `seed`.
std::string RandomBytes(size_t size, uint64_t seed);

}  // namespace tandem::testing
