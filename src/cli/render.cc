#include "cli/render.h"

#include <fmt/core.h>

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
  fmt::print("State      {}\n", S(s, "state"));
  if (!S(s, "last_error").empty()) fmt::print("Error      {}\n", S(s, "last_error"));
  fmt::print("Index      {} files, {} folders, {} symlinks, {} ({} records)\n", index.value("files", 0),
             index.value("directories", 0), index.value("symlinks", 0),
             HumanBytes(index.value("bytes", uint64_t{0})), index.value("records", 0));
  fmt::print("Needs      {} files, {}\n", s.value("need_files", 0), HumanBytes(s.value("need_bytes", uint64_t{0})));
  fmt::print("Received   {}\n", HumanBytes(s.value("received_bytes", uint64_t{0})));
  fmt::print("Peers      {}\n", s["peers"].empty() ? std::string("none configured") : "");
  for (const json& p : s["peers"]) fmt::print("           {}\n", p.get<std::string>());
  for (const json& d : s.value("connected_devices", nlohmann::json::array())) {
    fmt::print("Connected  {}\n", d.get<std::string>());
  }
  for (const json& reason : s.value("failed", json::array())) fmt::print("Not synced {}\n", reason.get<std::string>());
  for (const json& reason : s.value("skipped", json::array())) fmt::print("Skipped    {}\n", reason.get<std::string>());
  const json& local = s.value("local_changes", json::object());
  if (local.value("count", 0) > 0) {
    int count = local.value("count", 0);
    fmt::print("Local      {} change{} kept on this device only (tandem revert {} undoes {})\n", count,
               count == 1 ? "" : "s", S(s, "name"), count == 1 ? "it" : "them");
    for (const json& c : local["paths"]) fmt::print("           {:<8}  {}\n", S(c, "change"), S(c, "path"));
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
  for (const json& s : shares) {
    fmt::print("{} ({}): {}", S(s, "name"), S(s, "id").substr(0, 8), S(s, "state"));
    if (!S(s, "last_error").empty()) fmt::print(" - {}", S(s, "last_error"));
    fmt::print("\n  {} files, {} indexed; needs {} files ({}); {} peers configured, {} connected\n",
               s["index"].value("files", 0), HumanBytes(s["index"].value("bytes", uint64_t{0})),
               s.value("need_files", 0), HumanBytes(s.value("need_bytes", uint64_t{0})), s["peers"].size(),
               s.value("connected_devices", nlohmann::json::array()).size());
    for (const json& d : s.value("connected_devices", nlohmann::json::array())) {
      fmt::print("  connected: {}\n", d.get<std::string>());
    }
    uint64_t local = s.value("local_changes", json::object()).value("count", uint64_t{0});
    if (local > 0) {
      fmt::print("  {} local change{} kept on this device only (see tandem info)\n", local, local == 1 ? "" : "s");
    }
    for (const char* key : {"failed", "skipped"}) {
      const json& list = s.value(key, json::array());
      if (list.empty()) continue;
      fmt::print("  {} path{} {}:\n", list.size(), list.size() == 1 ? "" : "s",
                 key == std::string("failed") ? "not synced" : "skipped by the last scan");
      for (const json& reason : list) fmt::print("    {}\n", reason.get<std::string>());
    }
  }
}

void PrintScanStats(const json& stats) {
  fmt::print("Scanned {} entries: hashed {} files ({}), {} new versions, {} deleted, {} skipped\n",
             stats.value("entries_seen", 0), stats.value("files_hashed", 0),
             HumanBytes(stats.value("bytes_hashed", uint64_t{0})), stats.value("records_written", 0),
             stats.value("deleted", 0), stats.value("skipped", 0));
}

}  // namespace tandem::cli
