#include "service/event_log.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <ctime>
#include <optional>
#include <fmt/core.h>

namespace tandem::service {

std::string Rfc3339(int64_t time_ms) {
  std::time_t seconds = static_cast<std::time_t>(time_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", stamp, time_ms % 1000);
}

nlohmann::json ToJson(Event event) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = event.id;
  j["time"] = Rfc3339(event.time_ms);
  j["type"] = sync::EventTypeName(event.type);
  if (!event.share.empty()) j["share"] = std::move(event.share);
  j["data"] = nlohmann::json::parse(event.data, nullptr, /*allow_exceptions=*/false);
  return j;
}

bool EventFilter::Matches(const Event& event) const {
  if (!types.empty() && !types.count(event.type)) return false;
  return share.empty() || event.share == share;
}

EventLog::EventLog(asio::io_context& loop, size_t capacity) : loop_(loop), capacity_(capacity < 1 ? 1 : capacity) {}

EventLog::~EventLog() { Close(); }

void EventLog::Close() {
  waiting_->open = false;
  for (asio::steady_timer* timer : waiting_->timers) timer->cancel();
}

uint64_t EventLog::Add(sync::EventType type, std::string share, nlohmann::json data) {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (ring_.size() >= capacity_) ring_.pop_front();
  ring_.push_back({next_id_, now, type, std::move(share), data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
  last_added_ = std::chrono::steady_clock::now();
  for (asio::steady_timer* timer : waiting_->timers) timer->cancel();
  return next_id_++;
}

Result<EventPage> EventLog::Read(uint64_t since, const EventFilter& filter, size_t limit) const {
  if (since > last_id()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("since {} is after the newest event ({}): the daemon may have restarted since that "
                                 "id was seen; start again from 0",
                                 since, last_id()));
  }
  EventPage page;
  page.last_id = since;
  if (ring_.empty()) return page;
  const uint64_t oldest = ring_.front().id;
  if (since > 0 && since + 1 < oldest) page.missed = oldest - since - 1;
  // Ids are consecutive in the ring: the first one after `since` is found
  // by its position.
  size_t start = since + 1 <= oldest ? 0 : static_cast<size_t>(since + 1 - oldest);
  for (size_t k = start; k < ring_.size(); ++k) {
    const Event& event = ring_[k];
    if (filter.Matches(event)) {
      if (page.events.size() >= limit) break;
      page.events.push_back(event);
    }
    page.last_id = event.id;
  }
  return page;
}

asio::awaitable<Result<EventPage>> EventLog::Poll(uint64_t since, std::chrono::milliseconds timeout,
                                                  EventFilter filter, size_t limit) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::shared_ptr<Waiting> waiting = waiting_;  // kept alive even if the log goes first
  asio::steady_timer timer(loop_);
  // Unlinks the timer however the wait ends, even when the daemon's loop
  // is destroyed with this poll suspended.
  struct Unlink {
    Waiting& waiting;
    std::optional<std::list<asio::steady_timer*>::iterator> place;
    ~Unlink() {
      if (place) waiting.timers.erase(*place);
    }
  } unlink{*waiting, std::nullopt};
  bool gathered = false;
  bool woken = false;
  while (true) {
    auto page = Read(since, filter, limit);
    if (!page) co_return page;
    const auto now = std::chrono::steady_clock::now();
    if (!waiting->open || now >= deadline) co_return page;
    if (!page->events.empty() || page->missed > 0) {
      // A reader that waited gets what woke it at once: an idle reader
      // hears of a change within a loop turn. One that comes back to find
      // events younger than kGather already there is following a burst,
      // and what comes with it goes in the same answer: a reader keeping
      // up with a busy share polls a hundred times a second at most, not
      // once an event (a connection, a request, an answer each).
      if (woken || gathered || page->events.size() >= limit || now - last_added_ >= kGather) co_return page;
      gathered = true;
      timer.expires_at(std::min(deadline, last_added_ + kGather));
      std::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!waiting->open) co_return page;  // closed, maybe gone: the daemon is stopping
      continue;
    }
    // Filtered out events are not looked at again.
    since = page->last_id;
    timer.expires_at(deadline);
    unlink.place = waiting->timers.insert(waiting->timers.end(), &timer);
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiting->timers.erase(*unlink.place);
    unlink.place.reset();
    if (!waiting->open) co_return page;  // closed, maybe gone: the daemon is stopping
    woken = true;  // by an event (or at the deadline): read again
  }
}

}  // namespace tandem::service
