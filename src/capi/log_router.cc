#include "capi/log_router.h"

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace tandem::capi {
namespace {

constexpr int kOff = 6;

int LevelOf(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return TANDEM_LOG_TRACE;
    case spdlog::level::debug: return TANDEM_LOG_DEBUG;
    case spdlog::level::info: return TANDEM_LOG_INFO;
    case spdlog::level::warn: return TANDEM_LOG_WARN;
    default: return TANDEM_LOG_ERROR;  // err, critical
  }
}

spdlog::level::level_enum SpdlogLevel(int level) {
  switch (level) {
    case TANDEM_LOG_TRACE: return spdlog::level::trace;
    case TANDEM_LOG_DEBUG: return spdlog::level::debug;
    case TANDEM_LOG_INFO: return spdlog::level::info;
    case TANDEM_LOG_WARN: return spdlog::level::warn;
    case TANDEM_LOG_ERROR: return spdlog::level::err;
    default: return spdlog::level::off;
  }
}

thread_local uint64_t this_thread_route = 0;
thread_local const void* in_callback_of = nullptr;

struct Route {
  LogRoute route;
  int running = 0;  // callbacks in progress (guarded by the router's mutex)
};

// The sink behind spdlog's default logger. spdlog's own per-sink lock is
// not used (null_mutex): callbacks must not run under a lock they could
// come back to.
class RouterSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  uint64_t Add(LogRoute route) {
    std::lock_guard lock(mutex_);
    uint64_t id = ++last_id_;
    routes_.emplace(id, std::make_shared<Route>(Route{route}));
    UpdateLevel();
    return id;
  }

  void Remove(uint64_t id) {
    std::unique_lock lock(mutex_);
    auto it = routes_.find(id);
    if (it == routes_.end()) return;
    std::shared_ptr<Route> gone = it->second;
    routes_.erase(it);
    UpdateLevel();
    // A callback of this route on another thread ends first; one on this
    // thread (the callback closing its own service) cannot be waited for.
    const int own = in_callback_of != nullptr && in_callback_of == gone->route.owner ? 1 : 0;
    ended_.wait(lock, [&] { return gone->running <= own; });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const int level = LevelOf(msg.level);
    std::vector<std::shared_ptr<Route>> to;
    bool to_stderr = false;
    {
      std::lock_guard lock(mutex_);
      auto want = [&](const std::shared_ptr<Route>& r) {
        if (level < r->route.level) return;
        if (r->route.callback) {
          ++r->running;
          to.push_back(r);
        } else {
          to_stderr = true;  // once, however many routes want it
        }
      };
      if (auto own = routes_.find(this_thread_route); own != routes_.end()) {
        want(own->second);
      } else {
        for (const auto& [id, r] : routes_) want(r);
      }
      if (to_stderr) {
        // The formatter keeps a cache: used under the lock.
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        std::fwrite(line.data(), 1, line.size(), stderr);
      }
    }
    if (to.empty()) return;
    const std::string text(msg.payload.data(), msg.payload.size());
    for (const auto& r : to) {
      const void* previous = in_callback_of;
      in_callback_of = r->route.owner;
      r->route.callback(r->route.context, level, text.c_str(), text.size());
      in_callback_of = previous;
    }
    std::lock_guard lock(mutex_);
    for (const auto& r : to) --r->running;
    ended_.notify_all();
  }
  void flush_() override { std::fflush(stderr); }

 private:
  // The logger passes on what the most talkative route wants.
  void UpdateLevel() {
    int lowest = kOff;
    for (const auto& [id, r] : routes_) lowest = std::min(lowest, r->route.level);
    spdlog::default_logger_raw()->set_level(SpdlogLevel(lowest));
  }

  std::mutex mutex_;
  std::condition_variable ended_;
  uint64_t last_id_ = 0;
  std::map<uint64_t, std::shared_ptr<Route>> routes_;
};

// Made on the first service's open, then kept for the process's life (held
// here too, so a host's spdlog::drop_all cannot free it under us).
RouterSink& Router() {
  static const std::shared_ptr<RouterSink> sink = [] {
    auto shared = std::make_shared<RouterSink>();
    auto logger = std::make_shared<spdlog::logger>("tandem", shared);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    spdlog::set_default_logger(logger);
    return shared;
  }();
  return *sink;
}

}  // namespace

int ParseLogLevel(const std::string& text) {
  if (text == "trace") return TANDEM_LOG_TRACE;
  if (text == "debug") return TANDEM_LOG_DEBUG;
  if (text == "info") return TANDEM_LOG_INFO;
  if (text == "warn" || text == "warning") return TANDEM_LOG_WARN;
  if (text == "error") return TANDEM_LOG_ERROR;
  if (text == "off") return kOff;
  return -1;
}

uint64_t AddRoute(LogRoute route) { return Router().Add(route); }

void RemoveRoute(uint64_t id) { Router().Remove(id); }

void RouteThisThread(uint64_t id) { this_thread_route = id; }

const void* InCallbackOf() { return in_callback_of; }

void SetInCallbackOf(const void* service) { in_callback_of = service; }

}  // namespace tandem::capi
