#include "service/rpc.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <spdlog/spdlog.h>

#include <cmath>

#include "base/async.h"

namespace tandem::service {
namespace {

using nlohmann::json;

json ScanJson(const scan::ScanStats& s, std::optional<int64_t> when) {
  json j = {{"entries_seen", s.entries_seen}, {"files_hashed", s.files_hashed},
            {"bytes_hashed", s.bytes_hashed}, {"records_written", s.records_written},
            {"deleted", s.deleted},           {"skipped", s.skipped},
            {"duration_ms", s.duration_ms}};
  if (when) j["time"] = *when;
  return j;
}

// At most this many local changes are listed; the count is always exact.
constexpr size_t kListedLocalChanges = 1000;

json LocalChangesJson(const std::vector<scan::LocalChange>& changes) {
  json list = json::array();
  for (size_t i = 0; i < changes.size() && i < kListedLocalChanges; ++i) {
    list.push_back({{"path", changes[i].path},
                    {"change", scan::LocalChangeName(changes[i].kind)},
                    {"kind", crypto::EntryKindName(changes[i].entry_kind)}});
  }
  return {{"count", changes.size()}, {"paths", list}};
}

json AttachedJson(const sync::AttachedPeerStatus& p) {
  return {{"device_id", p.device_id},
          {"address", p.address},
          {"index_received", p.caught_up},
          {"records_sent", p.records_sent},
          {"records_total", p.records_total}};
}

json SideJson(const sync::ConflictSide& side) {
  return {{"device", side.device7}, {"mtime_ns", side.mtime_ns}, {"size", side.size}, {"present", side.present}};
}

json AttachedJson(const std::vector<sync::AttachedPeerStatus>& peers) {
  json list = json::array();
  for (const auto& p : peers) list.push_back(AttachedJson(p));
  return list;
}

// Each failed path with its reason; the reason alone says which path.
json FailedJson(const std::vector<sync::NeedQueue::Failure>& failed) {
  json list = json::array();
  for (const auto& f : failed) list.push_back({{"path", f.path}, {"reason", f.reason}});
  return list;
}

json VersioningJson(const sync::VersioningPolicy& p) {
  return {{"type", sync::VersioningKindName(p.kind)},
          {"days", p.days},
          {"keep", p.keep},
          {"max_bytes", p.max_bytes},
          {"description", sync::DescribeVersioning(p)}};
}

json LimitsJson(const BandwidthLimits& l) {
  return {{"upload", l.upload}, {"download", l.download}, {"lan", l.apply_on_lan}};
}

json VersionJson(const sync::KeptVersion& v) {
  return {{"path", v.path}, {"file", v.file}, {"time", v.unix}, {"size", v.size}, {"device", v.device}};
}

json ToJson(const ShareInfo& info) {
  return {{"id", info.id},
          {"name", info.name},
          {"path", info.path},
          {"mode", crypto::AccessModeName(info.mode)},
          {"enabled", info.enabled},
          {"state", info.state},
          {"state_reason", info.state_reason},
          {"completion", info.completion ? json(std::round(*info.completion * 10) / 10) : json(nullptr)},
          {"last_error", info.last_error},
          {"peers", info.peers},
          {"connected_devices", info.connected_devices},
          {"need_files", info.need_files},
          {"need_bytes", info.need_bytes},
          {"need_deletes", info.need_deletes},
          {"received_bytes", info.received_bytes},
          {"sent_bytes", info.sent_bytes},
          {"download_rate", info.download_rate},
          {"upload_rate", info.upload_rate},
          {"upload_limit", info.upload_limit},
          {"download_limit", info.download_limit},
          {"discovery", info.discovery},
          {"last_in_sync", info.last_in_sync_unix},
          {"attached_peers", AttachedJson(info.attached)},
          {"local_changes", LocalChangesJson(info.local_changes)},
          {"failed", FailedJson(info.failed)},
          {"skipped", info.skipped},
          {"ignored", info.ignored},
          {"ignore_error", info.ignore_error},
          {"versioning", VersioningJson(info.versioning)},
          {"index",
           {{"files", info.index.files},
            {"directories", info.index.directories},
            {"symlinks", info.index.symlinks},
            {"bytes", info.index.bytes},
            {"records", info.index.records},
            {"sequence", info.index.max_seq},
            {"sealed_blocks", info.index.sealed_blocks},
            {"sealed_bytes", info.index.sealed_bytes}}},
          {"last_scan", ScanJson(info.last_scan, info.last_scan_unix)}};
}

json ToJson(const scan::ScanStats& s) { return ScanJson(s, std::nullopt); }

json ToJson(const std::string& path, const scan::IgnoreVerdict& v) {
  json line = nullptr;
  if (v.by) line = {{"file", v.by->file}, {"line", v.by->line}, {"text", v.by->text}};
  std::string why = !v.by ? "not ignored: no pattern matches it"
                    : v.ignored ? "ignored by " + v.by->Where()
                                : "not ignored: re-included by " + v.by->Where();
  return {{"path", path}, {"ignored", v.ignored}, {"deletable", v.deletable}, {"line", line}, {"why", why}};
}

json ToJson(const sync::ShareEngine::IgnorePatternsInfo& i) {
  return {{"text", i.text}, {"exists", i.exists}, {"files", i.files}, {"error", i.error}, {"ignored", i.ignored}};
}

// A long poll waits this long unless told otherwise, and an hour at most.
constexpr uint64_t kDefaultPollMs = 30'000;
constexpr uint64_t kMaxPollMs = 3'600'000;

// Thrown by parameter accessors; becomes an "invalid params" error.
struct BadParams {
  std::string message;
};

class Params {
 public:
  // Refuses parameters the method does not take: a mistyped optional name
  // would otherwise be ignored without a word.
  Params(const json& params, const Method& method) : params_(params) {
    if (!params_.is_null() && !params_.is_object()) throw BadParams{"params must be an object"};
    if (!params_.is_object()) return;
    for (const auto& [key, value] : params_.items()) {
      if (std::find(method.params.begin(), method.params.end(), key) != method.params.end()) continue;
      std::string takes;
      for (std::string_view name : method.params) takes += (takes.empty() ? "" : ", ") + std::string(name);
      throw BadParams{"unknown parameter '" + key + "' for " + std::string(method.name) + " (it takes " +
                      (takes.empty() ? std::string("none") : takes) + ")"};
    }
  }

  std::string String(const char* name, bool required = true) const {
    if (!params_.is_object() || !params_.contains(name)) {
      if (required) throw BadParams{std::string("missing parameter '") + name + "'"};
      return {};
    }
    const json& v = params_.at(name);
    if (!v.is_string()) throw BadParams{std::string("parameter '") + name + "' must be a string"};
    auto s = v.get<std::string>();
    if (s.size() > 65536) throw BadParams{std::string("parameter '") + name + "' is too long"};
    return s;
  }

  // A whole number from 0 up; `fallback` when absent.
  uint64_t Count(const char* name, std::optional<uint64_t> fallback) const {
    if (!params_.is_object() || !params_.contains(name)) {
      if (!fallback) throw BadParams{std::string("missing parameter '") + name + "'"};
      return *fallback;
    }
    const json& v = params_.at(name);
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      throw BadParams{std::string("parameter '") + name + "' must be 0 or more, not " + v.dump()};
    }
    if (!v.is_number_unsigned()) throw BadParams{std::string("parameter '") + name + "' must be a whole number"};
    return v.get<uint64_t>();
  }

  // A list of strings; empty when absent.
  std::vector<std::string> Strings(const char* name) const {
    if (!params_.is_object() || !params_.contains(name) || params_.at(name).is_null()) return {};
    const json& v = params_.at(name);
    if (!v.is_array()) throw BadParams{std::string("parameter '") + name + "' must be a list of strings"};
    std::vector<std::string> out;
    for (const json& item : v) {
      if (!item.is_string()) throw BadParams{std::string("parameter '") + name + "' must be a list of strings"};
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  bool Has(const char* name) const { return params_.is_object() && params_.contains(name); }

  bool Bool(const char* name, std::optional<bool> fallback) const {
    if (!params_.is_object() || !params_.contains(name)) {
      if (!fallback) throw BadParams{std::string("missing parameter '") + name + "'"};
      return *fallback;
    }
    const json& v = params_.at(name);
    if (!v.is_boolean()) throw BadParams{std::string("parameter '") + name + "' must be true or false"};
    return v.get<bool>();
  }

 private:
  const json& params_;
};

// A limit change's parameters; what is absent stays as it was.
Service::LimitsChange LimitsChangeOf(const Params& p, bool with_lan) {
  constexpr uint64_t kUnset = static_cast<uint64_t>(-1);
  Service::LimitsChange change;
  if (uint64_t upload = p.Count("upload", kUnset); upload != kUnset) change.upload = upload;
  if (uint64_t download = p.Count("download", kUnset); download != kUnset) change.download = download;
  if (with_lan) {
    if (p.Has("lan")) change.apply_on_lan = p.Bool("lan", std::nullopt);
  }
  return change;
}

// A method's result, or the Service's error.
using Reply = Result<json>;

template <typename T, typename F>
Reply Map(Result<T> result, F&& to_json) {
  if (!result) return result.error();
  return json(to_json(*result));
}

Reply Map(const Result<void>& result) {
  if (!result) return result.error();
  return json::object();
}

using Handler = asio::awaitable<Reply> (*)(Service&, const Params&);

struct MethodEntry {
  Method method;
  Handler handler;
};

// Every method of the API, with the parameters it takes. api/tandem-api.json
// describes the same list; a test holds the two together.
const std::vector<MethodEntry>& MethodTable() {
  static const std::vector<MethodEntry> table = {
      {{"share_add", {"path", "name"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareAdd(p.String("path"), p.String("name", false)),
                       [](const ShareInfo& i) { return ToJson(i); });
       }},
      {{"share_import_from_token", {"token", "path", "name"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareImportFromToken(p.String("token"), p.String("path"), p.String("name", false)),
                       [](const ShareInfo& i) { return ToJson(i); });
       }},
      {{"share_remove", {"share", "delete_repo"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         bool delete_repo = p.Bool("delete_repo", false);
         co_return Map(co_await s.ShareRemove(share, delete_repo));
       }},
      {{"share_list", {}},
       [](Service& s, const Params&) -> asio::awaitable<Reply> {
         json list = json::array();
         for (const ShareInfo& info : s.ShareList()) list.push_back(ToJson(info));
         co_return list;
       }},
      {{"share_get_info", {"share"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareGetInfo(p.String("share")), [](const ShareInfo& i) { return ToJson(i); });
       }},
      {{"share_add_peer", {"share", "address"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareAddPeer(p.String("share"), p.String("address")),
                       [](const std::string& a) { return json{{"address", a}}; });
       }},
      {{"share_remove_peer", {"share", "address"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareRemovePeer(p.String("share"), p.String("address")));
       }},
      {{"share_list_peers", {"share"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareListPeers(p.String("share")), [](const std::vector<PeerInfo>& peers) {
           json list = json::array();
           for (const PeerInfo& peer : peers) {
             list.push_back({{"address", peer.address},
                             {"state", peer.state},
                             {"connected", peer.connected},
                             {"device_id", peer.device_id},
                             {"share", peer.share ? AttachedJson(*peer.share) : json(nullptr)},
                             {"discovered", peer.discovered},
                             {"last_seen", peer.last_seen_unix}});
           }
           return list;
         });
       }},
      {{"share_set_sync_enabled", {"share", "enabled"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareSetSyncEnabled(p.String("share"), p.Bool("enabled", std::nullopt)));
       }},
      {{"share_set_discovery", {"share", "enabled"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.ShareSetDiscovery(p.String("share"), p.Bool("enabled", std::nullopt)));
       }},
      {{"share_get_sync_token", {"share", "mode"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         std::string mode_text = p.String("mode", false);
         if (mode_text.empty()) mode_text = "write";
         auto mode = crypto::ParseAccessMode(mode_text);
         if (!mode) co_return mode.error();
         co_return Map(s.ShareGetSyncToken(share, *mode),
                       [&](const std::string& token) { return json{{"token", token}, {"mode", mode_text}}; });
       }},
      {{"share_rescan", {"share"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(co_await s.ShareRescan(p.String("share")), [](const scan::ScanStats& st) { return ToJson(st); });
       }},
      {{"share_list_conflicts", {"share"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(co_await s.ShareListConflicts(p.String("share")), [](const std::vector<sync::Conflict>& cs) {
           json list = json::array();
           for (const sync::Conflict& c : cs) {
             list.push_back({{"conflict", c.id}, {"path", c.path}, {"local", SideJson(c.local)},
                             {"remote", SideJson(c.remote)}});
           }
           return list;
         });
       }},
      {{"share_resolve_conflict", {"share", "conflict", "keep"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         std::string conflict = p.String("conflict");
         std::string keep_text = p.String("keep");
         std::optional<sync::ConflictKeep> keep;
         if (keep_text == "keep_local" || keep_text == "local") keep = sync::ConflictKeep::kLocal;
         if (keep_text == "keep_remote" || keep_text == "remote") keep = sync::ConflictKeep::kRemote;
         if (keep_text == "keep_both" || keep_text == "both") keep = sync::ConflictKeep::kBoth;
         if (!keep) throw BadParams{"parameter 'keep' must be keep_local, keep_remote or keep_both"};
         co_return Map(co_await s.ShareResolveConflict(share, conflict, *keep),
                       [](const std::string& done) { return json{{"done", done}}; });
       }},
      {{"share_repair", {"share", "force"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         bool force = p.Bool("force", false);
         co_return Map(co_await s.ShareRepair(share, force), [](const std::string& done) { return json{{"done", done}}; });
       }},
      {{"share_revert_local_changes", {"share", "path"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         std::string path = p.String("path", false);
         co_return Map(co_await s.ShareRevertLocalChanges(share, path),
                       [](uint64_t n) { return json{{"reverted", n}}; });
       }},
      {{"share_check_ignored", {"share", "path"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         std::string path = p.String("path");
         co_return Map(co_await s.ShareCheckIgnored(share, path),
                       [&](const scan::IgnoreVerdict& v) { return ToJson(path, v); });
       }},
      {{"share_get_ignore_patterns", {"share"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(co_await s.ShareGetIgnorePatterns(p.String("share")),
                       [](const sync::ShareEngine::IgnorePatternsInfo& i) { return ToJson(i); });
       }},
      {{"share_set_ignore_patterns", {"share", "text"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         std::string text = p.String("text");
         co_return Map(co_await s.ShareSetIgnorePatterns(share, text),
                       [](const sync::ShareEngine::IgnorePatternsInfo& i) { return ToJson(i); });
       }},
      {{"share_set_versioning", {"share", "type", "days", "keep", "max_bytes"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         auto kind = sync::ParseVersioningKind(p.String("type"));
         if (!kind) co_return kind.error();
         // What is not given stays as it was (Service::ShareSetVersioning).
         Service::VersioningChange change{.kind = *kind};
         constexpr uint64_t kUnset = static_cast<uint64_t>(-1);
         if (uint64_t days = p.Count("days", kUnset); days != kUnset) {
           if (days > 36500) throw BadParams{"parameter 'days' must be at most 36500 (100 years); 0 keeps for ever"};
           change.days = static_cast<uint32_t>(days);
         }
         if (uint64_t keep = p.Count("keep", kUnset); keep != kUnset) {
           if (keep > 100000) throw BadParams{"parameter 'keep' must be at most 100000"};
           change.keep = static_cast<uint32_t>(keep);
         }
         if (uint64_t max_bytes = p.Count("max_bytes", kUnset); max_bytes != kUnset) change.max_bytes = max_bytes;
         co_return Map(s.ShareSetVersioning(share, change), VersioningJson);
       }},
      {{"share_list_versions", {"share", "path"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         std::string path = p.String("path", false);
         co_return Map(co_await s.ShareListVersions(share, path), [](const std::vector<sync::KeptVersion>& vs) {
           json list = json::array();
           for (const sync::KeptVersion& v : vs) list.push_back(VersionJson(v));
           return list;
         });
       }},
      {{"share_restore_version", {"share", "path", "at"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         std::string path = p.String("path");
         std::optional<int64_t> at;
         if (uint64_t when = p.Count("at", 0); when > 0) at = static_cast<int64_t>(when);
         co_return Map(co_await s.ShareRestoreVersion(share, path, at), VersionJson);
       }},
      {{"device_info", {}},
       [](Service& s, const Params&) -> asio::awaitable<Reply> {
         DeviceInfo d = s.GetDeviceInfo();
         co_return json{{"device_id", d.device_id},
                        {"device_name", d.device_name},
                        {"listen", d.listen},
                        {"config_dir", d.config_dir},
                        {"listening_port", d.listening_port},
                        {"last_event_id", d.last_event_id},
                        {"limits", LimitsJson(d.limits)},
                        {"upload_rate", d.upload_rate},
                        {"download_rate", d.download_rate}};
       }},
      {{"config_reload", {}},
       [](Service& s, const Params&) -> asio::awaitable<Reply> {
         co_return Map(s.ConfigReload(), [](const std::string& done) { return json{{"done", done}}; });
       }},
      {{"device_set_limits", {"upload", "download", "lan"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         co_return Map(s.DeviceSetLimits(LimitsChangeOf(p, true)), LimitsJson);
       }},
      {{"share_set_limits", {"share", "upload", "download"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string share = p.String("share");
         co_return Map(s.ShareSetLimits(share, LimitsChangeOf(p, false)), LimitsJson);
       }},
      {{"gui_login", {}},
       [](Service& s, const Params&) -> asio::awaitable<Reply> {
         co_return Map(s.GuiLoginLink(), [](const Service::GuiLogin& l) {
           return json{{"url", l.url}, {"login_url", l.login_url}, {"api_key", l.api_key}, {"password", l.password}};
         });
       }},
      {{"gui_set_password", {"password"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         std::string password = p.String("password");
         co_return Map(co_await s.GuiSetPassword(std::move(password)),
                       [](bool set) { return json{{"password", set}}; });
       }},
      {{"events_poll", {"since", "timeout_ms", "types", "share", "limit"}},
       [](Service& s, const Params& p) -> asio::awaitable<Reply> {
         const uint64_t since = p.Count("since", std::nullopt);
         const uint64_t timeout_ms = p.Count("timeout_ms", kDefaultPollMs);
         if (timeout_ms > kMaxPollMs) {
           throw BadParams{"parameter 'timeout_ms' must be at most " + std::to_string(kMaxPollMs)};
         }
         const uint64_t limit = p.Count("limit", EventLog::kMaxPage);
         auto r = co_await s.EventsPoll(since, std::chrono::milliseconds(timeout_ms), p.Strings("types"),
                                        p.String("share", false), static_cast<size_t>(limit));
         if (!r) co_return r.error();
         json events = json::array();
         for (Event& event : r->events) events.push_back(ToJson(std::move(event)));
         co_return json{{"events", std::move(events)}, {"last_id", r->last_id}, {"missed", r->missed}};
       }},
  };
  return table;
}

json ErrorResponse(const json& id, int code, const std::string& message, const std::string& kind = {}) {
  json error = {{"code", code}, {"message", message}};
  if (!kind.empty()) error["data"] = {{"kind", kind}};
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", error}};
}

}  // namespace

int RpcErrorCode(ErrorCode code) { return -32000 - static_cast<int>(code); }

std::vector<Method> Methods() {
  std::vector<Method> out;
  for (const MethodEntry& entry : MethodTable()) out.push_back(entry.method);
  return out;
}

asio::awaitable<Outcome> Invoke(Service& service, std::string method, json params) {
  const auto& table = MethodTable();
  auto entry = std::find_if(table.begin(), table.end(), [&](const MethodEntry& e) { return e.method.name == method; });
  if (entry == table.end()) co_return Outcome{.code = kMethodNotFound, .message = "unknown method '" + method + "'"};
  try {
    Params p(params, entry->method);
    Reply reply = co_await entry->handler(service, p);
    if (!reply) {
      co_return Outcome{.code = RpcErrorCode(reply.error().code), .message = reply.error().message,
                        .kind = reply.error().code};
    }
    co_return Outcome{.result = std::move(*reply)};
  } catch (const BadParams& e) {
    co_return Outcome{.code = kInvalidParams, .message = e.message};
  } catch (const std::exception& e) {
    spdlog::error("API call {} failed: {}", method, e.what());
    co_return Outcome{.code = RpcErrorCode(ErrorCode::kInternal), .message = std::string("internal error: ") + e.what(),
                      .kind = ErrorCode::kInternal};
  }
}

asio::awaitable<json> Dispatch(Service& service, json request) {
  json id = nullptr;
  if (!request.is_object()) co_return ErrorResponse(id, kInvalidRequest, "request must be a JSON object");
  if (request.contains("id")) {
    id = request["id"];
    if (!id.is_string() && !id.is_number() && !id.is_null()) {
      co_return ErrorResponse(nullptr, kInvalidRequest, "id must be a string or a number");
    }
  }
  if (request.value("jsonrpc", "") != "2.0") {
    co_return ErrorResponse(id, kInvalidRequest, "only JSON-RPC 2.0 is spoken here");
  }
  if (!request.contains("method") || !request["method"].is_string()) {
    co_return ErrorResponse(id, kInvalidRequest, "method must be a string");
  }
  json params = request.contains("params") ? std::move(request["params"]) : json();
  Outcome outcome = co_await Invoke(service, request["method"].get<std::string>(), std::move(params));
  if (outcome.code == 0) co_return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(outcome.result)}};
  co_return ErrorResponse(id, outcome.code, outcome.message, outcome.kind ? ErrorCodeName(*outcome.kind) : "");
}

RpcServer::RpcServer(asio::io_context& io, Service& service)
    : io_(io), service_(service), acceptor_(io) {}

Result<void> RpcServer::Start() {
  std::filesystem::path path = service_.config_dir() / kSocketFileName;
  // The daemon lock is held, so a socket file left here is from a dead daemon.
  std::filesystem::remove(path);
  std::error_code ec;
  asio::local::stream_protocol::endpoint endpoint(path.string());
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec && ::chmod(path.c_str(), 0600) != 0) ec = std::error_code(errno, std::generic_category());
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot listen on " + path.string() + ": " + ec.message());
  auto loop = [this]() { return AcceptLoop(); };
  asio::co_spawn(io_, loop(), LogIfThrew("the control socket", spdlog::level::err));
  return Ok();
}

asio::awaitable<void> RpcServer::AcceptLoop() {
  while (true) {
    std::error_code ec;
    auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    // Closed: the server is going. Never a loop of failures (a closed
    // acceptor fails at once, every time).
    if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
    if (ec) {
      // Out of descriptors, say: wait a moment rather than spin on it.
      spdlog::warn("control socket accept: {}", ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // The socket's mode (0600) keeps other users out; the peer's credentials
    // are checked too, in case the mode was widened or the folder shared.
    ucred peer{};
    socklen_t peer_size = sizeof(peer);
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_size) != 0 ||
        peer.uid != ::geteuid()) {
      spdlog::warn("control socket: refused a connection from uid {} (pid {}); only uid {} may control this daemon",
                   peer.uid, peer.pid, ::geteuid());
      std::string out = ErrorResponse(nullptr, kInvalidRequest,
                                      "this daemon belongs to another user; run tandem as its owner")
                            .dump() + "\n";
      // Never waits: a refused client cannot hold up the accept loop.
      (void)::send(socket.native_handle(), out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      continue;
    }
    asio::co_spawn(io_, Serve(std::move(socket)), LogIfThrew("a control connection", spdlog::level::debug));
  }
}

asio::awaitable<void> RpcServer::Serve(asio::local::stream_protocol::socket socket) {
  // In the frame: a poll woken while the daemon stops resumes after the
  // server is gone (the Service outlives it).
  Service& service = service_;
  asio::streambuf buffer(kMaxRequestBytes);
  while (true) {
    std::error_code ec;
    size_t n = co_await asio::async_read_until(socket, buffer, '\n',
                                               asio::redirect_error(asio::use_awaitable, ec));
    json response;
    if (ec == asio::error::not_found) {
      response = ErrorResponse(nullptr, kInvalidRequest, "request larger than 1 MiB");
      std::string out = response.dump() + "\n";
      co_await asio::async_write(socket, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    if (ec) co_return;  // the client hung up
    std::string line(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + n);
    buffer.consume(n);
    json request = json::parse(line, nullptr, false);
    if (request.is_discarded()) {
      response = ErrorResponse(nullptr, kParseError, "request is not valid JSON");
    } else {
      // A notification (no id) is carried out but gets no answer.
      bool notification = request.is_object() && !request.contains("id");
      response = co_await Dispatch(service, std::move(request));
      if (notification) continue;
    }
    std::string out = response.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    co_await asio::async_write(socket, asio::buffer(out), asio::use_awaitable);
  }
}

}  // namespace tandem::service
