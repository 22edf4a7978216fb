// Concurrent changes on writers that were apart: every device ends with the
// same files, and every version anyone wrote is still there.
#include <filesystem>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

bool IsConflictCopy(const std::string& path) { return path.find(".sync-conflict-") != std::string::npos; }

// N write replicas of one share, every pair connected.
class Writers {
 public:
  explicit Writers(int n) {
    for (int i = 0; i < n; ++i) {
      daemons_.push_back(std::make_unique<DaemonProcess>(tmp_ / ("config-" + std::to_string(i))));
      EXPECT_TRUE(daemons_.back()->Start());
    }
    stdfs::create_directories(dir(0));
    EXPECT_EQ(d(0).Run({"add", dir(0).string(), "--name", "s"}).exit_code, 0);
    std::string token = d(0).Run({"token", "s"}).out;
    token.pop_back();
    for (int i = 1; i < n; ++i) EXPECT_EQ(d(i).Run({"import", token, dir(i).string()}).exit_code, 0);
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) EXPECT_EQ(d(i).Run({"peer", "add", "s", d(j).address()}).exit_code, 0);
    }
    EXPECT_TRUE(AllConnected()) << Logs();
  }

  int size() const { return static_cast<int>(daemons_.size()); }
  DaemonProcess& d(int i) { return *daemons_[i]; }
  stdfs::path dir(int i) const { return tmp_ / ("dir-" + std::to_string(i)); }

  bool AllConnected() {
    return WaitUntil([&] {
      for (auto& daemon : daemons_) {
        if (static_cast<int>(daemon->Json({"info", "s"})["connected_devices"].size()) != size() - 1) return false;
      }
      return true;
    });
  }

  // Pauses the share everywhere: from here on each device changes alone.
  void Separate() {
    for (auto& daemon : daemons_) ASSERT_EQ(daemon->Run({"pause", "s"}).exit_code, 0);
    ASSERT_TRUE(WaitUntil([&] {
      for (auto& daemon : daemons_) {
        if (!daemon->Json({"info", "s"})["connected_devices"].empty()) return false;
      }
      return true;
    }));
  }

  void Reunite() {
    for (auto& daemon : daemons_) ASSERT_EQ(daemon->Run({"resume", "s"}).exit_code, 0);
    ASSERT_TRUE(AllConnected()) << Logs();
  }

  // Indexes device i's changes now (the watcher would too, a moment later).
  void Rescan(int i) { ASSERT_EQ(d(i).Run({"rescan", "s"}).exit_code, 0); }

  // Every folder holds the same tree, with `files` entries.
  bool Converged(size_t files, std::chrono::milliseconds timeout = 30s) {
    bool same = WaitUntil([&] {
      auto first = SnapshotTree(dir(0));
      if (first.size() != files) return false;
      for (int i = 1; i < size(); ++i) {
        if (SnapshotTree(dir(i)) != first) return false;
      }
      return true;
    }, timeout);
    if (!same) {
      for (int i = 0; i < size(); ++i) ADD_FAILURE() << "device " << i << ": " << Describe(i);
      ADD_FAILURE() << Logs();
    }
    return same;
  }

  // A change made after everything else reaches every device: whatever was
  // going to happen before it has happened (no conflict copies still coming).
  void Settle(const std::string& marker) {
    WriteFile(dir(0) / marker, marker);
    ASSERT_TRUE(WaitUntil([&] {
      for (int i = 0; i < size(); ++i) {
        // Its content too: a scan can catch the file created and not yet
        // written, and that empty version may arrive first.
        if (!stdfs::exists(dir(i) / marker) || ReadFile(dir(i) / marker) != marker) return false;
        if (d(i).Json({"info", "s"})["need_files"] != 0) return false;
      }
      return true;
    })) << Logs();
  }

  std::multiset<std::string> Contents(int i) {
    std::multiset<std::string> out;
    for (auto& [path, content] : SnapshotTree(dir(i))) {
      if (content != "<dir>") out.insert(content);
    }
    return out;
  }

  size_t ConflictCopies(int i) {
    size_t n = 0;
    for (auto& [path, content] : SnapshotTree(dir(i))) n += IsConflictCopy(path);
    return n;
  }

  std::string Describe(int i) {
    std::string out;
    for (auto& [path, content] : SnapshotTree(dir(i))) out += path + "=" + content.substr(0, 30) + "; ";
    return out;
  }

  std::string Logs() {
    std::string out;
    for (int i = 0; i < size(); ++i) out += "\n--- device " + std::to_string(i) + "\n" + d(i).Log().substr(0, 15000);
    return out;
  }

 private:
  TempDir tmp_;
  std::vector<std::unique_ptr<DaemonProcess>> daemons_;
};

TEST(Conflicts, EditsOnTwoWritersKeepBothVersionsEverywhere) {
  Writers w(2);
  WriteFile(w.dir(0) / "plan.txt", "the original");
  ASSERT_TRUE(w.Converged(1));
  w.Separate();
  WriteFile(w.dir(0) / "plan.txt", "edited on device 0");
  w.Rescan(0);
  WriteFile(w.dir(1) / "plan.txt", "edited on device 1, later");
  w.Rescan(1);
  w.Reunite();
  ASSERT_TRUE(w.Converged(2));
  w.Settle("marker");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(w.Contents(i), (std::multiset<std::string>{"edited on device 0", "edited on device 1, later", "marker"}))
        << w.Describe(i);
    EXPECT_EQ(ReadFile(w.dir(i) / "plan.txt"), "edited on device 1, later") << "the newer edit keeps the name";
    EXPECT_EQ(w.ConflictCopies(i), 1u) << w.Describe(i);
  }
}

TEST(Conflicts, EditsOnThreeWritersKeepEveryVersionEverywhere) {
  Writers w(3);
  WriteFile(w.dir(0) / "notes/plan.md", "the original");
  ASSERT_TRUE(w.Converged(2));
  w.Separate();
  for (int i = 0; i < 3; ++i) {
    WriteFile(w.dir(i) / "notes/plan.md", "version of device " + std::to_string(i));
    w.Rescan(i);
  }
  w.Reunite();
  ASSERT_TRUE(w.Converged(4));
  w.Settle("marker");
  std::multiset<std::string> expected = {"version of device 0", "version of device 1", "version of device 2", "marker"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.Contents(i), expected) << w.Describe(i);
    EXPECT_EQ(ReadFile(w.dir(i) / "notes/plan.md"), "version of device 2");
    EXPECT_EQ(w.ConflictCopies(i), 2u) << w.Describe(i);
  }
}

TEST(Conflicts, AnEditBeatsAConcurrentDelete) {
  Writers w(2);
  WriteFile(w.dir(0) / "keep.txt", "the original");
  ASSERT_TRUE(w.Converged(1));
  w.Separate();
  stdfs::remove(w.dir(1) / "keep.txt");
  w.Rescan(1);
  WriteFile(w.dir(0) / "keep.txt", "edited while the other device deleted it");
  w.Rescan(0);
  w.Reunite();
  ASSERT_TRUE(w.Converged(1));
  w.Settle("marker");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(ReadFile(w.dir(i) / "keep.txt"), "edited while the other device deleted it");
    EXPECT_EQ(w.ConflictCopies(i), 0u) << w.Describe(i);
  }
}

TEST(Conflicts, EditsInsideAFolderSurviveItsConcurrentDeletion) {
  Writers w(2);
  WriteFile(w.dir(0) / "project/edited.txt", "the original");
  WriteFile(w.dir(0) / "project/untouched.txt", "nobody edits this");
  WriteFile(w.dir(0) / "project/sub/deep.txt", "deep");
  ASSERT_TRUE(w.Converged(5));
  w.Separate();
  stdfs::remove_all(w.dir(0) / "project");
  w.Rescan(0);
  WriteFile(w.dir(1) / "project/edited.txt", "edited while the folder was deleted elsewhere");
  w.Rescan(1);
  w.Reunite();
  ASSERT_TRUE(w.Converged(2));
  w.Settle("marker");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(ReadFile(w.dir(i) / "project/edited.txt"), "edited while the folder was deleted elsewhere");
    EXPECT_FALSE(stdfs::exists(w.dir(i) / "project/untouched.txt")) << "the unedited file stays deleted";
    EXPECT_EQ(w.ConflictCopies(i), 0u) << w.Describe(i);
  }
}

TEST(Conflicts, TwoEditsAndADeleteOnThreeWritersKeepBothEdits) {
  Writers w(3);
  WriteFile(w.dir(0) / "shared.txt", "the original");
  ASSERT_TRUE(w.Converged(1));
  w.Separate();
  WriteFile(w.dir(0) / "shared.txt", "edit from device 0");
  w.Rescan(0);
  stdfs::remove(w.dir(1) / "shared.txt");
  w.Rescan(1);
  WriteFile(w.dir(2) / "shared.txt", "edit from device 2, the newest");
  w.Rescan(2);
  w.Reunite();
  ASSERT_TRUE(w.Converged(2));
  w.Settle("marker");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.Contents(i), (std::multiset<std::string>{"edit from device 0", "edit from device 2, the newest", "marker"}))
        << w.Describe(i);
    EXPECT_EQ(ReadFile(w.dir(i) / "shared.txt"), "edit from device 2, the newest");
  }
}

TEST(Conflicts, EditsInsideAFolderOnTwoWritersSurviveItsDeletionOnAThird) {
  Writers w(3);
  WriteFile(w.dir(0) / "project/one.txt", "one");
  WriteFile(w.dir(0) / "project/two.txt", "two");
  WriteFile(w.dir(0) / "project/three.txt", "three");
  ASSERT_TRUE(w.Converged(4));
  w.Separate();
  stdfs::remove_all(w.dir(0) / "project");
  w.Rescan(0);
  WriteFile(w.dir(1) / "project/one.txt", "one, edited on device 1");
  w.Rescan(1);
  WriteFile(w.dir(2) / "project/two.txt", "two, edited on device 2");
  w.Rescan(2);
  w.Reunite();
  ASSERT_TRUE(w.Converged(3));
  w.Settle("marker");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(w.Contents(i), (std::multiset<std::string>{"one, edited on device 1", "two, edited on device 2", "marker"}))
        << w.Describe(i);
  }
}

TEST(Conflicts, AFolderKeepsItsNameOverAFileMadeAtTheSameTime) {
  Writers w(2);
  WriteFile(w.dir(0) / "start.txt", "start");
  ASSERT_TRUE(w.Converged(1));
  w.Separate();
  WriteFile(w.dir(0) / "notes/inside.txt", "a file inside the folder");
  w.Rescan(0);
  WriteFile(w.dir(1) / "notes", "a file named like the folder, made later");
  w.Rescan(1);
  w.Reunite();
  ASSERT_TRUE(w.Converged(4));
  w.Settle("marker");
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(stdfs::is_directory(w.dir(i) / "notes")) << w.Describe(i);
    EXPECT_EQ(ReadFile(w.dir(i) / "notes/inside.txt"), "a file inside the folder");
    EXPECT_EQ(w.ConflictCopies(i), 1u) << w.Describe(i);
    EXPECT_EQ(w.Contents(i).count("a file named like the folder, made later"), 1u) << w.Describe(i);
  }
}

TEST(Conflicts, TheSameChangeOnTwoWritersMakesNoCopy) {
  Writers w(2);
  WriteFile(w.dir(0) / "same.txt", "the original");
  ASSERT_TRUE(w.Converged(1));
  w.Separate();
  WriteFile(w.dir(0) / "same.txt", "both devices typed this");
  WriteFile(w.dir(0) / "new.txt", "created on both");
  w.Rescan(0);
  WriteFile(w.dir(1) / "same.txt", "both devices typed this");
  WriteFile(w.dir(1) / "new.txt", "created on both");
  w.Rescan(1);
  w.Reunite();
  ASSERT_TRUE(w.Converged(2));
  w.Settle("marker");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(w.ConflictCopies(i), 0u) << w.Describe(i);
}

TEST(Conflicts, ARepeatedConflictOnTheSameFileAddsOneCopyEachTime) {
  Writers w(2);
  WriteFile(w.dir(0) / "busy.txt", "the original");
  ASSERT_TRUE(w.Converged(1));
  for (int round = 1; round <= 2; ++round) {
    w.Separate();
    WriteFile(w.dir(0) / "busy.txt", "round " + std::to_string(round) + " on device 0");
    w.Rescan(0);
    WriteFile(w.dir(1) / "busy.txt", "round " + std::to_string(round) + " on device 1");
    w.Rescan(1);
    w.Reunite();
    ASSERT_TRUE(w.Converged(1 + round));
  }
  w.Settle("marker");
  for (int i = 0; i < 2; ++i) EXPECT_EQ(w.ConflictCopies(i), 2u) << w.Describe(i);
}

TEST(Conflicts, ALocalEditDuringAPullIsNeverOverwritten) {
  TempDir tmp;
  DaemonProcess sender(tmp / "cs"), receiver(tmp / "cr");
  ::setenv("TANDEM_TEST_HOOKS", "slow-blocks", 1);
  bool started = sender.Start();
  ::unsetenv("TANDEM_TEST_HOOKS");
  ASSERT_TRUE(started && receiver.Start());
  WriteFile(tmp / "s/big.bin", "small at first");
  ASSERT_EQ(sender.Run({"add", (tmp / "s").string(), "--name", "s"}).exit_code, 0);
  std::string token = sender.Run({"token", "s"}).out;
  token.pop_back();
  ASSERT_EQ(receiver.Run({"import", token, (tmp / "r").string()}).exit_code, 0);
  ASSERT_EQ(sender.Run({"peer", "add", "s", receiver.address()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return SnapshotTree(tmp / "r") == SnapshotTree(tmp / "s"); }));

  // ~128 blocks served a quarter second apart, 32 at a time: the receiver
  // assembles for a while, and the local edit lands in the middle.
  uint64_t received_before = receiver.Json({"info", "s"})["received_bytes"];
  std::string remote = RandomBytes(8 << 20, 11);
  WriteFile(tmp / "s/big.bin", remote);
  ASSERT_TRUE(WaitUntil([&] {
    nlohmann::json info = receiver.Json({"info", "s"});
    return info["received_bytes"] > received_before && info["need_files"] == 1;  // assembling
  })) << receiver.Log();
  WriteFile(tmp / "r/big.bin", "edited here while the new version was on its way");

  auto both_versions = [&](const stdfs::path& dir) {
    std::multiset<std::string> contents;
    for (auto& [path, content] : SnapshotTree(dir)) contents.insert(content);
    return contents == std::multiset<std::string>{remote, "edited here while the new version was on its way"};
  };
  ASSERT_TRUE(WaitUntil([&] { return both_versions(tmp / "r") && both_versions(tmp / "s"); }, 60s))
      << sender.Log() << receiver.Log();
  EXPECT_EQ(ReadFile(tmp / "r/big.bin"), "edited here while the new version was on its way")
      << "the newer local edit keeps the name";
  EXPECT_TRUE(WaitUntil([&] { return SnapshotTree(tmp / "r") == SnapshotTree(tmp / "s"); }));
}

// Two writers that conflicted on a file, both versions everywhere. The file
// is plan.txt, or a name so long that the copy's name had to be shortened
// (issue 16: such a copy was listed as beside a deleted file, and "keep
// remote" wrote yet another name).
class ResolvedConflict : public ::testing::TestWithParam<std::string> {
 protected:
  const std::string name_ = GetParam();
  void SetUp() override {
    WriteFile(w_.dir(0) / name_, "the original");
    ASSERT_TRUE(w_.Converged(1));
    w_.Separate();
    WriteFile(w_.dir(0) / name_, "older edit");
    w_.Rescan(0);
    WriteFile(w_.dir(1) / name_, "newer edit");
    w_.Rescan(1);
    w_.Reunite();
    ASSERT_TRUE(w_.Converged(2));
    ASSERT_TRUE(WaitUntil([&] { return w_.d(0).Json({"conflicts", "s", "--json"}).size() == 1; }));
    listed_ = w_.d(0).Json({"conflicts", "s", "--json"})[0];
  }

  Writers w_{2};
  nlohmann::json listed_;
};

TEST_P(ResolvedConflict, IsListedWithBothVersionsOnEveryDevice) {
  EXPECT_EQ(listed_["path"], name_);
  EXPECT_EQ(listed_["local"]["present"], true) << listed_.dump();
  std::string copy = listed_["conflict"];
  EXPECT_EQ(ReadFile(w_.dir(0) / copy), "older edit");
  EXPECT_EQ(listed_["local"]["size"], std::string("newer edit").size());
  EXPECT_EQ(listed_["remote"]["size"], std::string("older edit").size());
  EXPECT_EQ(listed_["remote"]["device"], w_.d(0).device_id().substr(0, 7)) << "the copy holds device 0's version";
  EXPECT_EQ(listed_["local"]["device"], w_.d(1).device_id().substr(0, 7));
  EXPECT_TRUE(WaitUntil([&] { return w_.d(1).Json({"conflicts", "s", "--json"}) == nlohmann::json::array({listed_}); }));
  CommandResult human = w_.d(0).Run({"conflicts", "s"});
  EXPECT_NE(human.out.find(name_), std::string::npos) << human.out;
}

TEST_P(ResolvedConflict, KeepRemotePutsTheCopysVersionInPlaceEverywhere) {
  CommandResult r = w_.d(1).Run({"resolve", "s", name_, "--keep", "remote"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(w_.Converged(1));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(ReadFile(w_.dir(i) / name_), "older edit");
  EXPECT_TRUE(WaitUntil([&] { return w_.d(0).Json({"conflicts", "s", "--json"}).empty(); }));
}

TEST_P(ResolvedConflict, KeepLocalDeletesTheCopyEverywhere) {
  CommandResult r = w_.d(0).Run({"resolve", "s", listed_["conflict"], "--keep", "local"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(w_.Converged(1));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(ReadFile(w_.dir(i) / name_), "newer edit");
  // The version it discarded is kept (issue 21).
  nlohmann::json kept = w_.d(0).Json({"versions", "s", listed_["conflict"], "--json"});
  ASSERT_EQ(kept.size(), 1u) << kept.dump();
  EXPECT_EQ(ReadFile(w_.dir(0) / ".tandem/versions" / kept[0]["file"].get<std::string>()), "older edit");
  EXPECT_EQ(kept[0]["device"], w_.d(0).device_id().substr(0, 7));
}

TEST_P(ResolvedConflict, KeepBothLeavesTwoPlainFilesAndNoConflict) {
  CommandResult r = w_.d(0).Run({"resolve", "s", name_, "--keep", "both"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(w_.Converged(2));
  w_.Settle("marker");
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(w_.ConflictCopies(i), 0u) << w_.Describe(i);
    EXPECT_EQ(w_.Contents(i), (std::multiset<std::string>{"older edit", "newer edit", "marker"}));
    EXPECT_TRUE(w_.d(i).Json({"conflicts", "s", "--json"}).empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Names, ResolvedConflict,
                         ::testing::Values("plan.txt", std::string(240, 'p') + ".txt"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param.size() < 20 ? "ShortName" : "NameTooLongForACopy";
                         });

}  // namespace
}  // namespace tandem::testing
