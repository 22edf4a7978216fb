#include "fs/watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

namespace tandem::fs {
namespace {

constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR;
constexpr char kRepoDir[] = ".tandem";

}  // namespace

Watcher::Watcher(asio::io_context& io, std::filesystem::path root, std::function<void()> on_change)
    : io_(io), root_(std::move(root)), on_change_(std::move(on_change)) {}

Watcher::~Watcher() { Stop(); }

Result<void> Watcher::Start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    return MakeError(ErrorCode::kIo, std::string("inotify unavailable: ") + std::strerror(errno));
  }
  stream_ = std::make_unique<asio::posix::stream_descriptor>(io_, inotify_fd_);
  AddTree(root_);
  auto self = shared_from_this();
  asio::co_spawn(io_, ReadLoop(), [self](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::warn("watcher for {} stopped: {}", self->root_.string(), ex.what());
    }
  });
  return Ok();
}

void Watcher::Stop() {
  if (stream_) {
    std::error_code ec;
    stream_->close(ec);  // closes inotify_fd_ too
    stream_.reset();
  }
  inotify_fd_ = -1;
  watches_.clear();
}

void Watcher::AddTree(const std::filesystem::path& dir) {
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  if (wd < 0) {
    if (errno == ENOSPC) spdlog::warn("inotify watch limit reached; raise fs.inotify.max_user_watches");
    return;
  }
  watches_[wd] = dir;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    if (dir == root_ && it->path().filename() == kRepoDir) continue;
    if (it->is_directory(ec) && !it->is_symlink(ec)) AddTree(it->path());
  }
}

asio::awaitable<void> Watcher::ReadLoop() {
  auto self = shared_from_this();
  alignas(inotify_event) char buffer[64 * 1024];
  while (stream_) {
    std::error_code ec;
    size_t n = co_await stream_->async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !stream_) co_return;
    bool changed = false;
    for (size_t offset = 0; offset + sizeof(inotify_event) <= n;) {
      auto* event = reinterpret_cast<inotify_event*>(buffer + offset);
      offset += sizeof(inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        changed = true;
        continue;
      }
      auto it = watches_.find(event->wd);
      if (it == watches_.end()) continue;
      std::string name = event->len > 0 ? std::string(event->name) : std::string();
      if (it->second == root_ && name == kRepoDir) continue;
      if (event->mask & IN_IGNORED) {
        watches_.erase(it);
        continue;
      }
      if ((event->mask & IN_ISDIR) && (event->mask & (IN_CREATE | IN_MOVED_TO))) AddTree(it->second / name);
      changed = true;
    }
    if (changed) on_change_();
  }
}

}  // namespace tandem::fs
