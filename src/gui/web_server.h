// WebServer: the web UI over HTTP, on cpp-httplib (Debian's libcpp-httplib;
// no HTTP parsing of our own). It serves the page's files, embedded in the
// binary (assets.h), and the service's API at POST /rest/METHOD (the same
// method table as the CLI's socket and the C ABI: service/rpc.h), so the UI
// can do what the CLI can and nothing else. Live updates are the API's own
// long poll of the event log (events_poll), never a poll of every endpoint.
//
// Who may use it is WebAccess's to say (service/web_access.h); every request
// passes these checks first, in this order (docs/gui.md, "Security"):
//   1. Host: localhost or an IP literal with the UI's port, and loopback
//      only while the UI listens on loopback (DNS rebinding);
//   2. no cross-site request: an Origin other than this page's, a
//      Sec-Fetch-Site of cross-site or same-site, or any OPTIONS
//      (no CORS: nothing is ever allowed cross-origin);
//   3. a live session cookie, or the API key in X-API-Key (a wrong key
//      is refused even beside a good cookie);
//   4. a state change (every POST) by cookie carries the session's CSRF
//      token in X-CSRF-Token.
// Refused: 403 for 1, 2 and 4, 401 for 3, and nothing is done.
//
// Threads: httplib's listening thread and its pool of workers run the
// handlers. An API call crosses onto the Service's loop (co_spawn) and the
// worker waits for its outcome; Stop ends such waits (503) and joins the
// threads, so it comes before the Service stops. Start and Stop from the
// thread that owns the server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "base/result.h"
#include "service/service.h"

namespace httplib {
class Server;
}

namespace tandem::gui {

inline constexpr char kDefaultAddress[] = "127.0.0.1:20210";

// Where the UI listens: an IP literal (or localhost, as 127.0.0.1) and a port.
struct Endpoint {
  std::string host;  // without brackets
  uint16_t port = 0;
  bool loopback = true;
  // "127.0.0.1:20210", "[::1]:20210"
  std::string HostPort() const;
};

// "HOST:PORT" or "[V6]:PORT", HOST an IP literal or localhost; port 0: any
// free one. kInvalidArgument saying what was expected.
Result<Endpoint> ParseGuiAddress(std::string_view text);

// Whether a request's Host header may reach the UI at `bound` (check 1).
bool HostAllowed(std::string_view host_header, const Endpoint& bound);

class WebServer {
 public:
  // Listens on `address` and serves until Stop. kInvalidArgument for a bad
  // address; kFailedPrecondition beyond loopback while no password is set;
  // kIo when the address cannot be bound (in use, not this machine's).
  static Result<std::unique_ptr<WebServer>> Start(service::Service& service, std::string_view address);
  ~WebServer();

  // Idempotent. Calls still waiting on the loop end with 503.
  void Stop();
  // As bound (the port the system gave for port 0).
  const Endpoint& endpoint() const { return endpoint_; }

  struct Calls;  // the API calls in flight (web_server.cc)

 private:
  WebServer(service::Service& service, Endpoint endpoint);
  void Route();

  service::Service& service_;
  Endpoint endpoint_;
  std::string cookie_name_;  // per port: cookies do not tell ports apart
  std::shared_ptr<Calls> calls_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
};

}  // namespace tandem::gui
