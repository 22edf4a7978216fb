#include "service/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "base/bytes.h"
#include "base/uuid.h"
#include "crypto/token.h"
#include "testing/temp_dir.h"

namespace tandem::service {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

Config SampleConfig() {
  Config config = NewConfig();
  config.device_name = "laptop ü";
  config.listen = "tcp/[::1]:20300";
  config.rescan_interval_s = 120;
  config.gui.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  config.limits = {.upload = 1 << 20, .download = 5 << 20, .apply_on_lan = true};
  crypto::Key32 seed;
  seed.fill(9);
  crypto::ShareSecrets secrets = crypto::ShareSecrets::FromWriteSeed(seed);
  config.shares.push_back({.id = NewUuid(),
                           .path = "/home/me/Photos",
                           .name = "Photos",
                           .secret = crypto::EncodeToken(secrets, crypto::AccessMode::kWrite),
                           .peers = {"tcp/192.0.2.1:20209", "tcp/[2001:db8::1]:1"},
                           .enabled = true,
                           .upload_limit = 65536,
                           .download_limit = 131072,
                           .discovery = true});
  config.shares.push_back({.id = NewUuid(),
                           .path = "/srv/文件",
                           .name = "文件",
                           .secret = crypto::EncodeToken(secrets, crypto::AccessMode::kBlind),
                           .peers = {},
                           .enabled = false});
  return config;
}

void ExpectSameConfig(const Config& got, const Config& want) {
  EXPECT_EQ(got.device_seed, want.device_seed);
  EXPECT_EQ(got.device_name, want.device_name);
  EXPECT_EQ(got.listen, want.listen);
  EXPECT_EQ(got.rescan_interval_s, want.rescan_interval_s);
  EXPECT_EQ(got.gui.api_key, want.gui.api_key);
  EXPECT_EQ(got.gui.password_hash, want.gui.password_hash);
  EXPECT_EQ(got.limits.upload, want.limits.upload);
  EXPECT_EQ(got.limits.download, want.limits.download);
  EXPECT_EQ(got.limits.apply_on_lan, want.limits.apply_on_lan);
  ASSERT_EQ(got.shares.size(), want.shares.size());
  for (size_t i = 0; i < got.shares.size(); ++i) {
    EXPECT_EQ(got.shares[i].id, want.shares[i].id);
    EXPECT_EQ(got.shares[i].path, want.shares[i].path);
    EXPECT_EQ(got.shares[i].name, want.shares[i].name);
    EXPECT_EQ(got.shares[i].secret, want.shares[i].secret);
    EXPECT_EQ(got.shares[i].peers, want.shares[i].peers);
    EXPECT_EQ(got.shares[i].enabled, want.shares[i].enabled);
    EXPECT_EQ(got.shares[i].upload_limit, want.shares[i].upload_limit);
    EXPECT_EQ(got.shares[i].download_limit, want.shares[i].download_limit);
    EXPECT_EQ(got.shares[i].discovery, want.shares[i].discovery);
  }
}

class ConfigTest : public ::testing::Test {
 protected:
  // Saves the sample, lets `edit` change its JSON, writes it back.
  void SaveEdited(const std::function<void(json&)>& edit) {
    ASSERT_TRUE(SaveConfig(file_, SampleConfig()));
    json j = json::parse(testing::ReadFile(file_));
    edit(j);
    testing::WriteFile(file_, j.dump());
  }

  void ExpectCorrupt(const std::string& what) {
    auto loaded = LoadConfig(file_);
    ASSERT_FALSE(loaded) << what;
    EXPECT_EQ(loaded.error().code, ErrorCode::kCorrupt) << what;
    EXPECT_NE(loaded.error().message.find(file_.string()), std::string::npos)
        << what << ": " << loaded.error().message;
  }

  testing::TempDir tmp_;
  stdfs::path file_ = tmp_ / kConfigFileName;
};

TEST_F(ConfigTest, NewConfigHasAUsableDeviceKey) {
  Config config = NewConfig();
  auto seed = Base64UrlDecode(config.device_seed);
  ASSERT_TRUE(seed);
  EXPECT_TRUE(crypto::DeviceKey::FromSeed(*seed));
  EXPECT_FALSE(config.device_name.empty());
  EXPECT_TRUE(config.shares.empty());
  EXPECT_NE(NewConfig().device_seed, config.device_seed);
  // The web UI's API key is random per device; no password at first.
  EXPECT_EQ(config.gui.api_key.size(), 43u);
  EXPECT_NE(NewConfig().gui.api_key, config.gui.api_key);
  EXPECT_TRUE(config.gui.password_hash.empty());
}

TEST_F(ConfigTest, AConfigFromBeforeTheWebUiLoadsWithoutAKey) {
  SaveEdited([](json& j) { j.erase("gui"); });
  auto loaded = LoadConfig(file_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_TRUE(loaded->gui.api_key.empty());  // the Service makes one and saves it
  EXPECT_TRUE(loaded->gui.password_hash.empty());
}

TEST_F(ConfigTest, AConfigFromBeforeLimitsAndDiscoveryLoadsWithoutEither) {
  SaveEdited([](json& j) {
    j.erase("limits");
    for (json& share : j["shares"]) {
      share.erase("limits");
      share.erase("discovery");
    }
  });
  auto loaded = LoadConfig(file_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->limits.upload, 0u);
  EXPECT_FALSE(loaded->limits.apply_on_lan);
  EXPECT_EQ(loaded->shares[0].upload_limit, 0u);
  EXPECT_FALSE(loaded->shares[0].discovery);
}

TEST_F(ConfigTest, SaveThenLoadRoundTrips) {
  Config config = SampleConfig();
  ASSERT_TRUE(SaveConfig(file_, config));
  auto loaded = LoadConfig(file_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ExpectSameConfig(*loaded, config);

  // Saving what was loaded gives the same file.
  std::string first = testing::ReadFile(file_);
  ASSERT_TRUE(SaveConfig(file_, *loaded));
  EXPECT_EQ(testing::ReadFile(file_), first);
}

TEST_F(ConfigTest, EmptyConfigRoundTrips) {
  Config config = NewConfig();
  ASSERT_TRUE(SaveConfig(file_, config));
  auto loaded = LoadConfig(file_);
  ASSERT_TRUE(loaded);
  ExpectSameConfig(*loaded, config);
}

TEST_F(ConfigTest, FileIsPrivate) {
  ASSERT_TRUE(SaveConfig(file_, SampleConfig()));
  struct stat st;
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // Also when it replaces a file that was readable by others.
  testing::WriteFile(file_, "{}");
  ::chmod(file_.c_str(), 0644);
  ASSERT_TRUE(SaveConfig(file_, SampleConfig()));
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ConfigTest, MissingFileIsNotFound) {
  auto loaded = LoadConfig(file_);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kNotFound);
}

TEST_F(ConfigTest, SavingIntoAMissingFolderFails) {
  auto saved = SaveConfig(tmp_ / "missing" / kConfigFileName, SampleConfig());
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kIo);
}

TEST_F(ConfigTest, EveryTruncationIsCorruptAndNamesTheFile) {
  ASSERT_TRUE(SaveConfig(file_, SampleConfig()));
  std::string text = testing::ReadFile(file_);
  // Cutting only trailing whitespace leaves a complete document.
  size_t end = text.find_last_not_of(" \n");
  ASSERT_NE(end, std::string::npos);
  for (size_t length = 0; length <= end; ++length) {
    testing::WriteFile(file_, text.substr(0, length));
    ExpectCorrupt("truncated to " + std::to_string(length) + " bytes");
    if (HasFatalFailure()) return;
  }
}

TEST_F(ConfigTest, DamagedSecretIsCorruptAndNotEchoed) {
  Config config = SampleConfig();
  std::string secret = config.shares[0].secret;
  SaveEdited([&](json& j) {
    std::string s = j["shares"][0]["secret"];
    s[s.size() / 2] = s[s.size() / 2] == 'A' ? 'B' : 'A';
    j["shares"][0]["secret"] = s;
  });
  ExpectCorrupt("damaged secret");
  auto loaded = LoadConfig(file_);
  ASSERT_FALSE(loaded);
  std::string body = secret.substr(crypto::kTokenPrefix.size());
  for (size_t i = 0; i + 8 <= body.size(); ++i) {
    ASSERT_EQ(loaded.error().message.find(body.substr(i, 8)), std::string::npos)
        << loaded.error().message;
  }
}

TEST_F(ConfigTest, InvalidContentsAreCorrupt) {
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
  };
  const Case cases[] = {
      {"secret is not a token", [](json& j) { j["shares"][0]["secret"] = "hello"; }},
      {"secret is empty", [](json& j) { j["shares"][1]["secret"] = ""; }},
      {"share id is not a UUID", [](json& j) { j["shares"][0]["id"] = "photos"; }},
      {"share without a secret", [](json& j) { j["shares"][0].erase("secret"); }},
      {"share without a path", [](json& j) { j["shares"][0].erase("path"); }},
      {"secret is a number", [](json& j) { j["shares"][0]["secret"] = 5; }},
      {"device key is missing", [](json& j) { j.erase("device_key"); }},
      {"device key is not base64url", [](json& j) { j["device_key"] = "!!!"; }},
      {"device key is too short", [](json& j) { j["device_key"] = "AAAA"; }},
      {"device key is a number", [](json& j) { j["device_key"] = 1; }},
      {"rescan interval is text", [](json& j) { j["rescan_interval_s"] = "often"; }},
      {"peers is not a list", [](json& j) { j["shares"][0]["peers"] = "tcp/1.2.3.4:5"; }},
      {"a limit is text", [](json& j) { j["limits"]["upload"] = "fast"; }},
      {"a limit is negative", [](json& j) { j["shares"][0]["limits"]["download"] = -1; }},
      {"discovery is text", [](json& j) { j["shares"][0]["discovery"] = "yes"; }},
      {"top level is a list", [](json& j) { j = json::array(); }},
      {"top level is a string", [](json& j) { j = "config"; }},
  };
  for (const Case& c : cases) {
    SaveEdited(c.edit);
    ExpectCorrupt(c.what);
  }
}

TEST_F(ConfigTest, AParseErrorSaysWhereAndNeverQuotesWhatItRead) {
  ASSERT_TRUE(SaveConfig(file_, SampleConfig()));
  std::string text = testing::ReadFile(file_);
  const std::string secret = SampleConfig().shares[0].secret;
  const size_t at = text.find(secret);
  ASSERT_NE(at, std::string::npos);
  text.insert(at + secret.size() / 2, "\n");  // a secret broken by a stray newline
  testing::WriteFile(file_, text);
  auto loaded = LoadConfig(file_);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find("not valid JSON at byte"), std::string::npos) << loaded.error().message;
  const std::string body = secret.substr(crypto::kTokenPrefix.size());
  for (size_t i = 0; i + 8 <= body.size(); ++i) {
    ASSERT_EQ(loaded.error().message.find(body.substr(i, 8)), std::string::npos) << loaded.error().message;
  }
}

TEST_F(ConfigTest, NotJsonAtAllIsCorrupt) {
  for (const char* text : {"", "\n", "not json", "{\"device_key\": ", "\xff\xfe{}"}) {
    testing::WriteFile(file_, text);
    ExpectCorrupt(text);
  }
}

}  // namespace
}  // namespace tandem::service
