#include "cli/client.h"

#include <asio/connect.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>

#include "service/config.h"

namespace tandem::cli {

DaemonConnection::DaemonConnection(std::filesystem::path config_dir)
    : config_dir_(std::move(config_dir)), socket_(io_) {}

Result<nlohmann::json> DaemonConnection::Call(const std::string& method, const nlohmann::json& params) {
  std::error_code ec;
  if (!socket_.is_open()) {
    std::filesystem::path socket_path = config_dir_ / service::kSocketFileName;
    socket_.connect(asio::local::stream_protocol::endpoint(socket_path.string()), ec);
    if (ec) {
      socket_.close();
      return MakeError(ErrorCode::kFailedPrecondition,
                       "cannot reach the tandem daemon at " + socket_path.string() + " (" + ec.message() +
                           "); start it with: tandem daemon --config-dir " + config_dir_.string());
    }
  }
  nlohmann::json request = {{"jsonrpc", "2.0"}, {"id", ++next_id_}, {"method", method}, {"params", params}};
  std::string line = request.dump() + "\n";
  asio::write(socket_, asio::buffer(line), ec);
  size_t n = 0;
  if (!ec) n = asio::read_until(socket_, buffer_, '\n', ec);
  if (ec) {
    socket_.close();
    return MakeError(ErrorCode::kIo, "the tandem daemon closed the connection (" + ec.message() + "); see its log");
  }
  auto begin = asio::buffers_begin(buffer_.data());
  nlohmann::json response = nlohmann::json::parse(begin, begin + static_cast<std::ptrdiff_t>(n), nullptr, false);
  buffer_.consume(n);
  if (response.is_discarded() || !response.is_object()) {
    return MakeError(ErrorCode::kInternal, "the tandem daemon sent a malformed answer");
  }
  if (response.contains("error")) {
    return MakeError(ErrorCode::kInvalidArgument, response["error"].value("message", "unknown error"));
  }
  return std::move(response["result"]);
}

Result<nlohmann::json> CallDaemon(const std::filesystem::path& config_dir, const std::string& method,
                                  const nlohmann::json& params) {
  return DaemonConnection(config_dir).Call(method, params);
}

}  // namespace tandem::cli
