#include "sync/index_batch.h"

#include <gtest/gtest.h>

#include "fs/filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::sync {
namespace {

crypto::Record RecordOf(const crypto::ShareSecrets& secrets, const std::string& path, uint64_t size,
                        const VersionVector& vector) {
  crypto::Entry entry{.path = *RelPath::Parse(path)};
  entry.size = size;
  entry.mode = 0644;
  entry.blocks.push_back({crypto::BlockId{}, static_cast<uint32_t>(size)});
  return crypto::MakeRecord(secrets, entry, vector);
}

VersionVector Version(uint64_t replica, int bumps) {
  VersionVector vector;
  for (int i = 0; i < bumps; ++i) vector.Bump(replica);
  return vector;
}

wire::IndexBatch BatchOf(const std::vector<crypto::Record>& records) {
  wire::IndexBatch batch;
  for (const auto& record : records) crypto::RecordToWire(record, batch.add_records());
  return batch;
}

void SignAsAWhole(const crypto::ShareSecrets& signer, const crypto::Key32& share_id, wire::IndexBatch& batch,
                  const std::vector<crypto::Record>& records) {
  std::vector<crypto::Key32> digests;
  for (const auto& record : records) digests.push_back(crypto::RecordDigest(share_id, record));
  batch.set_batch_signature(std::string(AsChars(crypto::SignRecordBatch(signer, digests))));
}

class IndexBatch : public ::testing::Test {
 protected:
  crypto::ShareSecrets secrets_ = crypto::ShareSecrets::GenerateWrite();
  crypto::ShareSecrets impostor_ = crypto::ShareSecrets::GenerateWrite();
};

TEST_F(IndexBatch, RecordsTheShareKeySignedPassAndOpen) {
  auto batch = BatchOf({RecordOf(secrets_, "a.txt", 3, Version(1, 1)), RecordOf(secrets_, "b.txt", 4, Version(1, 1))});
  auto checked = CheckRecords(secrets_, batch, 0, 2);
  ASSERT_TRUE(checked) << checked.error().message;
  ASSERT_EQ(checked->size(), 2u);
  EXPECT_EQ((*checked)[1].entry->path.str(), "b.txt");
}

TEST_F(IndexBatch, ARecordAnotherKeySignedIsRefusedAsCorrupt) {
  // Sealed with the share's keys but signed by another: what a read replica forging an edit can do.
  crypto::Record forged = RecordOf(secrets_, "a.txt", 3, Version(1, 1));
  forged.signature = impostor_.Sign(crypto::SignedMessage(secrets_.share_id(), forged));
  auto batch = BatchOf({RecordOf(secrets_, "ok.txt", 1, Version(1, 1)), forged});
  auto checked = CheckRecords(secrets_, batch, 0, 2);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().code, ErrorCode::kCorrupt);
}

// What a writer is sent once it proved it writes: no record's own signature.
TEST_F(IndexBatch, RecordsWithoutTheirSignaturesPassOnlyAWriterAndOnlyInABatchSignedAsAWhole) {
  std::vector<crypto::Record> records = {RecordOf(secrets_, "a.txt", 3, Version(1, 1)),
                                         RecordOf(secrets_, "b.txt", 4, Version(1, 1))};
  for (crypto::Record& record : records) record.signature.clear();
  auto batch = BatchOf(records);
  SignAsAWhole(secrets_, secrets_.share_id(), batch, records);
  auto checked = CheckRecords(secrets_, batch, 0, 2);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_TRUE(CheckBatchSignature(secrets_, batch, *checked));

  // A read or blind replica keeps and relays signatures: it needs each one.
  for (const crypto::ShareSecrets& other : {secrets_.Downgrade(crypto::AccessMode::kRead),
                                            secrets_.Downgrade(crypto::AccessMode::kBlind)}) {
    auto refused = CheckRecords(other, batch, 0, 2);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kCorrupt);
    EXPECT_NE(refused.error().message.find("without its signature"), std::string::npos) << refused.error().message;
  }
  // Nothing vouches for a record alone without its signature.
  auto alone = CheckRecords(secrets_, BatchOf(records), 0, 2);
  ASSERT_FALSE(alone);
  EXPECT_EQ(alone.error().code, ErrorCode::kCorrupt);
  // Nor does a whole batch signed by another key.
  SignAsAWhole(impostor_, secrets_.share_id(), batch, records);
  checked = CheckRecords(secrets_, batch, 0, 2);
  ASSERT_TRUE(checked);
  EXPECT_FALSE(CheckBatchSignature(secrets_, batch, *checked));
}

TEST_F(IndexBatch, ABatchSignedAsAWholeByTheShareKeyPassesAndByAnotherKeyDoesNot) {
  std::vector<crypto::Record> records = {RecordOf(secrets_, "a.txt", 3, Version(1, 1)),
                                         RecordOf(secrets_, "b.txt", 4, Version(1, 1))};
  auto batch = BatchOf(records);
  SignAsAWhole(secrets_, secrets_.share_id(), batch, records);
  auto checked = CheckRecords(secrets_, batch, 0, 2);
  ASSERT_TRUE(checked) << checked.error().message;
  EXPECT_TRUE(CheckBatchSignature(secrets_, batch, *checked));

  SignAsAWhole(impostor_, secrets_.share_id(), batch, records);
  checked = CheckRecords(secrets_, batch, 0, 2);
  ASSERT_TRUE(checked);  // each record's form is fine; the batch signature is not
  auto verified = CheckBatchSignature(secrets_, batch, *checked);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kCorrupt);
}

class ApplyingRecords : public IndexBatch {
 protected:
  void SetUp() override { OpenAs(secrets_); }
  // A new store, as a replica with `secrets` opens it (a writer keeps no signatures).
  void OpenAs(const crypto::ShareSecrets& secrets) {
    repo_.reset();
    std::filesystem::remove_all(dir_ / RelPath::kRepoDirName);
    auto opened = store::Repository::Open(dir_ / RelPath::kRepoDirName, secrets_.share_id(), true,
                                          store::OptionsFor(secrets));
    ASSERT_TRUE(opened) << opened.error().message;
    repo_ = std::move(*opened);
  }
  AppliedBatch Apply(const crypto::ShareSecrets& secrets, const std::vector<crypto::Record>& records,
                     uint64_t last_seq, const IgnorePatterns* ignores = nullptr) {
    auto checked = CheckRecords(secrets, BatchOf(records), 0, records.size());
    EXPECT_TRUE(checked) << checked.error().message;
    if (!checked) return {};
    return ApplyRecords(*repo_, secrets, repo_->replica_id(), {fs_, dir_.path()}, "peer",
                        {ToBytes(AsBytes(std::string_view("epoch"))), last_seq}, *checked, ignores);
  }

  testing::TempDir dir_;
  fs::PosixFilesystem fs_;
  std::unique_ptr<store::Repository> repo_;
};

TEST_F(ApplyingRecords, ANewerVersionIsStoredItsPathNeededAndThePeersProgressKept) {
  auto applied = Apply(secrets_, {RecordOf(secrets_, "a.txt", 3, Version(7, 1))}, 10);
  EXPECT_EQ(applied.stored, 1u);
  ASSERT_EQ(applied.needs.size(), 1u);
  EXPECT_EQ(applied.needs[0].second.bytes, 3u);
  EXPECT_TRUE(applied.verbatim);
  auto newer = Apply(secrets_, {RecordOf(secrets_, "a.txt", 5, Version(7, 2))}, 11);
  EXPECT_EQ(newer.stored, 1u);
  EXPECT_EQ(repo_->GetPeerProgress("peer")->last_seq, 11u);
}

TEST_F(ApplyingRecords, ARecordOfAnIgnoredPathIsStoredButNeverNeeded) {
  testing::WriteFile(dir_.path() / ".tandemignore", "build/\n");
  IgnorePatterns ignores;
  ignores.Load(fs_, dir_.path(), *repo_);
  auto applied = Apply(secrets_, {RecordOf(secrets_, "build/a.o", 3, Version(7, 1)), RecordOf(secrets_, "b.txt", 2, Version(7, 2))},
                       10, &ignores);
  EXPECT_EQ(applied.stored, 2u);
  ASSERT_EQ(applied.needs.size(), 1u);
  EXPECT_EQ(applied.needs[0].first, RecordOf(secrets_, "b.txt", 2, Version(7, 2)).locator);
  EXPECT_TRUE(repo_->GetRecord(RecordOf(secrets_, "build/a.o", 3, Version(7, 1)).locator));  // passed on from here
}

TEST_F(ApplyingRecords, WhileNoRulesAreKnownNothingIsNeeded) {
  testing::WriteFile(dir_.path() / ".tandemignore", "[never closed\n");
  IgnorePatterns ignores;
  ignores.Load(fs_, dir_.path(), *repo_);
  ASSERT_FALSE(ignores.rules());
  auto applied = Apply(secrets_, {RecordOf(secrets_, "b.txt", 2, Version(7, 2))}, 10, &ignores);
  EXPECT_EQ(applied.stored, 1u);
  EXPECT_TRUE(applied.needs.empty());
}

TEST_F(ApplyingRecords, AnOlderOrTheSameVersionChangesNothing) {
  Apply(secrets_, {RecordOf(secrets_, "a.txt", 5, Version(7, 2))}, 1);
  const uint64_t seq = repo_->LastSeq();
  for (int bumps : {1, 2}) {
    auto applied = Apply(secrets_, {RecordOf(secrets_, "a.txt", 3, Version(7, bumps))}, 2);
    EXPECT_EQ(applied.stored, 0u);
    EXPECT_TRUE(applied.needs.empty());
  }
  EXPECT_EQ(repo_->LastSeq(), seq);
}

TEST_F(ApplyingRecords, AReadReplicaKeepsTheConcurrentVersionWithTheLargerSignatureEitherWayRound) {
  crypto::ShareSecrets reader = secrets_.Downgrade(crypto::AccessMode::kRead);
  OpenAs(reader);
  crypto::Record one = RecordOf(secrets_, "a.txt", 1, Version(1, 1));
  crypto::Record two = RecordOf(secrets_, "a.txt", 2, Version(2, 1));
  const crypto::Record& larger = one.signature > two.signature ? one : two;
  const crypto::Record& smaller = one.signature > two.signature ? two : one;
  Apply(reader, {smaller}, 1);
  EXPECT_EQ(Apply(reader, {larger}, 2).stored, 1u);
  EXPECT_EQ(repo_->GetRecord(one.locator)->record.signature, larger.signature);
  EXPECT_EQ(Apply(reader, {smaller}, 3).stored, 0u);
  EXPECT_EQ(repo_->GetRecord(one.locator)->record.signature, larger.signature);
}

}  // namespace
}  // namespace tandem::sync
