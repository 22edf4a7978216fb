#include "store/repository.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace tandem::store {
namespace {

using crypto::EntryKind;

crypto::Key32 Seed(uint8_t b) {
  crypto::Key32 k;
  k.fill(b);
  return k;
}

// Runs `sql` on the database at `db_path`, outside any Repository.
void ExecOn(const std::filesystem::path& db_path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

class RepositoryTest : public ::testing::Test {
 protected:
  std::unique_ptr<Repository> Open(bool create = true) {
    auto repo = Repository::Open(repo_dir_, secrets_.share_id(), create);
    EXPECT_TRUE(repo) << repo.error().message;
    return repo ? std::move(*repo) : nullptr;
  }

  crypto::Record MakeTestRecord(const std::string& path, uint64_t counter) {
    crypto::Entry entry{.path = *RelPath::Parse(path)};
    entry.kind = EntryKind::kDirectory;
    entry.device_short_id = 7;
    VersionVector vector;
    vector.Set(7, counter);
    return crypto::MakeRecord(secrets_, entry, vector);
  }

  testing::TempDir tmp_;
  std::filesystem::path repo_dir_ = tmp_ / ".tandem";
  crypto::ShareSecrets secrets_ = crypto::ShareSecrets::FromWriteSeed(Seed(1));
};

TEST_F(RepositoryTest, CreateMakesAnEmptyStore) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  EXPECT_TRUE(std::filesystem::exists(repo_dir_ / kIndexFileName));
  EXPECT_EQ(repo->epoch().size(), 16u);
  EXPECT_FALSE(repo->GetRecord(crypto::Locator{}));
  EXPECT_TRUE(repo->RecordsSince(0, 100).empty());
  IndexSummary summary = repo->Summarize();
  EXPECT_EQ(summary.records, 0u);
  EXPECT_EQ(summary.max_seq, 0u);
  EXPECT_TRUE(repo->IntegrityOk());
}

TEST_F(RepositoryTest, ASettingSurvivesReopeningAndCannotReachTheShareId) {
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    EXPECT_FALSE(repo->GetSetting("ignore"));
    repo->PutSetting("ignore", std::string("a\0b", 3));
    repo->PutSetting("share_id", "not the share id");
  }
  auto repo = Open(/*create=*/false);
  ASSERT_TRUE(repo);  // the share id is still the one it was made with
  EXPECT_EQ(repo->GetSetting("ignore"), std::string("a\0b", 3));
  EXPECT_EQ(repo->GetSetting("share_id"), "not the share id");
}

TEST_F(RepositoryTest, AVersionsDeviceIsKeptUntilForgotten) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  EXPECT_FALSE(repo->GetVersionNote("docs/a~20261205-143000.txt"));
  repo->NoteVersion("docs/a~20261205-143000.txt", {"docs/a.txt", "ABCDEFG"});
  auto note = repo->GetVersionNote("docs/a~20261205-143000.txt");
  ASSERT_TRUE(note);
  EXPECT_EQ(note->path, "docs/a.txt");
  EXPECT_EQ(note->device, "ABCDEFG");
  repo->ForgetVersion("docs/a~20261205-143000.txt");
  EXPECT_FALSE(repo->GetVersionNote("docs/a~20261205-143000.txt"));
}

TEST_F(RepositoryTest, PutRecordThenGetItBack) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  crypto::Record record = MakeTestRecord("a", 1);
  EXPECT_EQ(repo->PutRecord(record), 1u);
  auto stored = repo->GetRecord(record.locator);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->seq, 1u);
  EXPECT_EQ(stored->record, record);
  EXPECT_TRUE(crypto::VerifyRecord(secrets_, stored->record));
}

TEST_F(RepositoryTest, AStoreThatDerivesSignaturesKeepsNoneAndTheShareKeyMakesTheSameAgain) {
  auto opened = Repository::Open(repo_dir_, secrets_.share_id(), true, {.signatures = Signatures::kDerived});
  ASSERT_TRUE(opened) << opened.error().message;
  Repository& repo = **opened;
  const crypto::Record record = MakeTestRecord("a", 1);
  repo.PutRecord(record);
  auto stored = repo.GetRecord(record.locator);
  ASSERT_TRUE(stored);
  EXPECT_TRUE(stored->record.signature.empty());
  EXPECT_TRUE(repo.RecordsSince(0, 10).at(0).record.signature.empty());
  crypto::RestoreSignature(secrets_, stored->record);
  EXPECT_EQ(stored->record, record);
}

TEST_F(RepositoryTest, AStoreWithoutSignaturesIsRefusedToAReplicaThatCannotSignAndLeftAsItWas) {
  const crypto::Record record = MakeTestRecord("a", 1);
  {
    auto writer = Repository::Open(repo_dir_, secrets_.share_id(), true, OptionsFor(secrets_));
    ASSERT_TRUE(writer);
    (*writer)->PutRecord(record, "a");
  }
  // The folder picked up again with a read token (or a blind one).
  for (const crypto::ShareSecrets& other : {secrets_.Downgrade(crypto::AccessMode::kRead),
                                            crypto::ShareSecrets::FromShareId(secrets_.share_id())}) {
    auto refused = Repository::Open(repo_dir_, secrets_.share_id(), false, OptionsFor(other));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_NE(refused.error().message.find("holds no record signatures"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find("Move " + repo_dir_.string() + " aside"), std::string::npos)
        << refused.error().message;
  }
  auto writer = Repository::Open(repo_dir_, secrets_.share_id(), false, OptionsFor(secrets_));
  ASSERT_TRUE(writer) << "the writer still opens it";
  EXPECT_EQ((*writer)->LastSeq(), 1u);
}

TEST_F(RepositoryTest, AStoreThatKeepsSignaturesGivesThemBack) {
  // What read and blind replicas open: they cannot sign.
  EXPECT_EQ(OptionsFor(crypto::ShareSecrets::FromShareId(secrets_.share_id())).signatures, Signatures::kKept);
  EXPECT_EQ(OptionsFor(secrets_).signatures, Signatures::kDerived);
  auto opened = Repository::Open(repo_dir_, secrets_.share_id(), true, {.signatures = Signatures::kKept});
  ASSERT_TRUE(opened);
  const crypto::Record record = MakeTestRecord("a", 1);
  (*opened)->PutRecord(record);
  EXPECT_EQ((*opened)->GetRecord(record.locator)->record.signature, record.signature);
}

TEST_F(RepositoryTest, ExtremeVectorValuesSurviveStorage) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  crypto::Entry entry{.path = *RelPath::Parse("x")};
  entry.kind = EntryKind::kDirectory;
  VersionVector vector;
  vector.Set(0, 1);
  vector.Set(~uint64_t{0}, ~uint64_t{0});
  vector.Set(uint64_t{1} << 63, 5);
  crypto::Record record = crypto::MakeRecord(secrets_, entry, vector);
  repo->PutRecord(record);
  auto stored = repo->GetRecord(record.locator);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->record.vector, vector);
  EXPECT_TRUE(crypto::VerifyRecord(secrets_, stored->record));
}

TEST_F(RepositoryTest, SequenceNumbersIncreaseAndANewVersionReplacesTheOld) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->PutRecord(MakeTestRecord("a", 1)), 1u);
  EXPECT_EQ(repo->PutRecord(MakeTestRecord("b", 1)), 2u);
  EXPECT_EQ(repo->PutRecord(MakeTestRecord("c", 1)), 3u);
  crypto::Record a2 = MakeTestRecord("a", 2);
  EXPECT_EQ(repo->PutRecord(a2), 4u);

  auto stored = repo->GetRecord(a2.locator);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->seq, 4u);
  EXPECT_EQ(stored->record, a2);

  // One row per locator: "a" now sorts last.
  std::vector<StoredRecord> all = repo->RecordsSince(0, 100);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].seq, 2u);
  EXPECT_EQ(all[1].seq, 3u);
  EXPECT_EQ(all[2].seq, 4u);
  EXPECT_EQ(all[2].record, a2);
  EXPECT_EQ(repo->Summarize().records, 3u);
  EXPECT_EQ(repo->Summarize().max_seq, 4u);
}

TEST_F(RepositoryTest, RecordsSincePagesInSequenceOrder) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  std::vector<crypto::Record> written;
  for (int i = 0; i < 25; ++i) {
    written.push_back(MakeTestRecord("file" + std::to_string(i), 1));
    repo->PutRecord(written.back());
  }
  std::vector<StoredRecord> seen;
  std::vector<size_t> page_sizes;
  uint64_t after = 0;
  while (true) {
    std::vector<StoredRecord> page = repo->RecordsSince(after, 10);
    page_sizes.push_back(page.size());
    if (page.empty()) break;
    after = page.back().seq;
    seen.insert(seen.end(), page.begin(), page.end());
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5, 0}));
  ASSERT_EQ(seen.size(), written.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].seq, i + 1);
    EXPECT_EQ(seen[i].record, written[i]);
  }
  EXPECT_EQ(repo->RecordsSince(25, 10).size(), 0u);
  EXPECT_EQ(repo->RecordsSince(24, 10).size(), 1u);
  EXPECT_EQ(repo->RecordsSince(0, 0).size(), 0u);
}

TEST_F(RepositoryTest, ReopenKeepsEpochRecordsAndNextSequence) {
  Bytes epoch;
  crypto::Record b = MakeTestRecord("b", 1);
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    epoch = repo->epoch();
    repo->PutRecord(MakeTestRecord("a", 1));
    repo->PutRecord(b);
    repo->PutRecord(MakeTestRecord("a", 2));  // seq 3 replaces seq 1
  }
  auto repo = Open(/*create=*/false);
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->epoch(), epoch);
  auto stored = repo->GetRecord(b.locator);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->seq, 2u);
  EXPECT_EQ(stored->record, b);
  EXPECT_EQ(repo->PutRecord(MakeTestRecord("c", 1)), 4u);
  EXPECT_TRUE(repo->IntegrityOk());
}

TEST_F(RepositoryTest, CreateOnAnExistingStoreKeepsIt) {
  Bytes epoch;
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    epoch = repo->epoch();
    repo->PutRecord(MakeTestRecord("a", 1));
  }
  auto repo = Open(/*create=*/true);
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->epoch(), epoch);
  EXPECT_EQ(repo->PutRecord(MakeTestRecord("b", 1)), 2u);
}

TEST_F(RepositoryTest, NewStoreGetsANewEpoch) {
  testing::TempDir other;
  auto a = Open();
  auto b = Repository::Open(other / ".tandem", secrets_.share_id(), true);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->epoch(), (*b)->epoch());
}

TEST_F(RepositoryTest, OpeningWithAnotherShareIdFails) {
  { ASSERT_TRUE(Open()); }
  crypto::ShareSecrets other = crypto::ShareSecrets::FromWriteSeed(Seed(2));
  for (bool create : {false, true}) {
    auto repo = Repository::Open(repo_dir_, other.share_id(), create);
    ASSERT_FALSE(repo);
    EXPECT_EQ(repo.error().code, ErrorCode::kFailedPrecondition);
  }
  // The refusal changed nothing: the right share still opens it.
  EXPECT_TRUE(Open(/*create=*/false));
}

TEST_F(RepositoryTest, OpeningAMissingStoreWithoutCreateIsNotFound) {
  auto repo = Repository::Open(repo_dir_, secrets_.share_id(), false);
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(repo_dir_));
}

TEST_F(RepositoryTest, UnopenableStoreIsAnIoError) {
  std::filesystem::create_directories(repo_dir_ / kIndexFileName);  // a folder where the file should be
  auto repo = Repository::Open(repo_dir_, secrets_.share_id(), false);
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, ErrorCode::kIo);
}

// Issue 16: a damaged repository is an error, never a silent reset.
TEST_F(RepositoryTest, GarbageInPlaceOfTheStoreIsDamagedNotReset) {
  std::filesystem::create_directories(repo_dir_);
  testing::WriteFile(repo_dir_ / kIndexFileName, std::string(4096, 'x'));
  for (bool create : {false, true}) {
    auto repo = Repository::Open(repo_dir_, secrets_.share_id(), create);
    ASSERT_FALSE(repo);
    EXPECT_EQ(repo.error().code, ErrorCode::kCorrupt);
  }
  EXPECT_EQ(testing::ReadFile(repo_dir_ / kIndexFileName), std::string(4096, 'x'));
}

TEST_F(RepositoryTest, AnEmptiedStoreIsDamagedNotAFreshOne) {
  { ASSERT_TRUE(Open()); }
  std::filesystem::resize_file(repo_dir_ / kIndexFileName, 0);
  std::filesystem::remove(repo_dir_ / (std::string(kIndexFileName) + "-wal"));
  auto repo = Repository::Open(repo_dir_, secrets_.share_id(), false);
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(repo.error().message.find("empty"), std::string::npos) << repo.error().message;
  EXPECT_EQ(std::filesystem::file_size(repo_dir_ / kIndexFileName), 0u);
}

TEST_F(RepositoryTest, AMissingStoreIsNotFoundUnlessItIsToBeCreated) {
  auto repo = Repository::Open(repo_dir_, secrets_.share_id(), false);
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(repo_dir_));
}

TEST_F(RepositoryTest, AStoreDamagedInTheMiddleFailsTheQuickCheck) {
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    auto tx = repo->Begin();
    for (int i = 0; i < 2000; ++i) {
      store::LocalFileState state{.path = "file-" + std::to_string(i), .size = static_cast<uint64_t>(i)};
      repo->PutFileState(state);
    }
    tx.Commit();
  }
  // Checkpointed and closed: the pages are in index.db itself.
  std::string bytes = testing::ReadFile(repo_dir_ / kIndexFileName);
  ASSERT_GT(bytes.size(), 3 * 4096u);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 4096; ++i) bytes[i] = static_cast<char>(i * 7);
  testing::WriteFile(repo_dir_ / kIndexFileName, bytes);
  auto repo = Repository::Open(repo_dir_, secrets_.share_id(), false);
  ASSERT_FALSE(repo);
  EXPECT_EQ(repo.error().code, ErrorCode::kCorrupt) << repo.error().message;
}

TEST_F(RepositoryTest, EachNewRepositoryHasItsOwnReplicaIdAndKeepsIt) {
  uint64_t first = 0;
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    first = repo->replica_id();
    EXPECT_NE(first, 0u);
  }
  {
    auto again = Repository::Open(repo_dir_, secrets_.share_id(), false);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)->replica_id(), first);
  }
  std::filesystem::remove_all(repo_dir_);
  auto fresh = Open();
  ASSERT_TRUE(fresh);
  EXPECT_NE(fresh->replica_id(), first);
}

TEST_F(RepositoryTest, UncommittedTransactionRollsBack) {
  // Immediate (takes the write lock at once) and deferred (at the first write) alike.
  for (bool deferred : {false, true}) {
    SCOPED_TRACE(deferred ? "deferred" : "immediate");
    auto repo = Open();
    ASSERT_TRUE(repo);
    auto begin = [&] { return deferred ? repo->BeginDeferred() : repo->Begin(); };
    std::string suffix = deferred ? "-deferred" : "";
    crypto::Record kept = MakeTestRecord("kept" + suffix, 1);
    crypto::Record dropped = MakeTestRecord("dropped" + suffix, 1);
    {
      Transaction tx = begin();
      EXPECT_FALSE(repo->GetRecord(kept.locator));  // reads first, then writes
      repo->PutRecord(kept);
      tx.Commit();
    }
    {
      Transaction tx = begin();
      repo->PutRecord(dropped);
    }
    {
      Transaction tx = begin();  // one that only reads
      EXPECT_TRUE(repo->GetRecord(kept.locator));
      tx.Commit();
    }
    EXPECT_TRUE(repo->GetRecord(kept.locator));
    EXPECT_FALSE(repo->GetRecord(dropped.locator));
  }
}

LocalFileState FileState(const std::string& path, EntryKind kind, uint64_t size, size_t blocks) {
  LocalFileState s;
  s.path = path;
  s.kind = kind;
  s.size = size;
  s.mtime_ns = -1'000'000'007;  // before 1970 is a valid mtime
  s.ctime_ns = 1'700'000'000'000'000'001;
  s.inode = ~uint64_t{0} - 5;
  s.mode = 0755;
  for (size_t i = 0; i < blocks; ++i) {
    crypto::BlockRef ref;
    ref.id.fill(static_cast<uint8_t>(i + 1));
    ref.size = static_cast<uint32_t>(0xFFFFFFF0u + i);
    s.blocks.push_back(ref);
  }
  return s;
}

void ExpectSameState(const LocalFileState& got, const LocalFileState& want, bool with_blocks) {
  EXPECT_EQ(got.path, want.path);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.size, want.size);
  EXPECT_EQ(got.mtime_ns, want.mtime_ns);
  EXPECT_EQ(got.ctime_ns, want.ctime_ns);
  EXPECT_EQ(got.inode, want.inode);
  EXPECT_EQ(got.mode, want.mode);
  if (with_blocks) {
    EXPECT_EQ(got.blocks, want.blocks);
  } else {
    EXPECT_TRUE(got.blocks.empty());
  }
}

TEST_F(RepositoryTest, FileStatePutGetDelete) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  EXPECT_FALSE(repo->GetFileState("a/b.txt"));

  LocalFileState state = FileState("a/b.txt", EntryKind::kFile, 100, 3);
  repo->PutFileState(state);
  auto got = repo->GetFileState("a/b.txt");
  ASSERT_TRUE(got);
  ExpectSameState(*got, state, /*with_blocks=*/true);

  LocalFileState changed = FileState("a/b.txt", EntryKind::kFile, 5, 1);
  changed.mode = 0600;
  repo->PutFileState(changed);
  got = repo->GetFileState("a/b.txt");
  ASSERT_TRUE(got);
  ExpectSameState(*got, changed, /*with_blocks=*/true);

  repo->DeleteFileState("a/b.txt");
  EXPECT_FALSE(repo->GetFileState("a/b.txt"));
  repo->DeleteFileState("a/b.txt");  // deleting what is gone is fine
  repo->DeleteFileState("never/there");
}

crypto::BlockId IdOf(uint8_t fill) {
  crypto::BlockId id;
  id.fill(fill);
  return id;
}

// The paths of `places`, sorted: FindBlock promises no order.
std::vector<std::string> PathsOf(const std::vector<BlockLocation>& places) {
  std::vector<std::string> paths;
  for (const BlockLocation& where : places) paths.push_back(where.path);
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST_F(RepositoryTest, ABlockIsFoundWhereverItIsAndNoLongerWhereItWas) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  repo->PutFileState(FileState("a", EntryKind::kFile, 10, 2));  // blocks 01.. and 02..
  repo->PutFileState(FileState("b", EntryKind::kFile, 10, 1));  // block 01..
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(1))), (std::vector<std::string>{"a", "b"}));
  auto second = repo->FindBlock(IdOf(2));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].offset, 0xFFFFFFF0u) << "after the first block";
  EXPECT_EQ(second[0].size, 0xFFFFFFF1u);

  LocalFileState rewritten = FileState("a", EntryKind::kFile, 5, 0);
  rewritten.blocks.push_back({IdOf(7), 5});
  repo->PutFileState(rewritten);
  EXPECT_TRUE(repo->FindBlock(IdOf(2)).empty());
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(1))), (std::vector<std::string>{"b"}));
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(7))), (std::vector<std::string>{"a"}));

  rewritten.mtime_ns += 1;  // touched: same blocks
  repo->PutFileState(rewritten);
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(7))), (std::vector<std::string>{"a"}));

  repo->DeleteFileState("a");
  EXPECT_TRUE(repo->FindBlock(IdOf(7)).empty());
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(1))), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(repo->IntegrityOk());
}

// The block server trusts a place whose file is unchanged without hashing
// it again: a place is offered only for its very id.
TEST_F(RepositoryTest, FindBlockOffersOnlyPlacesOfThatVeryId) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  LocalFileState state = FileState("x", EntryKind::kFile, 5, 0);
  state.blocks.push_back({IdOf(0x11), 5});
  repo->PutFileState(state);
  crypto::BlockId same_prefix = IdOf(0x11);
  same_prefix[8] = 0x22;
  crypto::BlockId other_prefix = IdOf(0x11);
  other_prefix[7] = 0x22;
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(0x11))), (std::vector<std::string>{"x"}));
  EXPECT_TRUE(repo->FindBlock(same_prefix).empty());
  EXPECT_TRUE(repo->FindBlock(other_prefix).empty());
}

TEST_F(RepositoryTest, ADamagedStoredBlockListIsAClearErrorAndNothingIsWritten) {
  const LocalFileState state = FileState("a", EntryKind::kFile, 100, 2);
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    repo->PutFileState(state);
  }
  ExecOn(repo_dir_ / kIndexFileName, "UPDATE local_files SET blocks = x'0102' WHERE path = 'a';");
  auto repo = Open(/*create=*/false);
  ASSERT_TRUE(repo);
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (attempt == 0) {
        repo->PutFileState(FileState("a", EntryKind::kFile, 5, 1));
      } else {
        repo->DeleteFileState("a");
      }
      ADD_FAILURE() << "a damaged block list was taken for a good one";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("block list stored for a in"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("is damaged"), std::string::npos) << e.what();
    }
  }
  auto got = repo->GetFileState("a");
  ASSERT_TRUE(got) << "nothing deleted";
  EXPECT_EQ(got->size, 100u) << "nothing overwritten";
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(2))), (std::vector<std::string>{"a"})) << "no place taken away";
}

// What one column of a local state holds as stored (hex), read beside the store.
std::string StoredColumn(const std::filesystem::path& db_path, const std::string& column, const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string sql = "SELECT hex(" + column + ") FROM local_files WHERE path = ?1";
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
  sqlite3_bind_text(stmt, 1, path.c_str(), -1, SQLITE_TRANSIENT);
  std::string out = "(no row)";
  if (sqlite3_step(stmt) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class StatesReferToRecords : public RepositoryTest {
 protected:
  void SetUp() override {
    auto opened = Repository::Open(repo_dir_, secrets_.share_id(), true, OptionsFor(secrets_));
    ASSERT_TRUE(opened) << opened.error().message;
    repo_ = std::move(*opened);
  }
  // The record of `path` at version (7: counter) holding `blocks`, stored.
  crypto::Record Recorded(const std::string& path, uint64_t counter, const std::vector<crypto::BlockRef>& blocks) {
    crypto::Entry entry{.path = *RelPath::Parse(path)};
    for (const crypto::BlockRef& block : blocks) entry.size += block.size;
    entry.blocks = blocks;
    entry.device_short_id = 7;
    VersionVector vector;
    vector.Set(7, counter);
    crypto::Record record = crypto::MakeRecord(secrets_, entry, vector);
    repo_->PutRecord(record, path);
    return record;
  }
  LocalFileState StateOf(const crypto::Record& record, const std::string& path) {
    LocalFileState state = FileState(path, EntryKind::kFile, 0, 0);
    state.blocks = record.blocks;
    for (const crypto::BlockRef& block : record.blocks) state.size += block.size;
    state.vector = record.vector;
    return state;
  }
  std::filesystem::path db() const { return repo_dir_ / kIndexFileName; }

  std::unique_ptr<Repository> repo_;
};

TEST_F(StatesReferToRecords, AStateAtItsRecordedVersionKeepsNoCopyAndReadsTheSame) {
  const crypto::Record record = Recorded("a.txt", 1, {{IdOf(1), 10}, {IdOf(2), 20}});
  const LocalFileState state = StateOf(record, "a.txt");
  repo_->PutFileState(state);
  EXPECT_EQ(StoredColumn(db(), "blocks", "a.txt"), "00");
  EXPECT_EQ(StoredColumn(db(), "vector", "a.txt"), "");
  auto got = repo_->GetFileState("a.txt");
  ASSERT_TRUE(got);
  ExpectSameState(*got, state, /*with_blocks=*/true);
  EXPECT_EQ(got->vector, record.vector);
  auto second = repo_->FindBlock(IdOf(2));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].offset, 10u);

  // Another version than the record's keeps its own, both ways.
  LocalFileState ahead = state;
  ahead.vector.Set(9, 1);
  repo_->PutFileState(ahead);
  EXPECT_NE(StoredColumn(db(), "blocks", "a.txt"), "00");
  EXPECT_EQ(repo_->GetFileState("a.txt")->vector, ahead.vector);
  LocalFileState other_blocks = state;
  other_blocks.blocks = {{IdOf(3), 30}};
  repo_->PutFileState(other_blocks);
  EXPECT_NE(StoredColumn(db(), "blocks", "a.txt"), "00");
  EXPECT_EQ(repo_->GetFileState("a.txt")->blocks, other_blocks.blocks);
  EXPECT_TRUE(repo_->FindBlock(IdOf(2)).empty());
  EXPECT_EQ(PathsOf(repo_->FindBlock(IdOf(3))), (std::vector<std::string>{"a.txt"}));
}

TEST_F(StatesReferToRecords, ANewerRecordLeavesTheStateAtTheVersionTheDiskHolds) {
  const crypto::Record first = Recorded("a.txt", 1, {{IdOf(1), 10}});
  const LocalFileState state = StateOf(first, "a.txt");
  repo_->PutFileState(state);
  ASSERT_EQ(StoredColumn(db(), "blocks", "a.txt"), "00");

  // A peer's newer version, not pulled yet: the disk still holds the first.
  Recorded("a.txt", 2, {{IdOf(2), 20}});
  auto got = repo_->GetFileState("a.txt");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->vector, first.vector);
  EXPECT_EQ(got->blocks, first.blocks);
  EXPECT_EQ(PathsOf(repo_->FindBlock(IdOf(1))), (std::vector<std::string>{"a.txt"}));
  // Taking its places away later finds the right ones.
  repo_->DeleteFileState("a.txt");
  EXPECT_TRUE(repo_->FindBlock(IdOf(1)).empty());
  EXPECT_TRUE(repo_->IntegrityOk());
}

TEST_F(StatesReferToRecords, ARecordWithoutItsOwnPathIsRefusedAndNothingIsWritten) {
  const crypto::Record first = Recorded("a.txt", 1, {{IdOf(1), 10}});
  repo_->PutFileState(StateOf(first, "a.txt"));
  crypto::Entry entry{.path = *RelPath::Parse("a.txt")};
  VersionVector newer;
  newer.Set(7, 2);
  const crypto::Record second = crypto::MakeRecord(secrets_, entry, newer);
  const uint64_t last = repo_->LastSeq();
  EXPECT_THROW(repo_->PutRecord(second), std::logic_error);
  EXPECT_THROW(repo_->PutRecord(second, "b.txt"), std::logic_error);
  EXPECT_EQ(repo_->LastSeq(), last);
  EXPECT_EQ(repo_->GetRecord(first.locator)->record.vector, first.vector);
  EXPECT_EQ(repo_->GetFileState("a.txt")->vector, first.vector);
}

TEST_F(StatesReferToRecords, AStateWhoseRecordIsGoneIsAClearErrorAndNothingIsWritten) {
  const crypto::Record first = Recorded("a.txt", 1, {{IdOf(1), 10}});
  repo_->PutFileState(StateOf(first, "a.txt"));
  repo_.reset();
  ExecOn(db(), "DELETE FROM records;");
  auto opened = Repository::Open(repo_dir_, secrets_.share_id(), false, OptionsFor(secrets_));
  ASSERT_TRUE(opened);
  repo_ = std::move(*opened);
  // Nothing may take the disk's unknown version for another: reading the
  // state, replacing it, and storing a record for its path all refuse.
  auto expect_damaged = [&](const std::function<void()>& act, const char* what) {
    try {
      act();
      ADD_FAILURE() << what << " went ahead on a state without its record";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("local state stored for a.txt in"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("is damaged; `tandem repair`"), std::string::npos) << e.what();
    }
  };
  expect_damaged([&] { repo_->GetFileState("a.txt"); }, "reading");
  expect_damaged([&] { repo_->PutFileState(FileState("a.txt", EntryKind::kFile, 5, 1)); }, "a new state");
  crypto::Entry entry{.path = *RelPath::Parse("a.txt")};
  VersionVector newer;
  newer.Set(7, 2);
  expect_damaged([&] { repo_->PutRecord(crypto::MakeRecord(secrets_, entry, newer), "a.txt"); }, "a new record");
  EXPECT_FALSE(repo_->GetRecord(first.locator)) << "no record stored";
  EXPECT_EQ(StoredColumn(db(), "blocks", "a.txt"), "00") << "nothing overwritten";
  EXPECT_EQ(PathsOf(repo_->FindBlock(IdOf(1))), (std::vector<std::string>{"a.txt"})) << "no place taken away";
}

TEST_F(RepositoryTest, ReaderSeesEachCommittedBatchWhileTheOwnerWrites) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  auto reader = repo->OpenReader();
  ASSERT_TRUE(reader) << reader.error().message;
  LocalFileState state = FileState("a/b.txt", EntryKind::kFile, 100, 3);

  auto tx = repo->Begin();
  repo->PutRecord(MakeTestRecord("first", 1));
  repo->PutFileState(state);
  tx.Commit();
  auto batch = repo->Begin();  // a scan's next batch, still open
  repo->PutRecord(MakeTestRecord("second", 1));
  repo->DeleteFileState("a/b.txt");

  auto records = (*reader)->RecordsSince(0, 100);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record.locator, MakeTestRecord("first", 1).locator);
  auto places = (*reader)->FindBlock(state.blocks[1].id);
  ASSERT_EQ(places.size(), 1u);
  EXPECT_EQ(places[0].path, "a/b.txt");
  EXPECT_EQ(places[0].offset, state.blocks[0].size);
  EXPECT_EQ(places[0].file.size, state.size);
  EXPECT_FALSE((*reader)->GetSealedBlock(state.blocks[1].id));

  batch.Commit();
  EXPECT_EQ((*reader)->RecordsSince(0, 100).size(), 2u);
  EXPECT_TRUE((*reader)->FindBlock(state.blocks[1].id).empty());

  // The reader outlives its owner and still reads the store.
  repo.reset();
  EXPECT_EQ((*reader)->RecordsSince(1, 100).size(), 1u);
}

TEST_F(RepositoryTest, FileStateKeepsTheVersionItWasWrittenFrom) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  LocalFileState state = FileState("v.txt", EntryKind::kFile, 10, 1);
  state.vector.Set(7, 3);
  state.vector.Set(9, 1);
  repo->PutFileState(state);
  EXPECT_EQ(repo->GetFileState("v.txt")->vector, state.vector);
  // A whole tree's states are read without versions (and blocks): the
  // scanner asks GetFileState for the version of what changed.
  bool seen = false;
  repo->ForEachFileStateMeta([&](LocalFileState&& meta) {
    seen = true;
    EXPECT_EQ(meta.path, "v.txt");
    EXPECT_TRUE(meta.vector.counters().empty());
  });
  EXPECT_TRUE(seen);
}

TEST_F(RepositoryTest, ABlindReplicaKeepsOnlyTheSealedBlocksItsRecordsReferTo) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  auto block = [](uint8_t b, uint32_t size) {
    crypto::BlockRef ref;
    ref.id.fill(b);
    ref.size = size;
    return ref;
  };
  crypto::Locator one{}, two{};
  one.fill(1);
  two.fill(2);
  repo->SetRecordBlocks(one, {block(0xA, 10), block(0xB, 20)});
  repo->SetRecordBlocks(two, {block(0xB, 20), block(0xC, 30)});
  auto missing = repo->MissingSealedBlocks({}, 10);
  ASSERT_EQ(missing.size(), 3u) << "each block once, however many records share it";
  EXPECT_EQ(missing[0], block(0xA, 10));
  EXPECT_EQ(repo->MissingSealedBlocks(missing[0].id, 10).size(), 2u) << "pages continue after an id";
  for (const auto& ref : missing) repo->PutSealedBlock(ref.id, Bytes(ref.size + 16, 0x55));
  EXPECT_TRUE(repo->MissingSealedBlocks({}, 10).empty());
  EXPECT_EQ(repo->Summarize().sealed_blocks, 3u);

  // `one` now refers to a new block: A goes, B stays (two still needs it).
  repo->SetRecordBlocks(one, {block(0xD, 40)});
  EXPECT_FALSE(repo->GetSealedBlock(block(0xA, 10).id));
  EXPECT_TRUE(repo->GetSealedBlock(block(0xB, 20).id));
  EXPECT_TRUE(repo->IsBlockReferenced(block(0xD, 40).id));
  EXPECT_FALSE(repo->IsBlockReferenced(block(0xA, 10).id));
  ASSERT_EQ(repo->MissingSealedBlocks({}, 10).size(), 1u);
  // A tombstone refers to nothing.
  repo->SetRecordBlocks(two, {});
  EXPECT_FALSE(repo->GetSealedBlock(block(0xB, 20).id));
  EXPECT_FALSE(repo->GetSealedBlock(block(0xC, 30).id));
}

TEST_F(RepositoryTest, ForEachFileStateMetaVisitsEveryPathWithoutBlocks) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  std::map<std::string, LocalFileState> written;
  for (std::string path : {"a", "a/b", "ü/文件"}) {
    written[path] = FileState(path, EntryKind::kFile, 7, 2);
    repo->PutFileState(written[path]);
  }
  std::map<std::string, LocalFileState> visited;
  repo->ForEachFileStateMeta([&](LocalFileState&& s) { visited[s.path] = std::move(s); });
  ASSERT_EQ(visited.size(), written.size());
  for (const auto& [path, state] : written) {
    ASSERT_TRUE(visited.count(path)) << path;
    ExpectSameState(visited[path], state, /*with_blocks=*/false);
  }
}

TEST_F(RepositoryTest, SummarizeCountsKindsBytesAndRecords) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  repo->PutFileState(FileState("f1", EntryKind::kFile, 10, 0));
  repo->PutFileState(FileState("f2", EntryKind::kFile, 20, 0));
  repo->PutFileState(FileState("d", EntryKind::kDirectory, 0, 0));
  repo->PutFileState(FileState("d/l", EntryKind::kSymlink, 0, 0));
  repo->PutRecord(MakeTestRecord("f1", 1));
  repo->PutRecord(MakeTestRecord("f2", 1));
  repo->PutRecord(MakeTestRecord("f1", 2));
  IndexSummary summary = repo->Summarize();
  EXPECT_EQ(summary.files, 2u);
  EXPECT_EQ(summary.directories, 1u);
  EXPECT_EQ(summary.symlinks, 1u);
  EXPECT_EQ(summary.bytes, 30u);
  EXPECT_EQ(summary.records, 2u);
  EXPECT_EQ(summary.max_seq, 3u);
  EXPECT_TRUE(repo->IntegrityOk());
}

// The counts behind the summary are kept by triggers: every change, a
// replaced row and a rolled-back transaction must leave them exact.
TEST_F(RepositoryTest, SummaryFollowsEveryChangeAndARollback) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  repo->PutFileState(FileState("x", EntryKind::kFile, 10, 0));
  repo->PutFileState(FileState("x", EntryKind::kFile, 25, 0));       // replaced: counted once
  repo->PutFileState(FileState("y", EntryKind::kFile, 5, 0));
  repo->PutFileState(FileState("y", EntryKind::kDirectory, 0, 0));   // a file became a folder
  repo->DeleteFileState("missing");
  IndexSummary summary = repo->Summarize();
  EXPECT_EQ(summary.files, 1u);
  EXPECT_EQ(summary.bytes, 25u);
  EXPECT_EQ(summary.directories, 1u);
  {
    auto tx = repo->Begin();
    repo->PutFileState(FileState("z", EntryKind::kFile, 1000, 0));
    repo->DeleteFileState("x");
    repo->PutRecord(MakeTestRecord("z", 1));
  }  // not committed: rolled back
  summary = repo->Summarize();
  EXPECT_EQ(summary.files, 1u);
  EXPECT_EQ(summary.bytes, 25u);
  EXPECT_EQ(summary.records, 0u);
  repo->DeleteFileState("x");
  repo->DeleteFileState("y");
  summary = repo->Summarize();
  EXPECT_EQ(summary.files, 0u);
  EXPECT_EQ(summary.bytes, 0u);
  EXPECT_EQ(summary.directories, 0u);
}


TEST_F(RepositoryTest, FindsALocalPathThatOnlyLooksLikeAnother) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  repo->PutFileState(FileState("Docs", EntryKind::kDirectory, 0, 0));
  repo->PutFileState(FileState("Docs/caf\u00e9.txt", EntryKind::kFile, 10, 1));
  EXPECT_EQ(repo->FindLookAlike("docs"), "Docs");
  EXPECT_EQ(repo->FindLookAlike("DOCS/Cafe\u0301.TXT"), "Docs/caf\u00e9.txt");
  EXPECT_FALSE(repo->FindLookAlike("Docs")) << "a path is not its own look-alike";
  EXPECT_FALSE(repo->FindLookAlike("Docs/cafe.txt"));
  EXPECT_FALSE(repo->FindLookAlike("other"));
  repo->DeleteFileState("Docs");
  EXPECT_FALSE(repo->FindLookAlike("docs"));
}

TEST_F(RepositoryTest, APathThatIsItsOwnLookAlikeKeyIsFoundByItsOtherSpellings) {
  auto repo = Open();
  ASSERT_TRUE(repo);
  repo->PutFileState(FileState("notes/caf\u00e9.txt", EntryKind::kFile, 10, 1));  // already its own key
  EXPECT_EQ(repo->FindLookAlike("Notes/CAFE\u0301.txt"), "notes/caf\u00e9.txt");
  EXPECT_EQ(repo->FindLookAlike("notes/cafe\u0301.txt"), "notes/caf\u00e9.txt");
  EXPECT_FALSE(repo->FindLookAlike("notes/caf\u00e9.txt")) << "a path is not its own look-alike";
  // Both spellings held (a filesystem that tells them apart): each finds the other.
  repo->PutFileState(FileState("Notes/caf\u00e9.txt", EntryKind::kFile, 10, 2));
  EXPECT_EQ(repo->FindLookAlike("notes/caf\u00e9.txt"), "Notes/caf\u00e9.txt");
  EXPECT_EQ(repo->FindLookAlike("Notes/caf\u00e9.txt"), "notes/caf\u00e9.txt");
}

std::string HexLiteral(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "x'";
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out + "'";
}

// Puts local_files, local_blocks and records back in their schema-7 form
// (rows without an explicit id, places by id and path, unique indexes on
// locator and seq); `states` are the file states the test stored, whose
// blocks are placed again by path.
void RewindToSchema7(const std::filesystem::path& db_path, const std::vector<LocalFileState>& states) {
  std::string sql = R"(
    BEGIN;
    CREATE TABLE f7 (path TEXT NOT NULL PRIMARY KEY, kind INTEGER NOT NULL, size INTEGER NOT NULL,
                     mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
                     mode INTEGER NOT NULL, vector BLOB NOT NULL DEFAULT x'', blocks BLOB NOT NULL,
                     look_alike TEXT NOT NULL DEFAULT '');
    INSERT INTO f7 SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode, vector, blocks, look_alike
      FROM local_files ORDER BY path DESC;
    DROP TABLE local_files; ALTER TABLE f7 RENAME TO local_files;
    CREATE INDEX local_files_by_look_alike ON local_files(look_alike, path) WHERE look_alike <> '';
    CREATE TRIGGER local_files_counted_in AFTER INSERT ON local_files BEGIN
      UPDATE counts SET n = n + 1, bytes = bytes + NEW.size WHERE what = 'kind' || NEW.kind; END;
    CREATE TRIGGER local_files_counted_out AFTER DELETE ON local_files BEGIN
      UPDATE counts SET n = n - 1, bytes = bytes - OLD.size WHERE what = 'kind' || OLD.kind; END;
    CREATE TRIGGER local_files_recounted AFTER UPDATE OF kind, size ON local_files BEGIN
      UPDATE counts SET n = n - 1, bytes = bytes - OLD.size WHERE what = 'kind' || OLD.kind;
      UPDATE counts SET n = n + 1, bytes = bytes + NEW.size WHERE what = 'kind' || NEW.kind; END;
    DROP TABLE local_blocks;
    CREATE TABLE local_blocks (id BLOB NOT NULL, path TEXT NOT NULL, offset INTEGER NOT NULL,
                               size INTEGER NOT NULL, PRIMARY KEY (id, path, offset)) WITHOUT ROWID;
    CREATE INDEX local_blocks_by_path ON local_blocks(path);
    CREATE TABLE r7 (locator BLOB NOT NULL PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, vector BLOB NOT NULL,
                     signature BLOB NOT NULL, sealed_entry BLOB NOT NULL, blocks BLOB NOT NULL DEFAULT x'');
    INSERT INTO r7 SELECT locator, seq, vector, signature, sealed_entry, blocks FROM records;
    DROP TABLE records; ALTER TABLE r7 RENAME TO records;
    CREATE TRIGGER records_counted_in AFTER INSERT ON records BEGIN
      UPDATE counts SET n = n + 1 WHERE what = 'records'; END;
    CREATE TRIGGER records_counted_out AFTER DELETE ON records BEGIN
      UPDATE counts SET n = n - 1 WHERE what = 'records'; END;
    PRAGMA user_version = 7;)";
  for (const LocalFileState& state : states) {
    uint64_t offset = 0;
    for (const crypto::BlockRef& block : state.blocks) {
      sql += "INSERT OR REPLACE INTO local_blocks VALUES (" + HexLiteral(block.id) + ", '" + state.path + "', " +
             std::to_string(offset) + ", " + std::to_string(block.size) + ");";
      offset += block.size;
    }
  }
  ExecOn(db_path, (sql + "COMMIT;").c_str());
}

bool SchemaHas(const std::filesystem::path& db_path, const std::string& name) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE name = ?1", -1, &stmt, nullptr), SQLITE_OK);
  sqlite3_bind_text(stmt, 1, name.c_str(), -1, SQLITE_TRANSIENT);
  bool found = sqlite3_step(stmt) == SQLITE_ROW;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return found;
}

TEST_F(RepositoryTest, MigrationToSmallerKeysKeepsEveryRecordAndEveryBlockPlace) {
  const std::vector<LocalFileState> states = {FileState("a", EntryKind::kFile, 10, 2),
                                              FileState("b/c", EntryKind::kFile, 10, 1),
                                              FileState("b", EntryKind::kDirectory, 0, 0)};
  const crypto::Record newer_a = MakeTestRecord("a", 2);
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    for (const LocalFileState& state : states) repo->PutFileState(state);
    repo->PutRecord(MakeTestRecord("a", 1));
    repo->PutRecord(MakeTestRecord("b", 1));
    repo->PutRecord(newer_a);
  }
  const auto db_path = repo_dir_ / kIndexFileName;
  RewindToSchema7(db_path, states);
  ASSERT_TRUE(SchemaHas(db_path, "local_blocks_by_path"));
  auto repo = Open(/*create=*/false);
  ASSERT_TRUE(repo);
  EXPECT_FALSE(SchemaHas(db_path, "local_blocks_by_path"));
  EXPECT_TRUE(SchemaHas(db_path, "records_by_locator"));

  auto since = repo->RecordsSince(0, 10);
  ASSERT_EQ(since.size(), 2u);
  EXPECT_EQ(since[0].seq, 2u);
  EXPECT_EQ(since[1].seq, 3u);
  auto a = repo->GetRecord(newer_a.locator);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->record, newer_a);
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(1))), (std::vector<std::string>{"a", "b/c"}));
  auto second = repo->FindBlock(IdOf(2));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].offset, 0xFFFFFFF0u);

  // The migrated places are taken away with their file.
  repo->DeleteFileState("a");
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(1))), (std::vector<std::string>{"b/c"}));
  EXPECT_TRUE(repo->FindBlock(IdOf(2)).empty());
  repo->PutFileState(states[0]);

  // Still one record per locator, counted once, with the next sequence.
  EXPECT_EQ(repo->PutRecord(MakeTestRecord("b", 2)), 4u);
  IndexSummary summary = repo->Summarize();
  EXPECT_EQ(summary.records, 2u);
  EXPECT_EQ(summary.files, 2u);
  EXPECT_EQ(summary.directories, 1u);
  EXPECT_EQ(repo->RecordsSince(0, 10).size(), 2u);
  EXPECT_EQ(PathsOf(repo->FindBlock(IdOf(2))), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(repo->IntegrityOk());
}

// Migration 6's counts table and triggers, taken away again.
constexpr const char* kUndoCounts = R"(
    DROP TRIGGER local_files_counted_in; DROP TRIGGER local_files_counted_out;
    DROP TRIGGER local_files_recounted; DROP TRIGGER records_counted_in; DROP TRIGGER records_counted_out;
    DROP TRIGGER sealed_counted_in; DROP TRIGGER sealed_counted_out; DROP TABLE counts;)";

// Takes the look-alike keys of migration 5 (and migration 6) away again,
// as schema 4 had none.
void RewindToSchema4(const std::filesystem::path& db_path, const std::vector<LocalFileState>& states) {
  RewindToSchema7(db_path, states);
  ExecOn(db_path, (std::string("BEGIN;") + kUndoCounts + R"(
    DROP INDEX local_files_by_look_alike;
    ALTER TABLE local_files DROP COLUMN look_alike;
    PRAGMA user_version = 4;
    COMMIT;)").c_str());
}

TEST_F(RepositoryTest, MigrationCountsWhatTheIndexAlreadyHolds) {
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    repo->PutFileState(FileState("a", EntryKind::kFile, 7, 1));
    repo->PutFileState(FileState("d", EntryKind::kDirectory, 0, 0));
    repo->PutRecord(MakeTestRecord("a", 1));
    repo->PutSealedBlock(crypto::BlockId{9}, AsBytes(std::string(50, 's')));
  }
  RewindToSchema7(repo_dir_ / kIndexFileName, {FileState("a", EntryKind::kFile, 7, 1)});
  ExecOn(repo_dir_ / kIndexFileName, (std::string("BEGIN;") + kUndoCounts + "PRAGMA user_version = 5; COMMIT;").c_str());
  auto repo = Open(/*create=*/false);
  ASSERT_TRUE(repo);
  IndexSummary summary = repo->Summarize();
  EXPECT_EQ(summary.files, 1u);
  EXPECT_EQ(summary.bytes, 7u);
  EXPECT_EQ(summary.directories, 1u);
  EXPECT_EQ(summary.records, 1u);
  EXPECT_EQ(summary.sealed_blocks, 1u);
  EXPECT_EQ(summary.sealed_bytes, 50u);
}

TEST_F(RepositoryTest, MigrationGivesExistingPathsTheirLookAlikeKeys) {
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    repo->PutFileState(FileState("Photos/\u00c5r.jpg", EntryKind::kFile, 10, 1));
    repo->PutFileState(FileState("photos/img.jpg", EntryKind::kFile, 10, 2));
  }
  RewindToSchema4(repo_dir_ / kIndexFileName, {FileState("Photos/\u00c5r.jpg", EntryKind::kFile, 10, 1),
                                               FileState("photos/img.jpg", EntryKind::kFile, 10, 2)});
  auto repo = Open(/*create=*/false);
  ASSERT_TRUE(repo);
  EXPECT_EQ(repo->FindLookAlike("photos/A\u030ar.JPG"), "Photos/\u00c5r.jpg");
  EXPECT_EQ(repo->FindLookAlike("Photos/IMG.jpg"), "photos/img.jpg");
  EXPECT_TRUE(repo->IntegrityOk());
}

}  // namespace
}  // namespace tandem::store

namespace tandem::store {
namespace {

// Puts the three tables migration 4 rebuilds back in their schema-3 form
// (WITHOUT ROWID, columns in their old order) and the version back to 3.
void RewindToSchema3(const std::filesystem::path& db_path, const std::vector<LocalFileState>& states) {
  RewindToSchema7(db_path, states);
  ExecOn(db_path, R"(
    BEGIN;
    CREATE TABLE r3 (locator BLOB PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, vector BLOB NOT NULL,
                     sealed_entry BLOB NOT NULL, signature BLOB NOT NULL,
                     blocks BLOB NOT NULL DEFAULT x'') WITHOUT ROWID;
    INSERT INTO r3 SELECT locator, seq, vector, sealed_entry, signature, blocks FROM records;
    DROP TABLE records; ALTER TABLE r3 RENAME TO records;
    CREATE TABLE f3 (path TEXT PRIMARY KEY, kind INTEGER NOT NULL, size INTEGER NOT NULL,
                     mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL,
                     mode INTEGER NOT NULL, blocks BLOB NOT NULL,
                     vector BLOB NOT NULL DEFAULT x'') WITHOUT ROWID;
    INSERT INTO f3 SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode, blocks, vector FROM local_files;
    DROP TABLE local_files; ALTER TABLE f3 RENAME TO local_files;
    CREATE TABLE b3 (id BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
    INSERT INTO b3 SELECT id, sealed FROM blocks;
    DROP TABLE blocks; ALTER TABLE b3 RENAME TO blocks;
    PRAGMA user_version = 3;
    COMMIT;)");
  ExecOn(db_path, "DROP TABLE counts;");  // its triggers went with the tables
}

TEST_F(RepositoryTest, MigrationToRowidTablesKeepsEveryRow) {
  crypto::Record record = MakeTestRecord("kept", 4);
  LocalFileState state = FileState("big.bin", EntryKind::kFile, 20000, 2);
  state.vector.Set(7, 9);
  crypto::BlockId sealed_id;
  sealed_id.fill(3);
  const Bytes sealed(70000, 0x42);
  {
    auto repo = Open();
    ASSERT_TRUE(repo);
    repo->PutRecord(record);
    repo->PutFileState(state);
    repo->PutSealedBlock(sealed_id, sealed);
  }
  RewindToSchema3(repo_dir_ / kIndexFileName, {state});
  auto repo = Open(/*create=*/false);
  ASSERT_TRUE(repo);
  auto got_record = repo->GetRecord(record.locator);
  ASSERT_TRUE(got_record);
  EXPECT_EQ(got_record->record.signature, record.signature);
  EXPECT_EQ(got_record->record.vector, record.vector);
  auto got_state = repo->GetFileState("big.bin");
  ASSERT_TRUE(got_state);
  ExpectSameState(*got_state, state, /*with_blocks=*/true);
  EXPECT_EQ(got_state->vector, state.vector);
  EXPECT_EQ(repo->GetSealedBlock(sealed_id), sealed);
  EXPECT_EQ(repo->FindBlock(state.blocks[0].id).size(), 1u);
  EXPECT_TRUE(repo->IntegrityOk());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((repo_dir_ / kIndexFileName).c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('records', 'local_files', "
                                   "'blocks') AND sql NOT LIKE '%WITHOUT ROWID%'", -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 3) << "the rebuilt tables keep rowids";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

}  // namespace
}  // namespace tandem::store
