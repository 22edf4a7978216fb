// The versioning rules over an injected clock: days pass in a loop, not in
// real time.
#include "sync/version_policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace tandem::sync {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15
constexpr int64_t kMinute = 60, kHour = 3600, kDay = 86400;

// Versions kept at these ages (seconds before kNow).
std::vector<VersionStamp> AtAges(const std::vector<int64_t>& ages) {
  std::vector<VersionStamp> out;
  for (int64_t age : ages) out.push_back({kNow - age, 100});
  return out;
}

// The ages of the versions that stay.
std::vector<int64_t> Kept(const VersioningPolicy& policy, const std::vector<int64_t>& ages, int64_t now = kNow) {
  std::vector<VersionStamp> versions = AtAges(ages);
  std::vector<size_t> gone = VersionsToRemove(policy, versions, now);
  std::set<size_t> removed(gone.begin(), gone.end());
  std::vector<int64_t> kept;
  for (size_t i = 0; i < ages.size(); ++i) {
    if (!removed.count(i)) kept.push_back(ages[i]);
  }
  return kept;
}

TEST(VersionPolicy, TrashcanKeepsTheLastVersionUntilItsAgeLimitAndNeverWithZeroDays) {
  VersioningPolicy trashcan{.kind = VersioningPolicy::Kind::kTrashcan, .days = 30};
  EXPECT_EQ(Kept(trashcan, {5 * kDay, kHour, 2 * kDay}), (std::vector<int64_t>{kHour}));
  EXPECT_EQ(Kept(trashcan, {29 * kDay}), (std::vector<int64_t>{29 * kDay}));  // a deleted file's only copy
  EXPECT_TRUE(Kept(trashcan, {31 * kDay}).empty());
  trashcan.days = 0;
  EXPECT_EQ(Kept(trashcan, {3000 * kDay}), (std::vector<int64_t>{3000 * kDay}));
}

TEST(VersionPolicy, SimpleKeepsTheLastNAndDropsThoseOlderThanItsDays) {
  VersioningPolicy simple{.kind = VersioningPolicy::Kind::kSimple, .days = 10, .keep = 3};
  EXPECT_EQ(Kept(simple, {kMinute, 2 * kMinute, 3 * kMinute, 4 * kMinute, 5 * kMinute}),
            (std::vector<int64_t>{kMinute, 2 * kMinute, 3 * kMinute}));
  EXPECT_EQ(Kept(simple, {kDay, 11 * kDay, 12 * kDay}), (std::vector<int64_t>{kDay}));
  simple.days = 0;
  EXPECT_EQ(Kept(simple, {400 * kDay, 500 * kDay}), (std::vector<int64_t>{400 * kDay, 500 * kDay}));
}

TEST(VersionPolicy, StaggeredThinsToOneAStepForEachAge) {
  VersioningPolicy staggered{.kind = VersioningPolicy::Kind::kStaggered, .days = 365};
  // In the first hour one per 30 s: of versions 10 s apart, every third stays.
  std::vector<int64_t> minute;
  for (int64_t age = 0; age < 120; age += 10) minute.push_back(age);
  EXPECT_EQ(Kept(staggered, minute), (std::vector<int64_t>{0, 30, 60, 90}));
  // In the first day one per hour; in the first 30 days one per day; then one a week.
  std::vector<int64_t> ages;
  for (int64_t age = 2 * kHour; age < 5 * kHour; age += 20 * kMinute) ages.push_back(age);
  EXPECT_EQ(Kept(staggered, ages), (std::vector<int64_t>{2 * kHour, 3 * kHour, 4 * kHour}));
  ages.clear();
  for (int64_t age = 2 * kDay; age < 4 * kDay; age += 6 * kHour) ages.push_back(age);
  EXPECT_EQ(Kept(staggered, ages), (std::vector<int64_t>{2 * kDay, 3 * kDay}));
  ages.clear();
  for (int64_t age = 40 * kDay; age < 60 * kDay; age += kDay) ages.push_back(age);
  EXPECT_EQ(Kept(staggered, ages), (std::vector<int64_t>{40 * kDay, 47 * kDay, 54 * kDay}));
  // Beyond the maximum age, nothing; the newest within it always stays.
  EXPECT_TRUE(Kept(staggered, {366 * kDay}).empty());
  EXPECT_EQ(Kept(staggered, {364 * kDay}), (std::vector<int64_t>{364 * kDay}));
}

TEST(VersionPolicy, AVersionThinnedAwayStaysGoneAsTheDaysPass) {
  // A version made every 10 minutes for a day, then the clock moves on:
  // what stays only shrinks, and the newest always stays.
  VersioningPolicy staggered{.kind = VersioningPolicy::Kind::kStaggered, .days = 60};
  std::vector<VersionStamp> versions;
  for (int64_t t = 0; t < kDay; t += 10 * kMinute) versions.push_back({kNow - kDay + t, 1});
  size_t before = versions.size();
  for (int64_t later = 0; later <= 70 * kDay; later += kDay) {
    std::vector<size_t> gone = VersionsToRemove(staggered, versions, kNow + later);
    for (auto it = gone.rbegin(); it != gone.rend(); ++it) versions.erase(versions.begin() + static_cast<long>(*it));
    EXPECT_LE(versions.size(), before);
    before = versions.size();
    if (later < 59 * kDay) EXPECT_GE(versions.size(), 1u) << "day " << later / kDay;
  }
  EXPECT_TRUE(versions.empty());  // all older than 60 days
}

TEST(VersionPolicy, NoneRemovesNothingAlreadyKept) {
  VersioningPolicy none{.kind = VersioningPolicy::Kind::kNone};
  EXPECT_EQ(Kept(none, {kDay, 900 * kDay}).size(), 2u);
}

TEST(VersionPolicy, KindsParseByNameAndAnythingElseIsRefused) {
  for (auto kind : {VersioningPolicy::Kind::kNone, VersioningPolicy::Kind::kTrashcan, VersioningPolicy::Kind::kSimple,
                    VersioningPolicy::Kind::kStaggered}) {
    EXPECT_EQ(ParseVersioningKind(VersioningKindName(kind)).value(), kind);
  }
  auto bad = ParseVersioningKind("external");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("none, trashcan, simple or staggered"), std::string::npos);
  EXPECT_EQ(VersioningPolicy::Default().kind, VersioningPolicy::Kind::kTrashcan);
  EXPECT_EQ(VersioningPolicy::Default().days, 30u);
}

TEST(VersionNames, AreSyncthingsWithTheExtensionLastAndParseBack) {
  const int64_t t = 1'796'481'000;  // 2026-12-05 14:30:00 UTC
  struct Case {
    std::string name, version;
  };
  for (const Case& c : std::vector<Case>{{"report.pdf", "report~20261205-143000.pdf"},
                                         {"archive.tar.gz", "archive.tar~20261205-143000.gz"},
                                         {"Makefile", "Makefile~20261205-143000"},
                                         {".bashrc", ".bashrc~20261205-143000"},
                                         {"notes~draft.txt", "notes~draft~20261205-143000.txt"},
                                         {"trailing.", "trailing.~20261205-143000"},
                                         {"report.pdf~20230101-120000", "report.pdf~20230101-120000~20261205-143000"}}) {
    EXPECT_EQ(VersionFileName(c.name, t), c.version);
    auto parsed = ParseVersionFileName(c.version);
    ASSERT_TRUE(parsed) << c.version;
    EXPECT_EQ(parsed->name, c.name);
    EXPECT_EQ(parsed->unix, t);
  }
  EXPECT_EQ(VersionFileName("a.txt", t, 2), "a~20261205-143000-2.txt");
  const std::string long_name = std::string(200, 'p') + "\xc3\xa9" + std::string(50, 'q') + ".txt";
  const std::string shortened = VersionFileName(long_name, t);
  EXPECT_LE(shortened.size(), 255u);
  EXPECT_TRUE(shortened.ends_with("~20261205-143000.txt")) << shortened;
  EXPECT_TRUE(long_name.starts_with(shortened.substr(0, shortened.size() - 20)));
  EXPECT_EQ(ParseVersionFileName("a~20261205-143000-2.txt")->name, "a.txt");
  for (const char* not_one : {"a.txt", "a~2026120-143000.txt", "a~20261305-143000.txt", "a~20261205-143000x.txt",
                              "~20261205-143000"}) {
    EXPECT_FALSE(ParseVersionFileName(not_one)) << not_one;
  }
}

}  // namespace
}  // namespace tandem::sync
