#include "cli/render.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <string>

namespace tandem::cli {
namespace {

using nlohmann::json;

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) value /= 1024, ++unit;
  return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string S(const json& j, const char* key) { return j.value(key, std::string()); }

}  // namespace

std::string HumanSize(uint64_t bytes) { return HumanBytes(bytes); }

std::string CompletionText(const json& share) {
  const json& completion = share.value("completion", json());
  if (!completion.is_number()) return "-";
  return fmt::format("{:.1f}%", completion.get<double>());
}

std::string StatusLine(const json& s) {
  std::string line = fmt::format("{:<20} {:<17} {:>6}", S(s, "name"), S(s, "state"), CompletionText(s));
  const uint64_t need = s.value("need_files", uint64_t{0});
  if (need > 0) {
    line += fmt::format("  needs {} file{} ({})", need, need == 1 ? "" : "s", HumanBytes(s.value("need_bytes", uint64_t{0})));
    if (uint64_t deletes = s.value("need_deletes", uint64_t{0}); deletes > 0) line += fmt::format(", {} to delete", deletes);
  }
  const uint64_t down = s.value("download_rate", uint64_t{0}), up = s.value("upload_rate", uint64_t{0});
  if (down > 0 || up > 0) line += fmt::format("  down {}/s up {}/s", HumanBytes(down), HumanBytes(up));
  const uint64_t down_limit = s.value("download_limit", uint64_t{0}), up_limit = s.value("upload_limit", uint64_t{0});
  if (down_limit > 0 || up_limit > 0) {
    line += fmt::format("  (limits: down {}, up {})", RateText(down_limit), RateText(up_limit));
  }
  const size_t connected = s.value("connected_devices", json::array()).size();
  line += fmt::format("  {} peer{} connected", connected, connected == 1 ? "" : "s");
  if (uint64_t local = s.value("local_changes", json::object()).value("count", uint64_t{0}); local > 0) {
    line += fmt::format("  {} local change{} kept here", local, local == 1 ? "" : "s");
  }
  if (size_t skipped = s.value("skipped", json::array()).size(); skipped > 0) {
    line += fmt::format("  {} path{} skipped by the last scan", skipped, skipped == 1 ? "" : "s");
  }
  if (uint64_t ignored = s.value("ignored", uint64_t{0}); ignored > 0) line += fmt::format("  {} ignored", ignored);
  if (!S(s, "ignore_error").empty()) line += "  .tandemignore NOT in force (tandem info " + S(s, "name") + ")";
  if (size_t failed = s.value("failed", json::array()).size(); failed > 0) {
    line += fmt::format("  {} failed (tandem info {})", failed, S(s, "name"));
  }
  const std::string reason = S(s, "state_reason");
  if (!reason.empty() && S(s, "state") != "idle" && S(s, "state") != "syncing" && S(s, "state") != "scanning") {
    line += ": " + reason;
  }
  return line;
}

void PrintShareTable(const json& shares) {
  if (shares.empty()) {
    fmt::print("No shares yet. Share a folder with: tandem add /path/to/folder\n");
    return;
  }
  fmt::print("{:<8}  {:<20}  {:<5}  {:<8}  {:>7}  {:>10}  {}\n", "ID", "NAME", "MODE", "STATE", "FILES", "SIZE", "PATH");
  for (const json& s : shares) {
    fmt::print("{:<8}  {:<20}  {:<5}  {:<8}  {:>7}  {:>10}  {}\n", S(s, "id").substr(0, 8), S(s, "name"),
               S(s, "mode"), S(s, "state"), s["index"].value("files", 0),
               HumanBytes(s["index"].value("bytes", uint64_t{0})), S(s, "path"));
  }
}

void PrintShareInfo(const json& s) {
  const json& index = s["index"];
  fmt::print("Share      {}\n", S(s, "name"));
  fmt::print("ID         {}\n", S(s, "id"));
  fmt::print("Path       {}\n", S(s, "path"));
  fmt::print("Access     {}\n", S(s, "mode"));
  fmt::print("Syncing    {}\n", s.value("enabled", true) ? "enabled" : "paused");
  fmt::print("State      {}{}\n", S(s, "state"), S(s, "state_reason").empty() ? "" : " (" + S(s, "state_reason") + ")");
  fmt::print("Complete   {}\n", CompletionText(s));
  if (int64_t t = s.value("last_in_sync", int64_t{0}); t > 0) {
    std::time_t seconds = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
    fmt::print("In sync    {}\n", stamp);
  }
  if (!S(s, "last_error").empty()) fmt::print("Error      {}\n", S(s, "last_error"));
  fmt::print("Index      {} files, {} folders, {} symlinks, {} ({} records)\n", index.value("files", 0),
             index.value("directories", 0), index.value("symlinks", 0),
             HumanBytes(index.value("bytes", uint64_t{0})), index.value("records", 0));
  fmt::print("Needs      {} files, {}\n", s.value("need_files", 0), HumanBytes(s.value("need_bytes", uint64_t{0})));
  if (s.contains("versioning")) fmt::print("Versions   {}\n", S(s["versioning"], "description"));
  if (uint64_t ignored = s.value("ignored", uint64_t{0}); ignored > 0) {
    fmt::print("Ignored    {} path{} (a folder counts once; tandem ignore {} PATH says why)\n", ignored,
               ignored == 1 ? "" : "s", S(s, "name"));
  }
  if (!S(s, "ignore_error").empty()) fmt::print("Ignoring   {}\n", S(s, "ignore_error"));
  fmt::print("Received   {} ({}/s now); sent {} ({}/s now)\n", HumanBytes(s.value("received_bytes", uint64_t{0})),
             HumanBytes(s.value("download_rate", uint64_t{0})), HumanBytes(s.value("sent_bytes", uint64_t{0})),
             HumanBytes(s.value("upload_rate", uint64_t{0})));
  fmt::print("Peers      {}\n", s["peers"].empty() ? std::string("none configured") : "");
  for (const json& p : s["peers"]) fmt::print("           {}\n", p.get<std::string>());
  for (const json& d : s.value("connected_devices", nlohmann::json::array())) {
    fmt::print("Connected  {}\n", d.get<std::string>());
  }
  for (const json& failed : s.value("failed", json::array())) fmt::print("Not synced {}\n", S(failed, "reason"));
  for (const json& reason : s.value("skipped", json::array())) fmt::print("Skipped    {}\n", reason.get<std::string>());
  const json& local = s.value("local_changes", json::object());
  if (local.value("count", 0) > 0) {
    int count = local.value("count", 0);
    fmt::print("Local      {} change{} kept on this device only (tandem revert {} undoes {})\n", count,
               count == 1 ? "" : "s", S(s, "name"), count == 1 ? "it" : "them");
    for (const json& c : local["paths"]) fmt::print("           {:<8}  {}\n", S(c, "change"), S(c, "path"));
  }
}

std::string VersionTimeText(int64_t unix) {
  std::time_t seconds = static_cast<std::time_t>(unix);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return stamp;
}

tandem::Result<int64_t> ParseVersionTime(const std::string& text) {
  auto bad = [&] {
    return tandem::MakeError(tandem::ErrorCode::kInvalidArgument,
                             "bad time '" + text + "': give it as tandem versions lists it (2026-12-05 14:30:00), as "
                             "YYYYMMDD-HHMMSS (UTC), or in Unix seconds");
  };
  // As listed ("2026-12-05 14:30:00 UTC") or as named ("20261205-143000").
  std::string compact;
  for (char c : text) {
    if (c >= '0' && c <= '9') compact += c;
  }
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits && text.size() >= 9 && text.size() <= 12) return static_cast<int64_t>(std::stoll(text));  // Unix seconds
  if (compact.size() != 14 || text.find_first_not_of("0123456789-: TUC") != std::string::npos) return bad();
  const std::string t = compact.substr(0, 8) + "-" + compact.substr(8);
  std::tm tm{};
  tm.tm_year = std::stoi(t.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(t.substr(4, 2)) - 1;
  tm.tm_mday = std::stoi(t.substr(6, 2));
  tm.tm_hour = std::stoi(t.substr(9, 2));
  tm.tm_min = std::stoi(t.substr(11, 2));
  tm.tm_sec = std::stoi(t.substr(13, 2));
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return bad();
  }
  return static_cast<int64_t>(timegm(&tm));
}

tandem::Result<uint64_t> ParseRate(const std::string& text) {
  auto bad = [&] {
    return tandem::MakeError(tandem::ErrorCode::kInvalidArgument,
                             "bad rate '" + text + "': give bytes a second, e.g. 500K, 1.5M or 2MiB/s (powers of 1024), "
                             "or 0 (or none) for no limit");
  };
  std::string t = text;
  if (t == "none" || t == "off" || t == "unlimited") return uint64_t{0};
  for (const char* tail : {"/s", "B"}) {
    if (t.size() > std::strlen(tail) && t.ends_with(tail)) t.resize(t.size() - std::strlen(tail));
  }
  if (t.size() > 1 && t.ends_with("i")) t.pop_back();  // KiB, MiB, GiB
  double unit = 1;
  if (!t.empty()) {
    switch (t.back()) {
      case 'k': case 'K': unit = 1024; break;
      case 'm': case 'M': unit = 1024.0 * 1024; break;
      case 'g': case 'G': unit = 1024.0 * 1024 * 1024; break;
      default: break;
    }
    if (unit != 1) t.pop_back();
  }
  if (t.empty() || t.find_first_not_of("0123456789.") != std::string::npos || std::count(t.begin(), t.end(), '.') > 1 ||
      t.find_first_of("0123456789") == std::string::npos) {
    return bad();
  }
  const double value = std::stod(t) * unit;
  if (value > 1e15) return bad();
  return static_cast<uint64_t>(value);
}

std::string RateText(uint64_t bytes_per_second) {
  return bytes_per_second == 0 ? "none" : HumanBytes(bytes_per_second) + "/s";
}

void PrintLimits(const json& device, const json* share) {
  const json& limits = device.value("limits", json::object());
  fmt::print("Device limits: upload {}, download {}; {}\n", RateText(limits.value("upload", uint64_t{0})),
             RateText(limits.value("download", uint64_t{0})),
             limits.value("lan", false) ? "also for peers on the local network"
                                        : "peers on the local network are not limited");
  if (share) {
    fmt::print("Share {} limits: upload {}, download {}\n", S(*share, "name"),
               RateText(share->value("upload_limit", uint64_t{0})), RateText(share->value("download_limit", uint64_t{0})));
  }
  fmt::print("Now: download {}/s, upload {}/s\n", HumanBytes(device.value("download_rate", uint64_t{0})),
             HumanBytes(device.value("upload_rate", uint64_t{0})));
}

void PrintVersions(const json& versions) {
  if (versions.empty()) {
    fmt::print("No versions kept.\n");
    return;
  }
  for (const json& v : versions) {
    const std::string device = S(v, "device").empty() ? "?" : S(v, "device");
    fmt::print("{}  {:>10}  {:<7}  {}\n", VersionTimeText(v.value("time", int64_t{0})),
               HumanBytes(v.value("size", uint64_t{0})), device, S(v, "path"));
  }
}

void PrintIgnoreCheck(const json& check) { fmt::print("{}: {}\n", S(check, "path"), S(check, "why")); }

void PrintIgnorePatterns(const json& p) {
  if (!p.value("exists", false)) {
    fmt::print("No .tandemignore: nothing is ignored but .tandemignore itself.\n");
  } else {
    fmt::print("{}", S(p, "text"));
    if (!S(p, "text").empty() && S(p, "text").back() != '\n') fmt::print("\n");
  }
  if (!S(p, "error").empty()) fmt::print("NOT IN FORCE: {}\n", S(p, "error"));
  if (uint64_t ignored = p.value("ignored", uint64_t{0}); ignored > 0) {
    fmt::print("-- {} ignored path{} (a folder counts once)\n", ignored, ignored == 1 ? "" : "s");
  }
}

void PrintConflicts(const json& conflicts) {
  if (conflicts.empty()) {
    fmt::print("No conflicts.\n");
    return;
  }
  auto side = [](const json& v) {
    if (!v.value("present", true)) return std::string("deleted");
    std::time_t seconds = static_cast<std::time_t>(v.value("mtime_ns", int64_t{0}) / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
    return fmt::format("{} {} UTC, {}", S(v, "device"), stamp, HumanBytes(v.value("size", uint64_t{0})));
  };
  for (const json& c : conflicts) {
    fmt::print("{}\n  local  (at the name): {}\n  remote (the copy):   {}\n  copy: {}\n", S(c, "path"),
               side(c["local"]), side(c["remote"]), S(c, "conflict"));
  }
}

void PrintStatus(const json& shares) {
  if (shares.empty()) fmt::print("No shares.\n");
  for (const json& s : shares) fmt::print("{}\n", StatusLine(s));
}

std::string EventLine(const json& event, const std::string& share_name) {
  const json& d = event.value("data", json::object());
  const std::string type = S(event, "type");
  std::string time = S(event, "time");
  if (time.size() >= 19) time = time.substr(11, 8);  // HH:MM:SS
  std::string what;
  if (type == "share_state_changed") {
    what = S(d, "state") + (S(d, "reason").empty() ? "" : " (" + S(d, "reason") + ")");
  } else if (type == "local_change_detected" || type == "remote_change_detected") {
    what = fmt::format("{} {} {}{}", type == "local_change_detected" ? "here:" : "peer:", S(d, "kind"), S(d, "path"),
                       type == "remote_change_detected" ? " (from " + S(d, "device").substr(0, 7) + ")" : "");
  } else if (type == "item_started") {
    what = fmt::format("{} {} ({})...", S(d, "action"), S(d, "path"), HumanBytes(d.value("size", uint64_t{0})));
  } else if (type == "item_finished") {
    what = d.contains("error") ? fmt::format("not done: {} {}: {}", S(d, "action"), S(d, "path"), S(d, "error"))
                               : fmt::format("done: {} {}", S(d, "action"), S(d, "path"));
  } else if (type == "item_failed") {
    what = fmt::format("FAILED {}: {}", S(d, "path"), S(d, "reason"));
  } else if (type == "conflict_created") {
    what = fmt::format("conflict on {}: the other version is kept as {}", S(d, "path"), S(d, "copy"));
  } else if (type == "conflict_resolved") {
    what = fmt::format("conflict on {} resolved: {}", S(d, "path"), S(d, "done"));
  } else if (type == "peer_connected") {
    what = fmt::format("peer {} connected ({})", S(d, "device").substr(0, 7), S(d, "address"));
  } else if (type == "peer_disconnected") {
    what = fmt::format("peer {} disconnected: {}", S(d, "device").substr(0, 7), S(d, "reason"));
  } else if (type == "share_error") {
    what = "ERROR " + S(d, "message");
  } else if (type == "ignore_patterns_failed") {
    what = "ERROR " + S(d, "message");
  } else if (type == "ignore_patterns_changed") {
    what = "ignore patterns in force";
  } else {
    what = type + " " + d.dump();
  }
  return fmt::format("{} {:<12} {}", time, share_name.substr(0, 12), what);
}

std::vector<std::string> ProgressLines(const json& progress, size_t width) {
  std::vector<std::string> lines;
  const size_t bar = width > 60 ? 20 : 10;
  for (const json& f : progress.value("files", json::array())) {
    if (f.value("finished", false)) continue;
    const uint64_t done = f.value("bytes_done", uint64_t{0}), total = f.value("bytes_total", uint64_t{1});
    const double ratio = total ? static_cast<double>(done) / total : 1.0;
    const size_t filled = static_cast<size_t>(ratio * bar);
    std::string path = S(f, "path");
    const size_t room = std::max<size_t>(width > bar + 40 ? width - bar - 40 : 0, 10);
    if (path.size() > room) path = "..." + path.substr(path.size() - (room - 3));
    lines.push_back(fmt::format("  [{}{}] {:5.1f}% {} of {}  {}", std::string(filled, '#'), std::string(bar - filled, '.'),
                                100 * ratio, HumanBytes(done), HumanBytes(total), path));
    if (lines.size() >= 8) break;
  }
  return lines;
}

void PrintScanStats(const json& stats) {
  fmt::print("Scanned {} entries: hashed {} files ({}), {} new versions, {} deleted, {} skipped\n",
             stats.value("entries_seen", 0), stats.value("files_hashed", 0),
             HumanBytes(stats.value("bytes_hashed", uint64_t{0})), stats.value("records_written", 0),
             stats.value("deleted", 0), stats.value("skipped", 0));
}

void PrintGuiLogin(const json& login) {
  std::cout << "Web UI: " << login["url"].get<std::string>() << "\n"
            << "Open this link to log in (it works once, within 10 minutes):\n  "
            << login["login_url"].get<std::string>() << "\n";
  if (login["password"].get<bool>()) std::cout << "Or log in there with the web UI's password.\n";
}

}  // namespace tandem::cli
