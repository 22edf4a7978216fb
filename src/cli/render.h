// Human-readable output of the CLI's listing commands (`--json` skips these).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/result.h"

namespace tandem::cli {

void PrintShareTable(const nlohmann::json& shares);
void PrintShareInfo(const nlohmann::json& share);
void PrintStatus(const nlohmann::json& shares);
void PrintConflicts(const nlohmann::json& conflicts);
// "PATH: ignored by .tandemignore:3: build/"
void PrintIgnoreCheck(const nlohmann::json& check);
// Kept versions, a line each: time, size, whose change, path.
void PrintVersions(const nlohmann::json& versions);
// gui_login's answer: where the web UI is and the one-time link.
void PrintGuiLogin(const nlohmann::json& login);
// "2026-12-05 14:30:00 UTC"
std::string VersionTimeText(int64_t unix);
// YYYYMMDD-HHMMSS (UTC, as versions are named) or Unix seconds.
tandem::Result<int64_t> ParseVersionTime(const std::string& text);
// .tandemignore as it is, and whether it is in force.
void PrintIgnorePatterns(const nlohmann::json& patterns);
void PrintScanStats(const nlohmann::json& stats);
// A bandwidth limit as written on the command line: bytes a second, with
// K/KiB, M/MiB or G/GiB (powers of 1024) and an optional "/s"; 0 or
// "none" for no limit. kInvalidArgument saying how to write it.
tandem::Result<uint64_t> ParseRate(const std::string& text);
// "1.0 MiB/s", or "none" for 0.
std::string RateText(uint64_t bytes_per_second);
// The device's limits and rates (device_info), and a share's limits.
void PrintLimits(const nlohmann::json& device, const nlohmann::json* share);

std::string HumanSize(uint64_t bytes);
// "42.0%", or "-" while nobody knows the share's version yet.
std::string CompletionText(const nlohmann::json& share);
// A share on one line: name, state, completion, what it needs, rates, peers.
std::string StatusLine(const nlohmann::json& share);
// An event (events_poll's form) in words, on one line.
std::string EventLine(const nlohmann::json& event, const std::string& share_name);
// A download_progress event's files still arriving, as bars `width` wide at most.
std::vector<std::string> ProgressLines(const nlohmann::json& progress, size_t width);

}  // namespace tandem::cli
