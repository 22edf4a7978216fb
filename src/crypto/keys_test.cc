#include "crypto/keys.h"

#include "crypto/keyed_hash.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::crypto {
namespace {

Key32 Seed(uint8_t first) {
  Key32 key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(first + i);
  return key;
}

TEST(AccessMode, NamesParseBack) {
  for (AccessMode mode : {AccessMode::kBlind, AccessMode::kRead, AccessMode::kWrite}) {
    auto parsed = ParseAccessMode(AccessModeName(mode));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, mode);
  }
  for (const char* bad : {"", "Write", "rw", "readonly"}) {
    auto parsed = ParseAccessMode(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(DeviceKey, SameSeedGivesSameIdentity) {
  auto a = DeviceKey::FromSeed(Seed(1));
  auto b = DeviceKey::FromSeed(Seed(1));
  auto c = DeviceKey::FromSeed(Seed(2));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_EQ(a->DeviceId(), b->DeviceId());
  EXPECT_EQ(a->ShortId(), b->ShortId());
  EXPECT_NE(a->public_key(), c->public_key());
  EXPECT_NE(a->ShortId(), c->ShortId());
}

TEST(DeviceKey, RejectsSeedsOfTheWrongLength) {
  for (size_t n : {0, 31, 33, 64}) {
    Bytes seed(n, 1);
    auto key = DeviceKey::FromSeed(seed);
    ASSERT_FALSE(key) << n;
    EXPECT_EQ(key.error().code, ErrorCode::kCorrupt);
  }
}

TEST(DeviceKey, DeviceIdIsGroupedBase32OfThePublicKeyHash) {
  DeviceKey key = DeviceKey::Generate();
  std::string id = key.DeviceId();
  // 52 base32 characters in groups of 7: eight groups, seven dashes.
  ASSERT_EQ(id.size(), 52u + 7u) << id;
  std::string plain;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i % 8 == 7) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      plain.push_back(id[i]);
    }
  }
  EXPECT_EQ(plain, Base32Encode(Sha256(key.public_key())));
  EXPECT_EQ(id, DeviceIdFromPublicKey(key.public_key()));
  EXPECT_EQ(key.ShortId(), ReadU64BE(Sha256(key.public_key())));
}

TEST(ShareSecrets, DowngradeKeepsShareIdAndReadKeys) {
  ShareSecrets write = ShareSecrets::FromWriteSeed(Seed(10));
  ASSERT_TRUE(write.CanWrite());
  ShareSecrets read = write.Downgrade(AccessMode::kRead);
  ShareSecrets blind = write.Downgrade(AccessMode::kBlind);
  EXPECT_EQ(read.mode(), AccessMode::kRead);
  EXPECT_TRUE(read.CanRead());
  EXPECT_FALSE(read.CanWrite());
  EXPECT_EQ(blind.mode(), AccessMode::kBlind);
  EXPECT_FALSE(blind.CanRead());
  EXPECT_EQ(read.share_id(), write.share_id());
  EXPECT_EQ(blind.share_id(), write.share_id());
  EXPECT_EQ(read.read_key(), write.read_key());
  EXPECT_EQ(read.entry_key(), write.entry_key());
  EXPECT_EQ(read.block_key(), write.block_key());
  EXPECT_EQ(read.id_key(), write.id_key());
  EXPECT_EQ(read.locator_key(), write.locator_key());
  EXPECT_EQ(read.reader_proof_key(), write.reader_proof_key());
  EXPECT_EQ(read.Downgrade(AccessMode::kBlind).share_id(), write.share_id());
}

TEST(ShareSecrets, SubkeysAreDistinct) {
  ShareSecrets s = ShareSecrets::FromWriteSeed(Seed(20));
  const Key32 keys[] = {s.write_seed(), s.share_id(),  s.read_key(),   s.entry_key(),
                        s.block_key(),  s.id_key(),    s.locator_key(), s.reader_proof_key()};
  for (size_t i = 0; i < std::size(keys); ++i) {
    for (size_t j = i + 1; j < std::size(keys); ++j) EXPECT_NE(keys[i], keys[j]) << i << " " << j;
  }
}

TEST(ShareSecrets, EveryModeVerifiesWhatTheWriterSigned) {
  ShareSecrets write = ShareSecrets::FromWriteSeed(Seed(30));
  Bytes message = ToBytes(AsBytes("a message"));
  Bytes signature = write.Sign(message);
  for (AccessMode mode : {AccessMode::kWrite, AccessMode::kRead, AccessMode::kBlind}) {
    ShareSecrets s = write.Downgrade(mode);
    EXPECT_TRUE(s.Verify(message, signature)) << AccessModeName(mode);
    Bytes altered = message;
    altered[0] ^= 1;
    EXPECT_FALSE(s.Verify(altered, signature)) << AccessModeName(mode);
    EXPECT_FALSE(s.Verify(message, Bytes(signature.begin(), signature.end() - 1)));
    EXPECT_FALSE(s.Verify(message, Bytes{}));
  }
  ShareSecrets other = ShareSecrets::FromWriteSeed(Seed(31));
  EXPECT_FALSE(other.Verify(message, signature));
}

TEST(DiscoveryTag, NamesOneShareForOneNonceAndPortOnly) {
  const ShareSecrets share = ShareSecrets::GenerateWrite();
  const ShareSecrets other = ShareSecrets::GenerateWrite();
  const Bytes nonce(16, 1), another_nonce(16, 2);
  const DiscoveryTag tag = ComputeDiscoveryTag(share.share_id(), nonce, 20209);
  EXPECT_EQ(tag, ComputeDiscoveryTag(share.share_id(), nonce, 20209));
  // Every holder computes it, from any mode's token.
  EXPECT_EQ(tag, ComputeDiscoveryTag(ShareSecrets::FromShareId(share.share_id()).share_id(), nonce, 20209));
  EXPECT_NE(tag, ComputeDiscoveryTag(other.share_id(), nonce, 20209));
  EXPECT_NE(tag, ComputeDiscoveryTag(share.share_id(), another_nonce, 20209));
  EXPECT_NE(tag, ComputeDiscoveryTag(share.share_id(), nonce, 20210));
  // Nothing of the id shows in it.
  const std::string id(AsChars(share.share_id()));
  EXPECT_EQ(id.find(std::string(AsChars(tag)).substr(0, 8)), std::string::npos);
}

TEST(ReaderProof, OnlyAReaderOfTheShareMakesOneAndOnlyForThisSessionAndEnd) {
  using enum ConnectionRole;
  ShareSecrets write = ShareSecrets::FromWriteSeed(Seed(40));
  ShareSecrets read = write.Downgrade(AccessMode::kRead);
  ShareSecrets blind = write.Downgrade(AccessMode::kBlind);
  ShareSecrets other = ShareSecrets::FromWriteSeed(Seed(41));
  Bytes session = ToBytes(AsBytes("exporter secret of one TLS session"));
  Bytes another_session = ToBytes(AsBytes("exporter secret of another session"));
  Key32 proof = ComputeReaderProof(read.reader_proof_key(), session, kDialer);

  EXPECT_TRUE(CheckReaderProof(write, session, kDialer, proof)) << "a writer checks a reader's proof";
  EXPECT_TRUE(CheckReaderProof(read, session, kListener, ComputeReaderProof(write.reader_proof_key(), session, kListener)));
  EXPECT_FALSE(CheckReaderProof(write, session, kListener, proof))
      << "the dialer's proof sent back by the listener (both ends share the exporter secret)";
  EXPECT_FALSE(CheckReaderProof(write, another_session, kDialer, proof)) << "replayed on another connection";
  EXPECT_FALSE(CheckReaderProof(other, session, kDialer, proof)) << "another share's";
  EXPECT_FALSE(CheckReaderProof(write, session, kDialer, ComputeShareOffer(write.share_id(), session)))
      << "what a blind replica can compute is not a proof";
  EXPECT_FALSE(CheckReaderProof(write, session, kDialer, Bytes(proof.begin(), proof.end() - 1)));
  EXPECT_FALSE(CheckReaderProof(write, session, kDialer, Bytes{}));
  EXPECT_FALSE(CheckReaderProof(blind, session, kDialer, proof)) << "a blind replica has nothing to check it with";
}

TEST(WriterProof, OnlyAWriterOfTheShareMakesOneAndOnlyForThisSessionAndEnd) {
  using enum ConnectionRole;
  ShareSecrets write = ShareSecrets::FromWriteSeed(Seed(42));
  ShareSecrets read = write.Downgrade(AccessMode::kRead);
  ShareSecrets other = ShareSecrets::FromWriteSeed(Seed(43));
  Bytes session = ToBytes(AsBytes("exporter secret of one TLS session"));
  Bytes another_session = ToBytes(AsBytes("exporter secret of another session"));
  Key32 proof = ComputeWriterProof(write.writer_proof_key(), session, kDialer);

  EXPECT_TRUE(CheckWriterProof(write, session, kDialer, proof));
  EXPECT_FALSE(CheckWriterProof(write, session, kListener, proof)) << "sent back by the other end";
  EXPECT_FALSE(CheckWriterProof(write, another_session, kDialer, proof)) << "replayed on another connection";
  EXPECT_FALSE(CheckWriterProof(other, session, kDialer, proof)) << "another share's";
  EXPECT_FALSE(CheckWriterProof(write, session, kDialer, ComputeReaderProof(read.reader_proof_key(), session, kDialer)))
      << "what a read replica can make is not a writer's proof";
  EXPECT_FALSE(CheckWriterProof(write, session, kDialer, Bytes(proof.begin(), proof.end() - 1)));
  EXPECT_FALSE(CheckWriterProof(read, session, kDialer, proof)) << "a read replica has nothing to check it with";
  EXPECT_NE(write.writer_proof_key(), write.reader_proof_key());
}

TEST(Sha256, MatchesKnownVector) {
  // FIPS 180-2 "abc".
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace tandem::crypto
