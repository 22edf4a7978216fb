// Each rule of DecidePull, on a write replica and on a read replica.
#include "sync/pull_decision.h"

#include <gtest/gtest.h>

namespace tandem::sync {
namespace {

const crypto::BlockRef kOldBlock{crypto::BlockId{1}, 5};
const crypto::BlockRef kNewBlock{crypto::BlockId{2}, 7};

crypto::Entry FileEntry(std::vector<crypto::BlockRef> blocks = {kNewBlock}) {
  crypto::Entry entry{.path = *RelPath::Parse("docs/a.txt")};
  entry.mode = 0644;
  for (const auto& block : blocks) entry.size += block.size;
  entry.blocks = std::move(blocks);
  return entry;
}

// A file on disk, and the index's record of it as last scanned.
fs::FileInfo OnDisk(uint64_t size = 5, int64_t mtime_ns = 1000) {
  return {fs::FileKind::kRegular, size, mtime_ns, mtime_ns, 42, 0644};
}
store::LocalFileState Indexed(std::vector<crypto::BlockRef> blocks = {kOldBlock}) {
  store::LocalFileState state{.path = "docs/a.txt"};
  state.size = 5, state.mtime_ns = 1000, state.ctime_ns = 1000, state.inode = 42, state.mode = 0644;
  state.blocks = std::move(blocks);
  return state;
}

PullFacts Facts(const crypto::Entry& entry, bool can_write) {
  PullFacts facts;
  facts.entry = &entry;
  facts.can_write = can_write;
  return facts;
}

class EitherReplica : public ::testing::TestWithParam<bool> {
 protected:
  bool can_write() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(PullDecision, EitherReplica, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Writer" : "Reader"; });

TEST_P(EitherReplica, ANewPathIsFetched) {
  crypto::Entry entry = FileEntry();
  EXPECT_EQ(DecidePull(Facts(entry, can_write())).action, PullAction::kFetch);
}

TEST_P(EitherReplica, AFileAsIndexedIsReplacedByTheNewVersion) {
  crypto::Entry entry = FileEntry();
  PullFacts facts = Facts(entry, can_write());
  facts.indexed = Indexed();
  facts.disk = OnDisk();
  PullDecision decision = DecidePull(facts);
  EXPECT_EQ(decision.action, PullAction::kFetch);
  EXPECT_FALSE(decision.move_edit_aside);
}

TEST_P(EitherReplica, TheSameContentOnlyTakesTheRecordsModeAndTimeUnlessAReverAsksForItWhole) {
  crypto::Entry entry = FileEntry({kOldBlock});
  PullFacts facts = Facts(entry, can_write());
  facts.indexed = Indexed({kOldBlock});
  facts.disk = OnDisk();
  EXPECT_EQ(DecidePull(facts).action, PullAction::kSetMetadata);
  facts.revert = true;
  EXPECT_EQ(DecidePull(facts).action, PullAction::kFetch);
}

TEST_P(EitherReplica, ADeletionRemovesAFileStillAsIndexed) {
  crypto::Entry entry = FileEntry();
  entry.deleted = true;
  PullFacts facts = Facts(entry, can_write());
  facts.indexed = Indexed();
  facts.disk = OnDisk();
  EXPECT_EQ(DecidePull(facts).action, PullAction::kRemove);
}

TEST_P(EitherReplica, ADeletionOfWhatIsNeitherIndexedNorThereDoesNothing) {
  crypto::Entry entry = FileEntry();
  entry.deleted = true;
  EXPECT_EQ(DecidePull(Facts(entry, can_write())).action, PullAction::kNothing);
}

TEST_P(EitherReplica, ADeletionNeverRemovesAnEditNotIndexedYet) {
  crypto::Entry entry = FileEntry();
  entry.deleted = true;
  PullFacts facts = Facts(entry, can_write());
  facts.indexed = Indexed();
  facts.disk = OnDisk(/*size=*/9, /*mtime_ns=*/2000);  // edited since the scan
  // A writer indexes the edit first (it then conflicts with the deletion);
  // a reader keeps it as a local addition.
  EXPECT_EQ(DecidePull(facts).action, can_write() ? PullAction::kIndexLocalChange : PullAction::kForgetIndexed);
}

TEST_P(EitherReplica, AnEditNotIndexedYetIsNeverOverwritten) {
  crypto::Entry entry = FileEntry();
  PullFacts facts = Facts(entry, can_write());
  facts.indexed = Indexed();
  facts.disk = OnDisk(/*size=*/9, /*mtime_ns=*/2000);
  PullDecision decision = DecidePull(facts);
  if (can_write()) {
    EXPECT_EQ(decision.action, PullAction::kIndexLocalChange);
    EXPECT_FALSE(decision.move_edit_aside);
  } else {
    // A reader cannot publish it: it moves aside, and the share's version is fetched.
    EXPECT_EQ(decision.action, PullAction::kFetch);
    EXPECT_TRUE(decision.move_edit_aside);
  }
}

TEST_P(EitherReplica, AFileWhereNoneWasIndexedIsAnEditToo) {
  crypto::Entry entry = FileEntry();
  PullFacts facts = Facts(entry, can_write());
  facts.disk = OnDisk();
  EXPECT_EQ(DecidePull(facts).action, can_write() ? PullAction::kIndexLocalChange : PullAction::kFetch);
}

TEST_P(EitherReplica, ARevertAskedWhileTheDiskIsAsThenReplacesTheEdit) {
  crypto::Entry entry = FileEntry();
  PullFacts facts = Facts(entry, can_write());
  facts.indexed = Indexed();
  facts.disk = OnDisk(/*size=*/9, /*mtime_ns=*/2000);
  facts.revert = true;
  EXPECT_EQ(DecidePull(facts).action, PullAction::kFetch);
  EXPECT_FALSE(DecidePull(facts).move_edit_aside);
}

TEST_P(EitherReplica, NothingIsWrittenBelowAFolderThatIsASymlinkHere) {
  crypto::Entry entry = FileEntry();
  PullFacts facts = Facts(entry, can_write());
  facts.parents_are_folders = false;
  PullDecision decision = DecidePull(facts);
  EXPECT_EQ(decision.action, PullAction::kRefuseUnsafe);
  EXPECT_NE(decision.why.find("docs/a.txt"), std::string::npos);
  entry.deleted = true;
  EXPECT_EQ(DecidePull(facts).action, PullAction::kRefuseUnsafe);
}

TEST_P(EitherReplica, ANewNameThisFilesystemFoldsIntoAnotherIsRefusedButAnIndexedOneIsNot) {
  crypto::Entry entry = FileEntry();
  PullFacts facts = Facts(entry, can_write());
  facts.folded_into = "docs/A.txt";
  PullDecision decision = DecidePull(facts);
  EXPECT_EQ(decision.action, PullAction::kRefuseFolded);
  EXPECT_NE(decision.why.find("docs/A.txt"), std::string::npos);
  facts.indexed = Indexed();
  facts.disk = OnDisk();
  EXPECT_EQ(DecidePull(facts).action, PullAction::kFetch);
}

TEST_P(EitherReplica, FoldersAreMadeAndSymlinksMadeUnlessAlreadyPointingWhereTheRecordSays) {
  crypto::Entry folder = FileEntry({});
  folder.kind = crypto::EntryKind::kDirectory;
  EXPECT_EQ(DecidePull(Facts(folder, can_write())).action, PullAction::kMakeFolder);

  crypto::Entry link = FileEntry({});
  link.kind = crypto::EntryKind::kSymlink;
  link.symlink_target = "elsewhere";
  PullFacts facts = Facts(link, can_write());
  EXPECT_EQ(DecidePull(facts).action, PullAction::kMakeSymlink);
  store::LocalFileState indexed = Indexed({});
  indexed.kind = crypto::EntryKind::kSymlink;
  facts.indexed = indexed;
  fs::FileInfo disk = OnDisk();
  disk.kind = fs::FileKind::kSymlink;
  facts.disk = disk;
  EXPECT_EQ(DecidePull(facts).action, PullAction::kMakeSymlink);
  facts.symlink_as_recorded = true;
  EXPECT_EQ(DecidePull(facts).action, PullAction::kIndexDisk);
}

}  // namespace
}  // namespace tandem::sync
