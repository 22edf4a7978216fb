#include "fs/changed_paths.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::fs {
namespace {

TEST(ChangedPaths, CoversItsEntriesAndEverythingBelowItsTreesOnly) {
  ChangedPaths changed;
  changed.AddEntry("docs/a.txt");
  changed.AddTree("photos/2026");
  EXPECT_TRUE(changed.Covers("docs/a.txt"));
  EXPECT_FALSE(changed.Covers("docs")) << "an entry covers itself, not its folder";
  EXPECT_FALSE(changed.Covers("docs/a.txt/b")) << "nor what would be below it";
  EXPECT_TRUE(changed.Covers("photos/2026"));
  EXPECT_TRUE(changed.Covers("photos/2026/01/x.jpg"));
  EXPECT_FALSE(changed.Covers("photos"));
  EXPECT_FALSE(changed.Covers("photos/2026-old")) << "a tree is a folder, not a prefix of names";
  EXPECT_FALSE(changed.Covers("photos/202"));
}

TEST(ChangedPaths, EverythingCoversAnyPathAndIsNeverEmpty) {
  ChangedPaths changed;
  EXPECT_TRUE(changed.empty());
  EXPECT_FALSE(changed.Covers("a"));
  changed.everything = true;
  EXPECT_FALSE(changed.empty());
  EXPECT_TRUE(changed.Covers("a/b/c"));
  changed.AddEntry("x");
  EXPECT_TRUE(changed.entries.empty()) << "nothing is listed once everything is";
}

TEST(ChangedPaths, MergeTakesBothAndEverythingWins) {
  ChangedPaths a;
  a.AddEntry("a");
  ChangedPaths b;
  b.AddTree("b");
  a.Merge(b);
  EXPECT_TRUE(a.Covers("a"));
  EXPECT_TRUE(a.Covers("b/c"));
  ChangedPaths all;
  all.everything = true;
  a.Merge(all);
  EXPECT_TRUE(a.everything);
  EXPECT_TRUE(a.entries.empty() && a.trees.empty());
}

TEST(ChangedPaths, TheRootAsATreeIsEverything) {
  ChangedPaths changed;
  changed.AddTree("");
  EXPECT_TRUE(changed.everything);
  ChangedPaths entry;
  entry.AddEntry("");
  EXPECT_TRUE(entry.empty()) << "the root itself is no entry of the share";
}

TEST(ChangedPaths, TooManyPathsBecomeEverything) {
  ChangedPaths changed;
  for (size_t i = 0; i <= ChangedPaths::kMaxPaths; ++i) changed.AddEntry("f" + std::to_string(i));
  EXPECT_TRUE(changed.everything);
  EXPECT_TRUE(changed.entries.empty()) << "the list is dropped, not kept growing";
}

}  // namespace
}  // namespace tandem::fs
