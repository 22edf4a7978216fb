#include "scan/known_paths.h"

#include <gtest/gtest.h>

namespace tandem::scan {
namespace {

store::LocalFileState State(std::string path, uint64_t size, uint64_t device = 7, uint64_t counter = 1) {
  store::LocalFileState state{.path = std::move(path), .size = size, .mtime_ns = 11, .ctime_ns = 12, .inode = 13,
                              .mode = 0644};
  state.vector.Set(device, counter);
  return state;
}

std::vector<std::string> Unseen(const KnownPaths& known) {
  std::vector<std::string> out;
  known.ForEachUnseen([&](const std::string& path) { out.push_back(path); });
  return out;
}

TEST(KnownPaths, APathIsFoundWithItsStateAndVersionOnce) {
  KnownPaths known;
  known.Add(State("b.txt", 2));
  known.Add(State("a/c.txt", 3, 9, 4));
  known.Add(State("a", 0));
  known.Seal();
  auto c = known.Take("a/c.txt");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->size, 3u);
  EXPECT_EQ(c->mtime_ns, 11);
  EXPECT_EQ(c->ctime_ns, 12);
  EXPECT_EQ(c->inode, 13u);
  EXPECT_EQ(c->mode, 0644u);
  VersionVector expected;
  expected.Set(9, 4);
  EXPECT_EQ(c->vector, expected);
  EXPECT_FALSE(known.Take("a/c.txt"));  // taken: met once, never a tombstone
  EXPECT_FALSE(known.Take("a/c"));
  EXPECT_FALSE(known.Take("zzz"));
  EXPECT_EQ(Unseen(known), (std::vector<std::string>{"a", "b.txt"}));
}

TEST(KnownPaths, APathAddedTwiceKeepsItsLastState) {
  KnownPaths known;
  known.Add(State("x", 1));
  known.Add(State("y", 5));
  known.Add(State("x", 2));
  known.Seal();
  EXPECT_EQ(known.size(), 2u);
  EXPECT_EQ(known.Peek("x")->size, 2u);
  EXPECT_EQ(known.Peek("x")->size, 2u);  // Peek does not take
  EXPECT_EQ(Unseen(known), (std::vector<std::string>{"x", "y"}));
}

TEST(KnownPaths, AVersionTooLongToHoldFailsTheScanWithAClearError) {
  KnownPaths known;
  store::LocalFileState state = State("x", 1);
  for (uint64_t device = 1; device <= 70000; ++device) state.vector.Set(device, 1);
  try {
    known.Add(state);
    FAIL() << "a vector of 70,000 devices was taken";
  } catch (const std::length_error& e) {
    EXPECT_STREQ(e.what(), "the index holds more than one scan can compare (over 4 GiB of path names, or a version of over 65,535 devices)");
  }
  known.Add(State("y", 2));  // nothing of the refused one was kept
  known.Seal();
  EXPECT_EQ(known.size(), 1u);
  EXPECT_FALSE(known.Peek("x"));
}

TEST(KnownPaths, NothingKnownFindsNothing) {
  KnownPaths known;
  known.Seal();
  EXPECT_FALSE(known.Take("a"));
  EXPECT_TRUE(Unseen(known).empty());
}

}  // namespace
}  // namespace tandem::scan
