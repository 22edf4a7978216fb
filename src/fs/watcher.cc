#include "fs/watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "base/async.h"

namespace tandem::fs {
namespace {

constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW | IN_ONLYDIR;
constexpr char kRepoDir[] = ".tandem";

}  // namespace

Watcher::Watcher(asio::io_context& io, std::filesystem::path root, std::function<void(ChangedPaths)> on_change)
    : io_(io), root_(std::move(root)), on_change_(std::move(on_change)) {}

Watcher::~Watcher() { Stop(); }

Result<void> Watcher::Start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    return MakeError(ErrorCode::kIo, std::string("inotify unavailable: ") + std::strerror(errno));
  }
  stream_ = std::make_unique<asio::posix::stream_descriptor>(io_, inotify_fd_);
  if (!AddTree(root_, "")) {
    incomplete_ = true;
    spdlog::warn("some folders of {} cannot be watched; every change rescans the whole folder", root_.string());
  }
  asio::co_spawn(io_, ReadLoop(), LogIfThrew("watching " + root_.string()));
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

bool Watcher::AddTree(const std::filesystem::path& dir, const std::string& rel) {
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(), kMask);
  if (wd < 0) {
    if (errno == ENOSPC) spdlog::warn("inotify watch limit reached; raise fs.inotify.max_user_watches");
    // Gone again already: nothing below it to miss. Unreadable: nothing in
    // it can be indexed either, and the chmod that opens it is reported by
    // its parent's watch (IN_ATTRIB), which watches it then.
    return errno == ENOENT || errno == ENOTDIR || errno == EACCES;
  }
  watches_[wd] = {dir, rel};
  bool all = true;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (rel.empty() && name == kRepoDir) continue;
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      all = AddTree(it->path(), rel.empty() ? name : rel + "/" + name) && all;
    }
  }
  return all;
}

void Watcher::Unwatch(const std::string& rel) {
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (it->second.rel == rel || it->second.rel.starts_with(rel + "/")) {
      ::inotify_rm_watch(inotify_fd_, it->first);
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
}

asio::awaitable<void> Watcher::ReadLoop() {
  auto self = shared_from_this();
  alignas(inotify_event) char buffer[64 * 1024];
  while (stream_) {
    std::error_code ec;
    size_t n = co_await stream_->async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !stream_) co_return;
    ChangedPaths changes;
    for (size_t offset = 0; offset + sizeof(inotify_event) <= n;) {
      auto* event = reinterpret_cast<inotify_event*>(buffer + offset);
      offset += sizeof(inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        // Events were lost, among them perhaps folders created: watch
        // what is not watched yet (a folder watched already keeps its watch).
        changes.everything = true;
        if (!AddTree(root_, "")) incomplete_ = true;
        continue;
      }
      auto it = watches_.find(event->wd);
      if (it == watches_.end()) continue;
      std::string name = event->len > 0 ? std::string(event->name) : std::string();
      const Watched& watched = it->second;
      if (watched.rel.empty() && name == kRepoDir) continue;
      if (event->mask & IN_IGNORED) {
        watches_.erase(it);
        continue;
      }
      if (name.empty()) {
        // The watched folder itself (its metadata, or it went away: its
        // parent's watch says so too). The root's own events are the
        // folder check's business.
        if (!watched.rel.empty()) changes.AddEntry(watched.rel);
        continue;
      }
      std::string rel = watched.rel.empty() ? name : watched.rel + "/" + name;
      if (event->mask & IN_ISDIR) {
        // A folder moved keeps its watches (they follow the inode): those
        // below it would name their events by the old path, or watch a
        // folder outside the share. Dropped here, added again if it was
        // moved to somewhere else in the share.
        if (event->mask & IN_MOVED_FROM) Unwatch(rel);
        // A folder made readable (IN_ATTRIB) may not be watched yet.
        if ((event->mask & (IN_CREATE | IN_MOVED_TO | IN_ATTRIB)) && !AddTree(watched.dir / name, rel)) {
          incomplete_ = true;
        }
        if (event->mask & (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB)) {
          changes.AddTree(std::move(rel));
          continue;
        }
      }
      changes.AddEntry(std::move(rel));
    }
    // A folder that could not be watched (the watch limit) hides its
    // changes: every change then rescans everything, as before path scans.
    if (incomplete_ && !changes.empty()) changes.everything = true;
    if (!changes.empty()) on_change_(std::move(changes));
  }
}

}  // namespace tandem::fs
