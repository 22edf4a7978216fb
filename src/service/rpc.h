// JSON-RPC 2.0 over the Service: the method table (api/tandem-api.json
// describes it), the dispatcher (one request object in, one response object
// out) and the Unix-socket server the CLI talks to. The C ABI (src/capi)
// calls Invoke directly.
// Nothing thrown inside a method escapes: every failure becomes a JSON-RPC
// error whose message is the Service's one-line explanation.
//
// Threads: everything runs on the Service's event loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/service.h"

namespace tandem::service {

// JSON-RPC error codes: the standard ones, and one per ErrorCode from -32000 down.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
int RpcErrorCode(ErrorCode code);

// A request too long to be an API call is refused, not buffered.
inline constexpr size_t kMaxRequestBytes = 1 << 20;

// A method of the API and the names of the parameters it takes (any other
// name is refused).
struct Method {
  std::string_view name;
  std::vector<std::string_view> params;
};
std::vector<Method> Methods();

// How one call ended: code 0 and the result, or a JSON-RPC error code, its
// one-line message and, for the Service's own errors, their kind.
struct Outcome {
  int code = 0;
  nlohmann::json result;
  std::string message;
  std::optional<ErrorCode> kind;
};

// Calls `method` with `params` (null or an object). Never throws.
asio::awaitable<Outcome> Invoke(Service& service, std::string method, nlohmann::json params);

// The response to one request (never throws). A notification (no "id")
// still gets a response object; the server does not send it.
asio::awaitable<nlohmann::json> Dispatch(Service& service, nlohmann::json request);

// Listens on <config dir>/tandem.sock (mode 0600) until the io_context stops.
class RpcServer {
 public:
  RpcServer(asio::io_context& io, Service& service);
  // kIo if the socket cannot be bound.
  Result<void> Start();

 private:
  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Serve(asio::local::stream_protocol::socket socket);

  asio::io_context& io_;
  Service& service_;
  asio::local::stream_protocol::acceptor acceptor_;
};

}  // namespace tandem::service
