#include "base/throttle.h"

#include <algorithm>

#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

namespace tandem {

// Keeps a waiter's place while its coroutine lives; leaving (done, or the
// coroutine destroyed with its session) hands the turn on.
class Throttle::InQueue {
 public:
  InQueue(Throttle& throttle, Waiter& waiter) : throttle_(throttle), waiter_(waiter) {
    throttle_.queue_.push_back(&waiter_);
    if (throttle_.queue_.size() == 1) waiter_.turn = true;
  }
  ~InQueue() {
    if (!waiter_.throttle) return;  // the throttle went first
    auto& queue = throttle_.queue_;
    const bool was_front = !queue.empty() && queue.front() == &waiter_;
    queue.erase(std::remove(queue.begin(), queue.end(), &waiter_), queue.end());
    if (was_front) throttle_.WakeFront();
  }
  InQueue(const InQueue&) = delete;
  InQueue& operator=(const InQueue&) = delete;

 private:
  Throttle& throttle_;
  Waiter& waiter_;
};

Throttle::Throttle(uint64_t bytes_per_second) : bucket_(bytes_per_second) {}

Throttle::~Throttle() {
  for (Waiter* waiter : queue_) {
    waiter->throttle = nullptr;
    waiter->timer->cancel();
  }
}

void Throttle::SetRate(uint64_t bytes_per_second) {
  bucket_.SetRate(bytes_per_second, TokenBucket::Clock::now());
  WakeFront();
}

void Throttle::WakeFront() {
  if (queue_.empty()) return;
  queue_.front()->turn = true;
  queue_.front()->timer->cancel();
}

asio::awaitable<void> Throttle::Take(uint64_t bytes) {
  if (!bucket_.limited() && queue_.empty()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  Waiter waiter{&timer, this};
  InQueue place(*this, waiter);
  std::error_code ec;
  // After each wait: if the throttle is gone, nothing of it is touched.
  while (!waiter.turn) {
    timer.expires_at(asio::steady_timer::time_point::max());
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!waiter.throttle) co_return;
  }
  auto wait = bucket_.Reserve(bytes, TokenBucket::Clock::now());
  while (wait > TokenBucket::Clock::duration::zero()) {
    timer.expires_after(wait);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!waiter.throttle) co_return;
    wait = bucket_.Owed(TokenBucket::Clock::now());
  }
}

}  // namespace tandem
