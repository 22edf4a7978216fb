// Harness for integration tests: the real `tandem` binary (path from the
// TANDEM_BIN environment variable, set by CTest) run as daemon processes
// and as CLI commands. Waits poll a condition against a deadline.
// Used from the test's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::filesystem::path TandemBinary();

// Runs `tandem --config-dir DIR args...` to completion.
CommandResult RunTandem(const std::filesystem::path& config_dir, const std::vector<std::string>& args);

// Runs the command and parses its stdout as JSON; fails the test otherwise.
nlohmann::json RunTandemJson(const std::filesystem::path& config_dir, std::vector<std::string> args);

// Sends `bytes` as they are to the daemon's control socket and returns the
// first line of the answer ("" if the daemon closed without answering).
std::string RawControlRequest(const std::filesystem::path& config_dir, const std::string& bytes);

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& condition,
               std::chrono::milliseconds timeout = std::chrono::seconds(20));

// SQLite's integrity check of the share's index.db ("ok" when sound), read
// only, so a dead daemon's WAL is left for its restart to recover.
std::string IndexIntegrity(const std::filesystem::path& share_dir);

// A TCP port on 127.0.0.1 that nothing listens on right now.
uint16_t FreeLoopbackPort();

// The transport peers dial each other over in this run: "quic" when the
// environment says TANDEM_TEST_TRANSPORT=quic (CTest runs the sync tests a
// second time so), else "tcp". Daemons listen on both either way.
std::string PeerTransport();

class DaemonProcess {
 public:
  // The daemon listens for peers on 127.0.0.1 at a free port (TCP and QUIC),
  // kept across restarts.
  explicit DaemonProcess(std::filesystem::path config_dir, std::vector<std::string> extra_args = {});
  ~DaemonProcess();  // SIGKILLs a daemon still running

  // Spawns the daemon and waits until its control socket answers.
  // false (with the log in the failure message) if it did not come up.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM, then wait for exit; returns its exit status.
  int Stop();
  // SIGTERM, then its exit status if it exits within `deadline`; if not,
  // nullopt (and it is killed).
  std::optional<int> StopWithin(std::chrono::milliseconds deadline);
  void Kill();  // SIGKILL and reap
  bool Running();
  std::string Log() const;
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  // The address other daemons use to reach this one, over PeerTransport().
  std::string address() const;
  // The same, over the transport named.
  std::string address(const std::string& transport) const;
  // From the next Start on, the daemon runs inside network namespace
  // `netns` (one the test made), listens on all of that namespace's
  // addresses, and is reached at `host`.
  void PlaceInNetns(std::string netns, std::string host) {
    netns_ = std::move(netns);
    host_ = std::move(host);
  }
  void set_host(std::string host) { host_ = std::move(host); }
  // In a namespace, any port is free: one device may take another's number.
  void set_port(uint16_t port) { port_ = port; }
  std::string device_id() const;
  const std::filesystem::path& config_dir() const { return config_dir_; }

  CommandResult Run(const std::vector<std::string>& args) const { return RunTandem(config_dir_, args); }
  nlohmann::json Json(std::vector<std::string> args) const { return RunTandemJson(config_dir_, std::move(args)); }

 private:
  std::filesystem::path config_dir_;
  std::vector<std::string> extra_args_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string host_ = "127.0.0.1";
  std::string netns_;  // empty: the test's own namespace
};

// One JSON-RPC call to `daemon` on a connection of its own; the whole
// response (its "result" or "error"), or an "error" saying what came back.
nlohmann::json CallRpc(const DaemonProcess& daemon, const std::string& method, const nlohmann::json& params);

// Adds `dir_a` as share "s" on `a`, imports it with its write token into
// `dir_b` on `b`, and has `a` dial `b` (and `b` dial `a` when `both_dial`).
// An empty string when done, else what failed.
std::string ShareBetween(const DaemonProcess& a, const std::filesystem::path& dir_a, const DaemonProcess& b,
                         const std::filesystem::path& dir_b, bool both_dial = false);

}  // namespace tandem::testing
