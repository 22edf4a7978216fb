// The CLI's side of the control socket: one JSON-RPC request, one response.
// Blocking; used from the CLI's main thread only.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace tandem::cli {

// The "result" of calling `method`; an Error carrying the daemon's message
// when the call failed, or a message saying how to start the daemon when it
// cannot be reached.
Result<nlohmann::json> CallDaemon(const std::filesystem::path& config_dir, const std::string& method,
                                  const nlohmann::json& params);

}  // namespace tandem::cli
