#include "crypto/record.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/seal.h"
#include "tandem.pb.h"

namespace tandem::crypto {
namespace {

Key32 Filled(uint8_t b) {
  Key32 k;
  k.fill(b);
  return k;
}

RelPath Path(std::string_view text) { return *RelPath::Parse(text); }

Bytes Serialize(const google::protobuf::MessageLite& msg) {
  Bytes out(msg.ByteSizeLong());
  msg.SerializeToArray(out.data(), static_cast<int>(out.size()));
  return out;
}

// Rebuilds a vector from (possibly altered) canonical bytes.
VersionVector FromCanonical(ByteView bytes) {
  VersionVector v;
  for (size_t i = 0; i + 16 <= bytes.size(); i += 16) {
    v.Set(ReadU64BE(bytes.subspan(i)), ReadU64BE(bytes.subspan(i + 8)));
  }
  return v;
}

class RecordTest : public ::testing::Test {
 protected:
  RecordTest() {
    entry_.kind = EntryKind::kFile;
    entry_.size = 10;
    entry_.mtime_ns = 1'700'000'000'123'456'789;
    entry_.mode = 0644;
    entry_.device_short_id = 0x1122334455667788;
    entry_.blocks = {{ComputeBlockId(secrets_.id_key(), AsBytes("abcd")), 4},
                     {ComputeBlockId(secrets_.id_key(), AsBytes("efghij")), 6}};
    vector_.Set(1, 3);
    vector_.Set(0x1122334455667788, 1);
  }

  ShareSecrets secrets_ = ShareSecrets::FromWriteSeed(Filled(1));
  ShareSecrets other_ = ShareSecrets::FromWriteSeed(Filled(2));
  Entry entry_{.path = Path("docs/report ü.txt")};
  VersionVector vector_;
};

TEST_F(RecordTest, MadeRecordVerifiesAndOpensToTheSameEntry) {
  Record record = MakeRecord(secrets_, entry_, vector_);
  EXPECT_EQ(record.locator, ComputeLocator(secrets_.locator_key(), entry_.path.str()));
  EXPECT_EQ(record.vector, vector_);
  ASSERT_TRUE(VerifyRecord(secrets_, record));
  auto opened = OpenRecord(secrets_, record);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, entry_);
}

TEST_F(RecordTest, EveryKindRoundTrips) {
  Entry dir{.path = Path("docs")};
  dir.kind = EntryKind::kDirectory;
  dir.mode = 0755;
  Entry link{.path = Path("docs/latest")};
  link.kind = EntryKind::kSymlink;
  link.symlink_target = "../elsewhere/report.txt";
  Entry tombstone{.path = Path("docs/old.txt")};
  tombstone.deleted = true;
  Entry empty{.path = Path("empty")};
  for (const Entry& e : {dir, link, tombstone, empty}) {
    Record record = MakeRecord(secrets_, e, vector_);
    ASSERT_TRUE(VerifyRecord(secrets_, record)) << e.path.str();
    auto opened = OpenRecord(secrets_, record);
    ASSERT_TRUE(opened) << e.path.str();
    EXPECT_EQ(*opened, e);
  }
}

TEST_F(RecordTest, ReadAndBlindReplicasVerify) {
  Record record = MakeRecord(secrets_, entry_, vector_);
  ShareSecrets read = ShareSecrets::FromReadKey(secrets_.share_id(), secrets_.read_key());
  ShareSecrets blind = ShareSecrets::FromShareId(secrets_.share_id());
  EXPECT_TRUE(VerifyRecord(read, record));
  EXPECT_TRUE(VerifyRecord(blind, record));
  auto opened = OpenRecord(read, record);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, entry_);
}

TEST_F(RecordTest, AnyAlteredLocatorByteFailsVerification) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  for (size_t i = 0; i < record.locator.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80, 0xff}) {
      Record bad = record;
      bad.locator[i] ^= flip;
      EXPECT_FALSE(VerifyRecord(secrets_, bad)) << "byte " << i << " ^ " << int{flip};
    }
  }
}

TEST_F(RecordTest, AnyAlteredVectorByteFailsVerification) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  const Bytes canonical = record.vector.Canonical();
  ASSERT_EQ(canonical.size(), 32u);
  for (size_t i = 0; i < canonical.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80}) {
      Bytes altered = canonical;
      altered[i] ^= flip;
      Record bad = record;
      bad.vector = FromCanonical(altered);
      ASSERT_NE(bad.vector, record.vector) << "byte " << i;
      EXPECT_FALSE(VerifyRecord(secrets_, bad)) << "byte " << i << " ^ " << int{flip};
    }
  }
}

TEST_F(RecordTest, ChangedVectorFailsVerification) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  auto expect_rejected = [&](const char* what, auto change) {
    Record bad = record;
    change(bad.vector);
    EXPECT_FALSE(VerifyRecord(secrets_, bad)) << what;
  };
  expect_rejected("counter raised", [](VersionVector& v) { v.Set(1, 4); });
  expect_rejected("counter lowered", [](VersionVector& v) { v.Set(1, 2); });
  expect_rejected("device added", [](VersionVector& v) { v.Set(2, 1); });
  expect_rejected("device removed", [](VersionVector& v) { v.Set(1, 0); });
  expect_rejected("bumped", [](VersionVector& v) { v.Bump(1); });
  expect_rejected("emptied", [](VersionVector& v) { v = VersionVector(); });
}

TEST_F(RecordTest, AnyAlteredSealedEntryByteFailsVerification) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  for (size_t i = 0; i < record.sealed_entry.size(); ++i) {
    Record bad = record;
    bad.sealed_entry[i] ^= 0x01;
    EXPECT_FALSE(VerifyRecord(secrets_, bad)) << "byte " << i;
  }
  Record shorter = record;
  shorter.sealed_entry.pop_back();
  EXPECT_FALSE(VerifyRecord(secrets_, shorter));
  Record longer = record;
  longer.sealed_entry.push_back(0);
  EXPECT_FALSE(VerifyRecord(secrets_, longer));
}

TEST_F(RecordTest, CarriesTheBlockListInTheClearUnderTheSignature) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  EXPECT_EQ(record.blocks, entry_.blocks);
  EXPECT_TRUE(VerifyRecord(ShareSecrets::FromShareId(secrets_.share_id()), record));
  Record altered = record;
  altered.blocks[1].size += 1;
  EXPECT_FALSE(VerifyRecord(secrets_, altered));
  Record dropped = record;
  dropped.blocks.pop_back();
  EXPECT_FALSE(VerifyRecord(secrets_, dropped));
}

TEST_F(RecordTest, BytesCannotMoveBetweenSealedEntryAndBlockList) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  Record moved = record;
  Bytes first = EncodeBlockList({moved.blocks.front()});
  moved.sealed_entry.insert(moved.sealed_entry.end(), first.begin(), first.end());
  moved.blocks.erase(moved.blocks.begin());
  EXPECT_FALSE(VerifyRecord(secrets_, moved));
}

TEST_F(RecordTest, TombstonesCarryNoBlocks) {
  Entry tombstone = entry_;
  tombstone.deleted = true;
  Record record = MakeRecord(secrets_, tombstone, vector_);
  EXPECT_TRUE(record.blocks.empty());
  EXPECT_TRUE(OpenRecord(secrets_, record));
}

TEST_F(RecordTest, TheSealedEntryDoesNotRepeatTheBlockList) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  auto sealed = DecodeEntry(*OpenEntry(secrets_.entry_key(), record.sealed_entry));
  ASSERT_TRUE(sealed);
  EXPECT_TRUE(sealed->blocks.empty());
  EXPECT_EQ(sealed->size, entry_.size);
  // A 1 KiB file's record is a block reference (about 40 bytes) smaller.
  Record twice = record;
  twice.sealed_entry = SealEntry(secrets_.entry_key(), EncodeEntry(entry_));
  EXPECT_GE(twice.sealed_entry.size(), record.sealed_entry.size() + 2 * 36);
  EXPECT_EQ(*OpenRecord(secrets_, record), entry_);
}

// Signs `record` as the writer would, whatever it holds.
Record Signed(const ShareSecrets& secrets, Record record) {
  record.signature = secrets.Sign(SignedMessage(secrets.share_id(), record));
  return record;
}

TEST_F(RecordTest, ARecordSealedWithItsBlockListBeforeProtocol2StillOpens) {
  Record record = MakeRecord(secrets_, entry_, vector_);
  record.sealed_entry = SealEntry(secrets_.entry_key(), EncodeEntry(entry_));
  record = Signed(secrets_, record);
  ASSERT_TRUE(VerifyRecord(secrets_, record));
  EXPECT_EQ(*OpenRecord(secrets_, record), entry_);

  // Its two lists must still agree, both ways round.
  Record sealed_differs = record;
  Entry other = entry_;
  other.blocks[0].id = ComputeBlockId(secrets_.id_key(), AsBytes("ABCD"));
  sealed_differs.sealed_entry = SealEntry(secrets_.entry_key(), EncodeEntry(other));
  auto opened = OpenRecord(secrets_, Signed(secrets_, sealed_differs));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
  Record clear_differs = record;
  clear_differs.blocks = other.blocks;
  EXPECT_FALSE(OpenRecord(secrets_, Signed(secrets_, clear_differs)));
}

TEST_F(RecordTest, ABlockListThatDoesNotFitItsEntryDoesNotOpen) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  Record longer = record;
  longer.blocks[1].size += 1;
  auto opened = OpenRecord(secrets_, Signed(secrets_, longer));
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
  Record missing = record;
  missing.blocks.pop_back();
  EXPECT_FALSE(OpenRecord(secrets_, Signed(secrets_, missing)));
  Record none = record;
  none.blocks.clear();
  EXPECT_FALSE(OpenRecord(secrets_, Signed(secrets_, none)));

  // Folders, symlinks and tombstones hold no data, so no blocks.
  for (auto [kind, deleted] : {std::pair{EntryKind::kDirectory, false}, std::pair{EntryKind::kSymlink, false},
                               std::pair{EntryKind::kFile, true}}) {
    Entry dataless = entry_;
    dataless.kind = kind;
    dataless.deleted = deleted;
    dataless.size = 0;
    dataless.blocks.clear();
    if (kind == EntryKind::kSymlink) dataless.symlink_target = "target";
    Record with_blocks = MakeRecord(secrets_, dataless, vector_);
    ASSERT_TRUE(OpenRecord(secrets_, with_blocks));
    with_blocks.blocks = entry_.blocks;
    EXPECT_FALSE(OpenRecord(secrets_, Signed(secrets_, with_blocks))) << EntryKindName(kind) << deleted;
  }
}

TEST_F(RecordTest, AnEmptyFileOpensWithNoBlocks) {
  Entry empty = entry_;
  empty.size = 0;
  empty.blocks.clear();
  EXPECT_EQ(*OpenRecord(secrets_, MakeRecord(secrets_, empty, vector_)), empty);
}

TEST_F(RecordTest, TheShareKeyRestoresASignatureExactlyAsItWasMade) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  Record unsigned_record = record;
  unsigned_record.signature.clear();
  RestoreSignature(secrets_, unsigned_record);
  EXPECT_EQ(unsigned_record, record);

  // One it has is left alone, even one that does not verify.
  Record forged = record;
  forged.signature[0] ^= 1;
  RestoreSignature(secrets_, forged);
  EXPECT_FALSE(VerifyRecord(secrets_, forged));

  // Without the share key there is nothing to sign with.
  Record stays_empty = record;
  stays_empty.signature.clear();
  RestoreSignature(ShareSecrets::FromShareId(secrets_.share_id()), stays_empty);
  EXPECT_TRUE(stays_empty.signature.empty());
}

TEST(BlockList, RoundTripsAndRejectsPartialEntries) {
  std::vector<BlockRef> blocks;
  EXPECT_TRUE(EncodeBlockList(blocks).empty());
  EXPECT_TRUE(DecodeBlockList({})->empty());
  for (uint32_t i = 0; i < 5; ++i) {
    BlockRef ref;
    ref.id.fill(static_cast<uint8_t>(i * 31));
    ref.size = i == 4 ? 0xFFFFFFFFu : i * 1000;
    blocks.push_back(ref);
  }
  Bytes encoded = EncodeBlockList(blocks);
  EXPECT_EQ(encoded.size(), blocks.size() * 36);
  EXPECT_EQ(*DecodeBlockList(encoded), blocks);
  encoded.pop_back();
  auto partial = DecodeBlockList(encoded);
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error().code, ErrorCode::kCorrupt);
}

TEST_F(RecordTest, AnyAlteredSignatureByteFailsVerification) {
  const Record record = MakeRecord(secrets_, entry_, vector_);
  ASSERT_EQ(record.signature.size(), 64u);
  for (size_t i = 0; i < record.signature.size(); ++i) {
    for (uint8_t flip : {0x01, 0x80}) {
      Record bad = record;
      bad.signature[i] ^= flip;
      EXPECT_FALSE(VerifyRecord(secrets_, bad)) << "byte " << i << " ^ " << int{flip};
    }
  }
  Record empty = record;
  empty.signature.clear();
  EXPECT_FALSE(VerifyRecord(secrets_, empty));
  Record shorter = record;
  shorter.signature.pop_back();
  EXPECT_FALSE(VerifyRecord(secrets_, shorter));
}

TEST_F(RecordTest, RecordOfAnotherShareFailsVerification) {
  Record foreign = MakeRecord(other_, entry_, vector_);
  auto verified = VerifyRecord(secrets_, foreign);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kCorrupt);
  EXPECT_FALSE(VerifyRecord(ShareSecrets::FromShareId(secrets_.share_id()), foreign));

  // Our locator and sealed entry, signed by the other share's key over our share id.
  Record resigned = MakeRecord(secrets_, entry_, vector_);
  resigned.signature = other_.Sign(SignedMessage(secrets_.share_id(), resigned));
  EXPECT_FALSE(VerifyRecord(secrets_, resigned));
  // A valid signature, but over the other share's id: not transplantable.
  Record transplanted = MakeRecord(secrets_, entry_, vector_);
  transplanted.signature = secrets_.Sign(SignedMessage(other_.share_id(), transplanted));
  EXPECT_FALSE(VerifyRecord(secrets_, transplanted));
}

class RecordBatchTest : public RecordTest {
 protected:
  RecordBatchTest() {
    for (const char* path : {"a.txt", "b/c.txt", "d"}) {
      Entry entry = entry_;
      entry.path = Path(path);
      records_.push_back(MakeRecord(secrets_, entry, vector_));
    }
  }
  std::vector<Key32> Digests(const std::vector<Record>& records) const {
    std::vector<Key32> out;
    for (const Record& record : records) out.push_back(RecordDigest(secrets_.share_id(), record));
    return out;
  }
  std::vector<Record> records_;
};

TEST_F(RecordBatchTest, SignedBatchVerifiesForEveryMode) {
  Bytes signature = SignRecordBatch(secrets_, Digests(records_));
  EXPECT_TRUE(VerifyRecordBatch(secrets_, Digests(records_), signature));
  EXPECT_TRUE(VerifyRecordBatch(secrets_.Downgrade(AccessMode::kRead), Digests(records_), signature));
  EXPECT_TRUE(VerifyRecordBatch(ShareSecrets::FromShareId(secrets_.share_id()), Digests(records_), signature));
}

TEST_F(RecordBatchTest, AnyChangeToTheRecordsFailsVerification) {
  Bytes signature = SignRecordBatch(secrets_, Digests(records_));
  auto fails = [&](const std::vector<Record>& records, const char* what) {
    auto verified = VerifyRecordBatch(secrets_, Digests(records), signature);
    ASSERT_FALSE(verified) << what;
    EXPECT_EQ(verified.error().code, ErrorCode::kCorrupt);
  };
  std::vector<Record> changed = records_;
  changed[1].sealed_entry[0] ^= 1;
  fails(changed, "a sealed entry");
  changed = records_;
  changed[2].vector.Bump(7);
  fails(changed, "a vector");
  changed = records_;
  changed[0].blocks.pop_back();
  fails(changed, "a block list");
  changed = records_;
  changed[2].signature[5] ^= 1;
  fails(changed, "a record's own signature: the batch vouches for it as stored");
  changed = records_;
  std::swap(changed[0], changed[1]);
  fails(changed, "the order");
  changed = records_;
  changed.pop_back();
  fails(changed, "one record fewer");
  changed = records_;
  changed.push_back(records_[0]);
  fails(changed, "one record more");
  fails({}, "no records");
}

TEST_F(RecordBatchTest, OnlyTheShareKeySignsABatch) {
  std::vector<Key32> digests = Digests(records_);
  Bytes signature = SignRecordBatch(secrets_, digests);
  for (size_t i = 0; i < signature.size(); i += 7) {
    Bytes bad = signature;
    bad[i] ^= 0x10;
    EXPECT_FALSE(VerifyRecordBatch(secrets_, digests, bad)) << "byte " << i;
  }
  EXPECT_FALSE(VerifyRecordBatch(secrets_, digests, {}));
  EXPECT_FALSE(VerifyRecordBatch(secrets_, digests, SignRecordBatch(other_, digests)));
  // Signed by the share key, but for another share's id.
  EXPECT_FALSE(VerifyRecordBatch(ShareSecrets::FromShareId(other_.share_id()), digests, signature));
}

TEST_F(RecordTest, OpenFailsWithAnotherShareReadKey) {
  Record record = MakeRecord(secrets_, entry_, vector_);
  auto opened = OpenRecord(other_, record);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
}

TEST_F(RecordTest, OpenFailsWhenLocatorDoesNotMatchPath) {
  // Correctly signed by the writer, but filed under another path's locator.
  Record record = MakeRecord(secrets_, entry_, vector_);
  record.locator = ComputeLocator(secrets_.locator_key(), "docs/other.txt");
  record.signature = secrets_.Sign(SignedMessage(secrets_.share_id(), record));
  ASSERT_TRUE(VerifyRecord(secrets_, record));
  auto opened = OpenRecord(secrets_, record);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
}

TEST_F(RecordTest, SignedRecordWithUnsafePathDoesNotOpen) {
  // Even the share's own key cannot make a replica accept a path outside the share.
  for (const char* path : {"../outside", "/etc/passwd", ".tandem/index.db", "a/../../b", ""}) {
    wire::Entry msg;
    msg.set_path(path);
    msg.set_kind(wire::ENTRY_KIND_FILE);
    Record record;
    record.locator = ComputeLocator(secrets_.locator_key(), path);
    record.vector = vector_;
    record.sealed_entry = SealEntry(secrets_.entry_key(), Serialize(msg));
    record.signature = secrets_.Sign(SignedMessage(secrets_.share_id(), record));
    ASSERT_TRUE(VerifyRecord(secrets_, record));
    auto opened = OpenRecord(secrets_, record);
    ASSERT_FALSE(opened) << path;
    EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
  }
}

TEST_F(RecordTest, EncodeDecodeRoundTrips) {
  VersionVector big;
  big.Set(~uint64_t{0}, ~uint64_t{0});
  big.Set(0, 1);
  for (const VersionVector& v : {vector_, VersionVector(), big}) {
    Record record = MakeRecord(secrets_, entry_, v);
    auto decoded = DecodeRecord(EncodeRecord(record));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, record);
    EXPECT_TRUE(VerifyRecord(secrets_, *decoded));
  }
}

TEST_F(RecordTest, DecodeRejectsGarbage) {
  Bytes valid = EncodeRecord(MakeRecord(secrets_, entry_, vector_));
  const Bytes cases[] = {
      {0xff, 0xff, 0xff},
      {0x0a, 0x05, 0x01},          // locator field longer than the input
      Bytes(valid.begin(), valid.begin() + static_cast<long>(valid.size() / 2)),
      ToBytes(AsBytes("not a record at all")),
  };
  for (const Bytes& bytes : cases) {
    auto decoded = DecodeRecord(bytes);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorrupt);
  }
}

TEST_F(RecordTest, DecodeRejectsLocatorOfWrongLength) {
  for (size_t n : {0, 31, 33}) {
    wire::Record msg;
    msg.set_locator(std::string(n, 'x'));
    auto decoded = DecodeRecord(Serialize(msg));
    ASSERT_FALSE(decoded) << n;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorrupt);
  }
}

TEST_F(RecordTest, DecodeRejectsNonCanonicalVectors) {
  struct Case {
    const char* name;
    std::vector<std::pair<uint64_t, uint64_t>> counters;
    bool ok;
  };
  const Case cases[] = {
      {"sorted", {{1, 1}, {2, 5}, {9, 1}}, true},
      {"empty", {}, true},
      {"device zero", {{0, 1}}, true},
      {"out of order", {{2, 1}, {1, 1}}, false},
      {"duplicate device", {{1, 1}, {1, 2}}, false},
      {"duplicate device, same counter", {{1, 1}, {1, 1}}, false},
      {"zero counter", {{1, 0}}, false},
      {"zero counter after others", {{1, 1}, {2, 0}}, false},
  };
  for (const Case& c : cases) {
    wire::Record msg;
    msg.set_locator(std::string(32, 'l'));
    for (const auto& [device, counter] : c.counters) {
      wire::VersionCounter* vc = msg.add_vector();
      vc->set_device(device);
      vc->set_counter(counter);
    }
    auto decoded = DecodeRecord(Serialize(msg));
    EXPECT_EQ(decoded.has_value(), c.ok) << c.name;
    if (!decoded) {
      EXPECT_EQ(decoded.error().code, ErrorCode::kCorrupt) << c.name;
    } else {
      EXPECT_EQ(decoded->vector.counters().size(), c.counters.size()) << c.name;
    }
  }
}

TEST_F(RecordTest, EntryEncodeDecodeRoundTrips) {
  auto decoded = DecodeEntry(EncodeEntry(entry_));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, entry_);
}

TEST_F(RecordTest, DecodeEntryRejectsUnsafePaths) {
  using namespace std::string_literals;
  for (const std::string& path : {""s, ".."s, "../x"s, "a/../b"s, "/abs"s, "a//b"s, "a/"s,
                                  ".tandem"s, ".tandem/index.db"s, "a\0b"s, "\xC0\xAF"s}) {
    wire::Entry msg;
    msg.set_path(path);
    auto decoded = DecodeEntry(Serialize(msg));
    ASSERT_FALSE(decoded) << path;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorrupt);
  }
}

TEST_F(RecordTest, DecodeEntryRejectsInconsistentEntries) {
  wire::Entry base;
  base.set_path("f");
  base.set_kind(wire::ENTRY_KIND_FILE);
  base.set_size(4);
  wire::BlockRef* ref = base.add_blocks();
  ref->set_id(std::string(32, 'i'));
  ref->set_size(4);
  ASSERT_TRUE(DecodeEntry(Serialize(base)));

  wire::Entry short_id = base;
  short_id.mutable_blocks(0)->set_id(std::string(31, 'i'));
  EXPECT_FALSE(DecodeEntry(Serialize(short_id)));

  wire::Entry wrong_sum = base;
  wrong_sum.set_size(5);
  EXPECT_FALSE(DecodeEntry(Serialize(wrong_sum)));

  wire::Entry unknown_kind = base;
  unknown_kind.set_kind(static_cast<wire::EntryKind>(7));
  EXPECT_FALSE(DecodeEntry(Serialize(unknown_kind)));

  Bytes garbage = {0xff, 0xff, 0xff, 0xff};
  auto decoded = DecodeEntry(garbage);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace tandem::crypto
