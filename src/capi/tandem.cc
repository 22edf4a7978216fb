// libtandem: the C ABI (include/tandem/tandem.h) over Service and the API's
// method table (service/rpc.h).
//
// Threads: each tandem_service runs its Service's event loop on a thread of
// its own. Calls cross onto that loop with co_spawn; their ends come back
// through `pending`, guarded by `mutex`, so that closing can end every call
// still waiting (the loop is gone by then and would never end them).
#include "tandem/tandem.h"

#include <malloc.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "capi/log_router.h"
#include "gui/web_server.h"
#include "service/rpc.h"
#include "service/service.h"

namespace {

using nlohmann::json;
using tandem::ErrorCode;
using Done = std::function<void(int32_t status, const std::string& text)>;

char* Copy(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

int32_t Fail(char** error_message, int32_t status, const std::string& message) {
  if (error_message) *error_message = Copy(message);
  return status;
}

// Blocks are allocated and freed by the thousand a second, up to 256 KiB
// each. With glibc's defaults a buffer past the (moving) mmap threshold gets
// fresh pages, and each free trims the arena's top back to the kernel, so the
// next one faults its pages in again: a third of a receiver's CPU went to
// page faults. A fixed mmap threshold above the largest block and a trim
// threshold above what the blocks in flight take keep that memory in the
// arena; buffers past 1 MiB (a huge file's record, a scan's read buffer, one
// per large file) still go back to the kernel when freed. Process-wide, so
// only when the caller asks ("tune_allocator"): the daemon does.
void TuneAllocatorForBlocks() {
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

// Marks the calling thread as inside a callback of `service` while it runs.
struct InCallback {
  explicit InCallback(const void* service) : previous(tandem::capi::InCallbackOf()) {
    tandem::capi::SetInCallbackOf(service);
  }
  ~InCallback() { tandem::capi::SetInCallbackOf(previous); }
  const void* previous;
};

// Nothing thrown crosses into the caller's runtime.
template <typename F>
int32_t Guarded(char** error_message, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Fail(error_message, TANDEM_E_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(error_message, TANDEM_E_INTERNAL, "internal error");
  }
}

int32_t StatusOf(ErrorCode code) { return static_cast<int32_t>(code) + 1; }

int32_t StatusOf(const tandem::service::Outcome& outcome) {
  if (outcome.code == 0) return TANDEM_OK;
  if (outcome.kind) return StatusOf(*outcome.kind);
  if (outcome.code == tandem::service::kMethodNotFound) return TANDEM_E_UNKNOWN_METHOD;
  if (outcome.code == tandem::service::kInvalidParams) return TANDEM_E_INVALID_PARAMS;
  return TANDEM_E_INTERNAL;
}

// What a caller hands across: parsed here, on the caller's thread, so a
// malformed request never reaches the loop.
struct Request {
  std::string method;
  json params;
};

std::optional<Request> ParseRequest(const char* method, const char* params_json, std::string& why) {
  if (!method || !*method) {
    why = "the method name is missing";
    return std::nullopt;
  }
  Request request{method, json()};
  if (params_json && *params_json) {
    request.params = json::parse(params_json, nullptr, false);
    if (request.params.is_discarded()) {
      why = "the parameters are not valid JSON";
      return std::nullopt;
    }
    if (!request.params.is_object() && !request.params.is_null()) {
      why = "the parameters must be a JSON object";
      return std::nullopt;
    }
  }
  return request;
}

}  // namespace

struct tandem_service {
  std::unique_ptr<tandem::service::Service> service;
  std::unique_ptr<tandem::service::RpcServer> control_socket;
  std::unique_ptr<tandem::gui::WebServer> web_ui;
  std::thread loop;
  std::thread::id loop_id;
  uint64_t log_route = 0;

  std::mutex stop_mutex;  // held through Stop
  std::mutex mutex;       // guards what follows
  bool closing = false;
  uint64_t last_call = 0;
  std::map<uint64_t, Done> pending;

  // A blocking call would wait for itself: on the loop thread, or inside
  // one of this service's callbacks (which may run on the thread stopping it).
  bool MustNotBlock() const {
    return std::this_thread::get_id() == loop_id || tandem::capi::InCallbackOf() == this;
  }

  // Starts the call; `done` runs exactly once unless this returns an error.
  int32_t Start(Request request, Done done) {
    // Under the lock, so Stop cannot take the loop away between the check
    // and the queueing. Posted, never run inline: on the loop thread (a
    // completion callback calling again) co_spawn would start the call at
    // once, and a call that never suspends would end in Finish, which
    // takes this lock.
    std::lock_guard lock(mutex);
    if (closing) return TANDEM_E_CLOSED;
    const uint64_t id = ++last_call;
    pending.emplace(id, std::move(done));
    auto call = [this, id, request = std::move(request)]() mutable -> asio::awaitable<void> {
      auto outcome = co_await tandem::service::Invoke(*service, std::move(request.method), std::move(request.params));
      Finish(id, StatusOf(outcome),
             outcome.code == 0 ? outcome.result.dump(-1, ' ', false, json::error_handler_t::replace) : outcome.message);
    };
    asio::post(service->io(), [io = &service->io(), call = std::move(call)]() mutable {
      asio::co_spawn(*io, std::move(call), asio::detached);
    });
    return TANDEM_OK;
  }

  void Finish(uint64_t id, int32_t status, const std::string& text) {
    Done done;
    {
      std::lock_guard lock(mutex);
      auto it = pending.find(id);
      if (it == pending.end()) return;  // closing ended it already
      done = std::move(it->second);
      pending.erase(it);
    }
    InCallback mark(this);
    done(status, text);
  }

  // Blocks the calling thread until the call ends.
  int32_t CallAndWait(Request request, char** result_json, char** error_message) {
    if (MustNotBlock()) {
      return Fail(error_message, TANDEM_E_WRONG_THREAD,
                  "a blocking call from the service's own thread would never end; use tandem_call_async");
    }
    struct Waiter {
      std::mutex mutex;
      std::condition_variable ended;
      std::optional<std::pair<int32_t, std::string>> outcome;
    };
    auto waiter = std::make_shared<Waiter>();
    int32_t started = Start(std::move(request), [waiter](int32_t status, const std::string& text) {
      std::lock_guard lock(waiter->mutex);
      waiter->outcome.emplace(status, text);
      waiter->ended.notify_one();
    });
    if (started != TANDEM_OK) return Fail(error_message, started, "the service is closed");
    std::unique_lock lock(waiter->mutex);
    waiter->ended.wait(lock, [&] { return waiter->outcome.has_value(); });
    auto& [status, text] = *waiter->outcome;
    if (status != TANDEM_OK) return Fail(error_message, status, text);
    if (result_json) *result_json = Copy(text);
    return TANDEM_OK;
  }

  // Idempotent; a second caller waits for the first to finish.
  void Stop() {
    std::lock_guard stopping(stop_mutex);
    {
      std::lock_guard lock(mutex);
      if (closing) return;
      closing = true;  // from here every new call ends at once with TANDEM_E_CLOSED
    }
    // Before the loop stops: the UI's calls waiting on it end now.
    web_ui.reset();
    asio::post(service->io(), [this] { service->Stop(); });
    loop.join();
    std::map<uint64_t, Done> left;
    {
      std::lock_guard lock(mutex);
      left.swap(pending);
    }
    {
      InCallback mark(this);
      for (auto& [id, done] : left) {
        done(TANDEM_E_CLOSED, "the service was closed before the call ended (whether it took effect is unknown)");
      }
    }
    loop_id = std::thread::id();  // ids are reused once a thread is gone
    control_socket.reset();
    // Waits for the worker pool; scans and transfers end at a consistent point.
    service.reset();
    tandem::capi::RemoveRoute(log_route);
  }
};

extern "C" {

uint32_t tandem_abi_version(void) { return TANDEM_ABI_VERSION; }

const char* tandem_status_name(int32_t status) {
  switch (status) {
    case TANDEM_OK: return "ok";
    case TANDEM_E_UNKNOWN_METHOD: return "unknown_method";
    case TANDEM_E_INVALID_PARAMS: return "invalid_params";
    case TANDEM_E_CLOSED: return "closed";
    case TANDEM_E_WRONG_THREAD: return "wrong_thread";
    default:
      if (status >= TANDEM_E_INVALID_ARGUMENT && status <= TANDEM_E_INTERNAL) {
        return tandem::ErrorCodeName(static_cast<ErrorCode>(status - 1));
      }
      return "unknown_status";
  }
}

int32_t tandem_service_open(const char* config_dir, const char* options_json, tandem_log_fn log, void* log_context,
                            tandem_service** out, char** error_message) {
  return Guarded(error_message, [&]() -> int32_t {
    if (!out) return Fail(error_message, TANDEM_E_INVALID_ARGUMENT, "no place to put the service (out is NULL)");
    *out = nullptr;
    if (!config_dir || !*config_dir) {
      return Fail(error_message, TANDEM_E_INVALID_ARGUMENT, "the config folder is missing");
    }
    std::filesystem::path dir(config_dir);
    if (!dir.is_absolute()) {
      return Fail(error_message, TANDEM_E_INVALID_ARGUMENT,
                  "the config folder must be an absolute path, not '" + dir.string() + "'");
    }
    json options = json::object();
    if (options_json && *options_json) {
      options = json::parse(options_json, nullptr, false);
      if (options.is_discarded() || !options.is_object()) {
        return Fail(error_message, TANDEM_E_INVALID_ARGUMENT, "the options must be a JSON object");
      }
    }
    tandem::service::Service::Options service_options{.config_dir = dir};
    tandem::capi::LogRoute route{.callback = log, .context = log_context};
    bool control_socket = false;
    bool tune_allocator = false;
    std::string gui = "off";
    bool gui_optional = false;
    for (const auto& [key, value] : options.items()) {
      if (key == "listen" && value.is_string()) {
        service_options.listen = value.get<std::string>();
      } else if (key == "log_level" && value.is_string()) {
        route.level = tandem::capi::ParseLogLevel(value.get<std::string>());
        if (route.level < 0) {
          return Fail(error_message, TANDEM_E_INVALID_ARGUMENT,
                      "log_level must be trace, debug, info, warn, error or off, not '" + value.get<std::string>() + "'");
        }
      } else if (key == "events_kept" && value.is_number_unsigned() && value.get<uint64_t>() >= 100 &&
                 value.get<uint64_t>() <= 1'000'000) {
        service_options.events_kept = value.get<size_t>();
      } else if (key == "control_socket" && value.is_boolean()) {
        control_socket = value.get<bool>();
      } else if (key == "gui" && value.is_string()) {
        gui = value.get<std::string>();
      } else if (key == "gui_optional" && value.is_boolean()) {
        gui_optional = value.get<bool>();
      } else if (key == "tune_allocator" && value.is_boolean()) {
        tune_allocator = value.get<bool>();
      } else if (key == "test_hooks" && value.is_string()) {
        // For tests of other peers only: a service that misbehaves on purpose.
        std::string wanted = "," + value.get<std::string>() + ",";
        auto& hooks = service_options.test_hooks;
        hooks.send_local_edits = wanted.find(",send-local-edits,") != std::string::npos;
        hooks.sign_forged_batches = wanted.find(",sign-forged-batches,") != std::string::npos;
        hooks.forge_blocks = wanted.find(",forge-blocks,") != std::string::npos;
        hooks.slow_blocks = wanted.find(",slow-blocks,") != std::string::npos;
        hooks.no_reader_proof = wanted.find(",no-reader-proof,") != std::string::npos;
      } else {
        return Fail(error_message, TANDEM_E_INVALID_ARGUMENT,
                    "bad option '" + key + "' = " + value.dump() +
                        " (options: listen, log_level, events_kept 100..1000000, control_socket, gui, gui_optional, tune_allocator)");
      }
    }
    if (tune_allocator) TuneAllocatorForBlocks();

    auto handle = std::make_unique<tandem_service>();
    route.owner = handle.get();
    handle->log_route = tandem::capi::AddRoute(route);
    // Whatever ends the open early (an error, a throw) takes the route away.
    struct RouteGuard {
      uint64_t id;
      ~RouteGuard() {
        if (id) tandem::capi::RemoveRoute(id);
      }
    } route_guard{handle->log_route};
    if (options.contains("test_hooks")) {
      spdlog::warn("test_hooks={}: this service misbehaves on purpose, for tests only",
                   options["test_hooks"].get<std::string>());
    }
    auto service = tandem::service::Service::Create(std::move(service_options));
    if (!service) return Fail(error_message, StatusOf(service.error().code), service.error().message);
    handle->service = std::move(*service);
    // The web UI first: it queues nothing on the loop, so when it cannot
    // start, the service goes with nothing of the control socket's queued
    // (its accept loop, polled while the service closes, would outlive it).
    if (gui != "off") {
      auto web_ui = tandem::gui::WebServer::Start(*handle->service, gui);
      if (web_ui) {
        handle->web_ui = std::move(*web_ui);
      } else if (gui_optional && web_ui.error().code == ErrorCode::kIo) {
        // Only the default address, taken (another user's daemon, say):
        // the service runs without its UI, and says why.
        spdlog::warn("{}; the web UI is off", web_ui.error().message);
        handle->service->web_access()->SetOffBecause(web_ui.error().message);
      } else {
        handle->service.reset();
        return Fail(error_message, StatusOf(web_ui.error().code), web_ui.error().message);
      }
    }
    if (control_socket) {
      handle->control_socket = std::make_unique<tandem::service::RpcServer>(handle->service->io(), *handle->service);
      if (auto started = handle->control_socket->Start(); !started) {
        handle->web_ui.reset();
        handle->control_socket.reset();
        handle->service.reset();
        return Fail(error_message, StatusOf(started.error().code), started.error().message);
      }
    }
    std::promise<void> running;
    handle->loop = std::thread([h = handle.get(), &running] {
      tandem::capi::RouteThisThread(h->log_route);
      h->loop_id = std::this_thread::get_id();
      running.set_value();
      h->service->Run();
    });
    running.get_future().wait();
    route_guard.id = 0;  // the service's now: Stop removes it
    *out = handle.release();
    return TANDEM_OK;
  });
}

int32_t tandem_service_stop(tandem_service* service) {
  return Guarded(nullptr, [&]() -> int32_t {
    if (!service) return TANDEM_OK;
    if (service->MustNotBlock()) return TANDEM_E_WRONG_THREAD;
    service->Stop();
    return TANDEM_OK;
  });
}

int32_t tandem_service_close(tandem_service* service) {
  const int32_t stopped = tandem_service_stop(service);
  if (stopped == TANDEM_OK) delete service;
  return stopped;
}

int32_t tandem_call(tandem_service* service, const char* method, const char* params_json, char** result_json,
                    char** error_message) {
  return Guarded(error_message, [&]() -> int32_t {
    if (result_json) *result_json = nullptr;
    if (error_message) *error_message = nullptr;
    if (!service) return Fail(error_message, TANDEM_E_INVALID_ARGUMENT, "no service (NULL)");
    std::string why;
    auto request = ParseRequest(method, params_json, why);
    if (!request) return Fail(error_message, TANDEM_E_INVALID_PARAMS, why);
    return service->CallAndWait(std::move(*request), result_json, error_message);
  });
}

int32_t tandem_call_async(tandem_service* service, const char* method, const char* params_json,
                          tandem_call_done_fn done, void* context) {
  return Guarded(nullptr, [&]() -> int32_t {
    if (!service || !done) return TANDEM_E_INVALID_ARGUMENT;
    std::string why;
    auto request = ParseRequest(method, params_json, why);
    if (!request) return TANDEM_E_INVALID_PARAMS;
    return service->Start(std::move(*request), [done, context](int32_t status, const std::string& text) {
      done(context, status, text.c_str(), text.size());
    });
  });
}

int32_t tandem_events_poll(tandem_service* service, uint64_t since, uint32_t timeout_ms, const char* filter_json,
                           char** result_json, char** error_message) {
  return Guarded(error_message, [&]() -> int32_t {
    if (result_json) *result_json = nullptr;
    if (error_message) *error_message = nullptr;
    if (!service) return Fail(error_message, TANDEM_E_INVALID_ARGUMENT, "no service (NULL)");
    std::string why;
    auto request = ParseRequest("events_poll", filter_json, why);
    if (!request) return Fail(error_message, TANDEM_E_INVALID_PARAMS, why);
    if (request->params.is_null()) request->params = json::object();
    request->params["since"] = since;
    request->params["timeout_ms"] = timeout_ms;
    return service->CallAndWait(std::move(*request), result_json, error_message);
  });
}

void tandem_free(char* text) { std::free(text); }

}  // extern "C"
