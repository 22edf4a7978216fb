// Watcher: recursive inotify on a share's folder. Every batch of changes
// below the root (except in .tandem) calls `on_change` on the event loop
// with the paths it touched (fs::ChangedPaths), so a scan reads only those;
// new folders are watched as they appear, and reported as trees to read
// whole (files may land in them before their watch exists), as are folders
// whose metadata changed (one made readable is watched then). A queue
// overflow is reported as everything (and the tree is watched again where
// events were lost); once a folder could not be watched (the watch limit),
// every change is. Debouncing is the caller's. Loop thread only.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "base/result.h"
#include "fs/changed_paths.h"

namespace tandem::fs {

class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(asio::io_context& io, std::filesystem::path root, std::function<void(ChangedPaths)> on_change);
  ~Watcher();

  // kIo if inotify is unavailable (the periodic rescan then is the backstop).
  Result<void> Start();
  void Stop();

 private:
  // Watches `dir` (`rel` below the root) and the folders below it; false
  // if any could not be watched (their changes would go unseen).
  bool AddTree(const std::filesystem::path& dir, const std::string& rel);
  // Stops watching `rel` and the folders below it.
  void Unwatch(const std::string& rel);
  asio::awaitable<void> ReadLoop();

  asio::io_context& io_;
  std::filesystem::path root_;
  std::function<void(ChangedPaths)> on_change_;
  int inotify_fd_ = -1;
  std::unique_ptr<asio::posix::stream_descriptor> stream_;
  struct Watched {
    std::filesystem::path dir;
    std::string rel;  // "" for the root
  };
  std::map<int, Watched> watches_;  // by watch descriptor
  bool incomplete_ = false;         // some folder could not be watched
};

}  // namespace tandem::fs
