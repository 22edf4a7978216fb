#include "cli/follow.h"

#include <malloc.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/core.h>

#include <iostream>
#include <map>
#include <vector>

#include "cli/client.h"
#include "cli/render.h"

namespace tandem::cli {
namespace {

using nlohmann::json;

int Failed(const Error& error) {
  std::cerr << "tandem: " << error.message << "\n";
  return error.code == ErrorCode::kFailedPrecondition || error.code == ErrorCode::kIo ? 3 : 1;
}

size_t TerminalWidth() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  return 100;
}

// The lines at the bottom of a terminal that are redrawn in place.
class LiveBlock {
 public:
  explicit LiveBlock(bool tty) : tty_(tty) {}
  // Prints `line` above the block.
  void Line(const std::string& line) {
    Erase();
    fmt::print("{}\n", line);
    Draw();
  }
  void Set(std::vector<std::string> lines) {
    if (!tty_) {
      for (const auto& line : lines) fmt::print("{}\n", line);
      std::fflush(stdout);
      return;
    }
    Erase();
    lines_ = std::move(lines);
    Draw();
  }

 private:
  void Erase() {
    if (tty_ && drawn_ > 0) fmt::print("\x1b[{}F\x1b[J", drawn_);
    drawn_ = 0;
  }
  void Draw() {
    if (tty_) {
      for (const auto& line : lines_) fmt::print("{}\n", line);
      drawn_ = lines_.size();
    }
    std::fflush(stdout);
  }

  const bool tty_;
  std::vector<std::string> lines_;
  size_t drawn_ = 0;
};

}  // namespace

int Watch(const std::filesystem::path& config_dir, const std::string& share, bool as_json,
          std::optional<uint64_t> since) {
  // Each answer is parsed into thousands of small nodes and freed: without
  // fast bins, glibc does not sweep them all up on the next large buffer
  // (malloc_consolidate took a third of a reader's time on W2).
  mallopt(M_MXFAST, 0);
  DaemonConnection daemon(config_dir);
  std::map<std::string, std::string> names;  // share id to name
  auto learn_names = [&]() -> Result<void> {
    auto list = daemon.Call("share_list", json::object());
    if (!list) return list.error();
    for (const json& s : *list) names[s.value("id", "")] = s.value("name", "");
    return Ok();
  };
  std::string share_id;
  if (!share.empty()) {
    auto info = daemon.Call("share_get_info", {{"share", share}});
    if (!info) return Failed(info.error());
    share_id = info->value("id", "");
  }
  if (auto learnt = learn_names(); !learnt) return Failed(learnt.error());
  if (!since) {
    auto device = daemon.Call("device_info", json::object());
    if (!device) return Failed(device.error());
    since = device->value("last_event_id", uint64_t{0});
    if (!as_json) {
      auto shares = daemon.Call("share_list", json::object());
      if (!shares) return Failed(shares.error());
      for (const json& s : *shares) {
        if (share_id.empty() || s.value("id", "") == share_id) fmt::print("{}\n", StatusLine(s));
      }
    }
  }
  LiveBlock block(!as_json && ::isatty(STDOUT_FILENO));
  std::map<std::string, std::vector<std::string>> progress;  // by share
  uint64_t last = *since;
  while (true) {
    json params = {{"since", last}, {"timeout_ms", 30000}};
    if (!share_id.empty()) params["share"] = share_id;
    auto page = daemon.Call("events_poll", params);
    if (!page) return Failed(page.error());
    last = page->value("last_id", last);
    if (uint64_t missed = page->value("missed", uint64_t{0}); missed > 0) {
      if (as_json) {
        fmt::print("{}\n", json{{"type", "gap"}, {"missed", missed}}.dump());
      } else {
        block.Line(fmt::format("({} events missed: this reader fell behind)", missed));
      }
    }
    if (as_json) {
      // One write a page: a busy share's page holds hundreds of events.
      std::string lines;
      for (const json& event : (*page)["events"]) {
        lines += event.dump(-1, ' ', false, json::error_handler_t::replace);
        lines += '\n';
      }
      std::fwrite(lines.data(), 1, lines.size(), stdout);
      std::fflush(stdout);
      continue;
    }
    for (const json& event : (*page)["events"]) {
      const std::string id = event.value("share", "");
      if (!id.empty() && !names.count(id)) (void)learn_names();
      const std::string name = names.count(id) ? names[id] : id.substr(0, 8);
      if (event.value("type", "") == "download_progress") {
        progress[name] = ProgressLines(event["data"], TerminalWidth());
        std::vector<std::string> lines;
        for (const auto& [share_name, bars] : progress) {
          if (bars.empty()) continue;
          if (progress.size() > 1) lines.push_back(share_name + ":");
          lines.insert(lines.end(), bars.begin(), bars.end());
        }
        block.Set(std::move(lines));
        continue;
      }
      block.Line(EventLine(event, name));
    }
    std::fflush(stdout);
  }
}

int WaitUntilInSync(const std::filesystem::path& config_dir, const std::string& share) {
  const bool tty = ::isatty(STDOUT_FILENO);
  DaemonConnection daemon(config_dir);
  auto device = daemon.Call("device_info", json::object());
  if (!device) return Failed(device.error());
  uint64_t since = device->value("last_event_id", uint64_t{0});
  bool told_no_peer = false;
  std::string last_line;
  while (true) {
    auto info = daemon.Call("share_get_info", {{"share", share}});
    if (!info) return Failed(info.error());
    const std::string state = info->value("state", "");
    const bool has_peers = !info->value("peers", json::array()).empty();
    const json& completion = info->value("completion", json());
    const bool scanned = (*info)["last_scan"].value("time", int64_t{0}) > 0 || info->value("mode", "") == "blind";
    const uint64_t need_files = info->value("need_files", uint64_t{0});
    const json& failed = info->value("failed", json::array());
    // What waiting cannot fix: the share stopped, was paused, or all it
    // still needs has failed (each with why).
    std::string stuck;
    if (state == "error" || state == "paused") stuck = info->value("state_reason", "");
    if (state == "idle" && need_files > 0 && failed.size() >= need_files) {
      stuck = std::to_string(failed.size()) + " paths cannot be synced:";
      for (const json& f : failed) stuck += "\n  " + f.value("reason", "");
    }
    if (!stuck.empty()) {
      if (tty) fmt::print("\n");
      std::cerr << "tandem: share " << info->value("name", "") << " is not in sync: " << stuck << "\n";
      return 1;
    }
    const bool in_sync = state == "idle" && need_files == 0 && completion.is_number() && completion.get<double>() >= 100.0;
    if (in_sync || (!has_peers && scanned && state != "scanning" && info->value("mode", "") == "write")) {
      if (tty) fmt::print("\r\x1b[K");
      fmt::print("{}: {} files, {}{}\n", in_sync ? "In sync" : "Indexed", (*info)["index"].value("files", uint64_t{0}),
                 HumanSize((*info)["index"].value("bytes", uint64_t{0})),
                 in_sync ? "" : "; no peer yet (add one with: tandem peer add " + info->value("name", "") + " tcp/HOST:PORT)");
      return 0;
    }
    if (!has_peers && !told_no_peer && info->value("mode", "") != "write") {
      if (tty) fmt::print("\r\x1b[K");
      fmt::print("Waiting for a peer: add one with: tandem peer add {} tcp/HOST:PORT\n", info->value("name", ""));
      told_no_peer = true;
    }
    const double percent = completion.is_number() ? completion.get<double>() : 0.0;
    const size_t filled = static_cast<size_t>(percent / 100.0 * 30);
    std::string line = fmt::format("[{}{}] {:>6}  {}", std::string(filled, '#'), std::string(30 - filled, '.'),
                                   CompletionText(*info), state);
    if (uint64_t need = info->value("need_files", uint64_t{0}); need > 0) {
      line += fmt::format(", {} files ({}) to go", need, HumanSize(info->value("need_bytes", uint64_t{0})));
    }
    if (uint64_t rate = info->value("download_rate", uint64_t{0}); rate > 0) line += fmt::format(", {}/s", HumanSize(rate));
    if (tty) {
      fmt::print("\r\x1b[K{}", line);
      std::fflush(stdout);
    } else if (line != last_line) {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    }
    last_line = line;
    // Woken by the share's next event, or a moment later to redraw the rates.
    auto page = daemon.Call("events_poll",
                           {{"since", since},
                            {"timeout_ms", 500},
                            {"share", share},
                            {"types", {"share_state_changed", "download_progress", "item_failed", "share_error",
                                       "peer_connected", "peer_disconnected"}}});
    if (!page) return Failed(page.error());
    since = page->value("last_id", since);
  }
}

}  // namespace tandem::cli
