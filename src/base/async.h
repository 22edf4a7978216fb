// Running blocking work on another executor from a coroutine and resuming
// where we were: the one way the event loop hands work to a share's strand
// or the worker pool and gets the result back.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/async_result.hpp>
#include <asio/associated_executor.hpp>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>

#include <spdlog/spdlog.h>

namespace tandem {

// What a co_spawn'ed coroutine threw, in words ("" when it ended normally,
// "an unknown exception" for one that is not a std::exception).
std::string WhatThrew(std::exception_ptr e);

// A co_spawn completion handler that logs what the coroutine threw, as
// "`what` failed: why", at `level`: nothing a coroutine throws may vanish.
inline auto LogIfThrew(std::string what, spdlog::level::level_enum level = spdlog::level::warn) {
  return [what = std::move(what), level](std::exception_ptr e) {
    if (e) spdlog::log(level, "{} failed: {}", what, WhatThrew(e));
  };
}

// Sets `flag` back to false when the scope ends, however it ends: a
// coroutine that marks itself running must not leave the mark behind when
// it throws, or nothing would start it again.
class ClearOnExit {
 public:
  explicit ClearOnExit(bool& flag) : flag_(flag) {}
  ~ClearOnExit() { flag_ = false; }
  ClearOnExit(const ClearOnExit&) = delete;
  ClearOnExit& operator=(const ClearOnExit&) = delete;

 private:
  bool& flag_;
};

// Runs `f()` on `ex` and returns its result to the awaiting coroutine, on the
// coroutine's own executor. An exception thrown by `f` is rethrown here.
// Built on async_initiate rather than co_spawn of a capturing coroutine
// lambda: GCC 12 destroys such captures twice. For the same reason callers
// name their lambda before the co_await instead of writing it inside.
template <typename Executor, typename F>
asio::awaitable<std::invoke_result_t<F&>> RunOn(Executor ex, F f) {
  using R = std::invoke_result_t<F&>;
  auto initiate = [ex](auto handler, F work) {
    asio::post(ex, [handler = std::move(handler), work = std::move(work)]() mutable {
      std::exception_ptr error;
      std::optional<R> result;
      try {
        result.emplace(work());
      } catch (...) {
        error = std::current_exception();
      }
      auto back = asio::get_associated_executor(handler);
      asio::post(back, [handler = std::move(handler), error, result = std::move(result)]() mutable {
        std::move(handler)(error, std::move(result));
      });
    });
  };
  std::optional<R> result =
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, std::optional<R>)>(
          initiate, asio::use_awaitable, std::move(f));
  co_return std::move(*result);
}

}  // namespace tandem

#include <asio/any_io_executor.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <utility>

namespace tandem {

namespace detail {

struct ConcurrentState {
  explicit ConcurrentState(asio::any_io_executor ex) : done(ex) {
    done.expires_at(asio::steady_timer::time_point::max());
  }
  size_t next = 0;
  size_t count = 0;
  size_t running = 0;
  std::exception_ptr error;
  asio::steady_timer done;
};

inline asio::awaitable<void> ConcurrentWorker(std::shared_ptr<ConcurrentState> state,
                                              std::function<asio::awaitable<void>(size_t)> task) {
  while (state->next < state->count && !state->error) {
    size_t i = state->next++;
    co_await task(i);
  }
}

}  // namespace detail

// Runs task(0) .. task(n-1) on the current executor with at most `width` of
// them in flight, and returns when all have finished. The first exception a
// task throws stops new tasks from starting and is rethrown here.
inline asio::awaitable<void> ForEachConcurrently(size_t n, size_t width,
                                                 std::function<asio::awaitable<void>(size_t)> task) {
  auto ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<detail::ConcurrentState>(ex);
  state->count = n;
  size_t workers = std::min(n, std::max<size_t>(width, 1));
  state->running = workers;
  for (size_t w = 0; w < workers; ++w) {
    asio::co_spawn(ex, detail::ConcurrentWorker(state, task), [state](std::exception_ptr e) {
      if (e && !state->error) state->error = e;
      if (--state->running == 0) state->done.cancel();
    });
  }
  while (state->running > 0) {
    std::error_code ec;
    co_await state->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (state->error) std::rethrow_exception(state->error);
}

// A bounded number of slots shared by coroutines on one executor (a count
// of things in flight). Not thread-safe: acquire and release on that
// executor only.
class AsyncSlots {
 public:
  // A slot while it lives; empty when Acquire gave up.
  class Held {
   public:
    Held() = default;
    explicit Held(AsyncSlots* slots) : slots_(slots) {}
    Held(Held&& other) noexcept : slots_(std::exchange(other.slots_, nullptr)) {}
    Held& operator=(Held&& other) noexcept {
      if (this != &other) {
        if (slots_) slots_->Release();
        slots_ = std::exchange(other.slots_, nullptr);
      }
      return *this;
    }
    ~Held() {
      if (slots_) slots_->Release();
    }
    explicit operator bool() const { return slots_ != nullptr; }

   private:
    AsyncSlots* slots_ = nullptr;
  };

  AsyncSlots(const asio::any_io_executor& ex, size_t limit) : limit_(limit), freed_(ex) {
    freed_.expires_at(asio::steady_timer::time_point::max());
  }

  // Waits for a free slot while `wanted()` holds; it is asked again at each
  // wake-up, so WakeAll after it turns false makes the waiters give up.
  template <typename Wanted>
  asio::awaitable<Held> Acquire(Wanted wanted) {
    while (used_ >= limit_ && wanted()) {
      std::error_code ec;
      co_await freed_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!wanted()) co_return Held();
    ++used_;
    co_return Held(this);
  }
  void WakeAll() { freed_.cancel(); }
  size_t used() const { return used_; }

 private:
  void Release() {
    --used_;
    freed_.cancel();
  }

  const size_t limit_;
  size_t used_ = 0;
  asio::steady_timer freed_;
};

}  // namespace tandem
