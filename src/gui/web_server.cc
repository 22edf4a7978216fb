#include "gui/web_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdlib>
#include <cstring>
#include <httplib.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/spdlog.h>

#include "crypto/password.h"
#include "gui/assets.h"
#include "gui/qr_svg.h"
#include "net/address.h"
#include "service/rpc.h"

namespace tandem::gui {

using nlohmann::json;

// An API call's outcome, handed from the loop to the worker that waits.
struct WebServer::Calls {
  std::mutex mutex;
  std::condition_variable ended;
  bool stopping = false;
  // The long polls waiting, oldest first: each holds a worker, and one
  // whose page was closed holds it until its timeout (httplib does not
  // tell a handler that its client left). Past kMaxWaitingPolls the
  // oldest is answered at once, as a poll with nothing new.
  std::deque<std::shared_ptr<bool>> polls;  // true: released
};

namespace {

// A browser holds a few connections open (each holds a worker while it is
// kept alive); a long poll takes one worker for its whole wait.
constexpr int kWorkers = 16;
constexpr int kKeepAliveSeconds = 2;
constexpr size_t kMaxBody = 1 << 20;  // as the control socket's requests
// A long poll over HTTP waits at most this long (the page asks for 25 s):
// a worker is not held for the hour the API allows.
constexpr uint64_t kMaxPollMs = 60'000;
constexpr size_t kMaxWaitingPolls = 6;
// What only the tandem command (the control socket) or an embedding app may
// do: a session must not read the API key or change the password.
bool LocalOnly(const std::string& method) { return method == "gui_login" || method == "gui_set_password"; }

std::optional<in6_addr> ParseIp(const std::string& host, int& family) {
  in6_addr out{};
  if (inet_pton(AF_INET, host.c_str(), &out) == 1) {
    family = AF_INET;
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), &out) == 1) {
    family = AF_INET6;
    return out;
  }
  return std::nullopt;
}

bool IsLoopback(const std::string& host) {
  int family = 0;
  auto ip = ParseIp(host, family);
  if (!ip) return false;
  if (family == AF_INET) return reinterpret_cast<const uint8_t*>(&*ip)[0] == 127;
  return IN6_IS_ADDR_LOOPBACK(&*ip);
}

// Why the address cannot be bound, in the system's words (httplib says only
// that it failed): a second bind of the same address tells.
std::string BindFailure(const Endpoint& e) {
  int family = 0;
  auto ip = ParseIp(e.host, family);
  if (!ip) return "not an IP address";
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  int rc;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(e.port);
    std::memcpy(&a.sin_addr, &*ip, sizeof(a.sin_addr));
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(e.port);
    a.sin6_addr = *ip;
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  std::string why = rc == 0 ? "refused" : std::strerror(errno);
  ::close(fd);
  return why;
}

int HttpStatus(const service::Outcome& outcome) {
  if (outcome.code == 0) return 200;
  if (outcome.kind) {
    switch (*outcome.kind) {
      case ErrorCode::kInvalidArgument: return 400;
      case ErrorCode::kNotFound: return 404;
      case ErrorCode::kAlreadyExists:
      case ErrorCode::kFailedPrecondition: return 409;
      case ErrorCode::kUnsupported: return 501;
      default: return 500;
    }
  }
  if (outcome.code == service::kMethodNotFound) return 404;
  if (outcome.code == service::kInvalidParams) return 400;
  return 500;
}

std::string OutcomeKind(const service::Outcome& outcome) {
  if (outcome.kind) return ErrorCodeName(*outcome.kind);
  if (outcome.code == service::kMethodNotFound) return "unknown_method";
  if (outcome.code == service::kInvalidParams) return "invalid_params";
  return "internal";
}

// Every body goes out as it is. httplib would otherwise compress each answer
// a browser accepts brotli for, at brotli's slowest level (45 ms for the
// page's script, a few for each API answer); on loopback that is time lost.
// The page's files were compressed when it was built (Assets: .br, .gz).
// Range requests are refused before any route (httplib 0.11 does not hold
// a range to a provider's length); the offset check stands anyway.
// `bytes` as they are; `owner` keeps them alive until they are sent (none
// for the embedded files, which live as long as the program).
void SendBytes(httplib::Response& res, std::string_view bytes, const std::string& type,
               std::shared_ptr<const std::string> owner = nullptr) {
  res.set_content_provider(bytes.size(), type,
                           [bytes, owner](size_t offset, size_t length, httplib::DataSink& sink) {
                             if (offset >= bytes.size()) return false;
                             return sink.write(bytes.data() + offset, std::min(length, bytes.size() - offset));
                           });
}

void Send(httplib::Response& res, std::string body, const std::string& type) {
  auto owned = std::make_shared<const std::string>(std::move(body));
  SendBytes(res, *owned, type, owned);
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

// Whether an Accept-Encoding header takes `coding` ("br;q=0" refuses it).
bool Accepts(const std::string& header, std::string_view coding) {
  size_t at = 0;
  while (at <= header.size()) {
    size_t end = header.find(',', at);
    if (end == std::string::npos) end = header.size();
    std::string_view item(header.data() + at, end - at);
    at = end + 1;
    const size_t semicolon = item.find(';');
    if (Trim(item.substr(0, semicolon)) != coding) continue;
    if (semicolon == std::string_view::npos) return true;
    std::string_view q = Trim(item.substr(semicolon + 1));
    if (!q.starts_with("q=")) return true;
    return std::strtod(std::string(q.substr(2)).c_str(), nullptr) > 0;
  }
  return false;
}

void SendError(httplib::Response& res, int status, const std::string& kind, const std::string& message) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  Send(res, json{{"error", {{"kind", kind}, {"message", message}}}}.dump(-1, ' ', false, json::error_handler_t::replace),
       "application/json");
}

// The value of cookie `name` in a Cookie header ("a=1; b=2").
std::string CookieValue(const std::string& header, const std::string& name) {
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string_view pair = Trim(std::string_view(header.data() + at, end - at));
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    at = end + 1;
  }
  return {};
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The page a browser without a session gets: how to get in. No script.
std::string LoginPage(const std::string& message, bool password) {
  std::string form;
  if (password) {
    form =
        "<form method=\"post\" action=\"/login\"><label for=\"password\">Password</label> "
        "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required "
        "autofocus> <button type=\"submit\">Log in</button></form>";
  }
  return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width, initial-scale=1\"><title>Tandem: log in</title><style>"
         "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1d2433}"
         "code{background:#eef1f6;padding:.1rem .3rem;border-radius:4px}input,button{font:inherit;padding:.3rem .6rem}"
         "</style></head><body><main><h1>Tandem</h1><p role=\"status\">" +
         HtmlEscape(message) +
         "</p><p>On this machine, run <code>tandem gui</code> and open the link it prints.</p>" + form +
         "</main></body></html>";
}

void SendLoginPage(httplib::Response& res, int status, const std::string& message, bool password) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  // This page alone has an inline style, and no script at all.
  res.headers.erase("Content-Security-Policy");
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
  Send(res, LoginPage(message, password), "text/html; charset=utf-8");
}

const Asset* FindAsset(std::string_view path) {
  for (const Asset& asset : Assets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace

std::string Endpoint::HostPort() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Endpoint> ParseGuiAddress(std::string_view text) {
  auto parsed = net::ParseListenAddress("tcp/" + std::string(text));
  if (!parsed) {
    return MakeError(ErrorCode::kInvalidArgument, "bad web UI address '" + std::string(text) +
                                                      "': give HOST:PORT, e.g. 127.0.0.1:20210, or off");
  }
  Endpoint e{parsed->host, parsed->port, true};
  if (e.host == "localhost") e.host = "127.0.0.1";
  int family = 0;
  if (!ParseIp(e.host, family)) {
    return MakeError(ErrorCode::kInvalidArgument, "bad web UI address '" + std::string(text) +
                                                      "': the host must be an IP address or localhost");
  }
  e.loopback = IsLoopback(e.host);
  return e;
}

bool HostAllowed(std::string_view host_header, const Endpoint& bound) {
  std::string host;
  std::string_view port;
  if (host_header.starts_with("[")) {
    size_t close = host_header.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(host_header.substr(1, close - 1));
    std::string_view rest = host_header.substr(close + 1);
    if (rest.empty()) {
      port = "80";
    } else if (rest.starts_with(":")) {
      port = rest.substr(1);
    } else {
      return false;
    }
  } else {
    size_t colon = host_header.rfind(':');
    host = std::string(host_header.substr(0, colon));
    // A browser leaves out port 80.
    port = colon == std::string_view::npos ? std::string_view("80") : host_header.substr(colon + 1);
  }
  if (port != std::to_string(bound.port)) return false;
  if (host == "localhost") return true;
  int family = 0;
  if (!ParseIp(host, family)) return false;  // a name: maybe an attacker's, rebound to us
  if (host_header.starts_with("[") != (family == AF_INET6)) return false;
  return !bound.loopback || IsLoopback(host);
}

WebServer::WebServer(service::Service& service, Endpoint endpoint)
    : service_(service),
      endpoint_(std::move(endpoint)),
      calls_(std::make_shared<Calls>()),
      server_(std::make_unique<httplib::Server>()) {}

WebServer::~WebServer() { Stop(); }

Result<std::unique_ptr<WebServer>> WebServer::Start(service::Service& service, std::string_view address) {
  TANDEM_ASSIGN_OR_RETURN(Endpoint endpoint, ParseGuiAddress(address));
  if (!endpoint.loopback && !service.web_access()->has_password()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the web UI would listen on " + endpoint.HostPort() +
                         ", reachable from other machines, and has no password: set one with `tandem gui "
                         "--set-password` while the daemon listens on loopback, or use --gui 127.0.0.1:20210");
  }
  std::unique_ptr<WebServer> server(new WebServer(service, endpoint));
  httplib::Server& http = *server->server_;
  http.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  http.set_payload_max_length(kMaxBody);
  http.set_keep_alive_timeout(kKeepAliveSeconds);
  // httplib's default adds SO_REUSEPORT, with which a second daemon of the
  // same user binds the same port and the kernel splits the connections
  // between the two. Only SO_REUSEADDR (a restart need not wait out
  // TIME_WAIT), and TCP_NODELAY (inherited by every accepted connection):
  // httplib writes a response's head and body apart, and Nagle's algorithm
  // against the browser's delayed ACK held each body back 40 ms.
  http.set_socket_options([](int socket) {
    int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  http.set_address_family(endpoint.host.find(':') != std::string::npos ? AF_INET6 : AF_INET);
  if (endpoint.port == 0) {
    int port = http.bind_to_any_port(endpoint.host);
    if (port <= 0) return MakeError(ErrorCode::kIo, "the web UI cannot listen on " + endpoint.HostPort());
    server->endpoint_.port = static_cast<uint16_t>(port);
  } else if (!http.bind_to_port(endpoint.host, endpoint.port)) {
    return MakeError(ErrorCode::kIo, "the web UI cannot listen on " + endpoint.HostPort() + ": " +
                                         BindFailure(endpoint) +
                                         " (another Tandem daemon? choose another with --gui ADDRESS, or --gui off)");
  }
  server->cookie_name_ = "tandem_session_" + std::to_string(server->endpoint_.port);
  server->Route();
  auto listening_ended = std::make_shared<std::atomic<bool>>(false);
  server->listener_ = std::thread([&http, listening_ended] {
    http.listen_after_bind();
    *listening_ended = true;
  });
  // httplib's stop() does nothing before its listener runs: Start returns
  // only once it does, so a Stop right after cannot be lost.
  while (!http.is_running() && !*listening_ended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!http.is_running()) {
    server->listener_.join();
    return MakeError(ErrorCode::kIo, "the web UI stopped listening on " + server->endpoint_.HostPort() + " at once");
  }
  // The address a link from this machine reaches it at: a wildcard's own
  // loopback.
  Endpoint reachable = server->endpoint_;
  if (reachable.host == "0.0.0.0") reachable.host = "127.0.0.1";
  if (reachable.host == "::") reachable.host = "::1";
  service.web_access()->SetAddress(reachable.HostPort(), server->endpoint_.loopback);
  spdlog::info("web UI on http://{}/ (tandem gui prints a login link)", server->endpoint_.HostPort());
  return server;
}

void WebServer::Stop() {
  if (!listener_.joinable()) return;
  service_.web_access()->SetAddress("", true);
  {
    std::lock_guard lock(calls_->mutex);
    calls_->stopping = true;
  }
  calls_->ended.notify_all();
  server_->stop();
  listener_.join();
}

void WebServer::Route() {
  httplib::Server& http = *server_;
  const std::shared_ptr<service::WebAccess> access = service_.web_access();

  http.set_default_headers({
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
  });

  // Checks 1 and 2, before any route.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const std::string host = req.get_header_value("Host");
    if (!HostAllowed(host, endpoint_)) {
      SendError(res, 403, "forbidden",
                "the Host header '" + host + "' is not this web UI's address; open http://" + endpoint_.HostPort() +
                    "/");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.has_header("Range")) {
      // Nothing here is served in parts; and a range httplib applied to a
      // content provider unchecked would read past the answer.
      res.status = 416;
      res.set_header("Content-Type", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string origin = req.get_header_value("Origin");
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (req.method == "OPTIONS" || (!origin.empty() && origin != "http://" + host) || site == "cross-site" ||
        site == "same-site") {
      SendError(res, 403, "forbidden", "cross-origin requests are not allowed");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Checks 3 and 4: the caller's CSRF token ("" for the API key), or none.
  struct Caller {
    bool known = false;
    std::string session;
    std::string csrf;
  };
  auto identify = [this, access](const httplib::Request& req) {
    Caller caller;
    if (req.has_header("X-API-Key")) {
      caller.known = access->IsApiKey(req.get_header_value("X-API-Key"));
      return caller;
    }
    caller.session = CookieValue(req.get_header_value("Cookie"), cookie_name_);
    if (caller.session.empty()) return caller;
    if (auto csrf = access->CsrfOf(caller.session)) {
      caller.known = true;
      caller.csrf = std::move(*csrf);
    }
    return caller;
  };
  // For a POST: whether it may go on; if not, the refusal is in `res`.
  auto admit_change = [identify](const httplib::Request& req, httplib::Response& res) {
    Caller caller = identify(req);
    if (!caller.known) {
      SendError(res, 401, "unauthorized", "log in first: run `tandem gui` and open the link it prints");
      return false;
    }
    const std::string csrf = req.get_header_value("X-CSRF-Token");
    if (!caller.session.empty() && (csrf.empty() || !crypto::SameSecret(csrf, caller.csrf))) {
      SendError(res, 403, "forbidden", "the request has no valid CSRF token (X-CSRF-Token); reload the page");
      return false;
    }
    return true;
  };

  http.Get("/login", [this, access](const httplib::Request& req, httplib::Response& res) {
    auto session = access->LogIn(req.get_param_value("token"));
    if (!session) {
      SendLoginPage(res, 403, "This login link was used already or has expired.", access->has_password());
      return;
    }
    res.set_header("Set-Cookie", cookie_name_ + "=" + session->id + "; Path=/; HttpOnly; SameSite=Strict");
    res.set_header("Cache-Control", "no-store");
    res.set_redirect("/", 303);
  });
  http.Post("/login", [this, access](const httplib::Request& req, httplib::Response& res) {
    service::WebAccess::PasswordLogIn login =
        access->LogInWithPassword(req.get_param_value("password"), req.remote_addr);
    if (login.wait) {
      SendLoginPage(res, 429, "Wrong password a moment ago: wait a second and try again.", true);
      return;
    }
    const auto& session = login.session;
    if (!session) {
      SendLoginPage(res, 403, access->has_password() ? "Wrong password." : "This web UI has no password.",
                    access->has_password());
      return;
    }
    res.set_header("Set-Cookie", cookie_name_ + "=" + session->id + "; Path=/; HttpOnly; SameSite=Strict");
    res.set_redirect("/", 303);
  });
  http.Post("/logout", [this, access, admit_change, identify](const httplib::Request& req, httplib::Response& res) {
    if (!admit_change(req, res)) return;
    access->LogOut(identify(req).session);
    res.set_header("Set-Cookie", cookie_name_ + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    res.set_header("Cache-Control", "no-store");
    Send(res, "{}", "application/json");
  });
  http.Get("/session", [identify](const httplib::Request& req, httplib::Response& res) {
    Caller caller = identify(req);
    if (!caller.known) return SendError(res, 401, "unauthorized", "log in first");
    res.set_header("Cache-Control", "no-store");
    Send(res, json{{"csrf", caller.csrf}}.dump(), "application/json");
  });
  http.Post(R"(/rest/([a-z_]+))", [this, admit_change](const httplib::Request& req, httplib::Response& res) {
    if (!admit_change(req, res)) return;
    const std::string method = req.matches[1].str();
    if (LocalOnly(method)) {
      return SendError(res, 403, "forbidden", method + " is for the tandem command on this machine, not the web");
    }
    json params = json::object();
    if (!req.body.empty()) {
      params = json::parse(req.body, nullptr, false);
      if (params.is_discarded() || !params.is_object()) {
        return SendError(res, 400, "invalid_params", "the body must be a JSON object of the method's parameters");
      }
    }
    if (method == "events_poll" && params.contains("timeout_ms") && params["timeout_ms"].is_number_unsigned() &&
        params["timeout_ms"].get<uint64_t>() > kMaxPollMs) {
      params["timeout_ms"] = kMaxPollMs;  // answered early, as a poll with nothing new; the reader asks again
    }
    // Crosses onto the loop; this worker waits for the outcome.
    auto outcome = std::make_shared<std::optional<service::Outcome>>();
    std::shared_ptr<Calls> calls = calls_;
    std::shared_ptr<bool> released;
    {
      std::lock_guard lock(calls->mutex);
      if (calls->stopping) return SendError(res, 503, "closed", "the daemon is stopping; nothing was done");
      if (method == "events_poll") {
        if (calls->polls.size() >= kMaxWaitingPolls) {
          *calls->polls.front() = true;
          calls->polls.pop_front();
          calls->ended.notify_all();
        }
        released = std::make_shared<bool>(false);
        calls->polls.push_back(released);
      }
    }
    const uint64_t since = params.value("since", json(0)).is_number_unsigned() ? params["since"].get<uint64_t>() : 0;
    asio::co_spawn(service_.io(), service::Invoke(service_, method, std::move(params)),
                   [calls, outcome](std::exception_ptr, service::Outcome o) {
                     {
                       std::lock_guard lock(calls->mutex);
                       *outcome = std::move(o);
                     }
                     calls->ended.notify_all();
                   });
    std::unique_lock lock(calls->mutex);
    calls->ended.wait(lock, [&] { return outcome->has_value() || calls->stopping || (released && *released); });
    if (released) std::erase(calls->polls, released);
    if (!outcome->has_value() && released && *released) {
      // Newer polls came: this one ends as if its wait ran out.
      res.set_header("Cache-Control", "no-store");
      return Send(res, json{{"result", {{"events", json::array()}, {"last_id", since}, {"missed", 0}}}}.dump(),
                  "application/json");
    }
    if (!outcome->has_value()) {
      return SendError(res, 503, "closed", "the daemon stopped before the call ended (whether it took effect is unknown)");
    }
    const service::Outcome& o = **outcome;
    if (o.code != 0) return SendError(res, HttpStatus(o), OutcomeKind(o), o.message);
    res.set_header("Cache-Control", "no-store");
    Send(res, json{{"result", o.result}}.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  });
  http.Post("/qr", [admit_change](const httplib::Request& req, httplib::Response& res) {
    if (!admit_change(req, res)) return;
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("text") || !body["text"].is_string()) {
      return SendError(res, 400, "invalid_params", "the body must be {\"text\": \"...\"}");
    }
    auto svg = QrSvg(body["text"].get<std::string>());
    if (!svg) return SendError(res, 400, "invalid_argument", svg.error().message);
    res.set_header("Cache-Control", "no-store");
    Send(res, std::move(*svg), "image/svg+xml");
  });
  http.Get(R"(/[A-Za-z0-9._/-]*)", [access, identify](const httplib::Request& req, httplib::Response& res) {
    const std::string path = req.path == "/" ? "/index.html" : req.path;
    if (!identify(req).known) {
      if (path == "/index.html") {
        return SendLoginPage(res, 401, "You are not logged in.", access->has_password());
      }
      return SendError(res, 401, "unauthorized", "log in first: run `tandem gui` and open the link it prints");
    }
    const Asset* plain = path.ends_with(".br") || path.ends_with(".gz") ? nullptr : FindAsset(path);
    if (!plain) return SendError(res, 404, "not_found", "no such page: " + req.path);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("Vary", "Accept-Encoding");
    // Compressed when the page was built (brotli at its best, gzip), never here.
    const std::string accepted = req.get_header_value("Accept-Encoding");
    for (const auto& [encoding, suffix] : {std::pair{"br", ".br"}, std::pair{"gzip", ".gz"}}) {
      const Asset* packed = FindAsset(path + suffix);
      if (packed && Accepts(accepted, encoding)) {
        res.set_header("Content-Encoding", encoding);
        return SendBytes(res, packed->body, std::string(plain->content_type));
      }
    }
    SendBytes(res, plain->body, std::string(plain->content_type));
  });
  // Every other method and path: nothing here.
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && !res.has_header("Content-Type")) {
      SendError(res, res.status, res.status == 404 ? "not_found" : "error",
                res.status == 404 ? "no such page" : "the request was refused (HTTP " + std::to_string(res.status) + ")");
    }
  });
}

}  // namespace tandem::gui
