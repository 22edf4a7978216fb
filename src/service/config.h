// The daemon's persistent state (<config dir>/config.json): device key,
// listen address and every share with its secret, peers and switches.
// Written only atomically (base/atomic_file.h) with mode 0600, so after any
// crash the file holds either the previous or the new state.
// Plain values; the Service owns the live copy on its event-loop thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "net/address.h"
#include "sync/version_policy.h"

namespace tandem::service {

inline constexpr char kConfigFileName[] = "config.json";
inline constexpr char kSocketFileName[] = "tandem.sock";
inline constexpr char kLockFileName[] = "daemon.lock";

struct ShareConfig {
  std::string id;    // UUID
  std::string path;  // absolute, canonical
  std::string name;
  // The share's own token for its mode (no name): carries mode and key
  // material with a checksum, so a damaged config is noticed on load.
  std::string secret;
  std::vector<std::string> peers;  // normal-form peer addresses
  bool enabled = true;
  // The epoch (hex) of the repository made for this share in its folder;
  // empty until one is made. Once set, a folder without the share's
  // repository is never given a new one silently: that takes `tandem repair`.
  std::string repository;
  // What is kept of files a peer's change replaces or deletes; a config
  // from before versioning gets the default (trashcan, 30 days).
  sync::VersioningPolicy versioning = sync::VersioningPolicy::Default();
  // The share's bandwidth limits in bytes a second (0: none), beside the device's.
  uint64_t upload_limit = 0;
  uint64_t download_limit = 0;
  // Announced on the local network (LAN discovery), so peers holding the
  // share find this device's address without a peer entry. Off by default.
  bool discovery = false;
};

// The device's bandwidth limits in bytes a second (0: none). Peers on the
// local network are spared them (and the shares') unless `apply_on_lan`.
struct BandwidthLimits {
  uint64_t upload = 0;
  uint64_t download = 0;
  bool apply_on_lan = false;
};

// Who may use the web UI (service/web_access.h): the key scripts present,
// and the password's Argon2id hash (empty: none; the UI then listens on
// loopback only).
struct WebUiConfig {
  std::string api_key;
  std::string password_hash;
};

struct Config {
  std::string device_seed;  // base64url Ed25519 seed
  std::string device_name;
  // Where peers reach this device (net::ParseListenAddresses): TCP and QUIC
  // at the same port unless the user says otherwise.
  std::string listen = "tcp/0.0.0.0:" + std::to_string(net::kDefaultPort) + ",quic/0.0.0.0:" +
                       std::to_string(net::kDefaultPort);
  int rescan_interval_s = 3600;
  std::vector<ShareConfig> shares;
  WebUiConfig gui;
  BandwidthLimits limits;
};

// A new configuration with a fresh device key.
Config NewConfig();

// kNotFound if there is no config file yet; kCorrupt with the reason if it
// does not parse or fails validation.
Result<Config> LoadConfig(const std::filesystem::path& file);
Result<void> SaveConfig(const std::filesystem::path& file, const Config& config);

}  // namespace tandem::service
