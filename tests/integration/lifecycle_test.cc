// The whole life of a share, through the real CLI against a real daemon.
#include <signal.h>
#include <sys/stat.h>
#include <cstring>
#include <sys/un.h>
#include <sys/socket.h>

#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

std::map<std::string, std::string> Snapshot(const stdfs::path& root) { return SnapshotTree(root); }

json Info(const DaemonProcess& d, const std::string& share) { return d.Json({"info", share}); }

bool IndexedIdle(const DaemonProcess& d, const std::string& share, int files) {
  json info = Info(d, share);
  return info["state"] == "waiting for peers" && info["index"]["files"] == files;  // at rest, with no peer
}

class Lifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = tmp_ / "docs";
    WriteFile(data_ / "readme.txt", "hello tandem\n");
    WriteFile(data_ / "photos/2026/cat.jpg", RandomBytes(300 * 1024, 1));
    WriteFile(data_ / "empty", "");
    stdfs::create_directories(data_ / "empty-dir");
    stdfs::create_symlink("readme.txt", data_ / "link");
    ASSERT_TRUE(daemon_.Start());
  }

  TempDir tmp_;
  stdfs::path data_;
  DaemonProcess daemon_{tmp_ / "config"};
};

TEST_F(Lifecycle, AddIndexesTheFolderAndListsIt) {
  auto before = Snapshot(data_);
  CommandResult add = daemon_.Run({"add", data_.string(), "--name", "docs"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_NE(add.out.find("Added share docs"), std::string::npos);
  ASSERT_TRUE(WaitUntil([&] { return IndexedIdle(daemon_, "docs", 3); }));

  json info = Info(daemon_, "docs");
  EXPECT_EQ(info["mode"], "write");
  EXPECT_EQ(info["path"], data_.string());
  EXPECT_EQ(info["index"]["directories"], 3);  // photos, photos/2026, empty-dir
  EXPECT_EQ(info["index"]["symlinks"], 1);
  EXPECT_EQ(info["index"]["bytes"], 300 * 1024 + 13);
  EXPECT_EQ(info["index"]["records"], 7);
  EXPECT_TRUE(stdfs::exists(data_ / ".tandem" / "index.db"));

  json list = daemon_.Json({"list"});
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], info["id"]);
  // The share is found by a unique id prefix as well as by name.
  EXPECT_EQ(Info(daemon_, info["id"].get<std::string>().substr(0, 6))["name"], "docs");
  EXPECT_EQ(Snapshot(data_), before) << "indexing must not change the user's files";

  CommandResult human = daemon_.Run({"list"});
  EXPECT_NE(human.out.find("docs"), std::string::npos);
  CommandResult status = daemon_.Run({"status"});
  EXPECT_EQ(status.exit_code, 0);
  EXPECT_NE(status.out.find("waiting for peers"), std::string::npos);
}

TEST_F(Lifecycle, RescanPicksUpNewChangedAndDeletedFiles) {
  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return IndexedIdle(daemon_, "docs", 3); }));

  json unchanged = daemon_.Json({"rescan", "docs"});
  EXPECT_EQ(unchanged["files_hashed"], 0) << "an unchanged tree is not re-read";
  EXPECT_EQ(unchanged["records_written"], 0);

  // The watcher or the explicit rescan (whichever runs first) indexes the
  // changes; the index then shows them either way.
  WriteFile(data_ / "new.txt", "new");
  WriteFile(data_ / "readme.txt", "changed");
  stdfs::remove(data_ / "photos/2026/cat.jpg");
  EXPECT_EQ(daemon_.Run({"rescan", "docs"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] {
    json info = Info(daemon_, "docs");
    return info["index"]["files"] == 3 && info["index"]["records"] == 8;  // the tombstone stays as a record
  }));
  json info = Info(daemon_, "docs");
  EXPECT_EQ(info["index"]["bytes"], 3 + 7 + 0);
  EXPECT_EQ(daemon_.Json({"rescan", "docs"})["records_written"], 0);
}

TEST_F(Lifecycle, TheWatcherIndexesChangesWithoutARescan) {
  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return IndexedIdle(daemon_, "docs", 3); }));
  stdfs::create_directories(data_ / "new/deeper");
  WriteFile(data_ / "new/deeper/file.txt", "fresh");
  EXPECT_TRUE(WaitUntil([&] { return Info(daemon_, "docs")["index"]["files"] == 4; }))
      << "a file in a folder created after the share was added is noticed";
}

TEST_F(Lifecycle, TokensForEachModeAndTheirLimits) {
  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  std::map<std::string, std::string> tokens;
  for (std::string mode : {"write", "read", "blind"}) {
    CommandResult r = daemon_.Run({"token", "docs", "--mode", mode});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(r.out.rfind("tandem:", 0), 0u) << r.out;
    tokens[mode] = r.out.substr(0, r.out.find('\n'));
  }
  EXPECT_NE(tokens["write"], tokens["read"]);
  CommandResult qr = daemon_.Run({"token", "docs", "--mode", "read", "--qr"});
  EXPECT_EQ(qr.exit_code, 0);
  EXPECT_NE(qr.out.find("\u2588"), std::string::npos) << "a QR code is drawn with block characters";

  // A second device imports the read token; a read replica cannot hand out write tokens.
  DaemonProcess other(tmp_ / "config2");
  ASSERT_TRUE(other.Start());
  CommandResult imported = other.Run({"import", tokens["read"], (tmp_ / "docs-copy").string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  json info = other.Json({"info", "docs"});
  EXPECT_EQ(info["mode"], "read");
  EXPECT_TRUE(stdfs::is_directory(tmp_ / "docs-copy/.tandem"));
  CommandResult write = other.Run({"token", "docs", "--mode", "write"});
  EXPECT_NE(write.exit_code, 0);
  EXPECT_NE(write.err.find("read replica"), std::string::npos) << write.err;
  EXPECT_EQ(other.Run({"token", "docs", "--mode", "blind"}).exit_code, 0);

  CommandResult blind = other.Run({"import", tokens["blind"], (tmp_ / "blind").string(), "--name", "b"});
  EXPECT_NE(blind.exit_code, 0) << "the same share cannot be imported twice on one device";
  EXPECT_NE(blind.err.find("already has that share"), std::string::npos) << blind.err;

  DaemonProcess third(tmp_ / "config3");
  ASSERT_TRUE(third.Start());
  ASSERT_EQ(third.Run({"import", tokens["blind"], (tmp_ / "blind").string()}).exit_code, 0);
  EXPECT_EQ(third.Json({"info", "docs"})["mode"], "blind");
  EXPECT_NE(third.Run({"token", "docs", "--mode", "read"}).exit_code, 0);
  EXPECT_EQ(third.Run({"token", "docs", "--mode", "blind"}).exit_code, 0);
}

TEST_F(Lifecycle, PeersPauseAndResume) {
  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  EXPECT_EQ(daemon_.Run({"peer", "add", "docs", "tcp/127.0.0.1:20300"}).exit_code, 0);
  EXPECT_EQ(daemon_.Run({"peer", "add", "docs", "tcp/[::1]:20301"}).exit_code, 0);
  json peers = daemon_.Json({"peer", "list", "docs"});
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[1]["address"], "tcp/[::1]:20301");
  EXPECT_EQ(daemon_.Run({"peer", "remove", "docs", "tcp/127.0.0.1:20300"}).exit_code, 0);
  EXPECT_EQ(daemon_.Json({"peer", "list", "docs"}).size(), 1u);

  EXPECT_EQ(daemon_.Run({"pause", "docs"}).exit_code, 0);
  EXPECT_EQ(Info(daemon_, "docs")["enabled"], false);
  EXPECT_EQ(daemon_.Run({"resume", "docs"}).exit_code, 0);
  EXPECT_EQ(Info(daemon_, "docs")["enabled"], true);
}

TEST_F(Lifecycle, RemoveNeverTouchesTheUsersFiles) {
  auto before = Snapshot(data_);
  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return IndexedIdle(daemon_, "docs", 3); }));
  ASSERT_EQ(daemon_.Run({"remove", "docs"}).exit_code, 0);
  EXPECT_EQ(daemon_.Json({"list"}).size(), 0u);
  EXPECT_EQ(Snapshot(data_), before);
  EXPECT_TRUE(stdfs::exists(data_ / ".tandem/index.db")) << "without --delete-repo the repository stays";

  // The kept repository belongs to the removed share: adding the folder as a
  // new share is refused with a way out, and nothing changes.
  CommandResult again = daemon_.Run({"add", data_.string()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("delete"), std::string::npos) << again.err;
  stdfs::remove_all(data_ / ".tandem");

  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  ASSERT_EQ(daemon_.Run({"remove", "docs", "--delete-repo"}).exit_code, 0);
  EXPECT_FALSE(stdfs::exists(data_ / ".tandem"));
  EXPECT_EQ(Snapshot(data_), before);
}

// Regression: a share named "a" became ambiguous whenever another share's
// UUID started with "a".
TEST_F(Lifecycle, ANameIsFoundEvenWhenAnIdStartsWithIt) {
  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  std::string id = Info(daemon_, "docs")["id"];
  stdfs::create_directories(tmp_ / "other");
  std::string prefix = id.substr(0, 1);
  ASSERT_EQ(daemon_.Run({"add", (tmp_ / "other").string(), "--name", prefix}).exit_code, 0);
  EXPECT_EQ(Info(daemon_, prefix)["path"], (tmp_ / "other").string()) << "the name wins over docs' id prefix";
  EXPECT_EQ(Info(daemon_, id.substr(0, 8))["name"], "docs");
}

TEST_F(Lifecycle, ConflictAndRevertCommandsRefuseWhatTheyCannotDo) {
  WriteFile(data_ / "a.txt", "untouched");
  ASSERT_EQ(daemon_.Run({"add", data_.string()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Info(daemon_, "docs")["index"]["files"] == 4; }));
  CommandResult r = daemon_.Run({"conflicts", "docs"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "No conflicts.\n");
  EXPECT_EQ(daemon_.Json({"conflicts", "docs", "--json"}), nlohmann::json::array());
  uint64_t sequence = Info(daemon_, "docs")["index"]["sequence"];

  r = daemon_.Run({"resolve", "docs", "a.txt", "--keep", "mine"});
  EXPECT_EQ(r.exit_code, 2) << "a bad --keep is a command-line error";
  r = daemon_.Run({"resolve", "docs", "a.txt", "--keep", "remote"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no conflict named a.txt"), std::string::npos) << r.err;
  r = daemon_.Run({"revert", "docs"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("only read replicas"), std::string::npos) << r.err;
  std::string reply = RawControlRequest(
      daemon_.config_dir(),
      R"({"jsonrpc":"2.0","id":1,"method":"share_resolve_conflict","params":{"share":"docs","conflict":"a.txt","keep":"all"}})" "\n");
  EXPECT_NE(reply.find("keep_local, keep_remote or keep_both"), std::string::npos) << reply;

  EXPECT_EQ(ReadFile(data_ / "a.txt"), "untouched");
  EXPECT_EQ(Info(daemon_, "docs")["index"]["sequence"], sequence) << "nothing was recorded";
}

}  // namespace
}  // namespace tandem::testing

namespace tandem::testing {
namespace {

// Where the daemon's log goes (issue 23): a file of its own, or, under
// systemd, the journal with each line's priority for journald to read.
TEST_F(Lifecycle, SighupPutsAHandEditedConfigInForceAndABadOneChangesNothing) {
  ASSERT_EQ(daemon_.Run({"add", data_.string(), "--name", "docs"}).exit_code, 0);
  ASSERT_EQ(daemon_.Run({"peer", "add", "docs", "tcp/127.0.0.1:9"}).exit_code, 0);
  const stdfs::path file = daemon_.config_dir() / "config.json";
  json config = json::parse(ReadFile(file));
  config["limits"] = {{"upload", 0}, {"download", 1 << 20}, {"lan", true}};
  config["shares"][0]["name"] = "papers";
  config["shares"][0]["peers"] = {"tcp/127.0.0.1:10"};
  config["shares"][0]["enabled"] = false;
  config["shares"][0]["limits"] = {{"upload", 65536}, {"download", 0}};
  WriteFile(file, config.dump(2));
  ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitUntil([&] {
    return daemon_.Log().find("config reloaded: the device's limits, share docs") != std::string::npos;
  })) << daemon_.Log();
  const json info = Info(daemon_, "papers");
  EXPECT_EQ(info["enabled"], false);
  EXPECT_EQ(info["peers"], json::array({"tcp/127.0.0.1:10"}));
  EXPECT_EQ(info["upload_limit"], 65536);
  EXPECT_EQ(daemon_.Json({"device"})["limits"]["download"], 1 << 20);

  // A damaged file, a share added by hand, a limit too low: refused, said
  // in the log, nothing changed, the daemon goes on.
  const json good = json::parse(ReadFile(file));
  json added = good;
  added["shares"].push_back(good["shares"][0]);
  added["shares"][1]["id"] = "0b6f2b1e-5d3c-4b8e-9a71-2f0c1d4e5a6b";
  json too_low = good;
  too_low["limits"]["upload"] = 100;
  const std::pair<std::string, std::string> cases[] = {
      {"{ \"device_key\": ", "is damaged"},
      {added.dump(), "it adds or removes shares"},
      {too_low.dump(), "the upload limit of 100 bytes a second is too low"},
  };
  for (const auto& [text, refusal] : cases) {
    const std::string why = refusal;
    WriteFile(file, text);
    ASSERT_EQ(::kill(daemon_.pid(), SIGHUP), 0);
    ASSERT_TRUE(WaitUntil([&] {
      const std::string log = daemon_.Log();
      return log.find("SIGHUP: config not reloaded, nothing changed: ") != std::string::npos &&
             log.find(why) != std::string::npos;
    })) << why << "\n" << daemon_.Log();
    EXPECT_TRUE(daemon_.Running());
    EXPECT_EQ(Info(daemon_, "papers")["peers"], json::array({"tcp/127.0.0.1:10"}));
    EXPECT_EQ(daemon_.Json({"device"})["limits"]["upload"], 0);
  }
}

TEST(DaemonLog, GoesToTheLogFileOrToTheJournalWithEachLinesPriority) {
  TempDir tmp;
  const stdfs::path file = tmp / "tandem.log";
  {
    DaemonProcess daemon(tmp / "config-file", {"--log-file", file.string()});
    ASSERT_TRUE(daemon.Start());
    EXPECT_EQ(daemon.Stop(), 0);
  }
  const std::string logged = ReadFile(file);
  EXPECT_NE(logged.find(" info ready: device "), std::string::npos) << logged;
  EXPECT_NE(logged.find(" info signal 15: stopping"), std::string::npos) << logged;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A log file that cannot be opened stops the daemon before it starts.
  CommandResult bad = RunTandem(tmp / "config-bad", {"daemon", "--gui", "off", "--log-file", "/nonexistent/x.log"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("cannot open the log file /nonexistent/x.log"), std::string::npos) << bad.err;
  EXPECT_FALSE(stdfs::exists(tmp / "config-bad"));

  // The journal: stderr is the stream JOURNAL_STREAM names (device:inode).
  const stdfs::path stream = tmp / "config-journal.log";  // the harness's stderr for that daemon
  WriteFile(stream, "");
  ASSERT_EQ(::stat(stream.c_str(), &st), 0);
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
  {
    DaemonProcess daemon(tmp / "config-journal");
    const bool started = daemon.Start();
    ::unsetenv("JOURNAL_STREAM");
    ASSERT_TRUE(started);
    EXPECT_EQ(daemon.Stop(), 0);
  }
  const std::string journal = ReadFile(stream);
  EXPECT_NE(journal.find("<6>ready: device "), std::string::npos) << journal;
  EXPECT_EQ(journal.find(" info "), std::string::npos) << "no time stamps or level names: the journal has its own";

  // With journald's socket there (here a stand-in the test reads), each
  // line is an entry with fields to search by.
  const stdfs::path socket_path = tmp / "journal.socket";
  const int journald = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  ASSERT_GE(journald, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, socket_path.c_str());
  ASSERT_EQ(::bind(journald, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
  ::setenv("TANDEM_JOURNAL_SOCKET", socket_path.c_str(), 1);
  const stdfs::path folder = tmp / "docs";
  stdfs::create_directories(folder);
  {
    DaemonProcess daemon(tmp / "config-journal");
    const bool started = daemon.Start();
    ::unsetenv("JOURNAL_STREAM");
    ::unsetenv("TANDEM_JOURNAL_SOCKET");
    ASSERT_TRUE(started);
    ASSERT_EQ(daemon.Run({"add", folder.string(), "--name", "docs"}).exit_code, 0);
    EXPECT_EQ(daemon.Stop(), 0);
  }
  std::vector<std::string> entries;
  char buffer[65536];
  for (ssize_t n; (n = ::recv(journald, buffer, sizeof buffer, 0)) > 0;) entries.emplace_back(buffer, n);
  ::close(journald);
  auto entry_with = [&](const std::string& text) {
    for (const std::string& entry : entries) {
      if (entry.find(text) != std::string::npos) return entry;
    }
    return std::string();
  };
  const std::string added = entry_with("MESSAGE=share docs: added");
  EXPECT_NE(added.find("\nPRIORITY=6\n"), std::string::npos) << added;
  EXPECT_NE(added.find("\nSYSLOG_IDENTIFIER=tandem\n"), std::string::npos) << added;
  EXPECT_NE(added.find("\nTANDEM_SHARE=docs\n"), std::string::npos) << added;
  EXPECT_NE(entry_with("MESSAGE=ready: device "), "") << "every line goes to the socket";
  EXPECT_EQ(ReadFile(stream).find("share docs: added"), std::string::npos) << "and not to stderr as well";
}

}  // namespace
}  // namespace tandem::testing
