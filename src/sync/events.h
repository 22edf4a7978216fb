// What a share's engine tells the world as it works: the kinds of event,
// by name, and what each carries (a JSON object, documented in
// docs/events.md). The engine emits them through EventSink; the Service
// numbers, stamps and keeps them (service/event_log.h), and anyone may
// read them (events_poll, `tandem watch`).
//
// Threads: names and parsing on any thread; a sink is called on the event
// loop only.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

namespace tandem::sync {

enum class EventType {
  kShareStateChanged,
  kLocalChangeDetected,
  kRemoteChangeDetected,
  kItemStarted,
  kItemFinished,
  kDownloadProgress,
  kConflictCreated,
  kConflictResolved,
  kPeerConnected,
  kPeerDisconnected,
  kShareError,
  kItemFailed,
  kIgnorePatternsChanged,
  kIgnorePatternsFailed,
};

// "share_state_changed", ...: the names of the API.
const char* EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);
const std::vector<EventType>& AllEventTypes();

// Called on the loop with an event of the engine's share.
using EventSink = std::function<void(EventType type, nlohmann::json data)>;

// The share states a status and share_state_changed name.
inline constexpr std::string_view kStateIdle = "idle";
inline constexpr std::string_view kStateScanning = "scanning";
inline constexpr std::string_view kStateSyncing = "syncing";
inline constexpr std::string_view kStateWaitingForPeers = "waiting for peers";
inline constexpr std::string_view kStatePaused = "paused";
inline constexpr std::string_view kStateError = "error";

}  // namespace tandem::sync
