#include "scan/conflict.h"

#include <gtest/gtest.h>

#include <chrono>

#include "crypto/keyed_hash.h"
#include "testing/temp_dir.h"

namespace tandem::scan {
namespace {

using crypto::Entry;
using crypto::EntryKind;

constexpr uint64_t kAlice = 0xA1;
constexpr uint64_t kBob = 0xB2;
constexpr uint64_t kCarol = 0xC3;
constexpr int64_t kSecond = 1'000'000'000;

crypto::Key32 Seed(uint8_t b) {
  crypto::Key32 k;
  k.fill(b);
  return k;
}

class ConflictTest : public ::testing::Test {
 protected:
  ConflictTest() {
    auto repo = store::Repository::Open(tmp_ / ".tandem", secrets_.share_id(), true, store::OptionsFor(secrets_));
    EXPECT_TRUE(repo);
    repo_ = std::move(*repo);
  }

  Entry File(std::string_view content, int64_t mtime_s, uint64_t device, std::string path = "notes/plan.txt") {
    Entry e{.path = *RelPath::Parse(path)};
    e.kind = EntryKind::kFile;
    e.size = content.size();
    e.mtime_ns = mtime_s * kSecond;
    e.mode = 0644;
    e.device_short_id = device;
    if (!content.empty()) {
      e.blocks = {{crypto::ComputeBlockId(secrets_.id_key(), AsBytes(content)), static_cast<uint32_t>(content.size())}};
    }
    return e;
  }

  Entry Folder(int64_t mtime_s, uint64_t device) {
    Entry e = File("", mtime_s, device);
    e.kind = EntryKind::kDirectory;
    e.mode = 0755;
    return e;
  }

  static Entry Deleted(Entry e, int64_t mtime_s) {
    e.deleted = true;
    e.blocks.clear();
    e.size = 0;
    e.mtime_ns = mtime_s * kSecond;
    return e;
  }

  Version Make(const Entry& e, std::initializer_list<std::pair<uint64_t, uint64_t>> counters) {
    VersionVector v;
    for (auto [device, counter] : counters) v.Set(device, counter);
    return {crypto::MakeRecord(secrets_, e, v), e};
  }

  std::optional<Entry> Stored(const std::string& path) {
    auto stored = repo_->GetRecord(crypto::ComputeLocator(secrets_.locator_key(), path));
    if (!stored) return std::nullopt;
    auto entry = crypto::OpenRecord(secrets_, stored->record);
    EXPECT_TRUE(entry);
    return *entry;
  }

  testing::TempDir tmp_;
  crypto::ShareSecrets secrets_ = crypto::ShareSecrets::FromWriteSeed(Seed(7));
  std::unique_ptr<store::Repository> repo_;
};

// Each row: a wins over b, checked in both directions.
TEST_F(ConflictTest, WinnerRulesHoldInBothDirections) {
  struct Row {
    const char* why;
    Entry a;
    Entry b;
  };
  std::vector<Row> rows = {
      {"newer mtime", File("a", 20, kAlice), File("b", 10, kBob)},
      {"same mtime, larger device", File("a", 10, kBob), File("b", 10, kAlice)},
      {"an edit beats a newer delete", File("a", 10, kAlice), Deleted(File("b", 1, kBob), 99)},
      {"an edit beats a delete by a larger device", File("a", 10, kAlice), Deleted(File("b", 10, kCarol), 10)},
      {"a folder beats a newer file", Folder(1, kAlice), File("b", 99, kCarol)},
  };
  for (const Row& row : rows) {
    Version a = Make(row.a, {{kAlice, 2}});
    Version b = Make(row.b, {{kBob, 2}});
    EXPECT_TRUE(Wins(a.entry, a.record, b.entry, b.record)) << row.why;
    EXPECT_FALSE(Wins(b.entry, b.record, a.entry, a.record)) << row.why;
  }
}

TEST_F(ConflictTest, SameContentIsDecidedBySignatureAloneLikeABlindReplicaWould) {
  Version a = Make(File("same", 10, kAlice), {{kAlice, 2}});
  Version b = Make(File("same", 50, kBob), {{kBob, 2}});
  bool a_by_signature = a.record.signature > b.record.signature;
  EXPECT_EQ(Wins(a.entry, a.record, b.entry, b.record), a_by_signature);
  EXPECT_EQ(Wins(b.entry, b.record, a.entry, a.record), !a_by_signature);
}

TEST_F(ConflictTest, ConflictCopyNameComesFromTheLosingVersion) {
  Entry loser = File("x", 1'700'000'000, kBob);  // 2023-11-14 22:13:20 UTC
  std::string name = ConflictCopyPath(loser);
  EXPECT_TRUE(name.starts_with("notes/plan.sync-conflict-20231114-221320-")) << name;
  EXPECT_TRUE(name.ends_with(".txt")) << name;
  EXPECT_EQ(name, ConflictCopyPath(loser)) << "every device names the same loser alike";
  auto parsed = ParseConflictCopyPath(name);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->original, "notes/plan.txt");
  EXPECT_EQ(parsed->stamp, "20231114-221320");
  EXPECT_EQ(parsed->device7.size(), 7u);

  Entry no_ext = File("x", 1'700'000'000, kBob, "dir.d/Makefile");
  EXPECT_TRUE(ConflictCopyPath(no_ext).starts_with("dir.d/Makefile.sync-conflict-")) << ConflictCopyPath(no_ext);
  Entry dotfile = File("x", 1'700'000'000, kBob, ".bashrc");
  EXPECT_TRUE(ConflictCopyPath(dotfile).starts_with(".bashrc.sync-conflict-")) << ConflictCopyPath(dotfile);
  EXPECT_EQ(ParseConflictCopyPath(ConflictCopyPath(dotfile))->original, ".bashrc");
}

TEST_F(ConflictTest, ALongNameGivesUpTheEndOfItsStemToFit) {
  std::string stem;
  while (stem.size() < 240) stem += "\xe6\x97\xa5";  // a three-byte character
  Entry loser = File("x", 1'700'000'000, kBob, "dir/" + stem + ".txt");
  std::string name = ConflictCopyPath(loser);
  std::string base = name.substr(name.rfind('/') + 1);
  EXPECT_LE(base.size(), 255u);
  EXPECT_TRUE(RelPath::Parse(name)) << "still a valid path (whole UTF-8 characters)";
  EXPECT_TRUE(base.ends_with(".txt"));
  auto parsed = ParseConflictCopyPath(name);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(stem.starts_with(parsed->original.substr(4, parsed->original.size() - 8)));
  // Issue 16: the name alone no longer says which file the copy is of.
  EXPECT_TRUE(MayBeShortened(name));
  EXPECT_TRUE(IsConflictCopyOf(name, "dir/" + stem + ".txt"));
  EXPECT_FALSE(IsConflictCopyOf(name, "dir/" + stem + ".md"));
  EXPECT_FALSE(IsConflictCopyOf(name, "other/" + stem + ".txt"));
  EXPECT_FALSE(IsConflictCopyOf(name, name));
  EXPECT_FALSE(MayBeShortened(ConflictCopyPath(File("x", 1'700'000'000, kBob, "dir/plan.txt"))));
  EXPECT_TRUE(IsConflictCopyOf(ConflictCopyPath(File("x", 1'700'000'000, kBob, "dir/plan.txt")), "dir/plan.txt"));
}

TEST_F(ConflictTest, OrdinaryNamesAreNotConflictCopies) {
  for (const char* path : {"plan.txt", "a.sync-conflict-.txt", "a.sync-conflict-2023111x-221320-ABCDEFG.txt",
                           "d.sync-conflict-20231114-221320-ABCDEFG/inner.txt", "a.sync-conflict-20231114-221320-ABC"}) {
    EXPECT_FALSE(ParseConflictCopyPath(path)) << path;
  }
}

// Issue 16: a repository restored from a backup must not issue again the
// counters it issued after the backup; counters start at the clock.
TEST_F(ConflictTest, DescendStartsItsCounterAtTheWallClock) {
  const auto now = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  VersionVector base;
  base.Set(kAlice, 3);
  VersionVector next = Descend(base, {}, kAlice);
  EXPECT_GE(next.Get(kAlice), now);
  EXPECT_EQ(next.Compare(base), Ordering::kAfter);
  // Past the clock, counters still move on by one.
  VersionVector ahead;
  ahead.Set(kAlice, now + 1000);
  EXPECT_EQ(Descend(ahead, {}, kAlice).Get(kAlice), now + 1001);
}

TEST_F(ConflictTest, DescendIsNeverDominatedByWhatWasSeen) {
  VersionVector base, seen;
  base.Set(kAlice, 3);
  seen.Set(kBob, 9);
  seen.Set(kAlice, 4);
  VersionVector next = Descend(base, seen, kAlice);
  EXPECT_EQ(next.Compare(base), Ordering::kAfter);
  EXPECT_NE(next.Compare(seen), Ordering::kBefore);
  EXPECT_NE(next.Compare(seen), Ordering::kEqual);
}

TEST_F(ConflictTest, SettlingKeepsTheLoserAsACopyAndWritesAWinnerThatDominatesBoth) {
  Version mine = Make(File("mine", 10, kAlice), {{kAlice, 2}, {kBob, 1}});
  Version theirs = Make(File("theirs", 20, kBob), {{kAlice, 1}, {kBob, 2}});
  Settlement settled = Settle(*repo_, secrets_, kCarol, mine, theirs);
  EXPECT_FALSE(settled.a_wins);
  ASSERT_EQ(settled.written.size(), 2u);
  auto winner = repo_->GetRecord(theirs.record.locator);
  ASSERT_TRUE(winner);
  EXPECT_EQ(winner->record.vector.Compare(mine.record.vector), Ordering::kAfter);
  EXPECT_EQ(winner->record.vector.Compare(theirs.record.vector), Ordering::kAfter);
  EXPECT_EQ(Stored("notes/plan.txt")->blocks, theirs.entry.blocks);
  auto copy = Stored(ConflictCopyPath(mine.entry));
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->blocks, mine.entry.blocks);
  EXPECT_EQ(copy->device_short_id, kAlice);
}

TEST_F(ConflictTest, ACopyThatExistsIsNeverMadeAgain) {
  Version mine = Make(File("mine", 10, kAlice), {{kAlice, 2}});
  Version theirs = Make(File("theirs", 20, kBob), {{kBob, 2}});
  ASSERT_EQ(Settle(*repo_, secrets_, kAlice, mine, theirs).written.size(), 2u);
  uint64_t records = repo_->Summarize().records;
  // Another device settles the same pair: only its winner is new.
  Settlement again = Settle(*repo_, secrets_, kBob, theirs, mine);
  EXPECT_TRUE(again.a_wins);
  EXPECT_EQ(again.written.size(), 1u);
  EXPECT_EQ(repo_->Summarize().records, records);
}

TEST_F(ConflictTest, TwoLosingVersionsFromOneDeviceInOneSecondAreBothKept) {
  Version first = Make(File("first loser", 10, kAlice), {{kAlice, 2}});
  Version winner = Make(File("winner", 20, kBob), {{kBob, 2}});
  ASSERT_EQ(Settle(*repo_, secrets_, kAlice, first, winner).written.size(), 2u);
  Entry second_entry = File("second loser", 10, kAlice);
  second_entry.mtime_ns += 500'000'000;  // the same second
  Version second = Make(second_entry, {{kAlice, 5}});
  Version winner2 = Make(File("winner 2", 30, kBob), {{kBob, 5}});
  Settlement settled = Settle(*repo_, secrets_, kAlice, second, winner2);
  ASSERT_EQ(settled.written.size(), 2u);
  auto first_copy = Stored(ConflictCopyPath(first.entry));
  auto second_copy = Stored(ConflictCopyPath(second.entry, 1));
  ASSERT_TRUE(first_copy && second_copy);
  EXPECT_EQ(first_copy->blocks, first.entry.blocks);
  EXPECT_EQ(second_copy->blocks, second.entry.blocks);
}

TEST_F(ConflictTest, SameContentWritesNothing) {
  Version mine = Make(File("same", 10, kAlice), {{kAlice, 2}});
  Version theirs = Make(File("same", 20, kBob), {{kBob, 2}});
  Settlement settled = Settle(*repo_, secrets_, kAlice, mine, theirs);
  EXPECT_TRUE(settled.written.empty());
  EXPECT_TRUE(settled.merged.empty());
  EXPECT_EQ(repo_->Summarize().records, 0u);
  Version gone_a = Make(Deleted(File("", 1, kAlice), 5), {{kAlice, 2}});
  Version gone_b = Make(Deleted(File("", 1, kBob), 9), {{kBob, 2}});
  EXPECT_TRUE(Settle(*repo_, secrets_, kAlice, gone_a, gone_b).written.empty());
}

TEST_F(ConflictTest, EditAgainstDeleteKeepsTheEditAndMakesNoCopy) {
  Version edit = Make(File("kept", 10, kAlice), {{kAlice, 2}});
  Version gone = Make(Deleted(File("", 1, kBob), 99), {{kBob, 2}});
  Settlement settled = Settle(*repo_, secrets_, kBob, gone, edit);
  EXPECT_FALSE(settled.a_wins);
  ASSERT_EQ(settled.written.size(), 1u);
  auto stored = Stored("notes/plan.txt");
  ASSERT_TRUE(stored);
  EXPECT_FALSE(stored->deleted);
  EXPECT_EQ(stored->blocks, edit.entry.blocks);
  EXPECT_EQ(repo_->Summarize().records, 1u);
}

}  // namespace
}  // namespace tandem::scan
