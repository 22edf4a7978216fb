// Versions between real daemons (issue 21): what a peer's change replaces
// or deletes is kept, listed with whose change it was, and restored as a
// change that syncs back; the versions folder itself never syncs.
#include <filesystem>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class Versioning : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(dir_a_);
    ASSERT_TRUE(a_.Start());
    ASSERT_TRUE(b_.Start());
    ASSERT_EQ(ShareBetween(a_, dir_a_, b_, dir_b_, /*both_dial=*/true), "");
  }
  bool Arrives(const stdfs::path& path, const std::string& content) {
    bool there = WaitUntil([&] { return stdfs::exists(path) && ReadFile(path) == content; }, 30s);
    if (!there) ADD_FAILURE() << path << " never held '" << content << "'\nA:\n" << a_.Log() << "\nB:\n" << b_.Log();
    return there;
  }
  json Versions(const DaemonProcess& d, const std::string& path = "") {
    std::vector<std::string> args = {"versions", "s"};
    if (!path.empty()) args.push_back(path);
    args.push_back("--json");
    return d.Json(args);
  }
  std::string ContentOf(const stdfs::path& dir, const json& version) {
    return ReadFile(dir / ".tandem/versions" / version["file"].get<std::string>());
  }

  TempDir tmp_;
  stdfs::path dir_a_ = tmp_ / "a";
  stdfs::path dir_b_ = tmp_ / "b";
  DaemonProcess a_{tmp_ / "config-a"};
  DaemonProcess b_{tmp_ / "config-b"};
};

TEST_F(Versioning, WhatAPeerOverwritesOrDeletesIsKeptAndARestoreReachesThePeer) {
  EXPECT_NE(a_.Run({"info", "s"}).out.find("Versions   trashcan: the last version of each file, kept for 30 days"),
            std::string::npos);
  WriteFile(dir_a_ / "docs" / "report.txt", "first draft");
  WriteFile(dir_a_ / "notes.txt", "notes worth keeping");
  ASSERT_TRUE(Arrives(dir_b_ / "notes.txt", "notes worth keeping"));
  ASSERT_TRUE(Arrives(dir_b_ / "docs" / "report.txt", "first draft"));
  // b overwrites one file and deletes the other; a follows, keeping both.
  WriteFile(dir_b_ / "docs" / "report.txt", "b's rewrite");
  stdfs::remove(dir_b_ / "notes.txt");
  ASSERT_TRUE(Arrives(dir_a_ / "docs" / "report.txt", "b's rewrite"));
  ASSERT_TRUE(WaitUntil([&] { return !stdfs::exists(dir_a_ / "notes.txt"); }));
  json kept = Versions(a_);
  ASSERT_EQ(kept.size(), 2u) << kept.dump(2);
  EXPECT_EQ(kept[0]["path"], "docs/report.txt");
  EXPECT_EQ(ContentOf(dir_a_, kept[0]), "first draft");
  EXPECT_EQ(kept[1]["path"], "notes.txt");
  EXPECT_EQ(ContentOf(dir_a_, kept[1]), "notes worth keeping");
  for (const json& v : kept) EXPECT_EQ(v["device"], b_.device_id().substr(0, 7)) << "b's change replaced it";
  EXPECT_EQ(kept[0]["file"].get<std::string>().find("docs/report~"), 0u);
  // Changes made on a itself are the user's: not kept.
  WriteFile(dir_a_ / "docs" / "report.txt", "a's own edit");
  ASSERT_TRUE(Arrives(dir_b_ / "docs" / "report.txt", "a's own edit"));
  EXPECT_EQ(Versions(a_).size(), 2u);
  // Restored on a: back on both devices, and what it replaced is kept too.
  CommandResult restored = a_.Run({"restore", "s", "notes.txt"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_NE(restored.out.find("Restored notes.txt"), std::string::npos) << restored.out;
  ASSERT_TRUE(Arrives(dir_b_ / "notes.txt", "notes worth keeping"));
  ASSERT_EQ(a_.Run({"restore", "s", "docs/report.txt"}).exit_code, 0);
  ASSERT_TRUE(Arrives(dir_b_ / "docs" / "report.txt", "first draft"));
  json report = Versions(a_, "docs/report.txt");
  ASSERT_EQ(report.size(), 2u) << report.dump(2);
  EXPECT_EQ(ContentOf(dir_a_, report[0]), "a's own edit");
  EXPECT_EQ(report[0]["device"], a_.device_id().substr(0, 7));
  // b kept what a's restore replaced there.
  ASSERT_TRUE(WaitUntil([&] { return !Versions(b_, "docs/report.txt").empty(); }));
  EXPECT_EQ(ContentOf(dir_b_, Versions(b_, "docs/report.txt")[0]), "a's own edit");
}

TEST_F(Versioning, TheVersionsFolderNeverSyncsNorCountsAsAChange) {
  WriteFile(dir_a_ / "a.txt", "one");
  ASSERT_TRUE(Arrives(dir_b_ / "a.txt", "one"));
  WriteFile(dir_b_ / "a.txt", "two");
  ASSERT_TRUE(Arrives(dir_a_ / "a.txt", "two"));
  ASSERT_EQ(Versions(a_).size(), 1u);
  WriteFile(dir_a_ / "marker.txt", "after");
  ASSERT_TRUE(Arrives(dir_b_ / "marker.txt", "after"));
  ASSERT_TRUE(WaitUntil([&] { return a_.Json({"info", "s"})["state"] == "idle"; }));
  EXPECT_EQ(a_.Json({"info", "s"})["index"]["files"], 2) << "a.txt and marker.txt only";
  EXPECT_TRUE(Versions(b_).empty()) << "b kept nothing: only its own change happened there";
  EXPECT_FALSE(stdfs::exists(dir_b_ / ".tandem/versions/a~"));
  json scan = a_.Json({"rescan", "s", "--json"});
  EXPECT_EQ(scan["records_written"], 0) << scan.dump();
}

TEST_F(Versioning, WithVersioningOffNothingIsKeptAndThePolicyIsSaved) {
  CommandResult set = a_.Run({"config", "s", "versioning", "none"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_NE(set.out.find("none"), std::string::npos);
  WriteFile(dir_a_ / "a.txt", "one");
  ASSERT_TRUE(Arrives(dir_b_ / "a.txt", "one"));
  WriteFile(dir_b_ / "a.txt", "two");
  ASSERT_TRUE(Arrives(dir_a_ / "a.txt", "two"));
  EXPECT_TRUE(Versions(a_).empty());
  ASSERT_EQ(a_.Run({"config", "s", "versioning", "simple", "--keep", "3", "--days", "0", "--max-bytes", "1000000"}).exit_code, 0);
  ASSERT_EQ(a_.Run({"config", "s", "versioning", "simple", "--keep", "4"}).exit_code, 0);  // the rest stays
  ASSERT_EQ(a_.Stop(), 0);
  ASSERT_TRUE(a_.Start());
  json versioning = a_.Json({"info", "s"})["versioning"];
  EXPECT_EQ(versioning["type"], "simple");
  EXPECT_EQ(versioning["keep"], 4);
  EXPECT_EQ(versioning["days"], 0);
  EXPECT_EQ(versioning["max_bytes"], 1000000);
  // A new type's age starts at its own default: a year for staggered.
  EXPECT_EQ(a_.Json({"config", "s", "versioning", "staggered", "--json"})["days"], 365);
}

TEST_F(Versioning, BadInputSaysWhatWasWrongAndChangesNothing) {
  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Bad> cases = {
      {{"config", "s", "versioning", "external"}, "unknown versioning 'external' (none, trashcan, simple or staggered)"},
      {{"config", "s", "versioning", "trashcan", "--days", "-3"}, "'days' must be 0 or more"},
      {{"config", "s", "versioning", "simple", "--keep", "0"}, "keeps at least 1 version"},
      {{"config", "nosuchshare", "versioning", "none"}, "nosuchshare"},
      {{"restore", "s", "never-kept.txt"}, "no version of never-kept.txt is kept"},
      {{"restore", "s", "../outside.txt"}, "bad path '../outside.txt'"},
      {{"restore", "s", "/etc/passwd"}, "bad path '/etc/passwd'"},
      {{"versions", "s", "../up"}, "bad path '../up'"},
  };
  for (const Bad& bad : cases) {
    CommandResult r = a_.Run(bad.args);
    EXPECT_EQ(r.exit_code, 1) << ::testing::PrintToString(bad.args) << r.out;
    EXPECT_NE(r.err.find(bad.says), std::string::npos) << ::testing::PrintToString(bad.args) << ": " << r.err;
  }
  CommandResult time = a_.Run({"restore", "s", "a.txt", "--at", "yesterday"});
  EXPECT_EQ(time.exit_code, 2);
  EXPECT_NE(time.err.find("as tandem versions lists it"), std::string::npos) << time.err;
  EXPECT_EQ(a_.Json({"info", "s"})["versioning"]["type"], "trashcan") << "nothing changed";
  // A version whose folder is now a symlink to elsewhere is not restored through it.
  WriteFile(dir_a_ / "docs" / "plan.txt", "one");
  ASSERT_TRUE(Arrives(dir_b_ / "docs" / "plan.txt", "one"));
  WriteFile(dir_b_ / "docs" / "plan.txt", "two");
  ASSERT_TRUE(Arrives(dir_a_ / "docs" / "plan.txt", "two"));
  stdfs::create_directories(tmp_ / "elsewhere");
  stdfs::remove_all(dir_a_ / "docs");
  stdfs::create_directory_symlink(tmp_ / "elsewhere", dir_a_ / "docs");
  CommandResult through = a_.Run({"restore", "s", "docs/plan.txt"});
  EXPECT_EQ(through.exit_code, 1) << through.out;
  EXPECT_NE(through.err.find("a folder above docs/plan.txt is a symlink"), std::string::npos) << through.err;
  EXPECT_FALSE(stdfs::exists(tmp_ / "elsewhere" / "plan.txt"));
  EXPECT_FALSE(stdfs::exists(tmp_ / "outside.txt"));
}

}  // namespace
}  // namespace tandem::testing
