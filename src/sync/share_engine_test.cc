// Whole engines, two or three at once, joined in memory (MemoryLink): real
// stores, real files, faults injected through testing::FaultFilesystem. The
// loop runs on the test's thread, so a test reads an engine's state between
// turns of it.
#include "sync/share_engine.h"

#include <asio/co_spawn.hpp>
#include <gtest/gtest.h>

#include "store/share_folder.h"
#include "sync/memory_link.h"
#include "testing/fault_filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::sync {
namespace {

using testing::FaultFilesystem;
using testing::ReadFile;
using testing::SnapshotTree;
using testing::TempDir;
using testing::WriteFile;
using Op = FaultFilesystem::Op;

class Engines : public ::testing::Test {
 protected:
  struct Device {
    std::string id;
    TempDir dir;
    FaultFilesystem fs;
    std::shared_ptr<ShareEngine> engine;
    std::vector<std::pair<EventType, nlohmann::json>> events;  // what the engine told
    std::filesystem::path root() const { return dir.path(); }
    // The events of `type` told so far, in order.
    std::vector<nlohmann::json> Told(EventType type) const {
      std::vector<nlohmann::json> out;
      for (const auto& [t, data] : events) {
        if (t == type) out.push_back(data);
      }
      return out;
    }
  };

  ~Engines() override {
    for (auto& link : links_) link->Close("test over");
    std::vector<bool> done(devices_.size(), false);
    for (size_t i = 0; i < devices_.size(); ++i) {
      asio::co_spawn(loop_, devices_[i]->engine->Shutdown(false),
                     [&done, i](std::exception_ptr, Result<void>) { done[i] = true; });
    }
    EXPECT_TRUE(RunUntil([&] { return std::all_of(done.begin(), done.end(), [](bool d) { return d; }); }));
    pool_.join();
    loop_.restart();
    loop_.poll();
    devices_.clear();
  }

  // A device holding the share in a fresh folder, with `files` in it and
  // what `fill` puts in its store before its engine starts.
  Device& AddDevice(const std::map<std::string, std::string>& files = {},
                    const std::function<void(store::Repository&)>& fill = nullptr) {
    auto device = std::make_unique<Device>();
    device->id = "device-" + std::to_string(devices_.size() + 1);
    for (const auto& [path, content] : files) WriteFile(device->root() / path, content);
    auto repo = store::Repository::Open(device->root() / RelPath::kRepoDirName, secrets_.share_id(), true,
                                        store::OptionsFor(secrets_));
    EXPECT_TRUE(repo) << repo.error().message;
    if (fill) fill(**repo);
    EXPECT_TRUE(store::WriteShareMarker(device->root(), secrets_.share_id()));
    auto reader = (*repo)->OpenReader();
    EXPECT_TRUE(reader) << reader.error().message;
    ShareEngine::Options options{.name = device->id, .root = device->root(), .secrets = secrets_,
                                 .device_short_id = devices_.size() + 1, .device_id = device->id};
    options.events = [d = device.get()](EventType type, nlohmann::json data) { d->events.emplace_back(type, std::move(data)); };
    device->engine = std::make_shared<ShareEngine>(loop_, pool_, device->fs, std::move(options), std::move(*repo),
                                                   std::move(*reader));
    device->engine->Start();
    devices_.push_back(std::move(device));
    return *devices_.back();
  }

  // The two engines as peers; returns a's link to b.
  std::shared_ptr<MemoryLink> Connect(Device& a, Device& b) {
    auto [to_b, to_a] = MemoryLink::Connect(loop_, a.engine, a.id, b.engine, b.id);
    links_.push_back(to_b);
    links_.push_back(to_a);
    return to_b;
  }

  // Turns the loop until `done` holds, for at most `limit`.
  template <typename Condition>
  bool RunUntil(Condition done, std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (loop_.stopped()) loop_.restart();
      loop_.run_one_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  static bool HasFile(const Device& device, const std::string& path, const std::string& content) {
    std::error_code ec;
    return std::filesystem::is_regular_file(device.root() / path, ec) && ReadFile(device.root() / path) == content;
  }

  static std::string Failures(const Device& device) {
    std::string all;
    for (const auto& failure : device.engine->Status().failed) all += failure.path + ": " + failure.reason + "\n";
    return all;
  }

  asio::io_context loop_;
  asio::thread_pool pool_{2};
  crypto::ShareSecrets secrets_ = crypto::ShareSecrets::GenerateWrite();
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<std::shared_ptr<MemoryLink>> links_;
};

TEST_F(Engines, AFileOnOneDeviceArrivesOnTheOther) {
  Device& a = AddDevice({{"docs/hello.txt", "hello"}});
  Device& b = AddDevice();
  Connect(a, b);
  ASSERT_TRUE(RunUntil([&] { return HasFile(b, "docs/hello.txt", "hello"); }));
  WriteFile(b.root() / "docs/reply.txt", "hi back");
  ASSERT_TRUE(RunUntil([&] { return HasFile(a, "docs/reply.txt", "hi back"); }));
}

TEST_F(Engines, APullIsToldFromTheChangeToTheFileInPlace) {
  const std::string content = testing::RandomBytes(1 << 20, 3);  // several blocks: assembled, with progress
  Device& a = AddDevice({{"docs/big.bin", content}});
  Device& b = AddDevice();
  ASSERT_TRUE(RunUntil([&] { return b.engine->Status().state == kStateWaitingForPeers; }));
  EXPECT_FALSE(b.engine->Status().completion) << "nobody knows the share's version before a peer";
  Connect(a, b);
  ASSERT_TRUE(RunUntil([&] { return HasFile(b, "docs/big.bin", content); }));
  ASSERT_TRUE(RunUntil([&] { return b.engine->Status().state == kStateIdle; })) << b.engine->Status().state;
  // Idle, and the counts shown already include what was pulled.
  EXPECT_EQ(b.engine->Status().index.files, 1u);

  // A found the file, and saw B attach.
  bool found = false;
  for (const auto& e : a.Told(EventType::kLocalChangeDetected)) found |= e["path"] == "docs/big.bin" && e["kind"] == "added";
  EXPECT_TRUE(found);
  ASSERT_FALSE(a.Told(EventType::kPeerConnected).empty());
  EXPECT_EQ(a.Told(EventType::kPeerConnected)[0]["device"], b.id);

  // B: the change from A, then the item started, its progress, finished.
  std::vector<std::string> order;
  for (const auto& [type, data] : b.events) {
    if (data.value("path", "") == "docs/big.bin" || type == EventType::kDownloadProgress) order.push_back(EventTypeName(type));
  }
  auto at = [&](const char* name) { return std::find(order.begin(), order.end(), name) - order.begin(); };
  EXPECT_LT(at("remote_change_detected"), at("item_started")) << ::testing::PrintToString(order);
  EXPECT_LT(at("item_started"), at("download_progress")) << ::testing::PrintToString(order);
  EXPECT_EQ(order.back(), "item_finished") << ::testing::PrintToString(order);
  EXPECT_FALSE(b.Told(EventType::kItemFinished).back().contains("error"));
  const auto progress = b.Told(EventType::kDownloadProgress);
  const nlohmann::json& last = progress.back()["files"][0];
  EXPECT_EQ(last["bytes_done"], content.size());
  EXPECT_EQ(last["finished"], true);
  EXPECT_EQ(last["blocks_fetched"], last["blocks_to_fetch"]);
  // B says it is in sync, and told the way there.
  EngineStatus status = b.engine->Status();
  ASSERT_TRUE(status.completion);
  EXPECT_EQ(*status.completion, 100.0);
  EXPECT_GT(status.last_in_sync_unix, 0);
  ASSERT_EQ(status.peers.size(), 1u);
  EXPECT_TRUE(status.peers[0].caught_up);
  std::vector<std::string> states;
  for (const auto& e : b.Told(EventType::kShareStateChanged)) states.push_back(e["state"]);
  EXPECT_EQ(states.front(), kStateWaitingForPeers);
  EXPECT_NE(std::find(states.begin(), states.end(), kStateSyncing), states.end()) << ::testing::PrintToString(states);
  EXPECT_EQ(states.back(), kStateIdle);
  EXPECT_GT(a.engine->Status().sent_bytes, 0u);
}

// At start the engine reads its store a page at a time for what the disk
// does not hold yet; every page counts, not only the first.
TEST_F(Engines, EveryStoredVersionTheDiskLacksIsBroughtUpToDateAtStart) {
  constexpr int kFolders = 1100;  // more than one page of records
  Device& a = AddDevice({}, [&](store::Repository& repo) {
    auto tx = repo.Begin();
    for (int i = 0; i < kFolders; ++i) {
      crypto::Entry entry{.path = *RelPath::Parse("f" + std::to_string(i))};
      entry.kind = crypto::EntryKind::kDirectory;
      entry.mode = 0755;
      entry.device_short_id = 9;
      VersionVector vector;
      vector.Set(9, 1);
      repo.PutRecord(crypto::MakeRecord(secrets_, entry, vector), entry.path.str());
    }
    tx.Commit();
  });
  auto all_there = [&] {
    for (int i = kFolders - 1; i >= 0; --i) {
      if (!std::filesystem::is_directory(a.root() / ("f" + std::to_string(i)))) return false;
    }
    return true;
  };
  ASSERT_TRUE(RunUntil(all_there)) << Failures(a);
}

TEST_F(Engines, AFullDiskWhileAssemblingLeavesTheOldFileAndNoPartFileUnderARealName) {
  const std::string old_content = testing::RandomBytes(3 << 20, 1);
  const std::string new_content = testing::RandomBytes(3 << 20, 2);
  Device& a = AddDevice({{"big.bin", old_content}});
  Device& b = AddDevice();
  Connect(a, b);
  ASSERT_TRUE(RunUntil([&] { return HasFile(b, "big.bin", old_content); }));
  const auto before = SnapshotTree(b.root());

  // The disk fills up after the part file is made: its blocks cannot be placed.
  b.fs.Fail(Op::kWritePart, "", MakeError(ErrorCode::kIo, "No space left on device"));
  WriteFile(a.root() / "big.bin", new_content);
  ASSERT_TRUE(RunUntil([&] { return Failures(b).find("No space left on device") != std::string::npos; }))
      << Failures(b);
  EXPECT_NE(Failures(b).find("big.bin"), std::string::npos) << Failures(b);
  EXPECT_EQ(SnapshotTree(b.root()), before);  // the old file, and nothing beside it
  EXPECT_GT(b.fs.calls(Op::kWritePart), 0);

  // Space freed: the retry finishes the file, and the failure is gone.
  b.fs.Heal();
  ASSERT_TRUE(RunUntil([&] { return HasFile(b, "big.bin", new_content); }));
  EXPECT_TRUE(RunUntil([&] { return Failures(b).empty(); })) << Failures(b);
  EXPECT_EQ(SnapshotTree(b.root()).size(), 1u);
}

TEST_F(Engines, AnIoErrorOnTheFinalRenameIsReportedAndRetried) {
  Device& a = AddDevice();
  Device& b = AddDevice();
  Connect(a, b);
  b.fs.Fail(Op::kRename, "note.txt", MakeError(ErrorCode::kIo, "Input/output error"));
  WriteFile(a.root() / "note.txt", "remember the milk");
  ASSERT_TRUE(RunUntil([&] { return Failures(b).find("Input/output error") != std::string::npos; })) << Failures(b);
  EXPECT_NE(Failures(b).find("note.txt"), std::string::npos) << Failures(b);
  EXPECT_TRUE(SnapshotTree(b.root()).empty());
  // Retried with backoff while it fails, and once the disk is well again.
  const int tries = b.fs.calls(Op::kRename);
  ASSERT_TRUE(RunUntil([&] { return b.fs.calls(Op::kRename) > tries; }));
  b.fs.Heal();
  ASSERT_TRUE(RunUntil([&] { return HasFile(b, "note.txt", "remember the milk"); }));
  EXPECT_TRUE(RunUntil([&] { return Failures(b).empty(); })) << Failures(b);
}

TEST_F(Engines, ABlockThatIsNotTheOneAskedForIsRefusedAndTakenFromAnotherPeer) {
  const std::string content = testing::RandomBytes(600 << 10, 3);
  Device& liar = AddDevice({{"photo.jpg", content}});
  Device& b = AddDevice();
  // Every block the liar sends b has other bytes than its id says.
  auto from_liar = Connect(b, liar);
  from_liar->TamperWith([](std::string& bytes) {
    for (char& byte : bytes) byte = static_cast<char>(byte ^ 0x5A);
  });
  ASSERT_TRUE(RunUntil([&] {
    return b.engine->Status().last_error.find("does not match its id") != std::string::npos;
  })) << b.engine->Status().last_error;
  EXPECT_NE(b.engine->Status().last_error.find(liar.id), std::string::npos);
  EXPECT_TRUE(SnapshotTree(b.root()).empty());  // nothing of it written under the name

  Device& honest = AddDevice({{"photo.jpg", content}});
  Connect(b, honest);
  ASSERT_TRUE(RunUntil([&] { return HasFile(b, "photo.jpg", content); }));
}

}  // namespace
}  // namespace tandem::sync
