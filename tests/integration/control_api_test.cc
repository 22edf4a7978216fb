// Bad requests on the control socket get JSON-RPC errors; the daemon lives on.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

using nlohmann::json;

class ControlApi : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.Start()); }

  // The error code of the answer to `line`, after checking it is a JSON-RPC error.
  int ErrorCodeOf(const std::string& line) {
    std::string answer = RawControlRequest(tmp_ / "config", line + "\n");
    json j = json::parse(answer, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line << " -> " << answer;
    EXPECT_TRUE(j.contains("error")) << line << " -> " << answer;
    EXPECT_TRUE(daemon_.Running());
    return j.value("error", json::object()).value("code", 0);
  }

  static std::string Call(const std::string& method, const json& params) {
    return json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}}.dump();
  }

  TempDir tmp_;
  DaemonProcess daemon_{tmp_ / "config"};
};

TEST_F(ControlApi, MalformedRequestsGetJsonRpcErrors) {
  EXPECT_EQ(ErrorCodeOf("this is not json"), -32700);
  EXPECT_EQ(ErrorCodeOf("[1, 2, 3]"), -32600);
  EXPECT_EQ(ErrorCodeOf(R"({"jsonrpc": "1.0", "id": 1, "method": "share_list"})"), -32600);
  EXPECT_EQ(ErrorCodeOf(R"({"jsonrpc": "2.0", "id": 1, "method": 5})"), -32600);
  EXPECT_EQ(ErrorCodeOf(R"({"jsonrpc": "2.0", "id": {"x": 1}, "method": "share_list"})"), -32600);
  EXPECT_EQ(ErrorCodeOf(Call("share_explode", json::object())), -32601);
  EXPECT_EQ(ErrorCodeOf(Call(std::string(70000, 'm'), json::object())), -32601);
  EXPECT_EQ(ErrorCodeOf("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"share_add\", \"params\": {\"path\": \"\xff\xfe\"}}"),
            -32700);  // not UTF-8
  EXPECT_EQ(ErrorCodeOf(std::string(100000, '[')), -32700);    // nesting too deep to be a request
  EXPECT_EQ(ErrorCodeOf("{\"jsonrpc\": \"2.0\", \"id\": 1}"), -32600);
}

TEST_F(ControlApi, WrongOrMissingParamsAreInvalidParams) {
  EXPECT_EQ(ErrorCodeOf(Call("share_add", json::object())), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_add", {{"path", 42}})), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_add", json::array({"/tmp"}))), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_set_sync_enabled", {{"share", "x"}, {"enabled", "yes"}})), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_get_info", {{"share", std::string(100000, 'x')}})), -32602);
  EXPECT_EQ(daemon_.Json({"list"}).size(), 0u);
}

TEST_F(ControlApi, AParameterTheMethodDoesNotTakeIsRefusedByName) {
  const TempDir folder;
  std::string answer =
      RawControlRequest(tmp_ / "config", Call("share_add", {{"path", folder.path().string()}, {"nmae", "docs"}}) + "\n");
  json j = json::parse(answer);
  EXPECT_EQ(j["error"]["code"], -32602) << answer;
  EXPECT_EQ(j["error"]["message"], "unknown parameter 'nmae' for share_add (it takes path, name)") << answer;
  EXPECT_EQ(daemon_.Json({"list"}).size(), 0u);
  EXPECT_FALSE(std::filesystem::exists(folder.path() / ".tandem"));
}

TEST_F(ControlApi, EveryMethodAnswersBadParamsWithAnErrorAndChangesNothing) {
  // Methods that take parameters, and the parameters each requires.
  const std::vector<std::string> methods = {
      "share_add",           "share_import_from_token", "share_remove",          "share_get_info",
      "share_add_peer",      "share_remove_peer",       "share_list_peers",      "share_set_sync_enabled",
      "share_get_sync_token", "share_rescan",           "share_list_conflicts",  "share_resolve_conflict",
      "share_revert_local_changes"};
  const std::string huge(70000, 'x');
  const std::vector<json> bad_params = {
      json(42),
      json("share"),
      json::array({"a", "b"}),
      json::object(),
      {{"share", 42}, {"path", 42}, {"token", 42}, {"peer", 42}, {"mode", 42}, {"enabled", "yes"}},
      {{"share", nullptr}, {"path", nullptr}, {"token", nullptr}, {"peer", nullptr}},
      {{"share", json::object()}, {"path", json::array()}, {"token", json::array()}, {"peer", json::object()}},
      {{"share", huge}, {"path", huge}, {"token", huge}, {"peer", huge}, {"mode", huge}, {"keep", huge}},
      {{"share", std::string("a\0b", 3)}, {"path", std::string("/tmp/\0x", 7)}},
  };
  std::string before = daemon_.Run({"list"}).out;
  int calls = 0;
  for (const std::string& method : methods) {
    for (const json& params : bad_params) {
      std::string line = Call(method, params);
      std::string answer = RawControlRequest(tmp_ / "config", line + "\n");
      json j = json::parse(answer, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << line << " -> " << answer;
      EXPECT_TRUE(j.contains("error")) << line << " -> " << answer;
      EXPECT_FALSE(j.contains("result")) << line << " -> " << answer;
      ++calls;
    }
  }
  EXPECT_EQ(calls, 117);
  EXPECT_TRUE(daemon_.Running());
  EXPECT_EQ(daemon_.Run({"list"}).out, before);
}

TEST_F(ControlApi, OversizedRequestIsRefused) {
  std::string answer = RawControlRequest(tmp_ / "config", std::string(2 << 20, 'x'));
  EXPECT_NE(answer.find("larger than 1 MiB"), std::string::npos) << answer.substr(0, 200);
  EXPECT_TRUE(daemon_.Running());
  EXPECT_EQ(daemon_.Run({"list"}).exit_code, 0);
}

// What another user gets from the control socket: "connect: <errno>" when
// the connection itself is refused, else the first line of the answer to a
// share_list request. Runs in a child process switched to uid/gid `user`.
std::string ConnectAs(uid_t user, const std::filesystem::path& socket_path) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    ::close(pipe_fds[0]);
    char answer[512];
    size_t n = 0;
    auto put = [&](const char* text) {
      for (; *text && n < sizeof(answer); ++text) answer[n++] = *text;
    };
    if (::setgid(user) != 0 || ::setuid(user) != 0) {
      put("setuid failed");
    } else {
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      const char* path = socket_path.c_str();
      for (size_t i = 0; path[i] && i + 1 < sizeof(addr.sun_path); ++i) addr.sun_path[i] = path[i];
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        put(errno == EACCES ? "connect: EACCES" : "connect: other error");
      } else {
        const char request[] = "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"share_list\"}\n";
        (void)::send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL);
        char c;
        while (n < sizeof(answer) && ::recv(fd, &c, 1, 0) == 1 && c != '\n') answer[n++] = c;
      }
    }
    (void)::write(pipe_fds[1], answer, n);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buffer[512];
  ssize_t got;
  while ((got = ::read(pipe_fds[0], buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(got));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return out;
}

TEST_F(ControlApi, OtherUsersAreRefusedByModeAndByCredentials) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  constexpr uid_t kNobody = 65534;
  std::filesystem::path socket_path = tmp_ / "config" / "tandem.sock";
  struct stat st {};
  ASSERT_EQ(::stat(socket_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The config folder lets anyone through to the socket; its mode alone
  // turns another user away.
  ::chmod((tmp_ / "config").c_str(), 0755);
  ::chmod(tmp_.path().c_str(), 0755);
  EXPECT_EQ(ConnectAs(kNobody, socket_path), "connect: EACCES");

  // With the socket's mode widened, the daemon still checks who is calling.
  ASSERT_EQ(::chmod(socket_path.c_str(), 0666), 0);
  std::string answer = ConnectAs(kNobody, socket_path);
  json j = json::parse(answer, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << answer;
  ASSERT_TRUE(j.contains("error")) << answer;
  EXPECT_NE(j["error"].value("message", "").find("belongs to another user"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("\"result\""), std::string::npos);

  // Its owner is still served.
  EXPECT_TRUE(daemon_.Running());
  EXPECT_EQ(daemon_.Run({"list"}).exit_code, 0);
}

}  // namespace
}  // namespace tandem::testing
