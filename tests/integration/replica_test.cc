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

TEST(BlindReplica, RelaysBetweenWritersThatNeverMeetAndKeepsNoPlaintext) {
  TempDir tmp;
  DaemonProcess w1(tmp / "c1"), w2(tmp / "c2"), blind(tmp / "cb");
  ASSERT_TRUE(w1.Start() && w2.Start() && blind.Start());
  stdfs::create_directories(tmp / "w1");
  ASSERT_EQ(w1.Run({"add", (tmp / "w1").string(), "--name", "s"}).exit_code, 0);
  CommandResult imported = w2.Run({"import", TokenOf(w1, "write"), (tmp / "w2").string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  imported = blind.Run({"import", TokenOf(w1, "blind"), (tmp / "b").string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  // w1 <-> blind <-> w2: the writers never meet.
  ASSERT_EQ(w1.Run({"peer", "add", "s", blind.address()}).exit_code, 0);
  ASSERT_EQ(w2.Run({"peer", "add", "s", blind.address()}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Attached(blind, 2) && Attached(w1, 1) && Attached(w2, 1); }));

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

}  // namespace
}  // namespace tandem::testing
