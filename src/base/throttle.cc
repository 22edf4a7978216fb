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
    auto& line = throttle_.queued_[waiter_.key];
    if (line.empty()) throttle_.keys_.push_back(waiter_.key);
    line.push_back(&waiter_);
    if (!throttle_.turn_) throttle_.PassTurn();
  }
  ~InQueue() {
    if (!waiter_.throttle) return;  // the throttle went first
    if (throttle_.turn_ == &waiter_) {
      throttle_.turn_ = nullptr;
      throttle_.PassTurn();
      return;
    }
    auto it = throttle_.queued_.find(waiter_.key);
    if (it == throttle_.queued_.end()) return;
    std::erase(it->second, &waiter_);
    if (it->second.empty()) {
      throttle_.queued_.erase(it);
      std::erase(throttle_.keys_, waiter_.key);
    }
  }
  InQueue(const InQueue&) = delete;
  InQueue& operator=(const InQueue&) = delete;

 private:
  Throttle& throttle_;
  Waiter& waiter_;
};

Throttle::Throttle(uint64_t bytes_per_second) : bucket_(bytes_per_second) {}

Throttle::~Throttle() {
  auto let_go = [](Waiter* waiter) {
    waiter->throttle = nullptr;
    waiter->timer->cancel();
  };
  if (turn_) let_go(turn_);
  for (auto& [key, line] : queued_) std::for_each(line.begin(), line.end(), let_go);
}

size_t Throttle::waiting() const {
  size_t n = turn_ ? 1 : 0;
  for (const auto& [key, line] : queued_) n += line.size();
  return n;
}

void Throttle::SetRate(uint64_t bytes_per_second) {
  bucket_.SetRate(bytes_per_second, TokenBucket::Clock::now());
  if (turn_) turn_->timer->cancel();  // it waits again, at the new rate
}

void Throttle::PassTurn() {
  if (keys_.empty()) return;
  const uintptr_t key = keys_.front();
  keys_.pop_front();
  auto it = queued_.find(key);
  turn_ = it->second.front();
  it->second.pop_front();
  if (it->second.empty()) {
    queued_.erase(it);
  } else {
    keys_.push_back(key);
  }
  turn_->turn = true;
  turn_->timer->cancel();
}

asio::awaitable<void> Throttle::Take(uint64_t bytes, uintptr_t key, std::function<bool()> wanted) {
  if (!bucket_.limited() && !turn_ && queued_.empty()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_at(asio::steady_timer::time_point::max());
  Waiter waiter{&timer, this, key};
  InQueue place(*this, waiter);
  std::error_code ec;
  // After each wait: if the throttle is gone, nothing of it is touched.
  while (!waiter.turn) {
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!waiter.throttle) co_return;
  }
  if (wanted && !wanted()) co_return;
  auto wait = bucket_.Reserve(bytes, TokenBucket::Clock::now());
  while (wait > TokenBucket::Clock::duration::zero()) {
    timer.expires_after(wait);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!waiter.throttle) co_return;
    wait = bucket_.Owed(TokenBucket::Clock::now());
  }
}

}  // namespace tandem
