// Human-readable output of the CLI's listing commands (`--json` skips these).
#pragma once

#include <nlohmann/json.hpp>

namespace tandem::cli {

void PrintShareTable(const nlohmann::json& shares);
void PrintShareInfo(const nlohmann::json& share);
void PrintStatus(const nlohmann::json& shares);
void PrintConflicts(const nlohmann::json& conflicts);
void PrintScanStats(const nlohmann::json& stats);

}  // namespace tandem::cli
