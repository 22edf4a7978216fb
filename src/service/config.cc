#include "service/config.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/bytes.h"
#include "base/uuid.h"
#include "crypto/password.h"
#include "crypto/token.h"

namespace tandem::service {
namespace {

using nlohmann::json;

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "tandem";
  return name;
}

Error Corrupt(const std::filesystem::path& file, const std::string& why) {
  return MakeError(ErrorCode::kCorrupt, "config file " + file.string() + " is damaged (" + why +
                                            "); restore it from a backup or move it away");
}

// A limit in bytes a second: absent is none; a negative number is damage
// (nlohmann would read it as a huge unsigned one).
uint64_t LimitIn(const json& limits, const char* key) {
  if (!limits.contains(key)) return 0;
  const json& value = limits.at(key);
  if (!value.is_number_unsigned()) throw json::type_error::create(302, std::string(key) + " is not a byte count", &value);
  return value.get<uint64_t>();
}

}  // namespace

Config NewConfig() {
  Config config;
  crypto::DeviceKey key = crypto::DeviceKey::Generate();
  config.device_seed = Base64UrlEncode(key.seed());
  config.device_name = HostName();
  config.gui.api_key = crypto::RandomToken();
  return config;
}

Result<Config> LoadConfig(const std::filesystem::path& file) {
  TANDEM_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(file));
  Config config;
  try {
    json j = json::parse(text);
    config.device_seed = j.at("device_key").get<std::string>();
    config.device_name = j.value("device_name", HostName());
    config.listen = j.value("listen", config.listen);
    config.rescan_interval_s = j.value("rescan_interval_s", config.rescan_interval_s);
    if (j.contains("gui")) {
      config.gui.api_key = j.at("gui").value("api_key", "");
      config.gui.password_hash = j.at("gui").value("password_hash", "");
    }
    if (j.contains("limits")) {
      const json& l = j.at("limits");
      config.limits = {LimitIn(l, "upload"), LimitIn(l, "download"), l.value("lan", false)};
    }
    for (const json& s : j.value("shares", json::array())) {
      ShareConfig share;
      share.id = s.at("id").get<std::string>();
      share.path = s.at("path").get<std::string>();
      share.name = s.at("name").get<std::string>();
      share.secret = s.at("secret").get<std::string>();
      share.peers = s.value("peers", std::vector<std::string>{});
      share.enabled = s.value("enabled", true);
      share.repository = s.value("repository", "");
      share.discovery = s.value("discovery", false);
      if (s.contains("limits")) {
        share.upload_limit = LimitIn(s.at("limits"), "upload");
        share.download_limit = LimitIn(s.at("limits"), "download");
      }
      if (s.contains("versioning")) {
        const json& v = s.at("versioning");
        auto kind = sync::ParseVersioningKind(v.at("type").get<std::string>());
        if (!kind) return Corrupt(file, "share " + share.id + ": " + kind.error().message);
        share.versioning = {*kind, v.at("days").get<uint32_t>(), v.at("keep").get<uint32_t>(),
                            v.at("max_bytes").get<uint64_t>()};
      }
      if (!IsUuid(share.id)) return Corrupt(file, "a share id is not a UUID");
      if (!crypto::ParseToken(share.secret)) return Corrupt(file, "share " + share.id + " has a bad secret");
      config.shares.push_back(std::move(share));
    }
  } catch (const json::parse_error& e) {
    // Only where: the parser's own text quotes what it read, which may be
    // part of a key or a share's secret.
    return Corrupt(file, "not valid JSON at byte " + std::to_string(e.byte));
  } catch (const json::exception& e) {
    return Corrupt(file, e.what());
  }
  auto seed = Base64UrlDecode(config.device_seed);
  if (!seed || !crypto::DeviceKey::FromSeed(*seed)) return Corrupt(file, "bad device key");
  return config;
}

Result<void> SaveConfig(const std::filesystem::path& file, const Config& config) {
  json shares = json::array();
  for (const ShareConfig& s : config.shares) {
    shares.push_back({{"id", s.id},
                      {"path", s.path},
                      {"name", s.name},
                      {"secret", s.secret},
                      {"peers", s.peers},
                      {"enabled", s.enabled},
                      {"repository", s.repository},
                      {"discovery", s.discovery},
                      {"limits", {{"upload", s.upload_limit}, {"download", s.download_limit}}},
                      {"versioning", {{"type", sync::VersioningKindName(s.versioning.kind)},
                                      {"days", s.versioning.days},
                                      {"keep", s.versioning.keep},
                                      {"max_bytes", s.versioning.max_bytes}}}});
  }
  json j = {{"version", 1},
            {"device_key", config.device_seed},
            {"device_name", config.device_name},
            {"listen", config.listen},
            {"rescan_interval_s", config.rescan_interval_s},
            {"limits", {{"upload", config.limits.upload},
                        {"download", config.limits.download},
                        {"lan", config.limits.apply_on_lan}}},
            {"gui", {{"api_key", config.gui.api_key}, {"password_hash", config.gui.password_hash}}},
            {"shares", shares}};
  return WriteFileAtomically(file, j.dump(2) + "\n", 0600);
}

}  // namespace tandem::service
