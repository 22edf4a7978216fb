#include "capi/log_router.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

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

// The sink behind spdlog's default logger. base_sink's mutex guards routes_
// and serialises the callbacks.
class RouterSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  uint64_t Add(LogRoute route) {
    std::lock_guard lock(mutex_);
    uint64_t id = ++last_id_;
    routes_.emplace(id, route);
    UpdateLevel();
    return id;
  }

  void Remove(uint64_t id) {
    std::lock_guard lock(mutex_);
    routes_.erase(id);
    UpdateLevel();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const int level = LevelOf(msg.level);
    std::string text(msg.payload.data(), msg.payload.size());
    bool to_stderr = false;
    auto deliver = [&](const LogRoute& route) {
      if (level < route.level) return;
      if (route.callback) {
        route.callback(route.context, level, text.c_str(), text.size());
      } else {
        to_stderr = true;  // once, however many routes want it
      }
    };
    if (auto own = routes_.find(this_thread_route); own != routes_.end()) {
      deliver(own->second);
    } else {
      for (const auto& [id, route] : routes_) deliver(route);
    }
    if (to_stderr) {
      spdlog::memory_buf_t line;
      formatter_->format(msg, line);
      std::fwrite(line.data(), 1, line.size(), stderr);
    }
  }
  void flush_() override { std::fflush(stderr); }

 private:
  // The logger passes on what the most talkative route wants.
  void UpdateLevel() {
    int lowest = kOff;
    for (const auto& [id, route] : routes_) lowest = std::min(lowest, route.level);
    spdlog::default_logger_raw()->set_level(SpdlogLevel(lowest));
  }

  uint64_t last_id_ = 0;
  std::map<uint64_t, LogRoute> routes_;
};

// Made on the first service's open, then kept for the process's life: lines
// logged by threads that outlive a service still find a sink.
RouterSink& Router() {
  static RouterSink* sink = [] {
    auto shared = std::make_shared<RouterSink>();
    auto logger = std::make_shared<spdlog::logger>("tandem", shared);
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    spdlog::set_default_logger(logger);
    return shared.get();
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

}  // namespace tandem::capi
