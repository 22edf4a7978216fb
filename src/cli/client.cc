#include "cli/client.h"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include "service/config.h"

namespace tandem::cli {

Result<nlohmann::json> CallDaemon(const std::filesystem::path& config_dir, const std::string& method,
                                  const nlohmann::json& params) {
  std::filesystem::path socket_path = config_dir / service::kSocketFileName;
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  std::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(socket_path.string()), ec);
  if (ec) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "cannot reach the tandem daemon at " + socket_path.string() + " (" +
                         ec.message() + "); start it with: tandem daemon --config-dir " +
                         config_dir.string());
  }
  nlohmann::json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  std::string line = request.dump() + "\n";
  asio::write(socket, asio::buffer(line), ec);
  asio::streambuf buffer;
  if (!ec) asio::read_until(socket, buffer, '\n', ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "the tandem daemon closed the connection (" + ec.message() +
                                         "); see its log");
  }
  std::string text(asio::buffers_begin(buffer.data()), asio::buffers_end(buffer.data()));
  nlohmann::json response = nlohmann::json::parse(text, nullptr, false);
  if (response.is_discarded() || !response.is_object()) {
    return MakeError(ErrorCode::kInternal, "the tandem daemon sent a malformed answer");
  }
  if (response.contains("error")) {
    return MakeError(ErrorCode::kInvalidArgument, response["error"].value("message", "unknown error"));
  }
  return response["result"];
}

}  // namespace tandem::cli
