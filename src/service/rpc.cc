#include "service/rpc.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
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
          {"last_in_sync", info.last_in_sync_unix},
          {"attached_peers", AttachedJson(info.attached)},
          {"local_changes", LocalChangesJson(info.local_changes)},
          {"failed", FailedJson(info.failed)},
          {"skipped", info.skipped},
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

// A long poll waits this long unless told otherwise, and an hour at most.
constexpr uint64_t kDefaultPollMs = 30'000;
constexpr uint64_t kMaxPollMs = 3'600'000;

// Thrown by parameter accessors; becomes an "invalid params" error.
struct BadParams {
  std::string message;
};

class Params {
 public:
  explicit Params(const json& params) : params_(params) {
    if (!params_.is_null() && !params_.is_object()) throw BadParams{"params must be an object"};
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

json ErrorResponse(const json& id, int code, const std::string& message,
                   const std::string& kind = {}) {
  json error = {{"code", code}, {"message", message}};
  if (!kind.empty()) error["data"] = {{"kind", kind}};
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", error}};
}

template <typename T>
json FromResult(const json& id, const Result<T>& result, json value) {
  if (!result) {
    return ErrorResponse(id, RpcErrorCode(result.error().code), result.error().message,
                         ErrorCodeName(result.error().code));
  }
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(value)}};
}

asio::awaitable<json> Call(Service& service, const std::string& method, const json& raw,
                           const json& id) {
  Params p(raw);
  if (method == "share_add") {
    auto r = service.ShareAdd(p.String("path"), p.String("name", false));
    co_return FromResult(id, r, r ? ToJson(*r) : json());
  }
  if (method == "share_import_from_token") {
    auto r = service.ShareImportFromToken(p.String("token"), p.String("path"), p.String("name", false));
    co_return FromResult(id, r, r ? ToJson(*r) : json());
  }
  if (method == "share_remove") {
    std::string share = p.String("share");
    bool delete_repo = p.Bool("delete_repo", false);
    auto r = co_await service.ShareRemove(share, delete_repo);
    co_return FromResult(id, r, json::object());
  }
  if (method == "share_list") {
    json list = json::array();
    for (const ShareInfo& info : service.ShareList()) list.push_back(ToJson(info));
    co_return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", list}};
  }
  if (method == "share_get_info") {
    auto r = service.ShareGetInfo(p.String("share"));
    co_return FromResult(id, r, r ? ToJson(*r) : json());
  }
  if (method == "share_add_peer") {
    auto r = service.ShareAddPeer(p.String("share"), p.String("address"));
    co_return FromResult(id, r, r ? json{{"address", *r}} : json());
  }
  if (method == "share_remove_peer") {
    auto r = service.ShareRemovePeer(p.String("share"), p.String("address"));
    co_return FromResult(id, r, json::object());
  }
  if (method == "share_list_peers") {
    auto r = service.ShareListPeers(p.String("share"));
    json list = json::array();
    if (r) {
      for (const PeerInfo& peer : *r) {
        list.push_back({{"address", peer.address},
                        {"state", peer.state},
                        {"connected", peer.connected},
                        {"device_id", peer.device_id},
                        {"share", peer.share ? AttachedJson(*peer.share) : json(nullptr)}});
      }
    }
    co_return FromResult(id, r, list);
  }
  if (method == "share_set_sync_enabled") {
    auto r = service.ShareSetSyncEnabled(p.String("share"), p.Bool("enabled", std::nullopt));
    co_return FromResult(id, r, json::object());
  }
  if (method == "share_get_sync_token") {
    std::string share = p.String("share");
    std::string mode_text = p.String("mode", false);
    auto mode = crypto::ParseAccessMode(mode_text.empty() ? "write" : mode_text);
    if (!mode) co_return FromResult(id, mode, json());
    auto r = service.ShareGetSyncToken(share, *mode);
    co_return FromResult(id, r, r ? json{{"token", *r}, {"mode", mode_text.empty() ? "write" : mode_text}} : json());
  }
  if (method == "share_rescan") {
    auto r = co_await service.ShareRescan(p.String("share"));
    co_return FromResult(id, r, r ? ToJson(*r) : json());
  }
  if (method == "share_list_conflicts") {
    auto r = co_await service.ShareListConflicts(p.String("share"));
    json list = json::array();
    if (r) {
      for (const sync::Conflict& c : *r) {
        list.push_back({{"conflict", c.id}, {"path", c.path}, {"local", SideJson(c.local)},
                        {"remote", SideJson(c.remote)}});
      }
    }
    co_return FromResult(id, r, list);
  }
  if (method == "share_resolve_conflict") {
    std::string share = p.String("share");
    std::string conflict = p.String("conflict");
    std::string keep_text = p.String("keep");
    std::optional<sync::ConflictKeep> keep;
    if (keep_text == "keep_local" || keep_text == "local") keep = sync::ConflictKeep::kLocal;
    if (keep_text == "keep_remote" || keep_text == "remote") keep = sync::ConflictKeep::kRemote;
    if (keep_text == "keep_both" || keep_text == "both") keep = sync::ConflictKeep::kBoth;
    if (!keep) throw BadParams{"parameter 'keep' must be keep_local, keep_remote or keep_both"};
    auto r = co_await service.ShareResolveConflict(share, conflict, *keep);
    co_return FromResult(id, r, r ? json{{"done", *r}} : json());
  }
  if (method == "share_repair") {
    auto r = co_await service.ShareRepair(p.String("share"), p.Bool("force", false));
    co_return FromResult(id, r, r ? json{{"done", *r}} : json());
  }
  if (method == "share_revert_local_changes") {
    std::string share = p.String("share");
    auto r = co_await service.ShareRevertLocalChanges(share, p.String("path", false));
    co_return FromResult(id, r, r ? json{{"reverted", *r}} : json());
  }
  if (method == "device_info") {
    DeviceInfo d = service.GetDeviceInfo();
    co_return json{{"jsonrpc", "2.0"},
                   {"id", id},
                   {"result", {{"device_id", d.device_id}, {"device_name", d.device_name},
                               {"listen", d.listen}, {"config_dir", d.config_dir},
                               {"listening_port", d.listening_port}, {"last_event_id", d.last_event_id}}}};
  }
  if (method == "events_poll") {
    const uint64_t since = p.Count("since", std::nullopt);
    const uint64_t timeout_ms = p.Count("timeout_ms", kDefaultPollMs);
    if (timeout_ms > kMaxPollMs) throw BadParams{"parameter 'timeout_ms' must be at most " + std::to_string(kMaxPollMs)};
    const uint64_t limit = p.Count("limit", EventLog::kMaxPage);
    auto r = co_await service.EventsPoll(since, std::chrono::milliseconds(timeout_ms), p.Strings("types"),
                                         p.String("share", false), static_cast<size_t>(limit));
    json events = json::array();
    if (r) {
      for (Event& event : r->events) events.push_back(ToJson(std::move(event)));
    }
    co_return FromResult(id, r, r ? json{{"events", std::move(events)}, {"last_id", r->last_id}, {"missed", r->missed}}
                                  : json());
  }
  co_return ErrorResponse(id, kMethodNotFound, "unknown method '" + method + "'");
}

}  // namespace

int RpcErrorCode(ErrorCode code) { return -32000 - static_cast<int>(code); }

asio::awaitable<json> Dispatch(Service& service, json request) {
  json id = nullptr;
  try {
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
    json params = request.contains("params") ? request["params"] : json();
    co_return co_await Call(service, request["method"].get<std::string>(), params, id);
  } catch (const BadParams& e) {
    co_return ErrorResponse(id, kInvalidParams, e.message);
  } catch (const std::exception& e) {
    spdlog::error("API call failed: {}", e.what());
    co_return ErrorResponse(id, RpcErrorCode(ErrorCode::kInternal), std::string("internal error: ") + e.what(),
                            ErrorCodeName(ErrorCode::kInternal));
  }
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
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("control socket accept: {}", ec.message());
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
