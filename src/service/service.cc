#include "service/service.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <spdlog/spdlog.h>

#include "base/async.h"
#include "base/bytes.h"
#include "base/rel_path.h"
#include "base/uuid.h"
#include "crypto/password.h"
#include "crypto/token.h"
#include "net/address.h"
#include "store/repository.h"
#include "store/share_folder.h"

namespace tandem::service {
namespace {

namespace stdfs = std::filesystem;

Error Invalid(std::string message) { return MakeError(ErrorCode::kInvalidArgument, std::move(message)); }

// A path in a share as a caller gives it, in normal form; empty stays
// empty where `optional`.
Result<std::string> SharePath(const std::string& path, bool optional = false) {
  if (optional && path.empty()) return std::string();
  auto rel = RelPath::Parse(path);
  if (!rel) return Invalid("bad path '" + path + "': " + rel.error().message + " (give it relative to the share's folder)");
  return rel->str();
}

// Whether `inner` is `outer` or lies below it (both canonical).
bool IsWithin(const stdfs::path& inner, const stdfs::path& outer) {
  auto [o, i] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
  return o == outer.end() || (std::next(o) == outer.end() && o->empty());
}



}  // namespace

Result<std::unique_ptr<Service>> Service::Create(Options options) {
  crypto::Init();
  stdfs::path dir = options.config_dir;
  if (dir.empty() || !dir.is_absolute()) {
    return Invalid("the config folder must be an absolute path");
  }
  std::error_code ec;
  if (!stdfs::exists(dir, ec)) {
    stdfs::create_directories(dir, ec);
    if (ec) return MakeError(ErrorCode::kIo, "cannot create config folder " + dir.string() + ": " + ec.message());
    stdfs::permissions(dir, stdfs::perms::owner_all, ec);
  }
  if (!stdfs::is_directory(dir, ec)) return Invalid("config path " + dir.string() + " is not a folder");
  dir = stdfs::canonical(dir, ec);

  int lock_fd = ::open((dir / kLockFileName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    return MakeError(ErrorCode::kIo, "cannot open " + (dir / kLockFileName).string() + ": " + std::strerror(errno));
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return MakeError(ErrorCode::kFailedPrecondition,
                     "another tandem daemon is already running with config folder " + dir.string() +
                         "; stop it first or use another --config-dir");
  }

  stdfs::path config_file = dir / kConfigFileName;
  // Temporary files of an atomic write that a crash interrupted; the lock
  // guarantees no writer is using them.
  const std::string tmp_prefix = "." + std::string(kConfigFileName) + ".tmp-";
  for (const auto& entry : stdfs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().starts_with(tmp_prefix)) stdfs::remove(entry.path(), ec);
  }
  auto loaded = LoadConfig(config_file);
  Config config;
  if (loaded) {
    config = std::move(*loaded);
  } else if (loaded.error().code == ErrorCode::kNotFound) {
    config = NewConfig();
    if (auto saved = SaveConfig(config_file, config); !saved) {
      ::close(lock_fd);
      return saved.error();
    }
  } else {
    ::close(lock_fd);
    return loaded.error();
  }
  if (!options.listen.empty()) {
    auto addresses = net::ParseListenAddresses(options.listen);
    if (!addresses) {
      ::close(lock_fd);
      return Invalid("bad --listen address: " + addresses.error().message);
    }
    config.listen = net::ListenAddressesToString(*addresses);
  }
  if (config.gui.api_key.empty()) {  // a config from before the web UI
    config.gui.api_key = crypto::RandomToken();
    if (auto saved = SaveConfig(config_file, config); !saved) {
      ::close(lock_fd);
      return saved.error();
    }
  }
  auto device = crypto::DeviceKey::FromSeed(*Base64UrlDecode(config.device_seed));
  std::unique_ptr<Service> service(
      new Service(dir, std::move(config), *device, lock_fd, options.test_hooks, options.events_kept));
  TANDEM_RETURN_IF_ERROR(service->StartNetwork());
  return service;
}

Result<void> Service::StartNetwork() {
  auto network = sync::Network::Create(io_, device_, config_.device_name, [this] {
    std::vector<std::shared_ptr<sync::ShareEndpoint>> offered;
    for (const auto& [id, share] : shares_) {
      // A share that cannot sync now (its folder gone, its repository
      // failing) is not offered: peers detach it, other shares go on.
      if (share->engine && share->config.enabled && share->engine->healthy()) offered.push_back(share->engine);
    }
    return offered;
  });
  if (!network) return network.error();
  network_ = std::move(*network);
  network_->SetLimits(config_.limits.upload, config_.limits.download, config_.limits.apply_on_lan);
  auto addresses = net::ParseListenAddresses(config_.listen);
  if (!addresses) return Invalid("bad listen address in the config: " + addresses.error().message);
  TANDEM_RETURN_IF_ERROR(network_->Listen(*addresses));
  sync::LanDiscovery::Callbacks callbacks;
  callbacks.shares = [this] {
    std::vector<sync::LanDiscovery::Share> announced;
    for (const auto& [id, share] : shares_) {
      if (share->config.discovery && share->config.enabled && share->engine && share->engine->healthy()) {
        announced.push_back({id, share->config.name, share->secrets.share_id()});
      }
    }
    return announced;
  };
  callbacks.listening_port = [this] { return network_->listening_port(); };
  callbacks.listening_families = [this] { return network_->listening_families(); };
  // Posted: UpdateNetwork itself updates discovery, which may find this.
  callbacks.found_changed = [this] { asio::post(io_, [this] { UpdateNetwork(); }); };
  discovery_ = std::make_unique<sync::LanDiscovery>(io_, sync::LanDiscovery::Options{}, std::move(callbacks));
  UpdateNetwork();
  return Ok();
}

void Service::UpdateNetwork() {
  if (!network_ || stopped_) return;
  if (discovery_) discovery_->Update();
  std::set<std::string> addresses;
  for (const auto& [id, share] : shares_) {
    if (!share->config.enabled || !share->engine) continue;
    addresses.insert(share->config.peers.begin(), share->config.peers.end());
    if (discovery_) {
      for (const auto& found : discovery_->FoundFor(id)) addresses.insert(found.address);
    }
  }
  network_->SetDialAddresses(addresses);
  network_->SharesChanged();
}

void Service::OpenEngine(Share& share, bool new_share) {
  const stdfs::path root = share.config.path;
  const crypto::Key32& share_id = share.secrets.share_id();
  const std::string& name = share.config.name;
  const bool made = !share.config.repository.empty();
  auto unavailable = [&](std::string why, bool retry) {
    if (why != share.last_error) spdlog::error("share {}: {}", name, why);
    share.last_error = std::move(why);
    share.retry_open = retry;
    TellUnavailable(share, share.last_error);
  };
  // The folder must prove it is the share's before anything is opened,
  // created or written in it. Only a share that never had a repository
  // here (a new one, or one from before markers existed) may lack the marker.
  // A new share's folder was checked by CheckNewSharePath; its repository,
  // if one is there already, must be this share's (Repository::Open).
  if (auto folder = new_share ? Ok() : store::CheckShareFolder(root, share_id); !folder) {
    const bool no_marker_yet = folder.error().code == ErrorCode::kFailedPrecondition &&
                               !store::HasShareMarker(root) && !made;
    if (!no_marker_yet) {
      std::string why = folder.error().message + "; nothing is recorded or written there. Syncing resumes by itself "
                        "when the folder is back (mount its drive, or move it back)";
      if (folder.error().code == ErrorCode::kFailedPrecondition && made) {
        why += "; if its .tandem folder was deleted, run `tandem repair " + name + "` to rebuild it";
      }
      unavailable(std::move(why), true);
      return;
    }
  }
  const stdfs::path repo_dir = root / RelPath::kRepoDirName;
  auto repo = store::Repository::Open(repo_dir, share_id, /*create=*/new_share, store::OptionsFor(share.secrets));
  if (!repo) {
    const bool damaged = repo.error().code == ErrorCode::kNotFound || repo.error().code == ErrorCode::kCorrupt;
    if (repo.error().code == ErrorCode::kNotFound && !store::HasShareMarker(root)) {
      // No marker and no repository: as likely a drive not mounted as a
      // repository deleted. Waited for, like a missing folder.
      unavailable(repo.error().message + "; if the share's drive is not mounted, mount it (syncing resumes by "
                  "itself); if its .tandem folder was deleted, run `tandem repair " + name + "`",
                  true);
    } else if (damaged) {
      unavailable(repo.error().message + "; syncing is stopped. Run `tandem repair " + name +
                      "` to move it aside and rebuild it from the folder and the peers",
                  false);
    } else {
      unavailable(repo.error().message, repo.error().code == ErrorCode::kIo);
    }
    return;
  }
  // Marked before anything is recorded: from now on the folder proves itself.
  if (new_share || !store::HasShareMarker(root)) {
    if (auto marked = store::WriteShareMarker(root, share_id); !marked) {
      unavailable("cannot mark the share's folder: " + marked.error().message, true);
      return;
    }
  }
  const std::string epoch = HexEncode((*repo)->epoch());
  if (share.config.repository != epoch) {
    // Made just now (or by a repair a crash interrupted, or restored whole
    // from elsewhere): the config knows this repository from now on.
    share.config.repository = epoch;
    if (shares_.count(share.config.id)) (void)Persist();
  }
  auto reader = (*repo)->OpenReader();
  if (!reader) {
    unavailable(reader.error().message, true);
    return;
  }
  sync::ShareEngine::Options options{share.config.name, share.config.path, share.secrets, device_.ShortId(),
                                     device_.DeviceId(), test_hooks_, [this, id = share.config.id] { OnHealthChanged(id); },
                                     [this, id = share.config.id](sync::EventType type, nlohmann::json data) {
                                       events_.Add(type, id, std::move(data));
                                     },
                                     share.config.versioning};
  share.engine = std::make_shared<sync::ShareEngine>(io_, pool_, fs_, std::move(options), std::move(*repo),
                                                     std::move(*reader));
  share.engine->SetEnabled(share.config.enabled);
  share.engine->SetLimits(share.config.upload_limit, share.config.download_limit);
  if (!share.last_error.empty()) spdlog::info("share {}: available again", name);
  share.last_error.clear();
  share.told_unavailable.clear();
  share.retry_open = false;
  share.open_backoff.Reset();
}

void Service::TellUnavailable(Share& share, const std::string& why) {
  if (why == share.told_unavailable) return;
  share.told_unavailable = why;
  events_.Add(sync::EventType::kShareError, share.config.id, {{"message", why}});
  events_.Add(sync::EventType::kShareStateChanged, share.config.id,
              {{"state", sync::kStateError}, {"reason", why}, {"from", ""}});
}

void Service::OnHealthChanged(const std::string& id) {
  auto it = shares_.find(id);
  if (it != shares_.end() && it->second->engine &&
      it->second->engine->health() == sync::ShareEngine::Health::kFolderUnavailable) {
    // The folder (perhaps a whole drive) went away under the engine: its
    // database handles may point at a filesystem that is gone for good. It
    // is closed, and the share is opened afresh once the folder is back.
    Share& share = *it->second;
    std::shared_ptr<sync::ShareEngine> engine = std::move(share.engine);
    share.engine.reset();
    sync::EngineStatus status = engine->Status();
    share.last_error = status.last_error;
    share.told_unavailable = status.last_error;  // the engine told it
    share.last_index = status.index;
    share.retry_open = true;
    share.next_open_try = {};
    share.open_backoff.Reset();
    share.closing = engine;
    auto close = [](std::shared_ptr<Share> share, std::shared_ptr<sync::ShareEngine> engine) -> asio::awaitable<void> {
      (void)co_await engine->Shutdown(false);
      if (share->closing == engine) share->closing.reset();
    };
    asio::co_spawn(io_, close(it->second, engine), LogIfThrew("closing a share", spdlog::level::err));
  }
  UpdateNetwork();
}

// Shares that could not be opened are tried again while waiting can help:
// every second while the folder is missing (a stat), less and less often
// while it is there but the repository still fails to open.
asio::awaitable<void> Service::RetryUnavailableShares() {
  while (!stopped_) {
    retry_timer_.expires_after(std::chrono::seconds(1));
    std::error_code ec;
    co_await retry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped_) co_return;
    bool opened = false;
    const auto now = std::chrono::steady_clock::now();
    for (auto& [id, share] : shares_) {
      // A state change no event of the engine's marked is told within a second.
      if (share->engine) share->engine->NoteState();
      if (share->engine || !share->retry_open || share->repairing || share->closing) continue;
      const bool folder_there = store::CheckShareFolder(share->config.path, share->secrets.share_id()).has_value();
      if (folder_there && now < share->next_open_try) continue;
      OpenEngine(*share, false);
      if (share->engine) {
        share->engine->Start();
        opened = true;
      } else if (folder_there) {
        share->next_open_try = now + share->open_backoff.Next();
      }
    }
    if (opened) UpdateNetwork();
  }
}

Service::Service(stdfs::path config_dir, Config config, crypto::DeviceKey device, int lock_fd,
                 sync::ShareEngine::TestHooks test_hooks, size_t events_kept)
    : pool_(2), events_(io_, events_kept), config_dir_(std::move(config_dir)), config_(std::move(config)),
      device_(device), lock_fd_(lock_fd), rescan_timer_(io_), retry_timer_(io_), test_hooks_(test_hooks),
      web_access_(std::make_shared<WebAccess>(config_.gui.api_key, config_.gui.password_hash)) {
  for (ShareConfig& sc : config_.shares) {
    auto parsed = crypto::ParseToken(sc.secret);  // validated by LoadConfig
    auto share = std::make_shared<Share>(sc, parsed->secrets);
    // A repository missing at start is an error, never silently remade: the
    // folder may be an empty mount point. (A crash between writing the
    // config and making the repository leaves the same: `tandem repair`.)
    OpenEngine(*share, false);
    shares_.emplace(sc.id, std::move(share));
  }
  // Repositories adopted from before the config recorded them are recorded now.
  bool adopted = std::any_of(config_.shares.begin(), config_.shares.end(), [&](const ShareConfig& sc) {
    return shares_.at(sc.id)->config.repository != sc.repository;
  });
  if (adopted) (void)Persist();
}

Service::~Service() {
  Stop();
  if (discovery_) discovery_->Stop();
  if (network_) network_->Stop();
  for (auto& [id, share] : shares_) {
    if (!share->engine) continue;
    share->engine->SetEnabled(false);
    share->engine->SetLimits(0, 0);  // blocks waiting their turn go, into closed connections
  }
  pool_.join();
  // Let cancelled operations finish so their coroutines release what they
  // hold. A coroutine resumed here may hand the pool more work (a RunOn),
  // which no pool thread is left to run: it runs here, in turn with the
  // loop, until both are quiet. Left queued, it would be destroyed with the
  // pool after the loop is gone, and its coroutine's handle posts to the
  // loop as it goes (found by opening and closing a service 1,000 times).
  auto& pool_queue = asio::use_service<asio::detail::scheduler>(pool_);
  for (int round = 0; round < 1000; ++round) {
    io_.restart();
    size_t ran = io_.poll();
    pool_queue.restart();  // it stopped itself when its work ran out at join
    std::error_code ec;
    ran += pool_queue.poll(ec);
    if (ran == 0) break;
  }
  ::close(lock_fd_);
}

void Service::Run() {
  spdlog::info("device {} ({}) with {} shares, config {}", device_.DeviceId(), config_.device_name,
               shares_.size(), config_dir_.string());
  for (auto& [id, share] : shares_) {
    if (share->engine) share->engine->Start();
  }
  auto periodic = [this]() { return PeriodicRescan(); };
  asio::co_spawn(io_, periodic(), LogIfThrew("periodic rescan", spdlog::level::err));
  auto retry = [this]() { return RetryUnavailableShares(); };
  asio::co_spawn(io_, retry(), LogIfThrew("reopening shares", spdlog::level::err));
  io_.run();
}

void Service::Stop() {
  stopped_ = true;
  events_.Close();
  rescan_timer_.cancel();
  retry_timer_.cancel();
  io_.stop();
}

asio::awaitable<void> Service::PeriodicRescan() {
  while (!stopped_) {
    rescan_timer_.expires_after(std::chrono::seconds(std::max(1, config_.rescan_interval_s)));
    std::error_code ec;
    co_await rescan_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec || stopped_) co_return;
    for (auto& [id, share] : shares_) {
      if (!share->engine) continue;
      share->engine->ScheduleScan();
      // Versions past their policy go on the same round (and at start).
      auto cleanup = [](std::shared_ptr<sync::ShareEngine> engine) -> asio::awaitable<void> {
        (void)co_await engine->CleanupVersions();
      };
      asio::co_spawn(io_, cleanup(share->engine), LogIfThrew("cleaning up versions"));
    }
  }
}

Result<std::shared_ptr<Share>> Service::Find(const std::string& key) const {
  if (key.empty()) return Invalid("no share given: name a share by its id, an id prefix or its name");
  if (auto it = shares_.find(key); it != shares_.end()) return it->second;
  // A name beats an id prefix: "docs" must not become ambiguous because some
  // share's UUID happens to start with "d".
  for (bool by_name : {true, false}) {
    std::vector<std::shared_ptr<Share>> matches;
    for (const auto& [id, share] : shares_) {
      if (by_name ? share->config.name == key : id.starts_with(key)) matches.push_back(share);
    }
    if (matches.size() == 1) return matches.front();
    if (matches.size() > 1) {
      return Invalid("'" + key + "' matches " + std::to_string(matches.size()) + " shares; " +
                     (by_name ? "use the share's id instead" : "give more of the id"));
    }
  }
  return MakeError(ErrorCode::kNotFound, "no share '" + key + "'; `tandem list` shows the shares");
}

Result<stdfs::path> Service::CheckNewSharePath(const std::string& text, bool create) const {
  if (text.empty()) return Invalid("a folder path is required");
  stdfs::path path(text);
  if (!path.is_absolute()) {
    return Invalid("path '" + text + "' is relative; give an absolute path");
  }
  std::error_code ec;
  auto status = stdfs::symlink_status(path, ec);
  bool missing = ec || status.type() == stdfs::file_type::not_found;
  if (missing && !create) return MakeError(ErrorCode::kNotFound, "folder " + text + " does not exist");
  if (!missing && !stdfs::is_directory(path, ec)) return Invalid(text + " is not a folder");
  stdfs::path canonical = stdfs::weakly_canonical(path, ec);
  if (ec) return MakeError(ErrorCode::kIo, "cannot resolve " + text + ": " + ec.message());
  if (missing && !stdfs::is_directory(canonical.parent_path(), ec)) {
    return MakeError(ErrorCode::kNotFound,
                     "cannot create " + text + ": its parent folder does not exist");
  }
  for (const auto& [id, share] : shares_) {
    stdfs::path other(share->config.path);
    const std::string label = "share '" + share->config.name + "' (" + share->config.path + ")";
    if (canonical == other) return MakeError(ErrorCode::kAlreadyExists, text + " is already " + label);
    if (IsWithin(canonical, other)) return Invalid(text + " is inside " + label + "; shares cannot nest");
    if (IsWithin(other, canonical)) return Invalid(text + " contains " + label + "; shares cannot nest");
  }
  if (IsWithin(canonical, config_dir_) || IsWithin(config_dir_, canonical)) {
    return Invalid(text + " holds or is inside Tandem's config folder " + config_dir_.string());
  }
  if (missing) {
    stdfs::create_directory(canonical, ec);
    if (ec) return MakeError(ErrorCode::kIo, "cannot create " + text + ": " + ec.message());
  }
  return canonical;
}

Result<std::string> Service::CheckName(const std::string& name, const stdfs::path& dir) const {
  std::string chosen = name.empty() ? dir.filename().string() : name;
  if (chosen.empty()) chosen = "share";
  if (chosen.size() > 255) return Invalid("share name is longer than 255 bytes");
  for (unsigned char c : chosen) {
    if (c < 0x20 || c == 0x7f) return Invalid("share name contains control characters");
  }
  return chosen;
}

Result<void> Service::Persist() {
  config_.shares.clear();
  for (const auto& [id, share] : shares_) config_.shares.push_back(share->config);
  auto saved = SaveConfig(config_dir_ / kConfigFileName, config_);
  if (!saved) spdlog::error("cannot save config: {}", saved.error().message);
  return saved;
}

Result<ShareInfo> Service::Register(ShareConfig sc, crypto::ShareSecrets secrets) {
  auto share = std::make_shared<Share>(sc, std::move(secrets));
  // Config first: a crash after this line leaves a share without a
  // repository, which `tandem repair` makes, never a repository nobody
  // knows the key of.
  shares_.emplace(sc.id, share);
  if (auto saved = Persist(); !saved) {
    shares_.erase(sc.id);
    return saved.error();
  }
  OpenEngine(*share, true);
  if (!share->engine) {
    Error error = MakeError(ErrorCode::kFailedPrecondition, share->last_error);
    shares_.erase(sc.id);
    (void)Persist();
    return error;
  }
  (void)Persist();  // with the repository's epoch
  spdlog::info("share {}: added, folder {} ({} replica, id {})", sc.name, sc.path,
               crypto::AccessModeName(share->secrets.mode()), sc.id);
  share->engine->Start();
  UpdateNetwork();
  return InfoOf(*share);
}

Result<ShareInfo> Service::ShareAdd(const std::string& path, const std::string& name) {
  TANDEM_ASSIGN_OR_RETURN(stdfs::path dir, CheckNewSharePath(path, false));
  std::error_code ec;
  if (stdfs::exists(dir / RelPath::kRepoDirName / store::kIndexFileName, ec)) {
    return MakeError(ErrorCode::kAlreadyExists,
                     dir.string() + " already holds a Tandem repository (.tandem) from an earlier "
                     "share; import that share's token to pick it up again, or delete " +
                         (dir / RelPath::kRepoDirName).string() + " to start a new share");
  }
  TANDEM_ASSIGN_OR_RETURN(std::string chosen, CheckName(name, dir));
  auto secrets = crypto::ShareSecrets::GenerateWrite();
  ShareConfig sc{.id = NewUuid(), .path = dir.string(), .name = chosen,
                 .secret = crypto::EncodeToken(secrets, crypto::AccessMode::kWrite),
                 .peers = {}, .enabled = true};
  return Register(std::move(sc), std::move(secrets));
}

Result<ShareInfo> Service::ShareImportFromToken(const std::string& token, const std::string& path,
                                                const std::string& name) {
  TANDEM_ASSIGN_OR_RETURN(crypto::ParsedToken parsed, crypto::ParseToken(token));
  for (const auto& [id, share] : shares_) {
    if (share->secrets.share_id() == parsed.secrets.share_id()) {
      return MakeError(ErrorCode::kAlreadyExists, "this device already has that share, as '" +
                                                      share->config.name + "' in " + share->config.path);
    }
  }
  // Check the folder only after the token: a bad token must create nothing.
  bool existed = stdfs::exists(path);
  TANDEM_ASSIGN_OR_RETURN(stdfs::path dir, CheckNewSharePath(path, true));
  auto chosen = CheckName(name.empty() ? parsed.suggested_name : name, dir);
  if (!chosen) {
    if (!existed) stdfs::remove(dir);
    return chosen.error();
  }
  ShareConfig sc{.id = NewUuid(), .path = dir.string(), .name = *chosen,
                 .secret = crypto::EncodeToken(parsed.secrets, parsed.secrets.mode()),
                 .peers = {}, .enabled = true};
  auto info = Register(std::move(sc), std::move(parsed.secrets));
  if (!info && !existed) stdfs::remove(dir);
  return info;
}

asio::awaitable<Result<void>> Service::ShareRemove(std::string key, bool delete_repo) {
  auto found = Find(key);
  if (!found) co_return found.error();
  std::shared_ptr<Share> share = *found;
  if (share->repairing) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        "share '" + share->config.name + "' is being repaired; remove it once that is done");
  }
  shares_.erase(share->config.id);
  if (auto saved = Persist(); !saved) {
    shares_.emplace(share->config.id, share);
    co_return saved.error();
  }
  spdlog::info("share {}: removed ({}; id {})", share->config.name, delete_repo ? "repository deleted" : "repository kept",
               share->config.id);
  UpdateNetwork();
  if (!share->engine) {
    if (delete_repo) co_return store::DeleteRepository(share->config.path, share->secrets.share_id());
    co_return Ok();
  }
  // Only the .tandem folder is ever deleted; the user's files stay as they are.
  std::shared_ptr<sync::ShareEngine> engine = share->engine;
  Result<void> closed = co_await engine->Shutdown(delete_repo);
  co_return closed;
}

ShareInfo Service::InfoOf(const Share& share) const {
  ShareInfo info;
  info.id = share.config.id;
  info.name = share.config.name;
  info.path = share.config.path;
  info.mode = share.secrets.mode();
  info.enabled = share.config.enabled;
  info.peers = share.config.peers;
  if (!share.engine) {
    info.state = sync::kStateError;
    info.state_reason = share.last_error;
    info.last_error = share.last_error;
    info.index = share.last_index;
    return info;
  }
  sync::EngineStatus status = share.engine->Status();
  info.last_error = status.last_error;
  info.state = status.state;
  info.state_reason = status.state_reason;
  info.completion = status.completion;
  info.need_deletes = status.need_deletes;
  info.download_rate = status.download_rate;
  info.upload_rate = status.upload_rate;
  info.sent_bytes = status.sent_bytes;
  info.last_in_sync_unix = status.last_in_sync_unix;
  info.attached = std::move(status.peers);
  info.connected_devices = std::move(status.connected_devices);
  info.need_files = status.need_files;
  info.need_bytes = status.need_bytes;
  info.received_bytes = status.received_bytes;
  info.local_changes = status.local_changes;
  info.failed = std::move(status.failed);
  info.skipped = std::move(status.skipped);
  info.versioning = share.config.versioning;
  info.upload_limit = share.config.upload_limit;
  info.download_limit = share.config.download_limit;
  info.discovery = share.config.discovery;
  info.ignored = status.ignored;
  info.ignore_error = std::move(status.ignore_error);
  info.index = status.index;
  info.last_scan = status.last_scan;
  info.last_scan_unix = status.last_scan_unix;
  return info;
}

std::vector<ShareInfo> Service::ShareList() const {
  std::vector<ShareInfo> list;
  for (const auto& [id, share] : shares_) list.push_back(InfoOf(*share));
  std::sort(list.begin(), list.end(), [](const ShareInfo& a, const ShareInfo& b) {
    return a.name != b.name ? a.name < b.name : a.id < b.id;
  });
  return list;
}

Result<ShareInfo> Service::ShareGetInfo(const std::string& key) const {
  TANDEM_ASSIGN_OR_RETURN(auto share, Find(key));
  return InfoOf(*share);
}

Result<std::string> Service::ShareAddPeer(const std::string& key, const std::string& address) {
  TANDEM_ASSIGN_OR_RETURN(auto share, Find(key));
  TANDEM_ASSIGN_OR_RETURN(net::PeerAddress parsed, net::ParsePeerAddress(address));
  std::string normal = parsed.ToString();
  auto& peers = share->config.peers;
  if (std::find(peers.begin(), peers.end(), normal) != peers.end()) {
    return MakeError(ErrorCode::kAlreadyExists, normal + " is already a peer of share '" + share->config.name + "'");
  }
  peers.push_back(normal);
  if (auto saved = Persist(); !saved) {
    peers.pop_back();
    return saved.error();
  }
  UpdateNetwork();
  return normal;
}

Result<void> Service::ShareRemovePeer(const std::string& key, const std::string& address) {
  TANDEM_ASSIGN_OR_RETURN(auto share, Find(key));
  TANDEM_ASSIGN_OR_RETURN(net::PeerAddress parsed, net::ParsePeerAddress(address));
  auto& peers = share->config.peers;
  auto it = std::find(peers.begin(), peers.end(), parsed.ToString());
  if (it == peers.end()) {
    return MakeError(ErrorCode::kNotFound, parsed.ToString() + " is not a peer of share '" + share->config.name + "'");
  }
  auto saved_peers = peers;
  peers.erase(it);
  if (auto saved = Persist(); !saved) {
    peers = std::move(saved_peers);
    return saved.error();
  }
  UpdateNetwork();
  return Ok();
}

Result<std::vector<PeerInfo>> Service::ShareListPeers(const std::string& key) const {
  TANDEM_ASSIGN_OR_RETURN(auto share, Find(key));
  std::vector<PeerInfo> peers;
  std::vector<sync::AttachedPeerStatus> attached;
  if (share->engine) attached = share->engine->Status().peers;
  // What the network knows of an address, configured or found.
  auto peer_at = [&](const std::string& address) {
    PeerInfo peer{address, network_ ? network_->AddressState(address) : "not connected"};
    peer.device_id = network_ ? network_->ConnectedDevice(address) : std::string();
    peer.connected = !peer.device_id.empty();
    for (const auto& a : attached) {
      if (peer.connected && a.device_id == peer.device_id) peer.share = a;
    }
    return peer;
  };
  for (const std::string& address : share->config.peers) peers.push_back(peer_at(address));
  // Addresses LAN discovery found, not configured here.
  if (discovery_) {
    const auto now = std::chrono::steady_clock::now();
    const auto& configured = share->config.peers;
    for (const auto& found : discovery_->FoundFor(share->config.id)) {
      if (std::find(configured.begin(), configured.end(), found.address) != configured.end()) continue;
      PeerInfo peer = peer_at(found.address);
      peer.discovered = true;
      peer.last_seen_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                (std::chrono::system_clock::now() - (now - found.last_seen)).time_since_epoch())
                                .count();
      peers.push_back(std::move(peer));
    }
  }
  // Peers that dialled us, at an address not configured here.
  for (const auto& a : attached) {
    bool listed = std::any_of(peers.begin(), peers.end(), [&](const PeerInfo& p) { return p.device_id == a.device_id; });
    if (!listed) peers.push_back({a.address, "connected (" + a.device_id + "), it dialled", a.device_id, true, a});
  }
  return peers;
}

// A share's on/off setting: saved (put back if the save fails), then the
// network told.
Result<std::shared_ptr<Share>> Service::SetShareSwitch(const std::string& key, bool ShareConfig::*setting, bool on,
                                                       bool* changed) {
  TANDEM_ASSIGN_OR_RETURN(auto share, Find(key));
  *changed = share->config.*setting != on;
  if (!*changed) return share;
  share->config.*setting = on;
  if (auto saved = Persist(); !saved) {
    share->config.*setting = !on;
    return saved.error();
  }
  return share;
}

Result<void> Service::ShareSetSyncEnabled(const std::string& key, bool enabled) {
  bool changed = false;
  TANDEM_ASSIGN_OR_RETURN(auto share, SetShareSwitch(key, &ShareConfig::enabled, enabled, &changed));
  if (!changed) return Ok();
  if (share->engine) share->engine->SetEnabled(enabled);
  UpdateNetwork();
  return Ok();
}

Result<void> Service::ShareSetDiscovery(const std::string& key, bool enabled) {
  bool changed = false;
  TANDEM_ASSIGN_OR_RETURN(auto share, SetShareSwitch(key, &ShareConfig::discovery, enabled, &changed));
  if (!changed) return Ok();
  spdlog::info("share {}: LAN discovery {}", share->config.name, enabled ? "on" : "off");
  UpdateNetwork();
  return Ok();
}

Result<std::string> Service::ShareGetSyncToken(const std::string& key, crypto::AccessMode mode) const {
  TANDEM_ASSIGN_OR_RETURN(auto share, Find(key));
  crypto::AccessMode have = share->secrets.mode();
  if (static_cast<int>(mode) > static_cast<int>(have)) {
    std::string allowed = have == crypto::AccessMode::kRead ? "read or blind" : "blind";
    return MakeError(ErrorCode::kFailedPrecondition,
                     "share '" + share->config.name + "' is a " + crypto::AccessModeName(have) +
                         " replica: it can give " + allowed + " tokens, not " +
                         crypto::AccessModeName(mode) + " ones");
  }
  return crypto::EncodeToken(share->secrets, mode, share->config.name);
}

asio::awaitable<Result<scan::ScanStats>> Service::ShareRescan(std::string key) {
  auto share = Find(key);
  if (!share) co_return share.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->Scan();
}

asio::awaitable<Result<std::vector<sync::Conflict>>> Service::ShareListConflicts(std::string key) {
  auto share = Find(key);
  if (!share) co_return share.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->ListConflicts();
}

Result<sync::VersioningPolicy> Service::ShareSetVersioning(const std::string& key, const VersioningChange& change) {
  auto share = Find(key);
  if (!share) return share.error();
  const sync::VersioningPolicy& now = (*share)->config.versioning;
  sync::VersioningPolicy policy = now;
  policy.kind = change.kind;
  if (change.days) {
    policy.days = *change.days;
  } else if (change.kind != now.kind) {
    policy.days = change.kind == sync::VersioningPolicy::Kind::kStaggered ? 365 : 30;
  }
  if (change.keep) policy.keep = *change.keep;
  if (change.max_bytes) policy.max_bytes = *change.max_bytes;
  if (policy.kind == sync::VersioningPolicy::Kind::kSimple && policy.keep == 0) {
    return Invalid("simple versioning keeps at least 1 version of each file (--keep 1 or more)");
  }
  ShareConfig& config = (*share)->config;
  const sync::VersioningPolicy before = config.versioning;
  config.versioning = policy;
  if (auto saved = Persist(); !saved) {
    config.versioning = before;
    return saved.error();
  }
  if ((*share)->engine) (*share)->engine->SetVersioning(policy);
  spdlog::info("share {}: versioning {}", config.name, sync::DescribeVersioning(policy));
  return policy;
}

asio::awaitable<Result<std::vector<sync::KeptVersion>>> Service::ShareListVersions(std::string key, std::string path) {
  auto share = Find(key);
  if (!share) co_return share.error();
  auto rel = SharePath(path, /*optional=*/true);
  if (!rel) co_return rel.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->ListVersions(std::move(*rel));
}

asio::awaitable<Result<sync::KeptVersion>> Service::ShareRestoreVersion(std::string key, std::string path,
                                                                       std::optional<int64_t> at) {
  auto share = Find(key);
  if (!share) co_return share.error();
  auto rel = SharePath(path);
  if (!rel) co_return rel.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->RestoreVersion(std::move(*rel), at);
}

asio::awaitable<Result<scan::IgnoreVerdict>> Service::ShareCheckIgnored(std::string key, std::string path) {
  auto share = Find(key);
  if (!share) co_return share.error();
  auto rel = SharePath(path);
  if (!rel) co_return rel.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->CheckIgnored(std::move(*rel));
}

asio::awaitable<Result<sync::ShareEngine::IgnorePatternsInfo>> Service::ShareGetIgnorePatterns(std::string key) {
  auto share = Find(key);
  if (!share) co_return share.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->GetIgnorePatterns();
}

asio::awaitable<Result<sync::ShareEngine::IgnorePatternsInfo>> Service::ShareSetIgnorePatterns(std::string key,
                                                                                                std::string text) {
  auto share = Find(key);
  if (!share) co_return share.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->SetIgnorePatterns(std::move(text));
}

asio::awaitable<Result<std::string>> Service::ShareResolveConflict(std::string key, std::string conflict,
                                                                   sync::ConflictKeep keep) {
  auto share = Find(key);
  if (!share) co_return share.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  co_return co_await (*share)->engine->ResolveConflict(std::move(conflict), keep);
}

asio::awaitable<Result<uint64_t>> Service::ShareRevertLocalChanges(std::string key, std::string path) {
  auto share = Find(key);
  if (!share) co_return share.error();
  if (!(*share)->engine) co_return MakeError(ErrorCode::kFailedPrecondition, (*share)->last_error);
  auto rel = SharePath(path, /*optional=*/true);
  if (!rel) co_return rel.error();
  co_return co_await (*share)->engine->RevertLocalChanges(std::move(*rel));
}

asio::awaitable<Result<std::string>> Service::ShareRepair(std::string key, bool force) {
  auto found = Find(key);
  if (!found) co_return found.error();
  std::shared_ptr<Share> share = *found;
  const std::string& name = share->config.name;
  const stdfs::path root = share->config.path;
  if (share->repairing) co_return MakeError(ErrorCode::kFailedPrecondition, "share '" + name + "' is being repaired already");
  std::error_code ec;
  if (!stdfs::is_directory(root, ec)) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        "the share's folder " + root.string() + " is not there; reconnect its drive or move it back "
                        "first (a repair rebuilds the repository from the folder)");
  }
  if (share->engine && share->engine->healthy()) {
    co_return MakeError(ErrorCode::kFailedPrecondition, "share '" + name + "' is working; there is nothing to repair");
  }
  if (share->engine && share->engine->health() == sync::ShareEngine::Health::kStoreUnavailable) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        "share '" + name + "' cannot write its repository (" + share->engine->Status().last_error +
                            "); the repository is not damaged, and syncing resumes by itself once that is fixed");
  }
  if (!force && stdfs::is_empty(root, ec)) {
    co_return MakeError(ErrorCode::kFailedPrecondition,
                        "the share's folder " + root.string() + " is empty: if it is where a drive is mounted, "
                        "mount the drive (syncing resumes by itself). To fill this empty folder from the peers, run "
                        "`tandem repair " + name + " --force`");
  }
  if (auto folder = store::CheckShareFolder(root, share->secrets.share_id());
      !folder && folder.error().code == ErrorCode::kFailedPrecondition && store::HasShareMarker(root)) {
    co_return MakeError(ErrorCode::kFailedPrecondition, folder.error().message + "; not touching it");
  }
  share->repairing = true;
  if (auto closing = share->closing) {
    // Its database connections must be closed before the files move: done
    // on its strand, after the close already queued there.
    (void)co_await closing->Shutdown(false);
  }
  if (auto engine = std::move(share->engine)) {
    share->engine.reset();
    UpdateNetwork();
    (void)co_await engine->Shutdown(false);
  }
  // The damaged files go into .tandem/damaged-STAMP: inside .tandem, which
  // no scan reads, and kept for whoever wants to look at them. Each step
  // can be interrupted: the share is then still "needs repair" at the next
  // start, and the repair is run again.
  const stdfs::path repo_dir = root / RelPath::kRepoDirName;
  std::string aside;
  auto move_aside = [&]() -> Result<void> {
    if (::mkdir(repo_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kIo, "cannot create " + repo_dir.string() + ": " + std::strerror(errno));
    }
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &utc);
    bool any = false;
    for (std::string file : {std::string(store::kIndexFileName), std::string(store::kIndexFileName) + "-wal",
                             std::string(store::kIndexFileName) + "-shm"}) {
      if (!stdfs::exists(repo_dir / file, ec)) continue;
      if (!any) {
        for (int n = 0; n < 100; ++n) {
          aside = std::string("damaged-") + stamp + (n ? "-" + std::to_string(n) : "");
          if (::mkdir((repo_dir / aside).c_str(), 0700) == 0) break;
          if (errno != EEXIST) return MakeError(ErrorCode::kIo, "cannot create " + (repo_dir / aside).string() + ": " + std::strerror(errno));
        }
        any = true;
      }
      if (::rename((repo_dir / file).c_str(), (repo_dir / aside / file).c_str()) != 0) {
        return MakeError(ErrorCode::kIo, "cannot move " + (repo_dir / file).string() + " aside: " + std::strerror(errno));
      }
    }
    return Ok();
  };
  if (auto moved = move_aside(); !moved) {
    share->repairing = false;
    share->last_error = moved.error().message;
    co_return moved.error();
  }
  OpenEngine(*share, /*new_share=*/true);
  share->repairing = false;
  if (!shares_.count(share->config.id) && share->engine) {
    // Removed meanwhile (it could not be while repairing, but be sure).
    auto engine = std::move(share->engine);
    (void)co_await engine->Shutdown(false);
    co_return MakeError(ErrorCode::kNotFound, "share '" + name + "' was removed");
  }
  if (!share->engine) co_return MakeError(ErrorCode::kFailedPrecondition, share->last_error);
  spdlog::info("share {}: repaired{}; a new repository is rebuilt from the folder and the peers", name,
               aside.empty() ? "" : " (the old one is in " + (repo_dir / aside).string() + ")");
  share->engine->Start();
  UpdateNetwork();
  co_return (aside.empty() ? std::string("made a new repository") : "moved the damaged repository to " + (repo_dir / aside).string() + " and made a new one") +
      "; it is rebuilt from the folder and the peers, and files that differ from the peers' versions are kept as conflict copies";
}

Result<Service::GuiLogin> Service::GuiLoginLink() {
  std::string address = web_access_->address();
  if (address.empty()) {
    std::string why = web_access_->off_because();
    if (!why.empty()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       "the web UI is off (" + why + "): start the daemon with --gui and a free port, e.g. --gui 127.0.0.1:20211");
    }
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the web UI is off: start the daemon with --gui 127.0.0.1:20210 (or another address)");
  }
  GuiLogin login;
  login.url = "http://" + address + "/";
  login.login_url = login.url + "login?token=" + web_access_->MintLoginToken();
  login.api_key = web_access_->api_key();
  login.password = web_access_->has_password();
  return login;
}

asio::awaitable<Result<bool>> Service::GuiSetPassword(std::string password) {
  std::string hash;
  if (password.empty()) {
    if (web_access_->beyond_loopback()) {
      co_return MakeError(ErrorCode::kFailedPrecondition,
                          "the web UI listens on " + web_access_->address() +
                              ", beyond this machine, so it must keep a password; restart the daemon with "
                              "--gui 127.0.0.1:20210 first");
    }
  } else {
    // Argon2id takes tens of milliseconds and 64 MiB: not on the loop.
    auto make_hash = [password = std::move(password)] { return crypto::HashPassword(password); };
    auto made = co_await RunOn(pool_.get_executor(), std::move(make_hash));
    if (!made) co_return made.error();
    hash = std::move(*made);
  }
  const std::string before = config_.gui.password_hash;
  config_.gui.password_hash = hash;
  if (auto saved = Persist(); !saved) {
    config_.gui.password_hash = before;
    co_return saved.error();
  }
  web_access_->SetPasswordHash(hash);
  spdlog::info("web UI password {}", hash.empty() ? "cleared" : "set");
  co_return !hash.empty();
}

DeviceInfo Service::GetDeviceInfo() const {
  DeviceInfo info{device_.DeviceId(), config_.device_name, config_.listen, config_dir_.string(), 0, {}};
  if (network_) info.listening_port = network_->listening_port();
  info.last_event_id = events_.last_id();
  info.limits = config_.limits;
  for (const auto& [id, share] : shares_) {
    if (!share->engine) continue;
    const sync::EngineStatus status = share->engine->Status();
    info.upload_rate += status.upload_rate;
    info.download_rate += status.download_rate;
  }
  return info;
}

namespace {

// A limit's words for messages: "1.5 MiB/s".
std::string RateText(uint64_t bytes_per_second) {
  if (bytes_per_second == 0) return "none";
  char text[32];
  if (bytes_per_second >= (1u << 20)) {
    std::snprintf(text, sizeof text, "%.1f MiB/s", static_cast<double>(bytes_per_second) / (1u << 20));
  } else {
    std::snprintf(text, sizeof text, "%.0f KiB/s", static_cast<double>(bytes_per_second) / 1024);
  }
  return text;
}

Result<void> CheckLimit(const std::optional<uint64_t>& limit, const char* which) {
  if (!limit || *limit == 0 || *limit >= kLeastLimit) return Ok();
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string("the ") + which + " limit of " + std::to_string(*limit) +
                       " bytes a second is too low: give 0 for none, or at least " + std::to_string(kLeastLimit) +
                       " (32 KiB/s; below it a block would wait longer than a peer waits for it)");
}

}  // namespace

Result<std::string> Service::ConfigReload() {
  const stdfs::path file = config_dir_ / kConfigFileName;
  auto refuse = [](ErrorCode code, const std::string& why) {
    return MakeError(code, "config not reloaded, nothing changed: " + why);
  };
  auto loaded = LoadConfig(file);
  if (!loaded) return refuse(loaded.error().code, loaded.error().message);
  Config& next = *loaded;
  if (next.device_seed != config_.device_seed) {
    return refuse(ErrorCode::kFailedPrecondition, "its device key differs from the running one (a new key takes a restart)");
  }
  std::set<std::string> ids;
  for (const ShareConfig& sc : next.shares) ids.insert(sc.id);
  if (ids.size() != next.shares.size()) return refuse(ErrorCode::kInvalidArgument, "a share is listed twice");
  if (ids.size() != shares_.size() ||
      !std::all_of(ids.begin(), ids.end(), [&](const std::string& id) { return shares_.count(id) > 0; })) {
    return refuse(ErrorCode::kFailedPrecondition,
                  "it adds or removes shares; add, import and remove shares with tandem add, import and remove");
  }
  auto limits_ok = [&](uint64_t upload, uint64_t download) -> Result<void> {
    for (auto [limit, which] : {std::pair{upload, "upload"}, std::pair{download, "download"}}) {
      if (auto bad = CheckLimit(limit, which); !bad) return refuse(ErrorCode::kInvalidArgument, bad.error().message);
    }
    return Ok();
  };
  TANDEM_RETURN_IF_ERROR(limits_ok(next.limits.upload, next.limits.download));
  std::set<std::string> names;
  for (const ShareConfig& sc : next.shares) {
    if (!names.insert(sc.name).second) return refuse(ErrorCode::kInvalidArgument, "two shares are named " + sc.name);
  }
  for (ShareConfig& sc : next.shares) {
    const ShareConfig& now = shares_.at(sc.id)->config;
    if (sc.path != now.path || sc.secret != now.secret) {
      return refuse(ErrorCode::kFailedPrecondition, "share " + now.name + "'s folder or secret differs from the running "
                                                    "one; a share moves by tandem remove and add (or import)");
    }
    if (sc.name.empty()) return refuse(ErrorCode::kInvalidArgument, "share " + now.name + " has an empty name");
    if (sc.versioning.kind == sync::VersioningPolicy::Kind::kSimple && sc.versioning.keep == 0) {
      return refuse(ErrorCode::kInvalidArgument, "share " + now.name + ": simple versioning keeps at least 1 version");
    }
    TANDEM_RETURN_IF_ERROR(limits_ok(sc.upload_limit, sc.download_limit));
    for (std::string& peer : sc.peers) {
      auto address = net::ParsePeerAddress(peer);
      if (!address) return refuse(ErrorCode::kInvalidArgument, "share " + now.name + ": " + address.error().message);
      peer = address->ToString();
    }
  }

  // A password cleared by hand (forgotten) is in force at once; the UI
  // beyond loopback still needs one.
  const bool password_changed = next.gui.password_hash != config_.gui.password_hash;
  if (password_changed && next.gui.password_hash.empty() && web_access_->beyond_loopback()) {
    return refuse(ErrorCode::kFailedPrecondition, "the web UI listens beyond this machine and needs a password");
  }

  std::vector<std::string> changed;
  if (password_changed) {
    config_.gui.password_hash = next.gui.password_hash;
    web_access_->SetPasswordHash(next.gui.password_hash);
    changed.push_back(next.gui.password_hash.empty() ? "the web UI password (cleared)" : "the web UI password");
  }
  if (next.limits.upload != config_.limits.upload || next.limits.download != config_.limits.download ||
      next.limits.apply_on_lan != config_.limits.apply_on_lan) {
    config_.limits = next.limits;
    if (network_) network_->SetLimits(next.limits.upload, next.limits.download, next.limits.apply_on_lan);
    changed.push_back("the device's limits");
  }
  if (next.rescan_interval_s != config_.rescan_interval_s) {
    config_.rescan_interval_s = next.rescan_interval_s;
    changed.push_back("the rescan interval (from the next rescan)");
  }
  if (next.listen != config_.listen || next.device_name != config_.device_name) {
    config_.listen = next.listen;
    config_.device_name = next.device_name;
    changed.push_back("the listen address or device name (in force at the next start)");
  }
  for (const ShareConfig& sc : next.shares) {
    Share& share = *shares_.at(sc.id);
    ShareConfig& now = share.config;
    const std::string name = now.name;
    bool share_changed = false;
    if (sc.name != now.name || sc.peers != now.peers || sc.discovery != now.discovery) share_changed = true;
    if (sc.enabled != now.enabled) {
      if (share.engine) share.engine->SetEnabled(sc.enabled);
      share_changed = true;
    }
    if (sc.upload_limit != now.upload_limit || sc.download_limit != now.download_limit) {
      if (share.engine) share.engine->SetLimits(sc.upload_limit, sc.download_limit);
      share_changed = true;
    }
    if (!(sc.versioning == now.versioning)) {
      if (share.engine) share.engine->SetVersioning(sc.versioning);
      share_changed = true;
    }
    const std::string repository = now.repository;
    now = sc;
    now.repository = repository;  // the running share's own record of its repository
    if (share_changed) changed.push_back("share " + name);
  }
  UpdateNetwork();
  std::string done = changed.empty() ? "config reloaded: nothing had changed" : "config reloaded: ";
  for (size_t i = 0; i < changed.size(); ++i) done += (i ? ", " : "") + changed[i];
  spdlog::info("{}", done);
  return done;
}

Result<BandwidthLimits> Service::DeviceSetLimits(const LimitsChange& change) {
  TANDEM_RETURN_IF_ERROR(CheckLimit(change.upload, "upload"));
  TANDEM_RETURN_IF_ERROR(CheckLimit(change.download, "download"));
  const BandwidthLimits before = config_.limits;
  BandwidthLimits& limits = config_.limits;
  limits.upload = change.upload.value_or(limits.upload);
  limits.download = change.download.value_or(limits.download);
  limits.apply_on_lan = change.apply_on_lan.value_or(limits.apply_on_lan);
  if (auto saved = Persist(); !saved) {
    limits = before;
    return saved.error();
  }
  if (network_) network_->SetLimits(limits.upload, limits.download, limits.apply_on_lan);
  spdlog::info("device limits: upload {}, download {}, {}", RateText(limits.upload), RateText(limits.download),
               limits.apply_on_lan ? "also on the local network" : "not on the local network");
  return limits;
}

Result<BandwidthLimits> Service::ShareSetLimits(const std::string& key, const LimitsChange& change) {
  auto share = Find(key);
  if (!share) return share.error();
  if (change.apply_on_lan) {
    return Invalid("whether limits hold on the local network is the device's setting, for every share: "
                   "set it without naming a share");
  }
  TANDEM_RETURN_IF_ERROR(CheckLimit(change.upload, "upload"));
  TANDEM_RETURN_IF_ERROR(CheckLimit(change.download, "download"));
  ShareConfig& config = (*share)->config;
  const ShareConfig before = config;
  config.upload_limit = change.upload.value_or(config.upload_limit);
  config.download_limit = change.download.value_or(config.download_limit);
  if (auto saved = Persist(); !saved) {
    config = before;
    return saved.error();
  }
  if ((*share)->engine) (*share)->engine->SetLimits(config.upload_limit, config.download_limit);
  spdlog::info("share {}: limits: upload {}, download {}", config.name, RateText(config.upload_limit),
               RateText(config.download_limit));
  return BandwidthLimits{config.upload_limit, config.download_limit, config_.limits.apply_on_lan};
}

asio::awaitable<Result<EventPage>> Service::EventsPoll(uint64_t since, std::chrono::milliseconds timeout,
                                                       std::vector<std::string> types, std::string share,
                                                       size_t limit) {
  EventFilter filter;
  for (const std::string& name : types) {
    auto type = sync::ParseEventType(name);
    if (!type) {
      std::string known;
      for (sync::EventType t : sync::AllEventTypes()) known += (known.empty() ? "" : ", ") + std::string(sync::EventTypeName(t));
      co_return Invalid("unknown event type '" + name + "'; the types are " + known);
    }
    filter.types.insert(*type);
  }
  if (!share.empty()) {
    auto found = Find(share);
    if (!found) co_return found.error();
    filter.share = (*found)->config.id;
  }
  if (limit < 1 || limit > EventLog::kMaxPage) {
    co_return Invalid("limit must be from 1 to " + std::to_string(EventLog::kMaxPage));
  }
  if (timeout < std::chrono::milliseconds(0)) co_return Invalid("timeout_ms must be 0 or more");
  co_return co_await events_.Poll(since, timeout, std::move(filter), limit);
}

}  // namespace tandem::service
