// Service: the daemon's core. Owns the config, the share set and (from the
// sync issue on) the network; every API of DESIGN.md §5 is a member here,
// served unchanged over JSON-RPC (rpc.h), the C ABI and the CLI.
//
// Threads: all members run on the event-loop thread given at creation (no
// locks); scans and other repository work run on each share's strand of the
// worker pool and post back. Failures caused by the request come back as
// Result errors whose message says what to do.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "fs/filesystem.h"
#include "service/config.h"
#include "service/event_log.h"
#include "service/share.h"
#include "service/web_access.h"
#include "sync/discovery.h"
#include "sync/network.h"

namespace tandem::service {

struct ShareInfo {
  std::string id;
  std::string name;
  std::string path;
  crypto::AccessMode mode = crypto::AccessMode::kWrite;
  bool enabled = true;
  std::string state;         // one of sync::kState*: idle, scanning, syncing, waiting for peers, paused, error
  std::string state_reason;  // why, in words
  std::string last_error;
  // Percent of the share's version held here; none before a peer has sent
  // its whole index (nobody knows the share's version yet).
  std::optional<double> completion;
  uint64_t need_deletes = 0;
  uint64_t download_rate = 0;  // bytes a second
  uint64_t upload_rate = 0;
  uint64_t upload_limit = 0;  // bytes a second; 0: none
  uint64_t download_limit = 0;
  bool discovery = false;  // announced on the local network
  uint64_t sent_bytes = 0;
  int64_t last_in_sync_unix = 0;  // 0: not since the daemon started
  std::vector<sync::AttachedPeerStatus> attached;
  std::vector<std::string> peers;
  std::vector<std::string> connected_devices;
  uint64_t need_files = 0;
  uint64_t need_bytes = 0;
  uint64_t received_bytes = 0;
  std::vector<scan::LocalChange> local_changes;  // read replicas
  std::vector<sync::NeedQueue::Failure> failed;  // paths not brought up to date, each with why
  std::vector<std::string> skipped;              // paths the last scan could not index, each with why
  sync::VersioningPolicy versioning;  // what is kept of files a peer's change replaces or deletes
  uint64_t ignored = 0;       // ignored paths the scans met (a folder ignored whole counts once)
  std::string ignore_error;   // why .tandemignore is not in force as written (empty: it is)
  store::IndexSummary index;
  scan::ScanStats last_scan;
  int64_t last_scan_unix = 0;
};

struct PeerInfo {
  std::string address;
  std::string state;  // "connected (DEVICE-ID)", "connecting", "retrying in N s: why", ...
  std::string device_id;  // when connected
  bool connected = false;
  // How much of our version it has been sent, when it has the share attached.
  std::optional<sync::AttachedPeerStatus> share;
  // Found by LAN discovery, not configured; `last_seen_unix` is when its
  // beacon was last heard.
  bool discovered = false;
  int64_t last_seen_unix = 0;
};

struct DeviceInfo {
  std::string device_id;
  std::string device_name;
  std::string listen;
  std::string config_dir;
  uint16_t listening_port = 0;
  std::vector<std::string> connected_devices;
  uint64_t last_event_id = 0;  // to read events from now on (events_poll since)
  BandwidthLimits limits;
  uint64_t upload_rate = 0;  // bytes a second, all shares together
  uint64_t download_rate = 0;
};

// The least bandwidth limit: below it one 256 KiB block would wait longer
// than a peer waits for an answer (sync/peer_session.h, kBlockTimeout).
inline constexpr uint64_t kLeastLimit = 32 * 1024;

class Service {
 public:
  struct Options {
    std::filesystem::path config_dir;
    std::string listen;  // overrides the config's when not empty
    size_t events_kept = EventLog::kDefaultCapacity;  // the event ring's size
    sync::ShareEngine::TestHooks test_hooks;  // for tests of other peers only
  };

  // Loads (or creates) the config, takes the config dir's daemon lock and
  // opens every share's repository. kFailedPrecondition if another daemon
  // holds the lock; kCorrupt if the config is damaged.
  static Result<std::unique_ptr<Service>> Create(Options options);
  // Waits for work running on the pool, then drops whatever is still queued
  // on the loop before the pool goes (queued coroutines hold shares, whose
  // strands belong to the pool).
  ~Service();

  // The event loop everything here runs on; front ends add their own I/O to it.
  asio::io_context& io() { return io_; }
  // Starts the initial and periodic scans, then runs the loop on the calling
  // thread until Stop().
  void Run();
  // Stops the loop; running scans finish on their strands. Safe from any
  // handler on the loop.
  void Stop();

  Result<ShareInfo> ShareAdd(const std::string& path, const std::string& name);
  Result<ShareInfo> ShareImportFromToken(const std::string& token, const std::string& path,
                                         const std::string& name);
  asio::awaitable<Result<void>> ShareRemove(std::string share, bool delete_repo);
  std::vector<ShareInfo> ShareList() const;
  Result<ShareInfo> ShareGetInfo(const std::string& share) const;
  Result<std::string> ShareAddPeer(const std::string& share, const std::string& address);
  Result<void> ShareRemovePeer(const std::string& share, const std::string& address);
  Result<std::vector<PeerInfo>> ShareListPeers(const std::string& share) const;
  Result<void> ShareSetSyncEnabled(const std::string& share, bool enabled);
  // LAN discovery for the share (sync/discovery.h): saved, in force at once.
  Result<void> ShareSetDiscovery(const std::string& share, bool enabled);
  Result<std::string> ShareGetSyncToken(const std::string& share, crypto::AccessMode mode) const;
  // Scans the share now and returns what the scan did.
  asio::awaitable<Result<scan::ScanStats>> ShareRescan(std::string share);
  asio::awaitable<Result<std::vector<sync::Conflict>>> ShareListConflicts(std::string share);
  asio::awaitable<Result<std::string>> ShareResolveConflict(std::string share, std::string conflict,
                                                            sync::ConflictKeep keep);
  // A read replica's local changes (all, or at and below `path`) go back to
  // the share's version; returns how many paths.
  asio::awaitable<Result<uint64_t>> ShareRevertLocalChanges(std::string share, std::string path);
  // Moves the share's repository aside (into .tandem/damaged-STAMP) and
  // makes a new one, a new incarnation with its own replica id, rebuilt from
  // the folder (every file a version of its own, concurrent with the peers')
  // and from the peers. Nothing in the folder is changed. Returns what was
  // done, in words. kFailedPrecondition when the folder is not there or the
  // share is healthy.
  // An empty folder is refused unless `force` (it may be an empty mount point).
  asio::awaitable<Result<std::string>> ShareRepair(std::string share, bool force);
  // Whether `path` (relative to the share's folder) is ignored here, and by
  // which line of which pattern file.
  asio::awaitable<Result<scan::IgnoreVerdict>> ShareCheckIgnored(std::string share, std::string path);
  // The share's .tandemignore and the rules in force; replacing it checks
  // the text first (kInvalidArgument naming the line; nothing is saved).
  asio::awaitable<Result<sync::ShareEngine::IgnorePatternsInfo>> ShareGetIgnorePatterns(std::string share);
  asio::awaitable<Result<sync::ShareEngine::IgnorePatternsInfo>> ShareSetIgnorePatterns(std::string share,
                                                                                         std::string text);
  // Versions (sync/versions.h): the policy, saved in the config and in
  // force at once; those kept at or below `path`; one put back (the newest,
  // or the newest kept at or before `at`, Unix seconds).
  // What is not given stays as it was; a new type's age starts at its
  // default (365 days for staggered, as Syncthing's; else 30).
  struct VersioningChange {
    sync::VersioningPolicy::Kind kind;
    std::optional<uint32_t> days, keep;
    std::optional<uint64_t> max_bytes;
  };
  Result<sync::VersioningPolicy> ShareSetVersioning(const std::string& share, const VersioningChange& change);
  asio::awaitable<Result<std::vector<sync::KeptVersion>>> ShareListVersions(std::string share, std::string path);
  asio::awaitable<Result<sync::KeptVersion>> ShareRestoreVersion(std::string share, std::string path,
                                                                 std::optional<int64_t> at);
  DeviceInfo GetDeviceInfo() const;
  // Bandwidth limits in bytes a second (0: none): the device's, or one
  // share's beside them. What is not given stays as it was; saved, and in
  // force at once, also for blocks already waiting. kInvalidArgument for a
  // limit below kLeastLimit, or `apply_on_lan` given for a share (it is
  // the device's). Returns the limits in force.
  struct LimitsChange {
    std::optional<uint64_t> upload, download;
    std::optional<bool> apply_on_lan;
  };
  Result<BandwidthLimits> DeviceSetLimits(const LimitsChange& change);
  Result<BandwidthLimits> ShareSetLimits(const std::string& share, const LimitsChange& change);
  // Events after `since` (0: all kept) of the given types (names; none:
  // all) and share (empty: all), at most `limit`; waits up to `timeout`
  // for one (service/event_log.h). kInvalidArgument for an unknown type,
  // a limit out of 1..10,000, a `since` from the future; kNotFound for an
  // unknown share.
  asio::awaitable<Result<EventPage>> EventsPoll(uint64_t since, std::chrono::milliseconds timeout,
                                                std::vector<std::string> types, std::string share, size_t limit);

  // The web UI (src/gui serves it; WebAccess decides who gets in): the
  // page's address with a one-time login link and the API key;
  // kFailedPrecondition while it is off.
  struct GuiLogin {
    std::string url, login_url, api_key;
    bool password = false;  // whether one is set
  };
  Result<GuiLogin> GuiLoginLink();
  // Sets the UI's password (kept as its hash in the config), or clears it
  // when empty; returns whether one is set. Sessions made before end.
  // Clearing it is refused while the UI listens beyond loopback.
  asio::awaitable<Result<bool>> GuiSetPassword(std::string password);
  const std::shared_ptr<WebAccess>& web_access() const { return web_access_; }

  // Reads config.json again (tandem daemon does on SIGHUP) and puts in
  // force what changed there: device and share limits, each share's peers,
  // pause, LAN discovery, versioning and name, the rescan interval. The
  // listen address and device name are kept for the next start. Nothing is
  // applied unless all of it can be: kCorrupt for a damaged file;
  // kFailedPrecondition when it adds or removes shares or changes a
  // share's folder or secret, or the device key (those go through tandem
  // add, import, remove, or a restart); kInvalidArgument for a bad value.
  // Returns what changed, in words.
  Result<std::string> ConfigReload();

  const std::filesystem::path& config_dir() const { return config_dir_; }

 private:
  Service(std::filesystem::path config_dir, Config config, crypto::DeviceKey device, int lock_fd,
          sync::ShareEngine::TestHooks test_hooks, size_t events_kept);
  Result<void> StartNetwork();
  // Opens the share's repository and starts its engine, or records why not.
  // `new_share`: the repository may be created (share_add, import).
  // Otherwise a missing or damaged one is an error that `tandem repair`
  // fixes, and a missing folder one that ends by itself (retry_open).
  void OpenEngine(Share& share, bool new_share);
  // A share without an engine tells why (share_error, share_state_changed).
  void TellUnavailable(Share& share, const std::string& why);
  asio::awaitable<void> RetryUnavailableShares();
  // A share's engine changed health: the network offers what can sync, and an
  // engine whose folder went away is closed (RetryUnavailableShares reopens).
  void OnHealthChanged(const std::string& id);
  // Dial addresses and offers follow the enabled shares and their peers.
  void UpdateNetwork();

  // The share named by a UUID, a unique UUID prefix or a unique name.
  Result<std::shared_ptr<Share>> Find(const std::string& share) const;
  // Sets a share's on/off setting and saves it; `changed` says whether it was off/on before.
  Result<std::shared_ptr<Share>> SetShareSwitch(const std::string& share, bool ShareConfig::*setting, bool on,
                                                bool* changed);
  Result<std::filesystem::path> CheckNewSharePath(const std::string& path, bool create) const;
  Result<std::string> CheckName(const std::string& name, const std::filesystem::path& dir) const;
  Result<ShareInfo> Register(ShareConfig config, crypto::ShareSecrets secrets);
  Result<void> Persist();
  ShareInfo InfoOf(const Share& share) const;
  asio::awaitable<void> PeriodicRescan();

  asio::thread_pool pool_;  // declared before io_: outlives everything queued there
  asio::io_context io_;
  EventLog events_;
  std::filesystem::path config_dir_;
  Config config_;
  crypto::DeviceKey device_;
  int lock_fd_;
  fs::PosixFilesystem fs_;
  std::map<std::string, std::shared_ptr<Share>> shares_;  // by UUID
  std::unique_ptr<sync::Network> network_;
  std::unique_ptr<sync::LanDiscovery> discovery_;
  asio::steady_timer rescan_timer_;
  asio::steady_timer retry_timer_;
  sync::ShareEngine::TestHooks test_hooks_;
  std::shared_ptr<WebAccess> web_access_;
  bool stopped_ = false;
};

}  // namespace tandem::service
