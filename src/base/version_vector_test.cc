#include "base/version_vector.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <utility>

namespace tandem {
namespace {

VersionVector Vector(std::initializer_list<std::pair<uint64_t, uint64_t>> counters) {
  VersionVector v;
  for (const auto& [device, counter] : counters) v.Set(device, counter);
  return v;
}

Ordering Reversed(Ordering o) {
  switch (o) {
    case Ordering::kBefore: return Ordering::kAfter;
    case Ordering::kAfter: return Ordering::kBefore;
    default: return o;
  }
}

const char* Name(Ordering o) {
  switch (o) {
    case Ordering::kEqual: return "equal";
    case Ordering::kBefore: return "before";
    case Ordering::kAfter: return "after";
    case Ordering::kConcurrent: return "concurrent";
  }
  return "?";
}

TEST(VersionVector, CompareInBothDirections) {
  struct Case {
    const char* name;
    VersionVector a;
    VersionVector b;
    Ordering a_to_b;
  };
  const Case cases[] = {
      {"both empty", {}, {}, Ordering::kEqual},
      {"same single counter", Vector({{1, 1}}), Vector({{1, 1}}), Ordering::kEqual},
      {"same two counters", Vector({{1, 4}, {9, 2}}), Vector({{1, 4}, {9, 2}}), Ordering::kEqual},
      {"lower counter", Vector({{1, 1}}), Vector({{1, 2}}), Ordering::kBefore},
      {"empty before anything", {}, Vector({{1, 1}}), Ordering::kBefore},
      {"missing device", Vector({{1, 1}}), Vector({{1, 1}, {2, 1}}), Ordering::kBefore},
      {"missing first device", Vector({{5, 3}}), Vector({{2, 1}, {5, 3}}), Ordering::kBefore},
      {"missing middle device", Vector({{1, 3}, {3, 1}}), Vector({{1, 3}, {2, 1}, {3, 1}}),
       Ordering::kBefore},
      {"one higher, rest equal", Vector({{1, 2}, {2, 7}}), Vector({{1, 2}, {2, 6}}),
       Ordering::kAfter},
      {"all higher", Vector({{1, 5}, {2, 5}}), Vector({{1, 4}, {2, 1}}), Ordering::kAfter},
      {"crossed counters", Vector({{1, 1}, {2, 2}}), Vector({{1, 2}, {2, 1}}),
       Ordering::kConcurrent},
      {"disjoint devices", Vector({{1, 1}}), Vector({{2, 1}}), Ordering::kConcurrent},
      {"higher here, missing device there", Vector({{1, 2}}), Vector({{1, 1}, {2, 1}}),
       Ordering::kConcurrent},
      {"each has a device the other lacks", Vector({{1, 1}, {3, 1}}), Vector({{1, 1}, {2, 1}}),
       Ordering::kConcurrent},
      {"largest device ids", Vector({{~uint64_t{0}, 1}}), Vector({{~uint64_t{0}, 2}}),
       Ordering::kBefore},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.a.Compare(c.b), c.a_to_b)
        << c.name << ": got " << Name(c.a.Compare(c.b)) << ", want " << Name(c.a_to_b);
    EXPECT_EQ(c.b.Compare(c.a), Reversed(c.a_to_b))
        << c.name << " (reversed): got " << Name(c.b.Compare(c.a));
  }
}

TEST(VersionVector, SettingZeroRemovesTheDevice) {
  VersionVector v = Vector({{1, 3}, {2, 1}});
  v.Set(2, 0);
  EXPECT_EQ(v, Vector({{1, 3}}));
  EXPECT_EQ(v.counters().count(2), 0u);
  EXPECT_EQ(v.Get(2), 0u);
  v.Set(1, 0);
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.Compare(VersionVector()), Ordering::kEqual);
}

TEST(VersionVector, BumpExceedsEveryCounter) {
  struct Case {
    const char* name;
    VersionVector before;
    uint64_t device;
    uint64_t expected;
  };
  const Case cases[] = {
      {"empty", {}, 7, 1},
      {"own counter highest", Vector({{7, 4}, {8, 2}}), 7, 5},
      {"other counter highest", Vector({{7, 1}, {8, 9}}), 7, 10},
      {"new device", Vector({{1, 3}, {2, 6}}), 7, 7},
  };
  for (const Case& c : cases) {
    VersionVector v = c.before;
    v.Bump(c.device);
    EXPECT_EQ(v.Get(c.device), c.expected) << c.name;
    for (const auto& [device, counter] : v.counters()) {
      if (device != c.device) {
        EXPECT_GT(v.Get(c.device), counter) << c.name;
        EXPECT_EQ(counter, c.before.Get(device)) << c.name << ": other counters stay";
      }
    }
    EXPECT_EQ(v.Compare(c.before), Ordering::kAfter) << c.name;
    EXPECT_EQ(c.before.Compare(v), Ordering::kBefore) << c.name;
  }
}

TEST(VersionVector, BumpAfterMergeDescendsFromBothSides) {
  // A conflict resolved on device 3 must be newer than both conflicting versions.
  VersionVector a = Vector({{1, 2}, {2, 1}});
  VersionVector b = Vector({{1, 1}, {2, 3}});
  ASSERT_EQ(a.Compare(b), Ordering::kConcurrent);
  VersionVector resolved = a;
  resolved.Merge(b);
  resolved.Bump(3);
  EXPECT_EQ(resolved.Compare(a), Ordering::kAfter);
  EXPECT_EQ(resolved.Compare(b), Ordering::kAfter);
}

TEST(VersionVector, MergeTakesTheElementWiseMaximum) {
  VersionVector a = Vector({{1, 3}, {2, 1}});
  VersionVector b = Vector({{2, 5}, {3, 2}});
  VersionVector merged = a;
  merged.Merge(b);
  EXPECT_EQ(merged, Vector({{1, 3}, {2, 5}, {3, 2}}));
  EXPECT_NE(merged.Compare(a), Ordering::kBefore);
  EXPECT_EQ(merged.Compare(a), Ordering::kAfter);
  EXPECT_EQ(merged.Compare(b), Ordering::kAfter);

  VersionVector other_way = b;
  other_way.Merge(a);
  EXPECT_EQ(other_way, merged);

  VersionVector twice = merged;
  twice.Merge(merged);
  EXPECT_EQ(twice, merged);

  VersionVector with_empty = merged;
  with_empty.Merge(VersionVector());
  EXPECT_EQ(with_empty, merged);
}

TEST(VersionVector, CanonicalIsSortedBigEndianPairs) {
  VersionVector v;
  v.Set(0x0500, 1);
  v.Set(2, 0x0102);
  Bytes expected = {
      0, 0, 0, 0, 0, 0, 0, 2,     0, 0, 0, 0, 0, 0, 1, 2,  // device 2, counter 0x0102
      0, 0, 0, 0, 0, 0, 5, 0,     0, 0, 0, 0, 0, 0, 0, 1,  // device 0x0500, counter 1
  };
  EXPECT_EQ(v.Canonical(), expected);
  EXPECT_TRUE(VersionVector().Canonical().empty());
}

TEST(VersionVector, CanonicalDoesNotDependOnInsertionOrder) {
  VersionVector a, b;
  for (uint64_t d : {9, 1, 5, 3}) a.Set(d, d * 10);
  for (uint64_t d : {1, 3, 5, 9}) b.Set(d, d * 10);
  EXPECT_EQ(a.Canonical(), b.Canonical());
  EXPECT_NE(a.Canonical(), Vector({{1, 10}}).Canonical());
}

}  // namespace
}  // namespace tandem
