#include "scan/block_hasher.h"

#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <string>

#include "crypto/keyed_hash.h"
#include "testing/temp_dir.h"

namespace tandem::scan {
namespace {

struct Chunks {
  std::vector<std::string> data;
  std::vector<ByteView> views;
  std::vector<crypto::BlockRef> expected;
};

Chunks MakeChunks(size_t count, const crypto::Key32& key) {
  Chunks c;
  for (size_t i = 0; i < count; ++i) c.data.push_back(testing::RandomBytes(1000 + 997 * i, i));
  for (const auto& d : c.data) {
    c.views.push_back(AsBytes(d));
    c.expected.push_back({crypto::ComputeBlockId(key, AsBytes(d)), static_cast<uint32_t>(d.size())});
  }
  return c;
}

crypto::Key32 Key() {
  crypto::Key32 key;
  key.fill(7);
  return key;
}

TEST(HashChunks, WithoutHelperAppendsInOrder) {
  Chunks c = MakeChunks(5, Key());
  std::vector<crypto::BlockRef> out = {{}};
  HashChunks(Key(), c.views, nullptr, out);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_TRUE(std::equal(c.expected.begin(), c.expected.end(), out.begin() + 1));
}

TEST(HashChunks, WithAHelperThreadGivesTheSameIds) {
  asio::thread_pool pool(1);
  Helper helper = [&pool](std::function<void()> task) { asio::post(pool, std::move(task)); };
  for (size_t count : {0, 1, 2, 3, 64}) {
    Chunks c = MakeChunks(count, Key());
    for (int round = 0; round < 20; ++round) {
      std::vector<crypto::BlockRef> out;
      HashChunks(Key(), c.views, helper, out);
      EXPECT_EQ(out, c.expected) << count;
    }
  }
  pool.join();
}

TEST(HashChunks, AHelperThatRunsLateFindsNothingToDo) {
  std::vector<std::function<void()>> deferred;
  Helper helper = [&deferred](std::function<void()> task) { deferred.push_back(std::move(task)); };
  Chunks c = MakeChunks(8, Key());
  std::vector<crypto::BlockRef> out;
  HashChunks(Key(), c.views, helper, out);
  EXPECT_EQ(out, c.expected);
  ASSERT_EQ(deferred.size(), 1u);
  c.data.clear();  // the chunks are gone when the helper finally runs
  out.clear();
  deferred[0]();
  EXPECT_TRUE(out.empty());
}

TEST(PendingHashes, HashesWhileTheCallerDoesOtherWork) {
  asio::thread_pool pool(1);
  Helper helper = [&pool](std::function<void()> task) { asio::post(pool, std::move(task)); };
  Chunks first = MakeChunks(40, Key());
  Chunks second = MakeChunks(7, Key());
  std::vector<crypto::BlockRef> out;
  {
    PendingHashes hashing(Key(), first.views, helper, out);
    // What the scanner does meanwhile: nothing here touches `out`.
    EXPECT_EQ(MakeChunks(3, Key()).expected.size(), 3u);
  }  // the destructor finishes
  HashChunks(Key(), second.views, helper, out);
  std::vector<crypto::BlockRef> expected = first.expected;
  expected.insert(expected.end(), second.expected.begin(), second.expected.end());
  EXPECT_EQ(out, expected);
  pool.join();
}

}  // namespace
}  // namespace tandem::scan
