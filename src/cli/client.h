// The CLI's side of the control socket: one JSON-RPC request, one response.
// Blocking; used from the CLI's main thread only.
#pragma once

#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/streambuf.hpp>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "base/result.h"

namespace tandem::cli {

// One connection to the daemon, kept for many calls (a watch polls often).
class DaemonConnection {
 public:
  explicit DaemonConnection(std::filesystem::path config_dir);
  // The "result" of calling `method`; an Error carrying the daemon's
  // message when the call failed, or a message saying how to start the
  // daemon when it cannot be reached. A broken connection is made anew at
  // the next call.
  Result<nlohmann::json> Call(const std::string& method, const nlohmann::json& params);

 private:
  std::filesystem::path config_dir_;
  asio::io_context io_;
  asio::local::stream_protocol::socket socket_;
  asio::streambuf buffer_;
  int64_t next_id_ = 0;
};

// One call on a connection of its own.
Result<nlohmann::json> CallDaemon(const std::filesystem::path& config_dir, const std::string& method,
                                  const nlohmann::json& params);

}  // namespace tandem::cli
