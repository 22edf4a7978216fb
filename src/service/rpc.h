// JSON-RPC 2.0 over the Service: the dispatcher (one request object in, one
// response object out) and the Unix-socket server the CLI talks to.
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
