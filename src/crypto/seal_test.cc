#include "crypto/seal.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "testing/temp_dir.h"

namespace tandem::crypto {
namespace {

class SealTest : public ::testing::Test {
 protected:
  static Key32 Seed(uint8_t b) {
    Key32 k;
    k.fill(b);
    return k;
  }
  ShareSecrets secrets_ = ShareSecrets::FromWriteSeed(Seed(1));
  ShareSecrets other_ = ShareSecrets::FromWriteSeed(Seed(2));
};

TEST_F(SealTest, EntryRoundTrips) {
  for (size_t n : {0, 1, 100, 70000}) {
    std::string plain = testing::RandomBytes(n, n);
    Bytes sealed = SealEntry(secrets_.entry_key(), AsBytes(plain));
    EXPECT_EQ(sealed.size(), n + kEntrySealOverhead);
    auto opened = OpenEntry(secrets_.entry_key(), sealed);
    ASSERT_TRUE(opened) << n;
    EXPECT_EQ(AsChars(*opened), plain);
  }
}

TEST_F(SealTest, EqualEntriesSealDifferently) {
  Bytes a = SealEntry(secrets_.entry_key(), AsBytes("same entry"));
  Bytes b = SealEntry(secrets_.entry_key(), AsBytes("same entry"));
  EXPECT_NE(a, b);
}

TEST_F(SealTest, EntryDoesNotOpenWithAnotherKey) {
  Bytes sealed = SealEntry(secrets_.entry_key(), AsBytes("entry"));
  for (const Key32* key : {&other_.entry_key(), &secrets_.block_key(), &secrets_.read_key()}) {
    auto opened = OpenEntry(*key, sealed);
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
  }
}

TEST_F(SealTest, TamperedEntryDoesNotOpen) {
  const Bytes sealed = SealEntry(secrets_.entry_key(), AsBytes("an entry of some length"));
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    auto opened = OpenEntry(secrets_.entry_key(), bad);
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
  }
  for (size_t length = 0; length < sealed.size(); ++length) {
    EXPECT_FALSE(OpenEntry(secrets_.entry_key(), ByteView(sealed).first(length))) << length;
  }
  Bytes longer = sealed;
  longer.push_back(0);
  EXPECT_FALSE(OpenEntry(secrets_.entry_key(), longer));
}

// Blocks are sealed through OpenSSL for speed; the bytes must stay exactly
// libsodium's XChaCha20-Poly1305, which earlier repositories hold.
TEST_F(SealTest, BlockSealMatchesLibsodiumXChaCha20Poly1305) {
  for (size_t n : {0, 1, 63, 64, 65, 1000, 65536, 70001}) {
    std::string plain = testing::RandomBytes(n, n + 7);
    BlockId id = ComputeBlockId(secrets_.id_key(), AsBytes(plain));
    Bytes expected(n + kSealOverhead);
    unsigned long long len = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(expected.data(), &len,
                                               reinterpret_cast<const uint8_t*>(plain.data()), n,
                                               id.data(), id.size(), nullptr, id.data(),
                                               secrets_.block_key().data());
    Bytes sealed = SealBlock(secrets_.block_key(), id, AsBytes(plain));
    EXPECT_EQ(sealed, expected) << n;
    auto opened = OpenBlock(secrets_.block_key(), secrets_.id_key(), id, expected);
    ASSERT_TRUE(opened) << n;
    EXPECT_EQ(AsChars(*opened), plain);
  }
}

TEST_F(SealTest, BlockSealingIsDeterministic) {
  std::string plain = testing::RandomBytes(65536, 3);
  BlockId id = ComputeBlockId(secrets_.id_key(), AsBytes(plain));
  Bytes a = SealBlock(secrets_.block_key(), id, AsBytes(plain));
  Bytes b = SealBlock(secrets_.block_key(), id, AsBytes(plain));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), plain.size() + kSealOverhead);
  // A read replica derives the same keys, so it seals the same bytes.
  ShareSecrets read = secrets_.Downgrade(AccessMode::kRead);
  EXPECT_EQ(SealBlock(read.block_key(), ComputeBlockId(read.id_key(), AsBytes(plain)),
                      AsBytes(plain)),
            a);
  // Another share's keys give other bytes.
  EXPECT_NE(SealBlock(other_.block_key(), ComputeBlockId(other_.id_key(), AsBytes(plain)),
                      AsBytes(plain)),
            a);
}

TEST_F(SealTest, BlockRoundTrips) {
  for (size_t n : {0, 1, 4096, 300000}) {
    std::string plain = testing::RandomBytes(n, 100 + n);
    BlockId id = ComputeBlockId(secrets_.id_key(), AsBytes(plain));
    Bytes sealed = SealBlock(secrets_.block_key(), id, AsBytes(plain));
    auto opened = OpenBlock(secrets_.block_key(), secrets_.id_key(), id, sealed);
    ASSERT_TRUE(opened) << n;
    EXPECT_EQ(AsChars(*opened), plain);
  }
}

TEST_F(SealTest, BlockOpensInPlace) {
  std::string plain = testing::RandomBytes(70000, 5);
  BlockId id = ComputeBlockId(secrets_.id_key(), AsBytes(plain));
  Bytes sealed = SealBlock(secrets_.block_key(), id, AsBytes(plain));
  auto opened = OpenBlockInPlace(secrets_.block_key(), secrets_.id_key(), id, sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->data(), sealed.data());
  EXPECT_EQ(AsChars(*opened), plain);
  Bytes tampered = SealBlock(secrets_.block_key(), id, AsBytes(plain));
  tampered[100] ^= 1;
  auto refused = OpenBlockInPlace(secrets_.block_key(), secrets_.id_key(), id, tampered);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kCorrupt);
}

TEST_F(SealTest, BlockDoesNotOpenWithAnotherKey) {
  std::string plain = "block";
  BlockId id = ComputeBlockId(secrets_.id_key(), AsBytes(plain));
  Bytes sealed = SealBlock(secrets_.block_key(), id, AsBytes(plain));
  auto opened = OpenBlock(other_.block_key(), secrets_.id_key(), id, sealed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
}

TEST_F(SealTest, TamperedBlockDoesNotOpen) {
  std::string plain = testing::RandomBytes(300, 9);
  BlockId id = ComputeBlockId(secrets_.id_key(), AsBytes(plain));
  const Bytes sealed = SealBlock(secrets_.block_key(), id, AsBytes(plain));
  for (size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x80;
    auto opened = OpenBlock(secrets_.block_key(), secrets_.id_key(), id, bad);
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
  }
  EXPECT_FALSE(OpenBlock(secrets_.block_key(), secrets_.id_key(), id, ByteView(sealed).first(15)));
}

TEST_F(SealTest, BlockServedUnderAnotherIdDoesNotOpen) {
  std::string a = "block a";
  std::string b = "block b";
  BlockId id_a = ComputeBlockId(secrets_.id_key(), AsBytes(a));
  BlockId id_b = ComputeBlockId(secrets_.id_key(), AsBytes(b));
  Bytes sealed_b = SealBlock(secrets_.block_key(), id_b, AsBytes(b));
  // A peer answers a request for block a with block b's bytes.
  auto opened = OpenBlock(secrets_.block_key(), secrets_.id_key(), id_a, sealed_b);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
}

TEST_F(SealTest, WrongContentSealedUnderTheRightIdDoesNotOpen) {
  // Whoever holds the block key can seal anything under any id; the id check
  // after decryption is what catches it.
  std::string real = "the real block";
  std::string forged = "a forged block";
  BlockId id = ComputeBlockId(secrets_.id_key(), AsBytes(real));
  Bytes sealed = SealBlock(secrets_.block_key(), id, AsBytes(forged));
  auto opened = OpenBlock(secrets_.block_key(), secrets_.id_key(), id, sealed);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(opened.error().message.find("id"), std::string::npos) << opened.error().message;
}

TEST(KeyedHash, DependsOnKeyAndInput) {
  ShareSecrets a = ShareSecrets::GenerateWrite();
  ShareSecrets b = ShareSecrets::GenerateWrite();
  EXPECT_EQ(ComputeLocator(a.locator_key(), "x/y"), ComputeLocator(a.locator_key(), "x/y"));
  EXPECT_NE(ComputeLocator(a.locator_key(), "x/y"), ComputeLocator(a.locator_key(), "x/z"));
  EXPECT_NE(ComputeLocator(a.locator_key(), "x/y"), ComputeLocator(b.locator_key(), "x/y"));
  EXPECT_NE(ComputeBlockId(a.id_key(), AsBytes("x/y")), ComputeLocator(a.locator_key(), "x/y"));
}

}  // namespace
}  // namespace tandem::crypto
