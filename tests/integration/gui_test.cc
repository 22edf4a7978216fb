// The web UI's HTTP side against a real daemon (issue 22): how a browser
// gets in (a one-time link, a password), and every kind of request a local
// admin page must refuse, each refused with its status and nothing changed.
// The page itself is tested in a real browser (web/tests).
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <httplib.h>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kPassword[] = "correct horse battery";

uint16_t PortOf(const std::string& url) {  // http://127.0.0.1:PORT/
  const size_t colon = url.rfind(':');
  return static_cast<uint16_t>(std::stoi(url.substr(colon + 1)));
}

std::string CookieOf(const httplib::Result& r) {
  std::string set = r->get_header_value("Set-Cookie");
  return set.substr(0, set.find(';'));
}

class WebUi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.Start());
    login_ = daemon_.Json({"gui", "--json"});
    port_ = PortOf(login_["url"].get<std::string>());
    host_ = "127.0.0.1:" + std::to_string(port_);
  }

  httplib::Client Client() {
    httplib::Client client("127.0.0.1", port_);
    client.set_read_timeout(30, 0);
    return client;
  }

  // Follows a fresh login link: the session cookie ("name=value") and its CSRF token.
  std::pair<std::string, std::string> LogIn() {
    json login = daemon_.Json({"gui", "--json"});
    std::string url = login["login_url"].get<std::string>();
    auto client = Client();
    auto r = client.Get(url.substr(url.find('/', 7)));
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 303);
    std::string cookie = CookieOf(r);
    auto session = client.Get("/session", {{"Cookie", cookie}});
    EXPECT_TRUE(session && session->status == 200);
    if (!session) return {};
    return {cookie, json::parse(session->body)["csrf"].get<std::string>()};
  }

  // POST /rest/METHOD with these headers.
  httplib::Result Call(const std::string& method, const json& params, httplib::Headers headers) {
    auto client = Client();
    return client.Post(("/rest/" + method).c_str(), headers, params.dump(), "application/json");
  }

  size_t ShareCount() { return daemon_.Json({"list", "--json"}).size(); }

  TempDir tmp_;
  DaemonProcess daemon_{tmp_ / "config", {"--gui", "127.0.0.1:0"}};
  json login_;
  uint16_t port_ = 0;
  std::string host_;
};

TEST_F(WebUi, AOneTimeLinkLogsInOnceAndThePageNeedsTheSession) {
  EXPECT_EQ(login_["url"].get<std::string>(), "http://" + host_ + "/");
  EXPECT_EQ(login_["password"], false);
  auto client = Client();
  // Without a session the page says how to get in, and no file is served.
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 401);
  EXPECT_NE(page->body.find("tandem gui"), std::string::npos);
  EXPECT_EQ(client.Get("/app.js")->status, 401);
  EXPECT_EQ(client.Get("/session")->status, 401);

  std::string url = login_["login_url"].get<std::string>();
  std::string path = url.substr(url.find('/', 7));
  auto first = client.Get(path);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 303);
  EXPECT_EQ(first->get_header_value("Location"), "/");
  std::string set_cookie = first->get_header_value("Set-Cookie");
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos) << set_cookie;
  // The same link again, or a made-up one: refused.
  EXPECT_EQ(client.Get(path)->status, 403);
  EXPECT_EQ(client.Get("/login?token=guess")->status, 403);

  httplib::Headers cookie = {{"Cookie", CookieOf(first)}};
  auto index = client.Get("/", cookie);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->body.find("/app.js"), std::string::npos);
  EXPECT_NE(index->get_header_value("Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(index->get_header_value("X-Frame-Options"), "DENY");
  auto script = client.Get("/app.js", cookie);
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_GT(script->body.size(), 1000u);
  EXPECT_NE(script->get_header_value("Content-Type").find("javascript"), std::string::npos);
  EXPECT_EQ(client.Get("/nothing-here.js", cookie)->status, 404);
}

TEST_F(WebUi, ThePagesFilesComeCompressedAsAskedAndNothingIsServedInParts) {
  const httplib::Headers key = {{"X-API-Key", login_["api_key"].get<std::string>()}};
  auto client = Client();
  client.set_decompress(false);
  auto with = [&](const std::string& accept) {
    httplib::Headers h = key;
    h.emplace("Accept-Encoding", accept);
    return client.Get("/app.js", h);
  };
  auto plain = with("identity");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_header("Content-Encoding"));
  EXPECT_NE(plain->body.find("function"), std::string::npos);
  EXPECT_EQ(with("gzip, deflate, br")->get_header_value("Content-Encoding"), "br");
  auto gzip = with("br;q=0, gzip");
  EXPECT_EQ(gzip->get_header_value("Content-Encoding"), "gzip");
  EXPECT_LT(gzip->body.size(), plain->body.size() / 2);
  EXPECT_EQ(gzip->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_FALSE(with("br;q=0, gzip;q=0")->has_header("Content-Encoding"));
  // The compressed copies are not pages of their own.
  EXPECT_EQ(client.Get("/app.js.br", key)->status, 404);
  // No part of anything, even past its end, and whether logged in or not.
  for (const char* path : {"/app.js", "/session", "/"}) {
    for (const httplib::Headers& who : {key, httplib::Headers{}}) {
      httplib::Headers h = who;
      h.emplace("Range", "bytes=500-60000");
      auto part = client.Get(path, h);
      ASSERT_TRUE(part) << path;
      EXPECT_EQ(part->status, 416) << path;
      EXPECT_TRUE(part->body.empty()) << path << ": " << part->body.size() << " bytes";
    }
  }
}

TEST_F(WebUi, EveryRequestAnAdminPageMustRefuseIsRefusedAndChangesNothing) {
  stdfs::create_directories(tmp_ / "folder");
  const json add = {{"path", (tmp_ / "folder").string()}, {"name", "f"}};
  auto [cookie, csrf] = LogIn();
  ASSERT_FALSE(csrf.empty());
  const std::string key = login_["api_key"].get<std::string>();
  struct Refusal {
    const char* what;
    httplib::Headers headers;
    int status;
  };
  const std::vector<Refusal> refusals = {
      {"no key and no session", {}, 401},
      {"a wrong API key", {{"X-API-Key", key + "x"}}, 401},
      {"a wrong API key beside a good session", {{"X-API-Key", "nope"}, {"Cookie", cookie}, {"X-CSRF-Token", csrf}}, 401},
      {"a session that does not exist", {{"Cookie", "tandem_session_" + std::to_string(port_) + "=forged"}, {"X-CSRF-Token", csrf}}, 401},
      {"a session without its CSRF token", {{"Cookie", cookie}}, 403},
      {"a session with a wrong CSRF token", {{"Cookie", cookie}, {"X-CSRF-Token", csrf + "x"}}, 403},
      {"a name in Host (DNS rebinding)", {{"Host", "attacker.example:" + std::to_string(port_)}, {"X-API-Key", key}}, 403},
      {"Host with another port", {{"Host", "127.0.0.1:1"}, {"X-API-Key", key}}, 403},
      {"Host of another machine", {{"Host", "192.0.2.7:" + std::to_string(port_)}, {"X-API-Key", key}}, 403},
      {"a cross-origin request", {{"Origin", "http://attacker.example"}, {"Cookie", cookie}, {"X-CSRF-Token", csrf}}, 403},
      {"a request from another port's page", {{"Origin", "http://127.0.0.1:1"}, {"X-API-Key", key}}, 403},
      {"a cross-site fetch", {{"Sec-Fetch-Site", "cross-site"}, {"Cookie", cookie}, {"X-CSRF-Token", csrf}}, 403},
  };
  for (const Refusal& r : refusals) {
    auto answer = Call("share_add", add, r.headers);
    ASSERT_TRUE(answer) << r.what;
    EXPECT_EQ(answer->status, r.status) << r.what << ": " << answer->body;
    EXPECT_FALSE(answer->has_header("Access-Control-Allow-Origin")) << r.what;
    json body = json::parse(answer->body, nullptr, false);
    EXPECT_TRUE(body.contains("error")) << r.what << ": " << answer->body;
  }
  // A CORS preflight gets no permission either.
  auto client = Client();
  auto preflight = client.Options("/rest/share_add", {{"Origin", "http://attacker.example"},
                                                      {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 403);
  EXPECT_FALSE(preflight->has_header("Access-Control-Allow-Origin"));
  // A login link opened from another site does not log in.
  json other = daemon_.Json({"gui", "--json"});
  std::string link = other["login_url"].get<std::string>();
  auto cross_login = client.Get(link.substr(link.find('/', 7)), {{"Sec-Fetch-Site", "cross-site"}});
  EXPECT_EQ(cross_login->status, 403);
  EXPECT_FALSE(cross_login->has_header("Set-Cookie"));

  // A session may not read the API key or change the password: those are
  // for the tandem command on this machine.
  for (const auto& [method, params] : std::vector<std::pair<std::string, json>>{
           {"gui_login", json::object()}, {"gui_set_password", {{"password", "a new password"}}}}) {
    auto answer = Call(method, params, {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->status, 403) << method;
    EXPECT_EQ(answer->body.find(key), std::string::npos);
  }
  EXPECT_EQ(daemon_.Json({"gui", "--json"})["password"], false);

  EXPECT_EQ(ShareCount(), 0u) << "a refused request changed nothing";
  EXPECT_FALSE(stdfs::exists(tmp_ / "folder" / ".tandem"));

  // The same call, as the page makes it and as a script does: done.
  auto by_page = Call("share_add", add, {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Origin", "http://" + host_}});
  ASSERT_TRUE(by_page);
  EXPECT_EQ(by_page->status, 200) << by_page->body;
  EXPECT_EQ(json::parse(by_page->body)["result"]["name"], "f");
  auto by_script = Call("share_list", json::object(), {{"X-API-Key", key}, {"Host", "localhost:" + std::to_string(port_)}});
  ASSERT_TRUE(by_script);
  EXPECT_EQ(by_script->status, 200) << by_script->body;
  EXPECT_EQ(json::parse(by_script->body)["result"].size(), 1u);
  EXPECT_EQ(ShareCount(), 1u);
}

TEST_F(WebUi, TheServicesErrorsComeBackWithTheirKindAndStatus) {
  const httplib::Headers key = {{"X-API-Key", login_["api_key"].get<std::string>()}};
  struct Case {
    const char* method;
    json params;
    int status;
    const char* kind;
    const char* says;
  };
  const std::vector<Case> cases = {
      {"share_add", {{"path", "relative/dir"}}, 400, "invalid_argument", "relative"},
      {"share_get_info", {{"share", "nope"}}, 404, "not_found", "no share"},
      {"no_such_method", json::object(), 404, "unknown_method", "unknown method"},
      {"share_get_info", {{"shar", "x"}}, 400, "invalid_params", "shar"},
  };
  for (const Case& c : cases) {
    auto r = Call(c.method, c.params, key);
    ASSERT_TRUE(r) << c.method;
    EXPECT_EQ(r->status, c.status) << c.method << ": " << r->body;
    json body = json::parse(r->body);
    EXPECT_EQ(body["error"]["kind"], c.kind) << r->body;
    EXPECT_NE(body["error"]["message"].get<std::string>().find(c.says), std::string::npos) << r->body;
  }
  auto client = Client();
  auto not_json = client.Post("/rest/share_list", key, "{not json", "application/json");
  EXPECT_EQ(not_json->status, 400);
  // QR codes: a body without text, and a text too long for any QR code.
  EXPECT_EQ(client.Post("/qr", key, "{}", "application/json")->status, 400);
  auto too_long = client.Post("/qr", key, json{{"text", std::string(8000, 'x')}}.dump(), "application/json");
  EXPECT_EQ(too_long->status, 400);
  EXPECT_NE(too_long->body.find("too long for a QR code"), std::string::npos) << too_long->body;
  auto qr = client.Post("/qr", key, json{{"text", "tandem:abc"}}.dump(), "application/json");
  EXPECT_EQ(qr->status, 200);
  EXPECT_TRUE(qr->body.starts_with("<svg")) << qr->body.substr(0, 40);
  // The CLI's own: both password flags at once.
  CommandResult both = daemon_.Run({"gui", "--set-password", "--clear-password"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
  EXPECT_EQ(daemon_.Json({"gui", "--json"})["password"], false);
  EXPECT_EQ(ShareCount(), 0u);
}

TEST_F(WebUi, ALongPollOfTheEventsEndsWhenTheDaemonStops) {
  const std::string key = login_["api_key"].get<std::string>();
  const uint64_t last = daemon_.Json({"device", "--json"})["last_event_id"].get<uint64_t>();
  auto poll = std::async(std::launch::async, [&] {
    auto client = Client();
    return client.Post("/rest/events_poll", {{"X-API-Key", key}},
                       json{{"since", last}, {"timeout_ms", 600'000}}.dump(), "application/json");
  });
  EXPECT_EQ(poll.wait_for(300ms), std::future_status::timeout) << "the poll waits for an event";
  EXPECT_EQ(daemon_.Stop(), 0);
  ASSERT_EQ(poll.wait_for(20s), std::future_status::ready) << "the poll ended with the daemon";
  auto r = poll.get();
  if (r) EXPECT_EQ(r->status, 503) << r->body;
}

TEST_F(WebUi, PagesLeftOpenCannotHoldEveryWorkerWithTheirLongPolls) {
  // Eight polls (closed tabs, say) where six may wait: the two oldest are
  // answered at once with nothing new, and the UI keeps answering.
  const std::string key = login_["api_key"].get<std::string>();
  const uint64_t last = daemon_.Json({"device", "--json"})["last_event_id"].get<uint64_t>();
  std::vector<std::future<httplib::Result>> polls;
  for (int i = 0; i < 8; ++i) {
    polls.push_back(std::async(std::launch::async, [&] {
      auto client = Client();
      return client.Post("/rest/events_poll", {{"X-API-Key", key}},
                         json{{"since", last}, {"timeout_ms", 60'000}}.dump(), "application/json");
    }));
  }
  auto ended = [&] {
    size_t n = 0;
    for (auto& p : polls) n += p.wait_for(0s) == std::future_status::ready;
    return n;
  };
  ASSERT_TRUE(WaitUntil([&] { return ended() == 2; }, 20s)) << ended() << " polls ended";
  auto answer = Call("share_list", json::object(), {{"X-API-Key", key}});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(ended(), 2u) << "the six newest still wait";
  for (auto& p : polls) {
    if (p.wait_for(0s) != std::future_status::ready) continue;
    auto r = p.get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    json page = json::parse(r->body)["result"];
    EXPECT_TRUE(page["events"].empty());
    EXPECT_EQ(page["last_id"], last);
  }
  // Stopping ends the six.
  EXPECT_EQ(daemon_.Stop(), 0);
}

TEST_F(WebUi, BeyondLoopbackTheUiNeedsAPasswordAndThePasswordLogsIn) {
  // Refused without a password: the daemon does not start.
  ASSERT_EQ(daemon_.Stop(), 0);
  CommandResult open = RunTandem(tmp_ / "config", {"daemon", "--gui", "0.0.0.0:0", "--listen", "tcp/127.0.0.1:0"});
  EXPECT_NE(open.exit_code, 0);
  EXPECT_NE(open.err.find("no password"), std::string::npos) << open.err;
  EXPECT_NE(open.err.find("tandem gui --set-password"), std::string::npos) << open.err;

  // Set one on loopback, through the CLI as a person does.
  ASSERT_TRUE(daemon_.Start());
  // The password comes on stdin; none, or a short one, is refused.
  auto set_password = [&](const std::string& stdin_text) {
    const std::string out = (tmp_ / "set-password.out").string();
    const std::string command = "printf '" + stdin_text + "' | " + TandemBinary().string() + " --config-dir " +
                                (tmp_ / "config").string() + " gui --set-password > " + out + " 2>&1";
    const int status = std::system(command.c_str());
    return std::make_pair(status, ReadFile(out));
  };
  auto [none, none_says] = set_password("");
  EXPECT_NE(none, 0);
  EXPECT_NE(none_says.find("no password given"), std::string::npos) << none_says;
  auto [short_one, short_says] = set_password("short\\n");
  EXPECT_NE(short_one, 0);
  EXPECT_NE(short_says.find("at least 8"), std::string::npos) << short_says;
  auto [good, good_says] = set_password(std::string(kPassword) + "\\n");
  ASSERT_EQ(good, 0) << good_says;
  EXPECT_NE(good_says.find("password is set"), std::string::npos) << good_says;
  const std::string config = ReadFile(tmp_ / "config" / "config.json");
  EXPECT_EQ(config.find(kPassword), std::string::npos) << "only the hash is kept";
  EXPECT_NE(config.find("$argon2id$"), std::string::npos);
  ASSERT_EQ(daemon_.Stop(), 0);

  DaemonProcess wide(tmp_ / "config", {"--gui", "0.0.0.0:0"});
  ASSERT_TRUE(wide.Start());
  json login = wide.Json({"gui", "--json"});
  EXPECT_EQ(login["password"], true);
  const uint16_t port = PortOf(login["url"].get<std::string>());
  httplib::Client client("127.0.0.1", port);
  auto wrong = client.Post("/login", {{"Host", "127.0.0.1:" + std::to_string(port)}}, "password=wrong+password",
                           "application/x-www-form-urlencoded");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  EXPECT_FALSE(wrong->has_header("Set-Cookie"));
  // Guesses do not come fast: within a second of a wrong one, even the
  // right password waits.
  auto too_soon = client.Post("/login", "password=correct+horse+battery", "application/x-www-form-urlencoded");
  ASSERT_TRUE(too_soon);
  EXPECT_EQ(too_soon->status, 429);
  EXPECT_FALSE(too_soon->has_header("Set-Cookie"));
  std::optional<httplib::Result> right;
  ASSERT_TRUE(WaitUntil([&] {
    right.emplace(client.Post("/login", "password=correct+horse+battery", "application/x-www-form-urlencoded"));
    return *right && (*right)->status != 429;
  }, 10s));
  EXPECT_EQ((*right)->status, 303) << (*right)->body;
  auto session = client.Get("/session", {{"Cookie", CookieOf(*right)}});
  EXPECT_EQ(session->status, 200);
  // An IP literal Host of any address reaches it now; a name still does not.
  EXPECT_EQ(client.Get("/session", {{"Cookie", CookieOf(*right)}, {"Host", "192.0.2.7:" + std::to_string(port)}})->status,
            200);
  EXPECT_EQ(client.Get("/session", {{"Cookie", CookieOf(*right)}, {"Host", "nas.example:" + std::to_string(port)}})->status,
            403);
  // The password cannot go while the UI listens beyond loopback.
  CommandResult clear = wide.Run({"gui", "--clear-password"});
  EXPECT_NE(clear.exit_code, 0);
  EXPECT_NE(clear.err.find("beyond this machine"), std::string::npos) << clear.err;
  EXPECT_NE(ReadFile(tmp_ / "config" / "config.json").find("$argon2id$"), std::string::npos);
}

// `tandem gui --set-password` at a terminal (a pty): `keys` typed, one
// string after each prompt seen; what the terminal showed, the exit status,
// and whether echo and line editing are on again after it.
struct AtTerminal {
  std::string seen;
  int status = -1;
  bool restored = false;
};
AtTerminal SetPasswordAtTerminal(const stdfs::path& config, const std::vector<std::string>& keys) {
  AtTerminal out;
  int master = -1, slave = -1;
  if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return out;
  const pid_t child = ::fork();
  if (child == 0) {
    ::setsid();
    ::dup2(slave, 0);
    ::dup2(slave, 1);
    ::dup2(slave, 2);
    ::close(master);
    const std::string bin = TandemBinary().string(), dir = config.string();
    ::execl(bin.c_str(), bin.c_str(), "--config-dir", dir.c_str(), "gui", "--set-password", nullptr);
    ::_exit(127);
  }
  auto read_until = [&](const std::string& text) {
    return WaitUntil([&] {
      char buffer[256];
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        ssize_t n = ::read(master, buffer, sizeof(buffer));
        if (n > 0) out.seen.append(buffer, static_cast<size_t>(n));
      }
      return out.seen.find(text) != std::string::npos;
    }, 10s);
  };
  const char* prompts[] = {"New web UI password: ", "Again: "};
  for (size_t i = 0; i < keys.size() && i < 2; ++i) {
    if (!read_until(prompts[i])) break;
    if (::write(master, keys[i].data(), keys[i].size()) != static_cast<ssize_t>(keys[i].size())) break;
  }
  if (WaitUntil([&] { return ::waitpid(child, &out.status, WNOHANG) == child; }, 20s)) {
    // Whatever it printed last: all there once it exited.
    char buffer[256];
    pollfd p{master, POLLIN, 0};
    for (ssize_t n = 1; n > 0 && ::poll(&p, 1, 50) > 0;) {
      n = ::read(master, buffer, sizeof(buffer));
      if (n > 0) out.seen.append(buffer, static_cast<size_t>(n));
    }
    termios after{};
    out.restored = ::tcgetattr(slave, &after) == 0 && (after.c_lflag & ECHO) && (after.c_lflag & ICANON);
  } else {
    ::kill(child, SIGKILL);
    ::waitpid(child, &out.status, 0);
  }
  ::close(master);
  ::close(slave);
  return out;
}

TEST_F(WebUi, AtATerminalThePasswordIsAskedTwiceUnechoedAndCtrlCCancels) {
  AtTerminal cancelled = SetPasswordAtTerminal(tmp_ / "config", {"secret\x03"});
  EXPECT_NE(cancelled.seen.find("cancelled; nothing was changed"), std::string::npos) << cancelled.seen;
  EXPECT_EQ(cancelled.seen.find("secret"), std::string::npos) << "nothing typed is echoed";
  EXPECT_EQ(WEXITSTATUS(cancelled.status), 2);
  EXPECT_TRUE(cancelled.restored) << "echo and line editing are on again";
  EXPECT_EQ(daemon_.Json({"gui", "--json"})["password"], false);

  AtTerminal differ = SetPasswordAtTerminal(tmp_ / "config", {"first password\r", "other password\r"});
  EXPECT_NE(differ.seen.find("the two passwords differ"), std::string::npos) << differ.seen;
  EXPECT_TRUE(differ.restored);
  EXPECT_EQ(daemon_.Json({"gui", "--json"})["password"], false);

  AtTerminal set = SetPasswordAtTerminal(tmp_ / "config", {"good password\x7f!\r", "good passwor!\r"});
  EXPECT_EQ(WEXITSTATUS(set.status), 0) << set.seen;
  EXPECT_EQ(set.seen.find("good"), std::string::npos) << "nothing typed is echoed";
  EXPECT_TRUE(set.restored);
  EXPECT_EQ(daemon_.Json({"gui", "--json"})["password"], true);
}

TEST_F(WebUi, BadAddressesAndABusyPortAreRefusedWithWhatToDo) {
  ASSERT_EQ(daemon_.Stop(), 0);
  for (const auto& [address, says] : std::vector<std::pair<std::string, std::string>>{
           {"nonsense", "bad web UI address"},
           {"nas.example:20210", "must be an IP address or localhost"},
           {"127.0.0.1:99999", "bad web UI address"}}) {
    CommandResult r = RunTandem(tmp_ / "config", {"daemon", "--gui", address, "--listen", "tcp/127.0.0.1:0"});
    EXPECT_NE(r.exit_code, 0) << address;
    EXPECT_NE(r.err.find(says), std::string::npos) << address << ": " << r.err;
  }
  // A port another program holds.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string busy = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  CommandResult r = RunTandem(tmp_ / "config", {"daemon", "--gui", busy, "--listen", "tcp/127.0.0.1:0"});
  ::close(fd);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("cannot listen on " + busy), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--gui off"), std::string::npos) << r.err;

  // Off: `tandem gui` says so and how to turn it on.
  DaemonProcess off(tmp_ / "config", {"--gui", "off"});
  ASSERT_TRUE(off.Start());
  CommandResult gui = off.Run({"gui"});
  EXPECT_NE(gui.exit_code, 0);
  EXPECT_NE(gui.err.find("the web UI is off"), std::string::npos) << gui.err;
}

}  // namespace
}  // namespace tandem::testing
