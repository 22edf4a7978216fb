#include "cli/journal.h"

#include <cstdint>
#include <regex>

namespace tandem::cli {
namespace {

void AddField(std::string& entry, std::string_view key, std::string_view value) {
  if (value.find('\n') == std::string_view::npos) {
    entry.append(key).append("=").append(value).append("\n");
    return;
  }
  entry.append(key).append("\n");
  uint64_t size = value.size();
  for (int i = 0; i < 8; ++i) entry.push_back(static_cast<char>((size >> (8 * i)) & 0xff));  // little-endian
  entry.append(value).append("\n");
}

}  // namespace

JournalFields FieldsOf(std::string_view line) {
  JournalFields fields;
  static constexpr std::string_view kShare = "share ";
  if (line.starts_with(kShare)) {
    const size_t end = line.find(": ", kShare.size());
    if (end != std::string_view::npos && end > kShare.size()) {
      fields.share = line.substr(kShare.size(), end - kShare.size());
      // ... and a line about one path of it goes on "\"PATH\": ".
      const std::string_view rest = line.substr(end + 2);
      const size_t close = rest.starts_with('"') ? rest.find("\": ", 1) : std::string_view::npos;
      if (close != std::string_view::npos && close > 1) fields.path = rest.substr(1, close - 1);
    }
  }
  // "peer " and a device id: eight groups of base32, seven of 7 characters
  // and one of 3 (this device's own id, in other words, is no peer).
  static const std::regex kPeer("peer ([A-Z2-7]{7}(-[A-Z2-7]{7}){6}-[A-Z2-7]{3})");
  std::match_results<std::string_view::const_iterator> found;
  if (std::regex_search(line.begin(), line.end(), found, kPeer)) fields.peer = found.str(1);
  return fields;
}

std::string JournalEntry(int priority, std::string_view line) {
  std::string entry;
  AddField(entry, "MESSAGE", line);
  AddField(entry, "PRIORITY", std::to_string(priority));
  AddField(entry, "SYSLOG_IDENTIFIER", "tandem");
  const JournalFields fields = FieldsOf(line);
  if (!fields.share.empty()) AddField(entry, "TANDEM_SHARE", fields.share);
  if (!fields.peer.empty()) AddField(entry, "TANDEM_PEER", fields.peer);
  if (!fields.path.empty()) AddField(entry, "TANDEM_PATH", fields.path);
  return entry;
}

}  // namespace tandem::cli
