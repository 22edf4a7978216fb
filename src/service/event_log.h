// EventLog: what happened in the service, as numbered events kept in a
// bounded ring, for readers that poll (events_poll, `tandem watch`). Like
// Syncthing's /rest/events: each event has an id one more than the last
// one's, a UTC time, a type and a JSON payload; a reader passes the last id
// it saw and gets what came after it, waiting for it if need be.
//
// The ring holds at most `capacity` events, whoever reads or does not: an
// absent or slow reader costs nothing, and one that falls behind is told
// how many events it missed (a gap), never silently skipped.
//
// Threads: the Service's event loop only.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"
#include "sync/events.h"

namespace tandem::service {

struct Event {
  uint64_t id = 0;
  int64_t time_ms = 0;  // UTC, milliseconds since the Unix epoch
  sync::EventType type = sync::EventType::kShareStateChanged;
  std::string share;  // the share's id; empty for events of no one share
  // The payload, as JSON text: a parsed object takes four times the memory
  // (a map node a field), and the ring holds 10,000 of them whether anyone
  // reads or not (+9 MiB peak on a 100,000-file share's first sync).
  std::string data;
};

// `time` as RFC 3339 UTC with milliseconds, "2026-12-05T16:04:23.123Z".
std::string Rfc3339(int64_t time_ms);
nlohmann::json ToJson(Event event);  // pass by move: the payload is moved

struct EventFilter {
  std::set<sync::EventType> types;  // empty: every type
  std::string share;                // a share's id; empty: every share
  bool Matches(const Event& event) const;
};

struct EventPage {
  std::vector<Event> events;  // matching events after `since`, oldest first
  // Pass this as `since` next time: the last event looked at (returned or
  // filtered out), or `since` itself when there was none.
  uint64_t last_id = 0;
  // Events after `since` that the ring no longer held: a gap the reader
  // could not see. Zero when nothing was missed (and for since = 0, which
  // asks for whatever is kept).
  uint64_t missed = 0;
};

class EventLog {
 public:
  static constexpr size_t kDefaultCapacity = 10'000;
  static constexpr size_t kMaxPage = 10'000;  // events one read returns at most
  // A poll that finds events younger than this already there (its reader
  // is following a burst) waits until they are this old, for more: a burst
  // is one answer. A reader that was waiting is answered at once.
  static constexpr std::chrono::milliseconds kGather{10};

  explicit EventLog(asio::io_context& loop, size_t capacity = kDefaultCapacity);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Appends an event stamped now, drops the oldest beyond the capacity,
  // and wakes every poll. Returns its id.
  uint64_t Add(sync::EventType type, std::string share, nlohmann::json data);

  // The events after `since` that pass `filter`, at most `limit` of them.
  // kInvalidArgument if `since` is newer than the newest event (a reader of
  // an earlier run of the daemon: it starts again from 0).
  Result<EventPage> Read(uint64_t since, const EventFilter& filter, size_t limit) const;
  // As Read, but with nothing to return (and no gap), waits for a matching
  // event until `timeout`, then returns what there is (maybe nothing).
  // The event that wakes a waiting poll is returned at once; events
  // younger than kGather found on arrival are returned once they are that
  // old, with whatever came meanwhile.
  asio::awaitable<Result<EventPage>> Poll(uint64_t since, std::chrono::milliseconds timeout, EventFilter filter,
                                          size_t limit);

  // Ends every poll now (with what it has) and any later one at once: the
  // daemon is stopping.
  void Close();

  uint64_t last_id() const { return next_id_ - 1; }
  size_t size() const { return ring_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  asio::io_context& loop_;
  const size_t capacity_;
  std::deque<Event> ring_;
  uint64_t next_id_ = 1;
  std::chrono::steady_clock::time_point last_added_;
  // The timers polls wait on; a new event cancels them all. Shared with
  // each poll, which may outlive the log when the daemon stops: `open`
  // tells it whether the log is still there.
  struct Waiting {
    bool open = true;
    std::list<asio::steady_timer*> timers;
  };
  std::shared_ptr<Waiting> waiting_ = std::make_shared<Waiting>();
};

}  // namespace tandem::service
