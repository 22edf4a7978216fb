#include "sync/block_fetcher.h"

#include <gtest/gtest.h>

#include "sync/fake_link.h"

#include "crypto/keyed_hash.h"
#include "crypto/seal.h"
#include "sync/stage_harness.h"

namespace tandem::sync {
namespace {

class BlockFetcherTest : public ::testing::Test {
 protected:
  BlockFetcherTest() : block{crypto::ComputeBlockId(h.secrets.id_key(), AsBytes(plain)), uint32_t(plain.size())} {}

  std::shared_ptr<FakeLink> AddPeer(std::string id, std::optional<FetchedBlock> answer) {
    auto link = std::make_shared<FakeLink>(std::move(id), std::move(answer));
    peers.Add(link, "offer");
    return link;
  }
  FetchedBlock Plain(std::string bytes) { return {std::move(bytes), /*sealed=*/false}; }
  FetchedBlock Sealed(const std::string& bytes) {
    Bytes sealed = crypto::SealBlock(h.secrets.block_key(), block.id, AsBytes(bytes));
    return {std::string(AsChars(sealed)), /*sealed=*/true};
  }
  // Fetches `block`; what was placed, or the error.
  Result<std::string> Fetch() {
    auto placed = std::make_shared<std::string>();
    auto place = [placed](ByteView data) -> Result<void> {
      placed->assign(AsChars(data));
      return place_fails ? Result<void>(MakeError(ErrorCode::kIo, "No space left on device")) : Ok();
    };
    auto done = h.Await(fetcher.Fetch(block, "a.txt", place));
    if (!done) return done.error();
    return *placed;
  }

  StageHarness h;
  const std::string plain = "the block's own bytes";
  crypto::BlockRef block;
  PeerSet peers;
  std::vector<std::string> rejected;
  static inline bool place_fails = false;
  BlockFetcher fetcher{h.context, peers, [this](std::string why) { rejected.push_back(std::move(why)); }};
};

TEST_F(BlockFetcherTest, AGenuineBlockIsPlacedAndCounted) {
  AddPeer("good", Plain(plain));
  auto got = Fetch();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, plain);
  EXPECT_EQ(fetcher.received_bytes(), plain.size());
  EXPECT_TRUE(rejected.empty());
}

TEST_F(BlockFetcherTest, ASealedBlockIsOpenedBeforeItIsPlaced) {
  AddPeer("sealer", Sealed(plain));
  auto got = Fetch();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, plain);
}

TEST_F(BlockFetcherTest, ABlockFromTheWrongPeerIsRefusedAndTheNextPeerIsAsked) {
  auto liar = AddPeer("liar", Plain("other bytes, same length"));
  auto forger = AddPeer("forger", Sealed("the block's OWN bytes"));
  auto honest = AddPeer("honest", Plain(plain));
  auto got = Fetch();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, plain);
  EXPECT_EQ(liar->asked + forger->asked + honest->asked, 3);
  ASSERT_EQ(rejected.size(), 2u);
  for (const std::string& why : rejected) EXPECT_NE(why.find("does not match its id; it was rejected"), std::string::npos);
  EXPECT_EQ(fetcher.received_bytes(), plain.size());
}

TEST_F(BlockFetcherTest, NoPeerWithTheBlockIsNotFound) {
  AddPeer("empty", std::nullopt);
  AddPeer("liar", Plain("nope"));
  auto got = Fetch();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kNotFound);
  EXPECT_NE(got.error().message.find("no connected peer has block"), std::string::npos) << got.error().message;
  EXPECT_EQ(fetcher.received_bytes(), 0u);
}

TEST_F(BlockFetcherTest, ADiskThatRefusesTheBlockIsTheFilesFailureNotThePeers) {
  auto good = AddPeer("good", Plain(plain));
  AddPeer("other", Plain(plain));
  place_fails = true;
  auto got = Fetch();
  place_fails = false;
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kIo);
  EXPECT_EQ(got.error().message, "cannot write a.txt: No space left on device");
  EXPECT_TRUE(rejected.empty());
}

TEST_F(BlockFetcherTest, NothingIsFetchedOnceStopped) {
  auto good = AddPeer("good", Plain(plain));
  fetcher.Stop();
  auto got = Fetch();
  ASSERT_FALSE(got);
  EXPECT_EQ(good->asked, 0);
}

TEST_F(BlockFetcherTest, ABlindReplicaKeepsOnlySealedCopiesOfTheRightSize) {
  AddPeer("plain", Plain(plain));
  AddPeer("short", FetchedBlock{"too short", true});
  auto sealed = Sealed(plain);
  AddPeer("sealed", sealed);
  auto got = h.Await(fetcher.FetchSealed(block));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, sealed.bytes);
}

}  // namespace
}  // namespace tandem::sync
