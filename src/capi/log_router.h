// Where Tandem's log lines go when the service is embedded: spdlog's default
// logger is the process's (libtandem links Debian's shared spdlog, so a host
// that uses spdlog shares it), so one router sink takes every line and hands
// it to the open services' log callbacks (or stderr for those without one).
// A line logged on a service's event-loop thread goes to that service only;
// a line from a worker thread, which serves no one service, goes to each.
//
// Threads: any. Callbacks run outside the router's lock, so one may call
// into another service (or log); RemoveRoute waits for a callback of the
// route still running on another thread, so none runs after it returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tandem/tandem.h"

namespace tandem::capi {

struct LogRoute {
  tandem_log_fn callback = nullptr;  // none: stderr
  void* context = nullptr;
  int level = TANDEM_LOG_INFO;       // lines below it are dropped; 6 (off): none
  const void* owner = nullptr;       // the service whose callback this is
};

// Parses "trace" .. "error", "off"; -1 when unknown.
int ParseLogLevel(const std::string& text);

// Returns the route's id (never 0).
uint64_t AddRoute(LogRoute route);
void RemoveRoute(uint64_t id);
// Lines logged on the calling thread from now on go to this route only.
void RouteThisThread(uint64_t id);

// The service whose callback the calling thread is running, if any: its
// blocking functions must refuse (they would wait for themselves).
const void* InCallbackOf();
void SetInCallbackOf(const void* service);

}  // namespace tandem::capi
