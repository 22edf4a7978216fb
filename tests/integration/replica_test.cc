// Read and blind replicas: what they receive, what they keep, what they can
// never change.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

std::string TokenOf(const DaemonProcess& d, const std::string& mode) {
  CommandResult r = d.Run({"token", "s", "--mode", mode});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string token = r.out;
  if (!token.empty()) token.pop_back();
  return token;
}

bool Attached(const DaemonProcess& d, size_t peers) {
  return d.Json({"info", "s"})["connected_devices"].size() == peers;
}

// Every byte of every file under `dir`.
std::vector<std::pair<stdfs::path, std::string>> AllFiles(const stdfs::path& dir) {
  std::vector<std::pair<stdfs::path, std::string>> out;
  for (auto& entry : stdfs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    out.emplace_back(entry.path(), std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return out;
}

// Two writers of share "s" (folders w1, w2) that never meet, each connected
// only to a blind replica (folder b): w1 <-> blind <-> w2.
class BlindReplica : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(w1.Start() && w2.Start() && blind.Start());
    stdfs::create_directories(tmp / "w1");
    ASSERT_EQ(w1.Run({"add", (tmp / "w1").string(), "--name", "s"}).exit_code, 0);
    CommandResult imported = w2.Run({"import", TokenOf(w1, "write"), (tmp / "w2").string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    imported = blind.Run({"import", TokenOf(w1, "blind"), (tmp / "b").string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    ASSERT_EQ(w1.Run({"peer", "add", "s", blind.address()}).exit_code, 0);
    ASSERT_EQ(w2.Run({"peer", "add", "s", blind.address()}).exit_code, 0);
    ASSERT_TRUE(WaitUntil([&] { return Attached(blind, 2) && Attached(w1, 1) && Attached(w2, 1); }));
  }

  TempDir tmp;
  DaemonProcess w1{tmp / "c1"}, w2{tmp / "c2"}, blind{tmp / "cb"};
};

TEST_F(BlindReplica, RelaysBetweenWritersThatNeverMeetAndKeepsNoPlaintext) {

  // Names and contents no blind replica may ever hold in the clear.
  std::vector<std::string> names, contents;
  for (int i = 0; i < 6; ++i) {
    std::string name = "Quarterly-Secret-" + std::to_string(i);
    // Large enough to span several blocks, with the marker in each.
    std::string marker = "PLAINTEXT-MARKER-" + std::to_string(i) + "-zebra";
    std::string content;
    while (content.size() < (i == 0 ? 300'000u : 2000u)) content += marker + RandomBytes(97, i) + "\n";
    names.push_back(name);
    contents.push_back(marker);
    stdfs::path where = (i % 2 == 0 ? tmp / "w1" : tmp / "w2") / "Private Folder" / (name + ".txt");
    WriteFile(where, content);
  }
  auto same = [&] {
    auto a = SnapshotTree(tmp / "w1");
    return a.size() == 7 && a == SnapshotTree(tmp / "w2");
  };
  ASSERT_TRUE(WaitUntil(same, 60s)) << w1.Log() << w2.Log() << blind.Log();
  // An edit and a delete travel the same way.
  WriteFile(tmp / "w2/Private Folder/Quarterly-Secret-0.txt", "EDITED-MARKER-zebra");
  stdfs::remove(tmp / "w1/Private Folder/Quarterly-Secret-1.txt");
  ASSERT_TRUE(WaitUntil([&] {
    auto a = SnapshotTree(tmp / "w1");
    return a.size() == 6 && a == SnapshotTree(tmp / "w2") &&
           a["Private Folder/Quarterly-Secret-0.txt"] == "EDITED-MARKER-zebra";
  }, 60s)) << w1.Log() << w2.Log() << blind.Log();
  contents.push_back("EDITED-MARKER-zebra");

  // The blind replica's folder holds its repository and nothing else.
  std::vector<std::string> top;
  for (auto& entry : stdfs::directory_iterator(tmp / "b")) top.push_back(entry.path().filename().string());
  EXPECT_EQ(top, std::vector<std::string>{".tandem"});
  nlohmann::json info = blind.Json({"info", "s"});
  EXPECT_EQ(info["mode"], "blind");
  EXPECT_GT(info["index"]["sealed_blocks"].get<uint64_t>(), 0u);

  // The search finds what is there: a write replica's index names its files.
  bool control_found = false;
  for (const auto& [path, bytes] : AllFiles(tmp / "w1" / ".tandem")) {
    control_found |= bytes.find(names[2]) != std::string::npos;
  }
  EXPECT_TRUE(control_found) << "the search would not see a plaintext name";

  // What a blind replica cannot do is refused with the reason.
  CommandResult refused = blind.Run({"conflicts", "s"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("blind replica cannot see file names"), std::string::npos) << refused.err;
  refused = blind.Run({"revert", "s"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("only read replicas"), std::string::npos) << refused.err;

  blind.Stop();  // the WAL is checkpointed; search what is left on disk either way
  auto files = AllFiles(tmp / "b" / ".tandem");
  ASSERT_FALSE(files.empty());
  for (const auto& [path, bytes] : files) {
    for (const std::string& name : names) {
      EXPECT_EQ(bytes.find(name), std::string::npos) << "file name " << name << " in " << path;
    }
    for (const std::string& content : contents) {
      EXPECT_EQ(bytes.find(content), std::string::npos) << "content " << content << " in " << path;
    }
    EXPECT_EQ(bytes.find("Private Folder"), std::string::npos) << path;
    EXPECT_EQ(bytes.find("zebra"), std::string::npos) << path;
  }
}

// Many blocks asked for at once, each held by one writer only: every block
// must be asked of every peer, not of the same one twice.
TEST_F(BlindReplica, AsksEveryPeerForEachBlock) {
  // One-block files, half on each writer, asked for together: with a round
  // robin shared by all requests, a block's second try can land on the
  // peer that already said no.
  for (int i = 0; i < 40; ++i) {
    WriteFile(tmp / (i % 2 ? "w1" : "w2") / ("f" + std::to_string(i)), RandomBytes(1000, i));
  }
  auto same = [&] {
    auto a = SnapshotTree(tmp / "w1");
    return a.size() == 40 && a == SnapshotTree(tmp / "w2");
  };
  ASSERT_TRUE(WaitUntil(same, 30s)) << w1.Log() << w2.Log() << blind.Log();
  EXPECT_EQ(blind.Json({"info", "s"})["index"]["sealed_blocks"].get<uint64_t>(), 40u);
  // Each writer had its blocks before its records went out, so no pass of
  // the blind replica should have ended with a block missing.
  EXPECT_EQ(blind.Log().find("not available yet"), std::string::npos) << blind.Log();
}

// Starts `d` with TANDEM_TEST_HOOKS set for it alone.
bool StartMisbehaving(DaemonProcess& d, const char* hooks) {
  ::setenv("TANDEM_TEST_HOOKS", hooks, 1);
  bool started = d.Start();
  ::unsetenv("TANDEM_TEST_HOOKS");
  return started;
}

nlohmann::json LocalChanges(const DaemonProcess& d) { return d.Json({"info", "s"})["local_changes"]; }

// A write replica and a read replica of it, connected.
class ReadReplica : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(w_dir_ / "a.txt", "share's a");
    WriteFile(w_dir_ / "b.txt", "share's b");
    WriteFile(w_dir_ / "dir/c.txt", "share's c");
    ASSERT_TRUE(writer_.Start());
  }

  // `hooks`: how the reader misbehaves, if at all.
  void Join(const char* hooks = nullptr) {
    ASSERT_TRUE(hooks ? StartMisbehaving(reader_, hooks) : reader_.Start());
    ASSERT_EQ(writer_.Run({"add", w_dir_.string(), "--name", "s"}).exit_code, 0);
    CommandResult imported = reader_.Run({"import", TokenOf(writer_, "read"), r_dir_.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    ASSERT_EQ(writer_.Run({"peer", "add", "s", reader_.address()}).exit_code, 0);
    ASSERT_TRUE(WaitUntil([&] { return SnapshotTree(r_dir_) == SnapshotTree(w_dir_); }))
        << writer_.Log() << reader_.Log();
  }

  TempDir tmp_;
  stdfs::path w_dir_ = tmp_ / "w";
  stdfs::path r_dir_ = tmp_ / "r";
  DaemonProcess writer_{tmp_ / "cw"};
  DaemonProcess reader_{tmp_ / "cr"};
};

TEST_F(ReadReplica, KeepsItsEditsLocalReportsThemAndRevertsThem) {
  Join();
  EXPECT_EQ(reader_.Json({"info", "s"})["mode"], "read");
  uint64_t writer_sequence = writer_.Json({"info", "s"})["index"]["sequence"];
  WriteFile(r_dir_ / "a.txt", "edited on the read replica");
  WriteFile(r_dir_ / "new.txt", "added on the read replica");
  stdfs::remove(r_dir_ / "b.txt");
  nlohmann::json expected = {{{"path", "a.txt"}, {"change", "modified"}, {"kind", "file"}},
                             {{"path", "b.txt"}, {"change", "deleted"}, {"kind", "file"}},
                             {{"path", "new.txt"}, {"change", "added"}, {"kind", "file"}}};
  ASSERT_TRUE(WaitUntil([&] { return LocalChanges(reader_)["paths"] == expected; })) << LocalChanges(reader_);
  EXPECT_EQ(LocalChanges(reader_)["count"], 3);
  CommandResult status = reader_.Run({"status", "s"});
  EXPECT_NE(status.out.find("3 local changes"), std::string::npos) << status.out;
  CommandResult info = reader_.Run({"info", "s"});
  EXPECT_NE(info.out.find("modified  a.txt"), std::string::npos) << info.out;

  // It still receives the share's changes to other files...
  WriteFile(w_dir_ / "dir/c.txt", "the writer changed c");
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(r_dir_ / "dir/c.txt") == "the writer changed c"; }));
  // ...and to the file it edited: the share's version takes the name, the
  // edit stays beside it.
  WriteFile(w_dir_ / "a.txt", "the writer changed a");
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(r_dir_ / "a.txt") == "the writer changed a"; })) << reader_.Log();
  bool edit_kept = false;
  for (auto& [path, content] : SnapshotTree(r_dir_)) {
    edit_kept |= path.starts_with("a.sync-conflict-") && content == "edited on the read replica";
  }
  EXPECT_TRUE(edit_kept) << ::testing::PrintToString(SnapshotTree(r_dir_));

  // Nothing of it reached the writer.
  EXPECT_EQ(ReadFile(w_dir_ / "b.txt"), "share's b");
  EXPECT_FALSE(stdfs::exists(w_dir_ / "new.txt"));
  EXPECT_EQ(SnapshotTree(w_dir_).size(), 4u) << "a.txt, b.txt, dir, dir/c.txt";
  EXPECT_EQ(writer_.Json({"info", "s"})["index"]["sequence"], writer_sequence + 2) << "only the writer's two edits";

  CommandResult reverted = reader_.Run({"revert", "s"});
  ASSERT_EQ(reverted.exit_code, 0) << reverted.err;
  EXPECT_TRUE(WaitUntil([&] { return SnapshotTree(r_dir_) == SnapshotTree(w_dir_); }))
      << ::testing::PrintToString(SnapshotTree(r_dir_)) << reader_.Log();
  EXPECT_TRUE(WaitUntil([&] { return LocalChanges(reader_)["count"] == 0; })) << LocalChanges(reader_);
  // The edits it threw away are kept as versions (issue 21).
  nlohmann::json added = reader_.Json({"versions", "s", "new.txt", "--json"});
  ASSERT_EQ(added.size(), 1u) << added.dump();
  EXPECT_EQ(ReadFile(r_dir_ / ".tandem/versions" / added[0]["file"].get<std::string>()), "added on the read replica");
}

TEST_F(ReadReplica, RevertsOnePathAndRefusesUnknownOnes) {
  Join();
  WriteFile(r_dir_ / "a.txt", "edit one");
  WriteFile(r_dir_ / "dir/c.txt", "edit two");
  ASSERT_TRUE(WaitUntil([&] { return LocalChanges(reader_)["count"] == 2; })) << LocalChanges(reader_);
  CommandResult r = reader_.Run({"revert", "s", "nothing/here.txt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no local change at nothing/here.txt"), std::string::npos) << r.err;
  r = reader_.Run({"revert", "s", "../escape"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad path"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(r_dir_ / "a.txt"), "edit one") << "a refused revert changes nothing";

  r = reader_.Run({"resolve", "s", "a.txt", "--keep", "local"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("read replica cannot resolve conflicts"), std::string::npos) << r.err;

  r = reader_.Run({"revert", "s", "dir"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(r_dir_ / "dir/c.txt") == "share's c"; }));
  EXPECT_TRUE(WaitUntil([&] { return LocalChanges(reader_)["count"] == 1; }));
  EXPECT_EQ(ReadFile(r_dir_ / "a.txt"), "edit one") << "only the named path was reverted";
}

// Param: whether the forged records come signed as a batch (by a key that
// is not the share's), as if that spared the writer checking each record.
class ReadReplicaForging : public ReadReplica, public ::testing::WithParamInterface<bool> {};

TEST_P(ReadReplicaForging, EditsItSendsAsRecordsAreRejectedAndChangeNothing) {
  Join(GetParam() ? "send-local-edits,sign-forged-batches" : "send-local-edits");
  uint64_t writer_sequence = writer_.Json({"info", "s"})["index"]["sequence"];
  auto before = SnapshotTree(w_dir_);
  WriteFile(r_dir_ / "a.txt", "forged edit");
  WriteFile(r_dir_ / "planted.txt", "forged file");
  const std::string reason = GetParam() ? "disconnected: peer sent records the share key did not sign"
                                        : "disconnected: peer sent a record the share key did not sign";
  ASSERT_TRUE(WaitUntil([&] { return writer_.Log().find(reason) != std::string::npos; }))
      << writer_.Log() << reader_.Log();
  EXPECT_NE(reader_.Log().find("TEST HOOK"), std::string::npos);
  // The writer keeps serving the share: a real edit still arrives.
  WriteFile(w_dir_ / "b.txt", "a real edit");
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(r_dir_ / "b.txt") == "a real edit"; }));
  before["b.txt"] = "a real edit";
  EXPECT_EQ(SnapshotTree(w_dir_), before);
  EXPECT_EQ(writer_.Json({"info", "s"})["index"]["sequence"], writer_sequence + 1);
}

INSTANTIATE_TEST_SUITE_P(Records, ReadReplicaForging, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "SignedAsABatch" : "OneByOne";
                         });

// Whether the new device proves it can read: forged blocks then come plain
// inside TLS; without the proof (as from an older build) they come sealed
// with the right key around the wrong bytes.
class ForgedBlocks : public ::testing::TestWithParam<bool> {};

TEST_P(ForgedBlocks, AreRejectedAndTheFileComesFromAnHonestPeer) {
  TempDir tmp;
  DaemonProcess honest(tmp / "ch"), forger(tmp / "cf"), fresh(tmp / "cn");
  bool fresh_started = GetParam() ? fresh.Start() : StartMisbehaving(fresh, "no-reader-proof");
  ASSERT_TRUE(honest.Start() && StartMisbehaving(forger, "forge-blocks") && fresh_started);
  stdfs::create_directories(tmp / "h");
  ASSERT_EQ(honest.Run({"add", (tmp / "h").string(), "--name", "s"}).exit_code, 0);
  std::string token = TokenOf(honest, "write");
  ASSERT_EQ(forger.Run({"import", token, (tmp / "f").string()}).exit_code, 0);
  ASSERT_EQ(forger.Run({"peer", "add", "s", honest.address()}).exit_code, 0);
  // Several blocks (assembled in a part file) and one block (written whole).
  std::string content = RandomBytes(200'000, 5);
  std::string small = RandomBytes(5'000, 6);
  WriteFile(tmp / "h/data.bin", content);
  WriteFile(tmp / "h/small.bin", small);
  ASSERT_TRUE(WaitUntil([&] { return stdfs::exists(tmp / "f/data.bin") && stdfs::exists(tmp / "f/small.bin"); }))
      << forger.Log();
  EXPECT_EQ(ReadFile(tmp / "f/data.bin"), content) << "the forger pulls honestly; it only serves forgeries";
  EXPECT_EQ(ReadFile(tmp / "f/small.bin"), small);

  // A new device that can reach only the forger gets the record but no bytes.
  ASSERT_EQ(fresh.Run({"import", token, (tmp / "n").string()}).exit_code, 0);
  ASSERT_EQ(fresh.Run({"peer", "add", "s", forger.address()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] {
    return fresh.Json({"info", "s"})["last_error"].get<std::string>().find("does not match its id") != std::string::npos;
  })) << fresh.Log();
  ASSERT_TRUE(WaitUntil([&] { return fresh.Json({"info", "s"})["need_files"] == 2; })) << fresh.Log();
  EXPECT_FALSE(stdfs::exists(tmp / "n/data.bin")) << "nothing forged is ever written";
  EXPECT_FALSE(stdfs::exists(tmp / "n/small.bin"));

  ASSERT_EQ(fresh.Run({"peer", "add", "s", honest.address()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return stdfs::exists(tmp / "n/data.bin") && stdfs::exists(tmp / "n/small.bin"); }, 60s))
      << fresh.Log();
  EXPECT_EQ(ReadFile(tmp / "n/data.bin"), content);
  EXPECT_EQ(ReadFile(tmp / "n/small.bin"), small);
}

INSTANTIATE_TEST_SUITE_P(Delivery, ForgedBlocks, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "PlainToAProvenReader" : "SealedToAPeerThatProvesNothing";
                         });

}  // namespace
}  // namespace tandem::testing
