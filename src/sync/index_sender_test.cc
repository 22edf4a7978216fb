#include "sync/index_sender.h"

#include <gtest/gtest.h>

#include "crypto/keyed_hash.h"
#include "crypto/record.h"
#include "sync/index_batch.h"
#include "sync/fake_link.h"

#include "sync/stage_store.h"

namespace tandem::sync {
namespace {

class IndexSenderTest : public ::testing::Test {
 protected:
  IndexSenderTest() {
    store.WriteAndScan({{"a.txt", "a"}, {"b.txt", "b"}, {"c/d.txt", "d"}});
    link = peers.Add(recording, "the-offer");
  }
  wire::IndexRequest Request(std::optional<uint64_t> since, bool same_epoch = true) {
    wire::IndexRequest request;
    if (since) {
      request.set_epoch(same_epoch ? std::string(AsChars(store.repo_->epoch())) : std::string("another store"));
      request.set_since(*since);
    }
    return request;
  }
  uint64_t last() const { return store.repo_->LastSeq(); }
  // A first request with a writer's proof for `prover`'s end (FakeLink
  // dialled: the peer's own end is the listener's).
  wire::IndexRequest RequestProvingWriting(crypto::ConnectionRole prover) {
    wire::IndexRequest request = Request(std::nullopt);
    request.set_writer_proof(std::string(
        AsChars(crypto::ComputeWriterProof(h.secrets.writer_proof_key(), recording->session_binding(), prover))));
    return request;
  }

  StageHarness h;
  StageStore store{h};
  PeerSet peers;
  std::shared_ptr<FakeLink> recording = std::make_shared<FakeLink>("peer");
  std::shared_ptr<AttachedPeer> link;
  IndexSender sender{h.context, store.reader_, store.repo_->epoch()};
};

TEST_F(IndexSenderTest, APeerThatHasSeenNothingIsSentEveryRecordSignedAsABatch) {
  h.Await(sender.Answer(link, Request(std::nullopt)));
  ASSERT_EQ(recording->frames.size(), 1u);
  const wire::IndexBatch& batch = recording->frames[0].index_batch();
  EXPECT_EQ(batch.share(), "the-offer");
  EXPECT_EQ(static_cast<uint64_t>(batch.records_size()), last());  // a.txt, b.txt, c, c/d.txt
  EXPECT_EQ(batch.last_seq(), last());
  EXPECT_TRUE(batch.caught_up());
  EXPECT_FALSE(batch.batch_signature().empty());
  EXPECT_TRUE(link->live);
  EXPECT_EQ(link->cursor, last());
}

TEST_F(IndexSenderTest, EveryRecordGoesOutWithItsOwnSignatureThoughAWritersStoreKeepsNone) {
  ASSERT_TRUE(store.repo_->RecordsSince(0, 1).at(0).record.signature.empty());
  h.Await(sender.Answer(link, Request(std::nullopt)));
  ASSERT_EQ(recording->frames.size(), 1u);
  for (const wire::Record& sent : recording->frames[0].index_batch().records()) {
    auto record = crypto::RecordFromWire(sent);
    ASSERT_TRUE(record);
    // What a read or blind replica keeps and relays: each must verify alone.
    EXPECT_TRUE(crypto::VerifyRecord(crypto::ShareSecrets::FromShareId(h.secrets.share_id()), *record));
  }
}

TEST_F(IndexSenderTest, APeerIsSentOnlyWhatCameAfterItsSince) {
  h.Await(sender.Answer(link, Request(last() - 1)));
  EXPECT_EQ(recording->records(), 1u);
  h.Await(sender.Answer(link, Request(last())));
  EXPECT_EQ(recording->records(), 1u);  // nothing new: an empty batch says it is caught up
  EXPECT_TRUE(recording->frames.back().index_batch().caught_up());
}

TEST_F(IndexSenderTest, APeerThatClaimsMoreThanTheStoreHoldsIsSentEverythingAgain) {
  // A backup restored over the store: its numbers are issued again.
  h.Await(sender.Answer(link, Request(last() + 100)));
  EXPECT_EQ(recording->records(), last());
}

TEST_F(IndexSenderTest, APeerThatNamesAnotherStoreIsSentEverything) {
  h.Await(sender.Answer(link, Request(last(), /*same_epoch=*/false)));
  EXPECT_EQ(recording->records(), last());
}

TEST_F(IndexSenderTest, ALivePeerIsPushedWhatTheStoreGainsAndOnlyThat) {
  h.Await(sender.Answer(link, Request(std::nullopt)));
  ASSERT_TRUE(h.RunUntil([&] { return !link->pushing; }));
  const size_t before = recording->records();
  store.WriteAndScan({{"e.txt", "new"}});
  sender.PushUpdates(peers);
  ASSERT_TRUE(h.RunUntil([&] { return recording->records() == before + 1 && !link->pushing; }));
  EXPECT_EQ(link->cursor, last());
  EXPECT_TRUE(h.failures.empty());
}

TEST_F(IndexSenderTest, APeerThatProvesItWritesIsSentNoSignatureItMakesItself) {
  h.Await(sender.Answer(link, RequestProvingWriting(crypto::ConnectionRole::kListener)));
  EXPECT_TRUE(link->writes);
  ASSERT_EQ(recording->frames.size(), 1u);
  const wire::IndexBatch& batch = recording->frames[0].index_batch();
  ASSERT_GE(batch.records_size(), 2);
  for (const wire::Record& sent : batch.records()) EXPECT_TRUE(sent.signature().empty());
  auto checked = CheckRecords(h.secrets, batch, 0, static_cast<size_t>(batch.records_size()));
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_TRUE(CheckBatchSignature(h.secrets, batch, *checked));

  // A batch of one is not signed as a whole: its record keeps its own.
  ASSERT_TRUE(h.RunUntil([&] { return !link->pushing; }));
  store.WriteAndScan({{"e.txt", "new"}});
  sender.PushUpdates(peers);
  ASSERT_TRUE(h.RunUntil([&] { return recording->frames.size() == 2 && !link->pushing; }));
  const wire::IndexBatch& one = recording->frames[1].index_batch();
  ASSERT_EQ(one.records_size(), 1);
  EXPECT_TRUE(one.batch_signature().empty());
  EXPECT_TRUE(crypto::VerifyRecord(h.secrets, *crypto::RecordFromWire(one.records(0))));
}

TEST_F(IndexSenderTest, AWriterProofFromTheWrongEndOrAReaderGetsEverySignature) {
  // Our own end's proof sent back: both ends share the session's secret.
  h.Await(sender.Answer(link, RequestProvingWriting(crypto::ConnectionRole::kDialer)));
  EXPECT_FALSE(link->writes);
  for (const wire::Record& sent : recording->frames.at(0).index_batch().records()) {
    EXPECT_TRUE(crypto::VerifyRecord(h.secrets, *crypto::RecordFromWire(sent)));
  }
}

TEST_F(IndexSenderTest, NothingIsSentOnceStopped) {
  sender.Stop();
  h.Await(sender.Answer(link, Request(std::nullopt)));
  EXPECT_EQ(recording->records(), 0u);
}

}  // namespace
}  // namespace tandem::sync
