#include "sync/events.h"

#include <array>
#include <utility>

namespace tandem::sync {
namespace {

constexpr std::array<std::pair<EventType, const char*>, 14> kNames = {{
    {EventType::kShareStateChanged, "share_state_changed"},
    {EventType::kLocalChangeDetected, "local_change_detected"},
    {EventType::kRemoteChangeDetected, "remote_change_detected"},
    {EventType::kItemStarted, "item_started"},
    {EventType::kItemFinished, "item_finished"},
    {EventType::kDownloadProgress, "download_progress"},
    {EventType::kConflictCreated, "conflict_created"},
    {EventType::kConflictResolved, "conflict_resolved"},
    {EventType::kPeerConnected, "peer_connected"},
    {EventType::kPeerDisconnected, "peer_disconnected"},
    {EventType::kShareError, "share_error"},
    {EventType::kItemFailed, "item_failed"},
    {EventType::kIgnorePatternsChanged, "ignore_patterns_changed"},
    {EventType::kIgnorePatternsFailed, "ignore_patterns_failed"},
}};

}  // namespace

const char* EventTypeName(EventType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) return name;
  }
  return "unknown";
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (const auto& [t, n] : kNames) {
    if (name == n) return t;
  }
  return std::nullopt;
}

const std::vector<EventType>& AllEventTypes() {
  static const std::vector<EventType> all = [] {
    std::vector<EventType> v;
    for (const auto& [t, name] : kNames) v.push_back(t);
    return v;
  }();
  return all;
}

}  // namespace tandem::sync
