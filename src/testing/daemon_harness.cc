#include "testing/daemon_harness.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

extern char** environ;

namespace tandem::testing {
namespace {

// Spawns `argv` with stdout and stderr sent to the given files.
pid_t Spawn(const std::vector<std::string>& argv, const std::filesystem::path& out,
            const std::filesystem::path& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int Reap(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::filesystem::path TandemBinary() {
  const char* bin = std::getenv("TANDEM_BIN");
  return bin ? bin : "tandem";
}

CommandResult RunTandem(const std::filesystem::path& config_dir, const std::vector<std::string>& args) {
  TempDir io;
  std::vector<std::string> argv{TandemBinary().string(), "--config-dir", config_dir.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult result;
  pid_t pid = Spawn(argv, io / "out", io / "err");
  if (pid < 0) {
    result.err = "cannot spawn " + argv[0];
    return result;
  }
  result.exit_code = Reap(pid);
  result.out = ReadFile(io / "out");
  result.err = ReadFile(io / "err");
  return result;
}

nlohmann::json RunTandemJson(const std::filesystem::path& config_dir, std::vector<std::string> args) {
  args.push_back("--json");
  CommandResult r = RunTandem(config_dir, args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
  return j;
}

std::string RawControlRequest(const std::filesystem::path& config_dir, const std::string& bytes) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = (config_dir / "tandem.sock").string();
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    char c;
    while (::recv(fd, &c, 1, 0) == 1 && c != '\n') answer.push_back(c);
  }
  ::close(fd);
  return answer;
}

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

uint16_t FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string PeerTransport() {
  const char* chosen = std::getenv("TANDEM_TEST_TRANSPORT");
  return chosen && std::string(chosen) == "quic" ? "quic" : "tcp";
}

std::string DaemonProcess::address() const { return address(PeerTransport()); }

std::string DaemonProcess::address(const std::string& transport) const {
  const std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return transport + "/" + host + ":" + std::to_string(port_);
}

DaemonProcess::DaemonProcess(std::filesystem::path config_dir, std::vector<std::string> extra_args)
    : config_dir_(std::move(config_dir)), extra_args_(std::move(extra_args)), port_(FreeLoopbackPort()) {
  std::filesystem::create_directories(config_dir_);
  log_path_ = config_dir_.parent_path() / (config_dir_.filename().string() + ".log");
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) Kill();
}

bool DaemonProcess::Start(std::chrono::milliseconds timeout) {
  std::vector<std::string> argv;
  if (!netns_.empty()) {
    // nsenter execs the daemon: the pid stays the daemon's. The control
    // socket is a file, so the CLI reaches it from any namespace.
    argv = {"/usr/bin/nsenter", "--net=/run/netns/" + netns_, "--"};
  }
  argv.insert(argv.end(), {TandemBinary().string(), "--config-dir", config_dir_.string(), "daemon",
                           "--log-level", "debug"});
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  // Many daemons run at once: none takes the web UI's one default port
  // unless its test asks for the UI.
  if (std::find(extra_args_.begin(), extra_args_.end(), "--gui") == extra_args_.end()) {
    argv.push_back("--gui");
    argv.push_back("off");
  }
  if (std::find(extra_args_.begin(), extra_args_.end(), "--listen") == extra_args_.end()) {
    argv.push_back("--listen");
    // In a namespace: every address, of the family the test placed it by.
    const bool v6 = host_.find(':') != std::string::npos;
    const std::string host = netns_.empty() ? (v6 ? "[" + host_ + "]" : host_) : v6 ? "[::]" : "0.0.0.0";
    argv.push_back(host + ":" + std::to_string(port_));  // TCP and QUIC
  }
  pid_ = Spawn(argv, log_path_.string() + ".out", log_path_);
  if (pid_ < 0) return false;
  bool up = WaitUntil(
      [&] {
        if (!Running()) return true;  // it exited: stop waiting
        return RunTandem(config_dir_, {"device"}).exit_code == 0;
      },
      timeout);
  if (!up || !Running()) {
    ADD_FAILURE() << "daemon did not start; log:\n" << Log();
    return false;
  }
  return true;
}

bool DaemonProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int DaemonProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = Reap(pid_);
  pid_ = -1;
  return status;
}

std::optional<int> DaemonProcess::StopWithin(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, SIGTERM);
  std::optional<int> exit_status;
  const bool exited = WaitUntil([&] {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    return true;
  }, deadline);
  if (exited) {
    pid_ = -1;
    return exit_status;
  }
  Kill();
  return std::nullopt;
}

void DaemonProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  Reap(pid_);
  pid_ = -1;
}

std::string DaemonProcess::device_id() const {
  return RunTandemJson(config_dir_, {"device"}).value("device_id", "");
}

std::string DaemonProcess::Log() const { return ReadFile(log_path_); }

nlohmann::json CallRpc(const DaemonProcess& daemon, const std::string& method, const nlohmann::json& params) {
  nlohmann::json request = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  std::string answer = RawControlRequest(daemon.config_dir(), request.dump() + "\n");
  nlohmann::json response = nlohmann::json::parse(answer, nullptr, false);
  return response.is_discarded() ? nlohmann::json{{"error", {{"message", "not JSON: " + answer}}}} : response;
}

std::string ShareBetween(const DaemonProcess& a, const std::filesystem::path& dir_a, const DaemonProcess& b,
                         const std::filesystem::path& dir_b, bool both_dial) {
  if (auto added = a.Run({"add", dir_a.string(), "--name", "s"}); added.exit_code != 0) return "add: " + added.err;
  std::string token = a.Run({"token", "s"}).out;
  if (!token.empty() && token.back() == '\n') token.pop_back();
  if (auto imported = b.Run({"import", token, dir_b.string()}); imported.exit_code != 0) return "import: " + imported.err;
  if (auto peer = a.Run({"peer", "add", "s", b.address()}); peer.exit_code != 0) return "peer add on a: " + peer.err;
  if (both_dial) {
    if (auto peer = b.Run({"peer", "add", "s", a.address()}); peer.exit_code != 0) return "peer add on b: " + peer.err;
  }
  return "";
}

// The index as SQLite sees it, read-only so a dead daemon's WAL is left for
// its restart to recover.
std::string IndexIntegrity(const std::filesystem::path& share_dir) {
  std::filesystem::path db = share_dir / ".tandem" / "index.db";
  sqlite3* handle = nullptr;
  std::string verdict = "cannot open " + db.string();
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* check = nullptr;
    if (sqlite3_prepare_v2(handle, "PRAGMA integrity_check", -1, &check, nullptr) == SQLITE_OK &&
        sqlite3_step(check) == SQLITE_ROW) {
      verdict = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
    } else {
      verdict = sqlite3_errmsg(handle);
    }
    sqlite3_finalize(check);
  }
  sqlite3_close(handle);
  return verdict;
}

}  // namespace tandem::testing
