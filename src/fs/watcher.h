// Watcher: recursive inotify on a share's folder. Every change below the
// root (except in .tandem) calls `on_change` on the event loop; new folders
// are watched as they appear; a queue overflow also calls it (the caller
// rescans everything anyway). Debouncing is the caller's. Loop thread only.
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

namespace tandem::fs {

class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(asio::io_context& io, std::filesystem::path root, std::function<void()> on_change);
  ~Watcher();

  // kIo if inotify is unavailable (the periodic rescan then is the backstop).
  Result<void> Start();
  void Stop();

 private:
  void AddTree(const std::filesystem::path& dir);
  asio::awaitable<void> ReadLoop();

  asio::io_context& io_;
  std::filesystem::path root_;
  std::function<void()> on_change_;
  int inotify_fd_ = -1;
  std::unique_ptr<asio::posix::stream_descriptor> stream_;
  std::map<int, std::filesystem::path> watches_;  // watch descriptor -> folder
};

}  // namespace tandem::fs
