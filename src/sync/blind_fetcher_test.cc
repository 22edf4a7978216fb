#include "sync/blind_fetcher.h"

#include <gtest/gtest.h>

#include "crypto/seal.h"
#include "sync/fake_link.h"
#include "sync/index_batch.h"
#include "sync/stage_store.h"

namespace tandem::sync {
namespace {

// A blind replica's store holding the records of a writer's one-file share,
// and none of its blocks yet.
class BlindFetcherTest : public ::testing::Test {
 protected:
  BlindFetcherTest() {
    writer.WriteAndScan({{"a.txt", content}});
    auto state = writer.repo_->GetFileState("a.txt");
    EXPECT_TRUE(state && state->blocks.size() == 1);
    block = state->blocks.front();
    auto repo = store::Repository::Open(blind_dir.path() / RelPath::kRepoDirName, blind.share_id(), true);
    EXPECT_TRUE(repo) << repo.error().message;
    blind_repo = std::move(*repo);
    std::vector<CheckedRecord> records;
    for (auto& stored : writer.reader_->RecordsSince(0, 100)) records.push_back({std::move(stored.record), {}, {}});
    ApplyRecords(*blind_repo, blind, blind_repo->replica_id(), {h.fs, blind_dir.path()}, "writer",
                 {writer.repo_->epoch(), writer.repo_->LastSeq()}, records);
  }
  FetchedBlock Sealed() {
    Bytes sealed = crypto::SealBlock(h.secrets.block_key(), block.id, AsBytes(content));
    return {std::string(AsChars(sealed)), true};
  }

  StageHarness h;
  StageStore writer{h};
  const std::string content = "a file a blind replica cannot read";
  crypto::BlockRef block;
  crypto::ShareSecrets blind = crypto::ShareSecrets::FromShareId(h.secrets.share_id());
  testing::TempDir blind_dir;
  std::unique_ptr<store::Repository> blind_repo;
  PeerSet peers;
  BlockFetcher fetcher{h.context, peers, nullptr};
  std::optional<store::IndexSummary> summary;
  BlindFetcher fetching{h.context, blind_repo, fetcher, [] { return true; },
                        [this](store::IndexSummary s) { summary = s; }};
};

TEST_F(BlindFetcherTest, TheSealedBlocksRecordsReferToAreFetchedAndKept) {
  ASSERT_FALSE(blind_repo->GetSealedBlock(block.id));
  peers.Add(std::make_shared<FakeLink>("empty"), "offer");
  peers.Add(std::make_shared<FakeLink>("holder", Sealed()), "offer");
  fetching.Start();
  ASSERT_TRUE(h.RunUntil([&] { return !fetching.fetching(); }));
  auto kept = blind_repo->GetSealedBlock(block.id);
  ASSERT_TRUE(kept);
  EXPECT_EQ(std::string(AsChars(*kept)), Sealed().bytes);
  EXPECT_EQ(fetching.missing_blocks(), 0u);
  EXPECT_EQ(fetcher.received_bytes(), content.size());
  EXPECT_TRUE(summary.has_value());
}

TEST_F(BlindFetcherTest, BlocksNoPeerHasAreCountedAndLookedForAgainLater) {
  auto empty = std::make_shared<FakeLink>("empty");
  peers.Add(empty, "offer");
  fetching.Start();
  ASSERT_TRUE(h.RunUntil([&] { return summary.has_value(); }));
  EXPECT_EQ(fetching.missing_blocks(), 1u);
  EXPECT_EQ(fetching.missing_bytes(), content.size());
  EXPECT_TRUE(fetching.fetching());  // waiting out a pause before it looks again
  // A peer that has it now: a new pass starts at once, without waiting.
  peers.Add(std::make_shared<FakeLink>("holder", Sealed()), "offer");
  fetching.Start();
  ASSERT_TRUE(h.RunUntil([&] { return blind_repo->GetSealedBlock(block.id).has_value(); }));
  ASSERT_TRUE(h.RunUntil([&] { return !fetching.fetching(); }));
  EXPECT_EQ(fetching.missing_blocks(), 0u);
}

TEST_F(BlindFetcherTest, StopEndsAPassWaitingForPeers) {
  peers.Add(std::make_shared<FakeLink>("empty"), "offer");
  fetching.Start();
  ASSERT_TRUE(h.RunUntil([&] { return summary.has_value(); }));
  fetching.Stop();
  ASSERT_TRUE(h.RunUntil([&] { return h.spawned_running == 0; }));
  EXPECT_FALSE(fetching.fetching());
  EXPECT_TRUE(h.failures.empty());
}

}  // namespace
}  // namespace tandem::sync
