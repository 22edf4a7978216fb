// The tandem command: `tandem daemon` runs the service; every other command
// is a JSON-RPC call to the daemon of the chosen config folder. Exit status
// 0 on success; otherwise one line on stderr and a non-zero status
// (1: the request failed, 2: bad command line, 3: no daemon to talk to).
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <iterator>
#include <mutex>
#include <spdlog/spdlog.h>
#include <thread>

#include "base/atomic_file.h"
#include "cli/client.h"
#include "cli/follow.h"
#include "cli/journal.h"
#include "cli/qr.h"
#include "cli/render.h"
#include "gui/web_server.h"
#include "service/rpc.h"
#include "service/service.h"
#include "tandem/tandem.h"

namespace {

using nlohmann::json;
using tandem::Result;

std::filesystem::path DefaultConfigDir() {
  if (const char* env = std::getenv("TANDEM_CONFIG_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "tandem";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".config" / "tandem";
  }
  return std::filesystem::current_path() / ".tandem-config";
}

int Fail(const std::string& message, int status = 1) {
  std::cerr << "tandem: " << message << "\n";
  return status;
}

// Where the daemon's log lines go. Under systemd, when stderr is the
// journal's stream (JOURNAL_STREAM names it), each line goes to journald's
// native socket as an entry with fields (cli/journal.h); if that socket
// cannot take it, to stderr starting with its syslog priority, which
// journald reads. The journal adds the time stamp. Otherwise stderr or
// --log-file, time-stamped.
class DaemonLog {
 public:
  explicit DaemonLog(FILE* out) : out_(out), journal_(out == stderr && ToJournal()) {
    if (journal_) native_ = OpenNativeJournal();
  }
  ~DaemonLog() {
    if (native_ >= 0) ::close(native_);
  }

  static void Write(void* self, int32_t level, const char* line, size_t length) {
    static_cast<DaemonLog*>(self)->Line(level, std::string_view(line, length));
  }

 private:
  static bool ToJournal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (!stream || ::fstat(STDERR_FILENO, &st) != 0) return false;
    return std::string(stream) == std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }

  // journald's socket (TANDEM_JOURNAL_SOCKET moves it, for tests), or -1.
  static int OpenNativeJournal() {
    const char* path = std::getenv("TANDEM_JOURNAL_SOCKET");
    if (!path || !*path) path = "/run/systemd/journal/socket";
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (std::strlen(path) >= sizeof(address.sun_path)) return -1;
    std::strcpy(address.sun_path, path);
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  void Line(int32_t level, std::string_view line) {
    static constexpr const char* kNames[] = {"trace", "debug", "info", "warning", "error"};
    static constexpr int kPriorities[] = {7, 7, 6, 4, 3};  // syslog's debug, info, warning, err
    const int at = std::clamp(level, 0, 4);
    std::lock_guard lock(mutex_);
    if (native_ >= 0) {
      const std::string entry = tandem::cli::JournalEntry(kPriorities[at], line);
      if (::send(native_, entry.data(), entry.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(entry.size())) return;
    }
    if (journal_) {
      std::fprintf(out_, "<%d>%.*s\n", kPriorities[at], static_cast<int>(line.size()), line.data());
    } else {
      const auto now = std::chrono::system_clock::now();
      const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
      const int ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
      std::tm local{};
      ::localtime_r(&seconds, &local);
      char stamp[32];
      std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &local);
      std::fprintf(out_, "%s.%03d %s %.*s\n", stamp, ms, kNames[at], static_cast<int>(line.size()), line.data());
    }
    std::fflush(out_);
  }

  FILE* out_;
  bool journal_;
  int native_ = -1;
  std::mutex mutex_;
};

// One line from stdin; asked for twice, unechoed, at a terminal.
Result<std::string> ReadPassword() {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  // At a terminal, read key by key with echo and signals off, so that
  // Ctrl-C cancels here and leaves the terminal as it was.
  bool cancelled = false;
  auto read_line = [&](const char* prompt) {
    std::string line;
    if (!tty) {
      std::getline(std::cin, line);
      return line;
    }
    termios before{};
    ::tcgetattr(STDIN_FILENO, &before);
    termios quiet = before;
    quiet.c_lflag &= ~(ECHO | ICANON | ISIG);
    quiet.c_cc[VMIN] = 1;
    quiet.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    // The prompt only once echo is off: a key typed the moment it shows is
    // not echoed (the pty test types right after it, and saw its keys).
    std::cerr << prompt << std::flush;
    char c = 0;
    while (::read(STDIN_FILENO, &c, 1) == 1 && c != '\n' && c != '\r') {
      if (c == 3 || (c == 4 && line.empty())) {  // Ctrl-C; Ctrl-D on nothing
        cancelled = true;
        break;
      }
      if (c == 127 || c == 8) {
        if (!line.empty()) line.pop_back();
      } else {
        line += c;
      }
    }
    ::tcsetattr(STDIN_FILENO, TCSANOW, &before);
    std::cerr << "\n";
    return line;
  };
  std::string password = read_line("New web UI password: ");
  auto nothing_changed = [] {
    return tandem::MakeError(tandem::ErrorCode::kInvalidArgument, "cancelled; nothing was changed");
  };
  if (cancelled) return nothing_changed();
  if (password.empty()) return tandem::MakeError(tandem::ErrorCode::kInvalidArgument, "no password given on stdin");
  std::string again = tty ? read_line("Again: ") : password;
  if (cancelled) return nothing_changed();
  if (again != password) {
    return tandem::MakeError(tandem::ErrorCode::kInvalidArgument, "the two passwords differ; nothing was changed");
  }
  return password;
}

// The daemon is a thin main over libtandem's C ABI: the service runs on the
// library's threads while this one waits for SIGINT or SIGTERM.
// `gui_given`: the web UI's address was asked for; the default one, when
// taken, only leaves the daemon without its UI.
int RunDaemon(const std::filesystem::path& config_dir, const std::string& listen, const std::string& gui,
              bool gui_given, const std::string& log_level, const std::string& log_file, size_t events_kept) {
  FILE* log_out = stderr;
  if (!log_file.empty()) {
    log_out = std::fopen(log_file.c_str(), "ae");
    if (!log_out) return Fail("cannot open the log file " + log_file + ": " + std::strerror(errno), 2);
    ::fchmod(::fileno(log_out), 0600);
  }
  DaemonLog log(log_out);
  // Blocked before the library starts its threads (they inherit the mask),
  // so only sigwait below ever sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // not a stop: reload the config
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The daemon is the whole process: glibc is tuned for blocks (tandem.h, "tune_allocator").
  json options = {{"listen", listen},          {"log_level", log_level},     {"events_kept", events_kept},
                  {"control_socket", true},    {"tune_allocator", true},     {"gui", gui},
                  {"gui_optional", !gui_given}};
  if (const char* hooks = std::getenv("TANDEM_TEST_HOOKS"); hooks && *hooks) options["test_hooks"] = hooks;
  tandem_service* service = nullptr;
  char* error = nullptr;
  const std::string dir = std::filesystem::absolute(config_dir).string();
  if (int32_t status = tandem_service_open(dir.c_str(), options.dump().c_str(), &DaemonLog::Write, &log, &service, &error);
      status != TANDEM_OK) {
    std::string message = error ? error : tandem_status_name(status);
    tandem_free(error);
    return Fail(message);
  }
  char* device = nullptr;
  if (tandem_call(service, "device_info", nullptr, &device, nullptr) == TANDEM_OK) {
    spdlog::info("ready: device {} listening for control on {}", json::parse(device)["device_id"].get<std::string>(),
                 (std::filesystem::path(dir) / tandem::service::kSocketFileName).string());
  }
  tandem_free(device);
  int signal = 0;
  while (sigwait(&stop_signals, &signal) == 0 && signal == SIGHUP) {
    char* result = nullptr;
    char* why = nullptr;
    // The service logs what it reloaded; only a refusal is said here.
    if (tandem_call(service, "config_reload", nullptr, &result, &why) != TANDEM_OK) {
      spdlog::error("SIGHUP: {}", why ? why : "config not reloaded");
    }
    tandem_free(result);
    tandem_free(why);
  }
  spdlog::info("signal {}: stopping", signal);
  tandem_service_close(service);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Tandem keeps folders in sync between your devices, peer to peer, end-to-end encrypted.",
               "tandem"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tandem 0.1.0");
  std::string config_dir = DefaultConfigDir().string();
  app.add_option("--config-dir", config_dir, "Config folder (env TANDEM_CONFIG_DIR)")->capture_default_str();
  bool as_json = false;

  std::string listen, log_level = "info";
  auto* daemon = app.add_subcommand(
      "daemon", "Run the Tandem service (SIGTERM or SIGINT stops it; SIGHUP reloads config.json)");
  daemon->add_option("--listen", listen,
                     "Addresses for peers, separated by commas: HOST:PORT for TCP and QUIC at that port "
                     "(the default: 0.0.0.0:20209), or tcp/HOST:PORT, quic/HOST:PORT");
  daemon->add_option("--log-level", log_level, "trace, debug, info, warn or error")->capture_default_str();
  std::string log_file;
  daemon->add_option("--log-file", log_file,
                     "Append the log to this file (default: stderr; under systemd, the journal)");
  std::string gui = tandem::gui::kDefaultAddress;
  auto* gui_option =
      daemon->add_option("--gui", gui, "Address of the web UI (HOST:PORT), or off")->capture_default_str();
  size_t events_kept = tandem::service::EventLog::kDefaultCapacity;
  daemon->add_option("--events-kept", events_kept, "How many recent events are kept for readers (events_poll)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{100}, size_t{1'000'000}));

  std::string dir, name, token_text, share, address, mode = "write", keep;
  bool delete_repo = false, qr = false, watch = false, wait = false;
  std::vector<std::string> new_peers;
  auto* add = app.add_subcommand("add", "Share a folder");
  add->add_option("DIR", dir, "Absolute path of the folder")->required();
  add->add_option("--name", name, "Display name (default: the folder's name)");
  add->add_option("--peer", new_peers, "A peer to sync with, tcp/HOST:PORT (repeat for more)");
  add->add_flag("--wait", wait, "Show progress until the folder is indexed and, with peers, in sync");
  add->add_flag("--json", as_json, "Print JSON");

  auto* import = app.add_subcommand("import", "Join a share from its token");
  import->add_option("TOKEN", token_text, "Share token (tandem:...)")->required();
  import->add_option("DIR", dir, "Absolute path of the folder to sync into")->required();
  import->add_option("--name", name, "Display name");
  import->add_option("--peer", new_peers, "A peer to sync with, tcp/HOST:PORT (repeat for more)");
  import->add_flag("--wait", wait, "Show progress until the share is in sync");
  import->add_flag("--json", as_json, "Print JSON");

  auto* remove = app.add_subcommand("remove", "Stop syncing a share (your files stay)");
  remove->add_option("SHARE", share, "Share id, id prefix or name")->required();
  remove->add_flag("--delete-repo", delete_repo, "Also delete the share's .tandem folder, with the versions kept in it");

  auto* list = app.add_subcommand("list", "List shares");
  list->add_flag("--json", as_json, "Print JSON");

  auto* info = app.add_subcommand("info", "Show one share");
  info->add_option("SHARE", share, "Share id, id prefix or name")->required();
  info->add_flag("--json", as_json, "Print JSON");

  auto* token = app.add_subcommand("token", "Print a token that grants access to a share");
  token->add_option("SHARE", share, "Share id, id prefix or name")->required();
  token->add_option("--mode", mode, "write, read or blind")->capture_default_str();
  token->add_flag("--qr", qr, "Also draw it as a QR code");

  auto* peer = app.add_subcommand("peer", "Manage a share's peers");
  peer->require_subcommand(1);
  auto* peer_add = peer->add_subcommand("add", "Add a peer address");
  peer_add->add_option("SHARE", share)->required();
  peer_add->add_option("ADDR", address, "tcp/HOST:PORT or tcp/[IPv6]:PORT")->required();
  auto* peer_remove = peer->add_subcommand("remove", "Remove a peer address");
  peer_remove->add_option("SHARE", share)->required();
  peer_remove->add_option("ADDR", address)->required();
  auto* peer_list = peer->add_subcommand("list", "List a share's peers");
  peer_list->add_option("SHARE", share)->required();
  peer_list->add_flag("--json", as_json, "Print JSON");

  auto* pause = app.add_subcommand("pause", "Stop syncing a share with peers (local scanning goes on)");
  pause->add_option("SHARE", share)->required();
  auto* resume = app.add_subcommand("resume", "Resume syncing a share");
  resume->add_option("SHARE", share)->required();

  auto* rescan = app.add_subcommand("rescan", "Scan a share's folder now");
  rescan->add_option("SHARE", share)->required();
  rescan->add_flag("--json", as_json, "Print JSON");

  auto* status = app.add_subcommand("status", "Show what every share (or one) is doing");
  status->add_option("SHARE", share);
  status->add_flag("--json", as_json, "Print JSON");
  status->add_flag("--watch", watch, "Refresh every second until interrupted");

  std::optional<uint64_t> watch_since;
  auto* watch_cmd = app.add_subcommand("watch", "Follow what Tandem does, live, until interrupted");
  watch_cmd->add_option("SHARE", share, "Only this share (default: all)");
  watch_cmd->add_flag("--json", as_json, "One JSON event per line, for scripts");
  watch_cmd->add_option("--since", watch_since, "Start after this event id (0: every event kept); default: from now");

  auto* device = app.add_subcommand("device", "Show this device's id");
  device->add_flag("--json", as_json, "Print JSON");

  auto* conflicts = app.add_subcommand("conflicts", "List a share's conflicts");
  conflicts->add_option("SHARE", share)->required();
  conflicts->add_flag("--json", as_json, "Print JSON");
  std::string conflict;
  auto* resolve = app.add_subcommand("resolve", "Resolve a conflict");
  resolve->add_option("SHARE", share)->required();
  resolve->add_option("CONFLICT", conflict, "The conflict copy's path (or the file's, if it has one copy)")->required();
  resolve->add_option("--keep", keep,
                      "local: keep the file as it is and delete the copy; remote: put the copy's version in "
                      "its place; both: keep both, the copy under a plain name")
      ->required()
      ->check(CLI::IsMember({"local", "remote", "both"}));
  auto* repair = app.add_subcommand(
      "repair", "Move a share's damaged or lost repository aside and rebuild it from the folder and the peers");
  repair->add_option("SHARE", share)->required();
  bool force = false;
  repair->add_flag("--force", force, "Also into an empty folder (it is filled from the peers)");
  std::string revert_path;
  auto* revert = app.add_subcommand("revert", "Undo a read replica's local changes (all, or one path)");
  revert->add_option("SHARE", share)->required();
  revert->add_option("PATH", revert_path, "A path inside the share (default: every local change)");

  std::string ignore_path, ignore_set;
  auto* ignore = app.add_subcommand(
      "ignore", "Say whether a path is ignored and by which line; without PATH, show the share's .tandemignore");
  ignore->add_option("SHARE", share)->required();
  ignore->add_option("PATH", ignore_path, "A path inside the share (it need not exist)");
  ignore->add_option("--set", ignore_set, "Replace .tandemignore with this file's patterns (- reads them from stdin); "
                                          "refused, and nothing saved, if a line is malformed");
  ignore->add_flag("--json", as_json, "Print JSON");

  auto* config_cmd = app.add_subcommand(
      "config", "Change a share's settings: tandem config SHARE versioning ... / discovery on|off");
  config_cmd->add_option("SHARE", share)->required();
  config_cmd->require_subcommand(1);
  auto* versioning = config_cmd->add_subcommand(
      "versioning", "What to keep of files a peer's change replaces or deletes: none, trashcan, simple or staggered");
  std::string versioning_type;
  int64_t versioning_days = -1, versioning_keep = -1, versioning_max_bytes = -1;
  versioning->add_option("TYPE", versioning_type, "none, trashcan, simple or staggered")->required();
  versioning->add_option("--days", versioning_days,
                         "trashcan, simple: remove versions older than this; staggered: the maximum age (0: never; "
                         "unchanged when not given; a new type starts at 30, staggered at 365)");
  versioning->add_option("--keep", versioning_keep, "simple: keep the last this many of each file (default 5)");
  versioning->add_option("--max-bytes", versioning_max_bytes, "all versions together at most this size (0: no cap)");
  versioning->add_flag("--json", as_json, "Print JSON");
  std::string discovery_switch;
  auto* discovery = config_cmd->add_subcommand(
      "discovery", "Announce the share on the local network and find its peers there (LAN discovery): on or off");
  discovery->add_option("SWITCH", discovery_switch, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  std::string versions_path;
  auto* versions = app.add_subcommand("versions", "List the versions kept of files peers replaced or deleted");
  versions->add_option("SHARE", share)->required();
  versions->add_option("PATH", versions_path, "A file, or a folder (default: everything)");
  versions->add_flag("--json", as_json, "Print JSON");
  std::string restore_path, restore_at;
  auto* restore = app.add_subcommand("restore", "Put a kept version back (what is there now is kept first)");
  restore->add_option("SHARE", share)->required();
  restore->add_option("PATH", restore_path, "The file's path in the share")->required();
  restore->add_option("--at", restore_at,
                      "The newest version kept at or before this time (UTC): as listed (\"2026-12-05 14:30:00\"), "
                      "YYYYMMDD-HHMMSS, or Unix seconds");
  restore->add_flag("--json", as_json, "Print JSON");

  std::string limit_upload, limit_download, limit_lan;
  auto* limits_cmd = app.add_subcommand(
      "limits", "Show or set bandwidth limits: the device's, or one share's (e.g. tandem limits --upload 1M)");
  limits_cmd->add_option("SHARE", share, "Set this share's limits (default: the device's)");
  limits_cmd->add_option("--upload", limit_upload, "Bytes a second, e.g. 500K, 2M or 1.5MiB/s; 0 or none: no limit");
  limits_cmd->add_option("--download", limit_download, "Bytes a second, e.g. 500K, 2M or 1.5MiB/s; 0 or none: no limit");
  limits_cmd->add_option("--lan", limit_lan, "Whether the limits also hold for peers on the local network (device only)")
      ->check(CLI::IsMember({"yes", "no"}));
  limits_cmd->add_flag("--json", as_json, "Print JSON");

  bool set_password = false, clear_password = false;
  auto* gui_cmd = app.add_subcommand("gui", "Print the web UI's address with a one-time login link (opens nothing)");
  gui_cmd->add_flag("--set-password", set_password,
                    "Set the web UI's password, read from stdin (needed to listen beyond this machine)");
  gui_cmd->add_flag("--clear-password", clear_password, "Remove the web UI's password");
  gui_cmd->add_flag("--json", as_json, "Print JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    return Fail(e.what(), 2);
  }

  std::filesystem::path config_path(config_dir);
  if (!config_path.is_absolute()) config_path = std::filesystem::absolute(config_path);
  if (daemon->parsed()) return RunDaemon(config_path, listen, gui, gui_option->count() > 0, log_level, log_file, events_kept);

  auto call = [&](const std::string& method, const json& params) -> Result<json> {
    return tandem::cli::CallDaemon(config_path, method, params);
  };
  auto print = [&](const Result<json>& r, auto&& human) -> int {
    if (!r) return Fail(r.error().message, r.error().code == tandem::ErrorCode::kFailedPrecondition ? 3 : 1);
    if (as_json) {
      std::cout << r->dump(2) << "\n";
    } else {
      human(*r);
    }
    return 0;
  };
  auto quiet = [](const json&) {};
  using namespace tandem::cli;

  // The share just made gets its peers, then (--wait) is followed until in sync.
  auto follow = [&](const Result<json>& made, auto&& human) -> int {
    int rc = print(made, human);
    if (rc != 0) return rc;
    const std::string id = (*made)["id"].get<std::string>();
    for (const std::string& peer_address : new_peers) {
      rc = print(call("share_add_peer", {{"share", id}, {"address", peer_address}}), [](const json& j) {
        std::cout << "Added peer " << j["address"].get<std::string>() << "\n";
      });
      if (rc != 0) return rc;
    }
    return wait ? WaitUntilInSync(config_path, id) : 0;
  };
  if (add->parsed()) {
    return follow(call("share_add", {{"path", dir}, {"name", name}}), [&](const json& j) {
      std::cout << "Added share " << j["name"].get<std::string>() << " (" << j["id"].get<std::string>()
                << ") for " << j["path"].get<std::string>() << (wait ? "\n" : "; indexing in the background.\n");
    });
  }
  if (import->parsed()) {
    return follow(call("share_import_from_token", {{"token", token_text}, {"path", dir}, {"name", name}}),
                  [](const json& j) {
                    std::cout << "Imported share " << j["name"].get<std::string>() << " ("
                              << j["id"].get<std::string>() << ") as a " << j["mode"].get<std::string>()
                              << " replica in " << j["path"].get<std::string>() << "\n";
                  });
  }
  if (watch_cmd->parsed()) return Watch(config_path, share, as_json, watch_since);
  if (remove->parsed()) {
    return print(call("share_remove", {{"share", share}, {"delete_repo", delete_repo}}), [&](const json&) {
      std::cout << "Removed share " << share << (delete_repo ? " and its .tandem folder" : "")
                << "; the files were left in place.\n";
    });
  }
  if (list->parsed()) return print(call("share_list", json::object()), PrintShareTable);
  if (info->parsed()) return print(call("share_get_info", {{"share", share}}), PrintShareInfo);
  if (token->parsed()) {
    return print(call("share_get_sync_token", {{"share", share}, {"mode", mode}}), [&](const json& j) {
      std::string text = j["token"].get<std::string>();
      std::cout << text << "\n";
      if (qr) {
        auto drawing = RenderQr(text);
        if (drawing) std::cout << *drawing;
      }
    });
  }
  if (peer_add->parsed()) {
    return print(call("share_add_peer", {{"share", share}, {"address", address}}), [](const json& j) {
      std::cout << "Added peer " << j["address"].get<std::string>() << "\n";
    });
  }
  if (peer_remove->parsed()) return print(call("share_remove_peer", {{"share", share}, {"address", address}}), quiet);
  if (peer_list->parsed()) {
    return print(call("share_list_peers", {{"share", share}}), [](const json& j) {
      if (j.empty()) std::cout << "No peers. Add one with: tandem peer add SHARE tcp/HOST:PORT\n";
      for (const json& p : j) {
        std::cout << p["address"].get<std::string>() << "  " << p["state"].get<std::string>()
                  << (p.value("discovered", false) ? "  (found on the local network)" : "") << "\n";
      }
    });
  }
  if (pause->parsed()) return print(call("share_set_sync_enabled", {{"share", share}, {"enabled", false}}), quiet);
  if (resume->parsed()) return print(call("share_set_sync_enabled", {{"share", share}, {"enabled", true}}), quiet);
  if (rescan->parsed()) return print(call("share_rescan", {{"share", share}}), PrintScanStats);
  if (device->parsed()) {
    return print(call("device_info", json::object()), [](const json& j) {
      std::cout << j["device_id"].get<std::string>() << "  (" << j["device_name"].get<std::string>() << ")\n";
    });
  }
  if (status->parsed()) {
    while (true) {
      Result<json> r = share.empty() ? call("share_list", json::object())
                                     : call("share_get_info", {{"share", share}});
      if (r && !share.empty()) r = json::array({*r});
      int rc = print(r, PrintStatus);
      if (rc == 0 && !as_json && share.empty()) {
        if (Result<json> d = call("device_info", json::object())) {
          const json& l = (*d)["limits"];
          std::cout << "All shares: down " << HumanSize((*d)["download_rate"].get<uint64_t>()) << "/s, up "
                    << HumanSize((*d)["upload_rate"].get<uint64_t>()) << "/s";
          if (l["upload"].get<uint64_t>() || l["download"].get<uint64_t>()) {
            std::cout << " (limits: down " << RateText(l["download"].get<uint64_t>()) << ", up "
                      << RateText(l["upload"].get<uint64_t>()) << ")";
          }
          std::cout << "\n";
        }
      }
      if (!watch || rc != 0) return rc;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      std::cout << "\n";
    }
  }
  if (limits_cmd->parsed()) {
    json params = json::object();
    for (auto [key, text] : {std::pair{"upload", &limit_upload}, std::pair{"download", &limit_download}}) {
      if (text->empty()) continue;
      auto rate = ParseRate(*text);
      if (!rate) return Fail(rate.error().message, 2);
      params[key] = *rate;
    }
    if (!limit_lan.empty()) {
      if (!share.empty()) return Fail("--lan is the device's setting, for every share: leave out SHARE", 2);
      params["lan"] = limit_lan == "yes";
    }
    if (!params.empty()) {
      Result<json> set = share.empty() ? call("device_set_limits", params)
                                       : call("share_set_limits", [&] {
                                           params["share"] = share;
                                           return params;
                                         }());
      if (!set) return print(set, quiet);
    }
    Result<json> device_now = call("device_info", json::object());
    if (!device_now || share.empty()) return print(device_now, [](const json& j) { PrintLimits(j, nullptr); });
    Result<json> share_now = call("share_get_info", {{"share", share}});
    if (!share_now) return print(share_now, quiet);
    if (as_json) {
      std::cout << json{{"device", *device_now}, {"share", *share_now}}.dump(2) << "\n";
      return 0;
    }
    PrintLimits(*device_now, &*share_now);
    return 0;
  }
  if (conflicts->parsed()) return print(call("share_list_conflicts", {{"share", share}}), PrintConflicts);
  if (resolve->parsed()) {
    return print(call("share_resolve_conflict", {{"share", share}, {"conflict", conflict}, {"keep", "keep_" + keep}}),
                 [](const json& j) { std::cout << "Resolved: " << j["done"].get<std::string>() << "\n"; });
  }
  if (repair->parsed()) {
    return print(call("share_repair", {{"share", share}, {"force", force}}),
                 [](const json& j) { std::cout << "Repaired: " << j["done"].get<std::string>() << "\n"; });
  }
  if (revert->parsed()) {
    return print(call("share_revert_local_changes", {{"share", share}, {"path", revert_path}}), [](const json& j) {
      uint64_t n = j["reverted"].get<uint64_t>();
      std::cout << "Reverting " << n << " local change" << (n == 1 ? "" : "s")
                << "; the share's versions replace them as they arrive.\n";
    });
  }
  if (discovery->parsed()) {
    return print(call("share_set_discovery", {{"share", share}, {"enabled", discovery_switch == "on"}}),
                 [&](const json&) {
                   std::cout << "LAN discovery " << discovery_switch << " for " << share << "\n";
                 });
  }
  if (versioning->parsed()) {
    json params = {{"share", share}, {"type", versioning_type}};
    // Passed as given, a negative number too: the service says what is wrong.
    if (versioning_days != -1) params["days"] = versioning_days;
    if (versioning_keep != -1) params["keep"] = versioning_keep;
    if (versioning_max_bytes != -1) params["max_bytes"] = versioning_max_bytes;
    return print(call("share_set_versioning", params),
                 [](const json& j) { std::cout << "Versioning " << j["description"].get<std::string>() << "\n"; });
  }
  if (versions->parsed()) {
    return print(call("share_list_versions", {{"share", share}, {"path", versions_path}}), PrintVersions);
  }
  if (restore->parsed()) {
    json params = {{"share", share}, {"path", restore_path}};
    if (!restore_at.empty()) {
      auto at = ParseVersionTime(restore_at);
      if (!at) return Fail(at.error().message, 2);
      params["at"] = *at;
    }
    return print(call("share_restore_version", params), [&](const json& j) {
      std::cout << "Restored " << restore_path << " as it was kept at " << VersionTimeText(j["time"].get<int64_t>())
                << "; it syncs to the peers as a change made here.\n";
    });
  }
  if (gui_cmd->parsed()) {
    if (set_password && clear_password) return Fail("give --set-password or --clear-password, not both", 2);
    if (set_password || clear_password) {
      std::string password;
      if (set_password) {
        auto read = ReadPassword();
        if (!read) return Fail(read.error().message, 2);
        password = std::move(*read);
      }
      return print(call("gui_set_password", {{"password", password}}), [](const json& j) {
        std::cout << (j["password"].get<bool>() ? "The web UI's password is set; logged-in pages must log in again.\n"
                                                : "The web UI has no password now.\n");
      });
    }
    return print(call("gui_login", json::object()), PrintGuiLogin);
  }
  if (ignore->parsed()) {
    if (!ignore_set.empty()) {
      if (!ignore_path.empty()) return Fail("give PATH or --set, not both", 2);
      std::string text;
      if (ignore_set == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        auto read = tandem::ReadWholeFile(ignore_set);
        if (!read) return Fail("cannot read " + ignore_set + ": " + read.error().message, 1);
        text = std::move(*read);
      }
      return print(call("share_set_ignore_patterns", {{"share", share}, {"text", text}}), PrintIgnorePatterns);
    }
    if (ignore_path.empty()) return print(call("share_get_ignore_patterns", {{"share", share}}), PrintIgnorePatterns);
    return print(call("share_check_ignored", {{"share", share}, {"path", ignore_path}}), PrintIgnoreCheck);
  }
  return Fail("no command given; see tandem --help", 2);
}
