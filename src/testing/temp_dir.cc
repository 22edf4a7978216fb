#include "testing/temp_dir.h"

#include <stdlib.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace tandem::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tandem-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = std::filesystem::canonical(pattern);
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests chmod things to provoke errors; give access back before deleting.
  for (auto it = std::filesystem::recursive_directory_iterator(
           path_, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
    }
  }
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::map<std::string, std::string> SnapshotTree(const std::filesystem::path& root, bool modes) {
  namespace stdfs = std::filesystem;
  std::map<std::string, std::string> files;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(root, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string rel = it->path().lexically_relative(root).string();  // never resolve symlinks
    if (rel == ".tandem") {
      it.disable_recursion_pending();
      continue;
    }
    // The tree may change while it is read (a daemon is syncing it): an
    // entry that vanished meanwhile is simply left out of this snapshot.
    std::string value;
    std::error_code entry_ec;
    if (it->is_symlink(entry_ec)) {
      auto target = stdfs::read_symlink(it->path(), entry_ec);
      if (entry_ec) continue;
      value = "-> " + target.string();
    } else if (it->is_regular_file(entry_ec)) {
      value = ReadFile(it->path());
    } else {
      value = "<dir>";
    }
    if (modes && !it->is_symlink(entry_ec)) {
      auto status = stdfs::symlink_status(it->path(), entry_ec);
      if (entry_ec) continue;
      value += " mode " + std::to_string(static_cast<int>(status.permissions() & stdfs::perms::mask));
    }
    files[rel] = std::move(value);
  }
  return files;
}

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    for (int k = 0; k < 8; ++k) out[i + k] = static_cast<char>(v >> (8 * k));
  }
  for (uint64_t v = rng(); i < size; ++i, v >>= 8) out[i] = static_cast<char>(v);
  return out;
}

}  // namespace tandem::testing
