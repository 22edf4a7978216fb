// Ignore patterns between real daemons (issue 20): what a device ignores it
// never reads, announces, sends or writes; the records still pass through
// it; an edit of .tandemignore takes effect without a restart; and a bad
// pattern file never syncs more than the patterns before it.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class Ignoring : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(dir_a_);
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
  }

  // `a` shares dir_a_ as "s" and `b` joins in dir_b_ (whose .tandemignore,
  // if given, is in place before any record arrives); then they connect.
  void Connect(const std::string& ignore_on_b = "") {
    ASSERT_EQ(a_.Run({"add", dir_a_.string(), "--name", "s"}).exit_code, 0);
    std::string token = a_.Run({"token", "s"}).out;
    token.pop_back();
    stdfs::create_directories(dir_b_);
    if (!ignore_on_b.empty()) WriteFile(dir_b_ / ".tandemignore", ignore_on_b);
    CommandResult imported = b_.Run({"import", token, dir_b_.string(), "--name", "s"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    ASSERT_EQ(a_.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
  }

  // What `tandem ignore s PATH` says of it on `d`.
  static std::string Why(const DaemonProcess& d, const std::string& path) {
    return d.Json({"ignore", "s", path}).value("why", "");
  }
  static json Info(const DaemonProcess& d) { return d.Json({"info", "s"}); }
  // Everything `d` knows of is here, with a peer's whole index.
  static bool InSync(const DaemonProcess& d) {
    json info = Info(d);
    return info["state"] == "idle" && info["need_files"] == 0 && info["completion"] == 100.0;
  }
  bool Arrives(const stdfs::path& path) {
    bool there = WaitUntil([&] { return stdfs::exists(path); }, 30s);
    if (!there) ADD_FAILURE() << path << " never arrived\nA log:\n" << a_.Log() << "\nB log:\n" << b_.Log();
    return there;
  }

  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
};

TEST_F(Ignoring, AnIgnoredFolderOfTwoThousandFilesNeverReachesThePeerAndIsNeverRead) {
  WriteFile(dir_a_ / ".tandemignore", "// dependencies\nnode_modules\n");
  for (int i = 0; i < 2000; ++i) {
    WriteFile(dir_a_ / "node_modules" / ("pkg" + std::to_string(i % 40)) / ("f" + std::to_string(i) + ".js"), "x");
  }
  WriteFile(dir_a_ / "src" / "main.c", "int main() {}");
  Connect();
  ASSERT_TRUE(Arrives(dir_b_ / "src" / "main.c"));
  ASSERT_TRUE(WaitUntil([&] { return InSync(b_); }));
  EXPECT_FALSE(stdfs::exists(dir_b_ / "node_modules"));
  EXPECT_FALSE(stdfs::exists(dir_b_ / ".tandemignore"));  // a device's own patterns stay its own
  // The sender's index is its access counter: only what was read is there.
  json info = Info(a_);
  EXPECT_EQ(info["index"]["files"], 1) << info.dump(2);
  EXPECT_EQ(info["index"]["directories"], 1) << info.dump(2);
  EXPECT_EQ(info["ignored"], 1);  // the folder, once
  EXPECT_EQ(info["last_scan"]["files_hashed"].get<uint64_t>() <= 1, true);
  EXPECT_EQ(Why(a_, "node_modules/pkg3/f3.js"), "ignored by .tandemignore:2: node_modules");
  EXPECT_EQ(Why(a_, "src/main.c"), "not ignored: no pattern matches it");
  CommandResult human = a_.Run({"ignore", "s", "node_modules"});
  EXPECT_EQ(human.out, "node_modules: ignored by .tandemignore:2: node_modules\n");
  EXPECT_NE(a_.Run({"info", "s"}).out.find("Ignored    1 path"), std::string::npos);
}

TEST_F(Ignoring, AReincludeBeforeAWildcardSyncsOnlyTheFileItNames) {
  WriteFile(dir_a_ / ".tandemignore", "!keep.log\n*.log\n");
  WriteFile(dir_a_ / "keep.log", "kept");
  WriteFile(dir_a_ / "debug.log", "noise");
  WriteFile(dir_a_ / "sub" / "trace.log", "noise");
  WriteFile(dir_a_ / "sub" / "keep.log", "kept too: the pattern has no slash, so any depth");
  WriteFile(dir_a_ / "notes.txt", "notes");
  Connect();
  ASSERT_TRUE(Arrives(dir_b_ / "notes.txt"));
  ASSERT_TRUE(WaitUntil([&] { return InSync(b_); }));
  EXPECT_EQ(ReadFile(dir_b_ / "keep.log"), "kept");
  EXPECT_TRUE(stdfs::exists(dir_b_ / "sub" / "keep.log"));
  EXPECT_FALSE(stdfs::exists(dir_b_ / "debug.log"));
  EXPECT_FALSE(stdfs::exists(dir_b_ / "sub" / "trace.log"));
  EXPECT_EQ(Why(a_, "keep.log"), "not ignored: re-included by .tandemignore:1: !keep.log");
}

TEST_F(Ignoring, EditingThePatternFileWhileRunningTakesEffectBothWays) {
  Connect();
  WriteFile(dir_a_ / "cache" / "old.bin", "synced before");
  ASSERT_TRUE(Arrives(dir_b_ / "cache" / "old.bin"));
  // Ignored from now on: the watcher sees the edit, no command is needed.
  WriteFile(dir_a_ / ".tandemignore", "cache\n");
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["ignored"] == 1; })) << a_.Log();
  WriteFile(dir_a_ / "cache" / "new.bin", "stays here");
  WriteFile(dir_a_ / "cache" / "old.bin", "edited while ignored");
  WriteFile(dir_a_ / "after.txt", "written after");
  ASSERT_TRUE(Arrives(dir_b_ / "after.txt"));
  ASSERT_TRUE(WaitUntil([&] { return InSync(b_) && Info(a_)["state"] == "idle"; }));
  EXPECT_FALSE(stdfs::exists(dir_b_ / "cache" / "new.bin"));
  // What became ignored stays on both disks as it was, and is not deleted.
  EXPECT_EQ(ReadFile(dir_b_ / "cache" / "old.bin"), "synced before");
  EXPECT_EQ(ReadFile(dir_a_ / "cache" / "old.bin"), "edited while ignored");
  // No longer ignored: found and synced, as any other change.
  stdfs::remove(dir_a_ / ".tandemignore");
  ASSERT_TRUE(Arrives(dir_b_ / "cache" / "new.bin"));
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(dir_b_ / "cache" / "old.bin") == "edited while ignored"; }))
      << b_.Log();
  EXPECT_EQ(Info(a_)["ignored"], 0);
}

TEST_F(Ignoring, ARecordUnderAnIgnoredPathIsNotWrittenButReachesAThirdDevice) {
  // a -> b -> c: b ignores secret/, c ignores nothing and hears only from b.
  DaemonProcess c{tmp_ / "config-c"};
  ASSERT_TRUE(c.Start());
  WriteFile(dir_a_ / "secret" / "key.txt", "the key");
  WriteFile(dir_a_ / "plain.txt", "plain");
  Connect("secret/\n");
  ASSERT_TRUE(Arrives(dir_b_ / "plain.txt"));
  std::string token = b_.Run({"token", "s"}).out;
  token.pop_back();
  const stdfs::path dir_c = tmp_ / "c";
  ASSERT_EQ(c.Run({"import", token, dir_c.string(), "--name", "s"}).exit_code, 0);
  ASSERT_EQ(c.Run({"peer", "add", "s", b_.address()}).exit_code, 0);
  ASSERT_TRUE(Arrives(dir_c / "plain.txt"));
  // c knows of secret/key.txt (from b's index) and waits for a device that holds it.
  ASSERT_TRUE(WaitUntil([&] { return Info(c)["need_files"] == 1; })) << Info(c).dump(2);
  EXPECT_FALSE(stdfs::exists(dir_b_ / "secret" / "key.txt"));
  EXPECT_EQ(Info(b_)["need_files"], 0);  // b needs nothing it ignores
  EXPECT_EQ(Why(b_, "secret/key.txt"), "ignored by .tandemignore:1: secret/");
  // Once c meets a device that holds the file, it arrives.
  ASSERT_EQ(c.Run({"peer", "add", "s", a_.address()}).exit_code, 0);
  ASSERT_TRUE(Arrives(dir_c / "secret" / "key.txt"));
  EXPECT_EQ(ReadFile(dir_c / "secret" / "key.txt"), "the key");
  EXPECT_FALSE(stdfs::exists(dir_b_ / "secret" / "key.txt"));
}

TEST_F(Ignoring, IgnoredFilesMarkedDeletableLetAFolderAPeerDeletedGo) {
  WriteFile(dir_a_ / "build" / "out.txt", "output");
  WriteFile(dir_a_ / "docs" / "guide.txt", "guide");
  Connect("(?d)*.tmp\n*.bak\n");
  ASSERT_TRUE(Arrives(dir_b_ / "build" / "out.txt"));
  ASSERT_TRUE(Arrives(dir_b_ / "docs" / "guide.txt"));
  WriteFile(dir_b_ / "build" / "scratch.tmp", "b's own");
  WriteFile(dir_b_ / "docs" / "guide.bak", "b's backup");
  ASSERT_TRUE(WaitUntil([&] { return Info(b_)["ignored"] == 2; }));
  stdfs::remove_all(dir_a_ / "build");
  stdfs::remove_all(dir_a_ / "docs");
  ASSERT_TRUE(WaitUntil([&] { return !stdfs::exists(dir_b_ / "build"); })) << b_.Log();
  // docs/ holds a file ignored but not marked (?d): kept, and said why.
  ASSERT_TRUE(WaitUntil([&] { return !Info(b_)["failed"].empty(); })) << Info(b_).dump(2);
  const std::string reason = Info(b_)["failed"][0]["reason"];
  EXPECT_NE(reason.find("folder docs was deleted by a peer but is kept here: it holds docs/guide.bak, ignored by "
                        ".tandemignore:2: *.bak"),
            std::string::npos)
      << reason;
  EXPECT_EQ(ReadFile(dir_b_ / "docs" / "guide.bak"), "b's backup");
  EXPECT_FALSE(stdfs::exists(dir_b_ / "docs" / "guide.txt"));
}

TEST_F(Ignoring, EachMalformedPatternFileKeepsTheRulesInForceWithTheErrorShown) {
  WriteFile(dir_a_ / ".tandemignore", "secret\n");
  WriteFile(dir_a_ / "a.inc", "#include b.inc\n");
  WriteFile(dir_a_ / "b.inc", "#include a.inc\n");
  Connect();
  ASSERT_TRUE(Arrives(dir_b_ / "a.inc"));
  struct Bad {
    std::string text;
    std::string says;
  };
  const std::vector<Bad> cases = {
      {"build\n[unclosed\n", ".tandemignore:2: a [ has no closing ]"},
      {"#include missing.txt\n", "missing.txt does not exist"},
      {"#include a.inc\n", "#include cycle"},
  };
  uint64_t since = CallRpc(a_, "device_info", json::object())["result"]["last_event_id"];
  int round = 0;
  for (const Bad& bad : cases) {
    SCOPED_TRACE(bad.text);
    WriteFile(dir_a_ / ".tandemignore", bad.text);
    ASSERT_TRUE(WaitUntil([&] { return Info(a_)["ignore_error"].get<std::string>().find(bad.says) != std::string::npos; }))
        << Info(a_).dump(2);
    EXPECT_NE(a_.Run({"status"}).out.find(".tandemignore NOT in force"), std::string::npos);
    // The event says it too.
    json page = CallRpc(a_, "events_poll", {{"since", since}, {"timeout_ms", 0}, {"types", {"ignore_patterns_failed"}}});
    ASSERT_FALSE(page["result"]["events"].empty()) << page.dump();
    EXPECT_NE(page["result"]["events"].back()["data"]["message"].get<std::string>().find(bad.says), std::string::npos);
    since = page["result"]["last_id"];
    // The old rules still hold: secret stays, the rest syncs.
    const std::string marker = "marker" + std::to_string(++round) + ".txt";
    WriteFile(dir_a_ / "secret" / ("s" + std::to_string(round)), "hidden");
    WriteFile(dir_a_ / marker, "after");
    ASSERT_TRUE(Arrives(dir_b_ / marker));
    EXPECT_FALSE(stdfs::exists(dir_b_ / "secret"));
    EXPECT_FALSE(stdfs::exists(dir_b_ / "build")) << "nothing the new file would ignore was deleted";
    EXPECT_EQ(Why(a_, "secret/x"), "ignored by .tandemignore:1: secret");
  }
  // A restart with the bad file still keeps the rules last in force.
  ASSERT_EQ(a_.Stop(), 0);
  ASSERT_TRUE(a_.Start());
  EXPECT_NE(Info(a_)["ignore_error"].get<std::string>().find("#include cycle"), std::string::npos);
  EXPECT_EQ(Why(a_, "secret/x"), "ignored by .tandemignore:1: secret");
  WriteFile(dir_a_ / "secret" / "after-restart", "hidden");
  WriteFile(dir_a_ / "marker-restart.txt", "after");
  ASSERT_TRUE(Arrives(dir_b_ / "marker-restart.txt"));
  EXPECT_FALSE(stdfs::exists(dir_b_ / "secret"));
  // Fixed: in force again, the error gone.
  WriteFile(dir_a_ / ".tandemignore", "secret\n*.tmp\n");
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["ignore_error"] == ""; }));
  EXPECT_EQ(Why(a_, "x.tmp"), "ignored by .tandemignore:2: *.tmp");
}

TEST_F(Ignoring, AFolderMovedAwayAndBackWithABadFileKeepsTheRulesFromBefore) {
  WriteFile(dir_a_ / ".tandemignore", "secret\n");
  Connect();
  ASSERT_EQ(Why(a_, "secret/x"), "ignored by .tandemignore:1: secret");
  // Gone (no .tandemignore to read), then back with a file that does not compile.
  const stdfs::path away = tmp_ / "away";
  stdfs::rename(dir_a_, away);
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["state"] == "error"; })) << Info(a_).dump(2);
  WriteFile(away / ".tandemignore", "[never closed\n");
  stdfs::rename(away, dir_a_);
  ASSERT_TRUE(WaitUntil([&] { return Info(a_)["ignore_error"].get<std::string>().find("has no closing") != std::string::npos; }))
      << Info(a_).dump(2) << a_.Log();
  EXPECT_EQ(Why(a_, "secret/x"), "ignored by .tandemignore:1: secret");
  WriteFile(dir_a_ / "secret" / "key", "hidden");
  WriteFile(dir_a_ / "marker.txt", "after");
  ASSERT_TRUE(Arrives(dir_b_ / "marker.txt"));
  EXPECT_FALSE(stdfs::exists(dir_b_ / "secret"));
}

TEST_F(Ignoring, ReplacingThePatternsThroughTheApiChecksThemFirst) {
  Connect();
  const stdfs::path patterns = tmp_ / "patterns";
  WriteFile(patterns, "ok\n(?x)bad\n");
  CommandResult refused = a_.Run({"ignore", "s", "--set", patterns.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find(".tandemignore:2: unknown prefix (?x)"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("nothing was saved"), std::string::npos) << refused.err;
  EXPECT_FALSE(stdfs::exists(dir_a_ / ".tandemignore"));
  EXPECT_EQ(Why(a_, "ok"), "not ignored: no pattern matches it");
  WriteFile(patterns, "// generated\nbuild/\n");
  CommandResult saved = a_.Run({"ignore", "s", "--set", patterns.string()});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_EQ(ReadFile(dir_a_ / ".tandemignore"), "// generated\nbuild/\n");
  EXPECT_EQ(Why(a_, "build/x.o"), "ignored by .tandemignore:2: build/");
  EXPECT_EQ(Why(a_, "build"), "not ignored: no pattern matches it");  // build/ covers what is in it
  EXPECT_EQ(a_.Run({"ignore", "s"}).out, "// generated\nbuild/\n");
  // Bad requests say what was wrong.
  CommandResult outside = a_.Run({"ignore", "s", "../etc/passwd"});
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_NE(outside.err.find("bad path '../etc/passwd'"), std::string::npos) << outside.err;
  CommandResult unknown = a_.Run({"ignore", "nosuchshare", "x"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("nosuchshare"), std::string::npos) << unknown.err;
  json extra = CallRpc(a_, "share_check_ignored", {{"share", "s"}, {"path", "x"}, {"line", 3}});
  EXPECT_NE(extra["error"]["message"].get<std::string>().find("unknown parameter 'line'"), std::string::npos);
}

}  // namespace
}  // namespace tandem::testing
