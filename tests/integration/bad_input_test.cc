// Every bad input gets a one-line error and changes nothing.
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <filesystem>

#include <gtest/gtest.h>

#include "crypto/token.h"
#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(tmp_ / "shared/a.txt", "a");
    WriteFile(tmp_ / "plain-file", "not a folder");
    stdfs::create_directories(tmp_ / "free");
    ASSERT_TRUE(daemon_.Start());
    CommandResult add = daemon_.Run({"add", (tmp_ / "shared").string(), "--name", "shared"});
    ASSERT_EQ(add.exit_code, 0) << add.err;
    ASSERT_EQ(daemon_.Run({"peer", "add", "shared", "tcp/127.0.0.1:20400"}).exit_code, 0);
    token_ = daemon_.Run({"token", "shared", "--mode", "read"}).out;
    token_ = token_.substr(0, token_.find('?'));
  }

  // Runs `args`, expects failure with one line on stderr containing `expected`,
  // and checks the config and the free folder are exactly as before.
  void ExpectRefused(const std::vector<std::string>& args, const std::string& expected) {
    std::string config_before = ReadFile(tmp_ / "config/config.json");
    CommandResult r = daemon_.Run(args);
    std::string shown = ::testing::PrintToString(args);
    EXPECT_NE(r.exit_code, 0) << shown;
    EXPECT_NE(r.err.find(expected), std::string::npos) << shown << " said: " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << shown << " must give one line: " << r.err;
    EXPECT_EQ(ReadFile(tmp_ / "config/config.json"), config_before) << shown;
    EXPECT_FALSE(stdfs::exists(tmp_ / "free/.tandem")) << shown;
    EXPECT_FALSE(stdfs::exists(tmp_ / "new-folder")) << shown;
    EXPECT_TRUE(daemon_.Running()) << shown;
  }

  TempDir tmp_;
  DaemonProcess daemon_{tmp_ / "config"};
  std::string token_;
};

TEST_F(BadInput, FolderPaths) {
  ExpectRefused({"add", "free"}, "relative");
  ExpectRefused({"add", "./free"}, "relative");
  ExpectRefused({"add", (tmp_ / "missing").string()}, "does not exist");
  ExpectRefused({"add", (tmp_ / "plain-file").string()}, "not a folder");
  ExpectRefused({"add", (tmp_ / "shared").string()}, "already");
  ExpectRefused({"add", (tmp_ / "shared/").string()}, "already");
  stdfs::create_directories(tmp_ / "shared/inner");
  ExpectRefused({"add", (tmp_ / "shared/inner").string()}, "inside");
  ExpectRefused({"add", tmp_.path().string()}, "contains");
  ExpectRefused({"add", (tmp_ / "config").string()}, "config folder");
  ExpectRefused({"add", "/"}, "contains");
  ExpectRefused({"add", ""}, "required");
  stdfs::create_directory_symlink(tmp_ / "shared", tmp_ / "alias");
  ExpectRefused({"add", (tmp_ / "alias").string()}, "already");
  std::string other_share = crypto::EncodeToken(crypto::ShareSecrets::GenerateWrite(), crypto::AccessMode::kWrite);
  ExpectRefused({"import", other_share, (tmp_ / "missing-parent/child").string()}, "parent folder does not exist");
  ExpectRefused({"import", other_share, (tmp_ / "plain-file").string()}, "not a folder");
  ExpectRefused({"import", other_share, "new-folder"}, "relative");
  ExpectRefused({"import", other_share, (tmp_ / "shared/inner").string()}, "inside");
  ExpectRefused({"import", token_, (tmp_ / "new-folder").string()}, "already has that share");
}

TEST_F(BadInput, Tokens) {
  std::string body = token_.substr(std::string("tandem:").size());
  std::string flipped = body;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  ExpectRefused({"import", "tandem:" + flipped, (tmp_ / "new-folder").string()}, "checksum");
  ExpectRefused({"import", token_.substr(0, token_.size() - 5), (tmp_ / "new-folder").string()},
                "invalid share token");
  ExpectRefused({"import", "tandem:" + body.substr(0, 4), (tmp_ / "new-folder").string()}, "too short");
  ExpectRefused({"import", "tandem:" + body + "!", (tmp_ / "new-folder").string()}, "characters");
  ExpectRefused({"import", body, (tmp_ / "new-folder").string()}, "starts with 'tandem:'");
  ExpectRefused({"import", "", (tmp_ / "new-folder").string()}, "starts with 'tandem:'");
  ExpectRefused({"import", token_ + "?color=red", (tmp_ / "new-folder").string()}, "parameter");

  auto parsed = crypto::ParseToken(token_);
  ASSERT_TRUE(parsed);
  std::string v2 = crypto::EncodeTokenWithVersion(parsed->secrets, crypto::AccessMode::kRead, 2);
  ExpectRefused({"import", v2, (tmp_ / "new-folder").string()}, "version 2");
  // The error never repeats the key material.
  CommandResult r = daemon_.Run({"import", v2, (tmp_ / "new-folder").string()});
  EXPECT_EQ(r.err.find(v2.substr(10, 20)), std::string::npos);
}

TEST_F(BadInput, PeerAddresses) {
  for (std::string bad : {"127.0.0.1:20209", "tcp/127.0.0.1", "tcp/127.0.0.1:0", "tcp/127.0.0.1:65536",
                          "tcp/127.0.0.1:http", "udp/127.0.0.1:1", "tcp/::1:20209", "tcp/[::1:20209",
                          "tcp/[zz::1]:20209", "tcp/:20209", "tcp/exa mple.com:1", "", "quic/127.0.0.1",
                          "quic/127.0.0.1:0", "quic//127.0.0.1:1", "quic/[::1:20209"}) {
    ExpectRefused({"peer", "add", "shared", bad}, "invalid peer address");
  }
  ExpectRefused({"peer", "add", "shared", "tcp/127.0.0.1:20400"}, "already a peer");
  ExpectRefused({"peer", "remove", "shared", "tcp/127.0.0.1:20401"}, "not a peer");
}

TEST_F(BadInput, ListenAddressesThatCannotBeHadStopTheDaemonSayingWhy) {
  // A UDP port taken by someone else: QUIC cannot have it, though TCP could.
  asio::io_context io;
  asio::ip::udp::socket taken(io, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string port = std::to_string(taken.local_endpoint().port());
  const std::pair<std::string, std::string> cases[] = {
      {"udp/127.0.0.1:1", "bad --listen address"},
      {"127.0.0.1", "bad --listen address"},
      {"tcp/127.0.0.1:1,tcp/127.0.0.1:1", "given twice"},
      {"quic/127.0.0.1:" + port, "cannot listen on quic/127.0.0.1:" + port},
      {"127.0.0.1:" + port, "cannot listen on quic/127.0.0.1:" + port},
  };
  for (const auto& [listen, expected] : cases) {
    const stdfs::path config = tmp_ / "other-config";
    CommandResult r = RunTandem(config, {"daemon", "--gui", "off", "--listen", listen});
    EXPECT_NE(r.exit_code, 0) << listen;
    EXPECT_NE(r.err.find(expected), std::string::npos) << listen << " said: " << r.err;
    EXPECT_NE(r.err.find("--listen"), std::string::npos) << listen << " must say what to change: " << r.err;
    if (stdfs::exists(config / "config.json")) {
      EXPECT_EQ(ReadFile(config / "config.json").find(listen), std::string::npos) << listen << " was kept";
    }
  }
}

TEST_F(BadInput, UnknownShares) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"info", "nope"}, {"remove", "nope"}, {"token", "nope"}, {"peer", "add", "nope", "tcp/127.0.0.1:1"},
           {"peer", "list", "nope"}, {"pause", "nope"}, {"resume", "nope"}, {"rescan", "nope"},
           {"remove", "00000000-0000-4000-8000-000000000000", "--delete-repo"}}) {
    ExpectRefused(args, "no share");
  }
  ExpectRefused({"token", "shared", "--mode", "admin"}, "unknown access mode");
}

TEST_F(BadInput, ASecondDaemonOnTheSameConfigFolderIsRefused) {
  CommandResult r = RunTandem(tmp_ / "config", {"daemon"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("already running"), std::string::npos) << r.err;
  EXPECT_EQ(daemon_.Run({"list"}).exit_code, 0) << "the first daemon keeps serving";
}

TEST_F(BadInput, NoDaemonGivesAHint) {
  CommandResult r = RunTandem(tmp_ / "elsewhere", {"list"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("tandem daemon --config-dir"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tandem::testing
