// Running blocking work on another executor from a coroutine and resuming
// where we were: the one way the event loop hands work to a share's strand
// or the worker pool and gets the result back.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <type_traits>

namespace tandem {

// Runs `f()` on `ex` and returns its result to the awaiting coroutine, on the
// coroutine's own executor. An exception thrown by `f` is rethrown here.
template <typename Executor, typename F>
asio::awaitable<std::invoke_result_t<F&>> RunOn(Executor ex, F f) {
  using R = std::invoke_result_t<F&>;
  // optional<R>: co_spawn default-constructs the value when f throws.
  auto task = [f = std::move(f)]() mutable -> asio::awaitable<std::optional<R>> {
    co_return f();
  };
  std::optional<R> result = co_await asio::co_spawn(ex, std::move(task), asio::use_awaitable);
  co_return std::move(*result);
}

}  // namespace tandem
