#include "scan/scanner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/keyed_hash.h"
#include "crypto/record.h"
#include "testing/fault_filesystem.h"
#include "testing/temp_dir.h"

namespace tandem::scan {
namespace {

namespace stdfs = std::filesystem;
using crypto::EntryKind;

constexpr uint64_t kDevice = 0xD1;
constexpr uint64_t kOtherDevice = 0xD2;

struct stat Lstat(const stdfs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

int64_t CtimeNs(const stdfs::path& path) {
  struct stat st = Lstat(path);
  return static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
}

// A PosixFilesystem with faults switched on per path.
class FaultFs final : public testing::DiskFilesystem {
 public:
  std::set<stdfs::path> unlistable;   // ListDir fails with kIo
  std::set<stdfs::path> unopenable;   // OpenRead fails with kIo
  std::set<stdfs::path> changing;     // the open file's mtime moves while it is read
  bool whole_seconds = false;         // timestamps as FAT, HFS+, ext3 or NFS keep them
  std::set<stdfs::path> listed, opened;  // every folder listed, every file opened

  Result<fs::FileInfo> Lstat(const stdfs::path& path) override {
    TANDEM_ASSIGN_OR_RETURN(fs::FileInfo info, real_.Lstat(path));
    if (whole_seconds) {
      info.mtime_ns -= info.mtime_ns % 1'000'000'000;
      info.ctime_ns -= info.ctime_ns % 1'000'000'000;
    }
    return info;
  }
  Result<std::vector<std::string>> ListDir(const stdfs::path& path) override {
    listed.insert(path);
    if (unlistable.count(path)) return MakeError(ErrorCode::kIo, "injected: cannot list " + path.string());
    return real_.ListDir(path);
  }
  Result<std::unique_ptr<fs::ReadableFile>> OpenRead(const stdfs::path& path) override {
    opened.insert(path);
    if (unopenable.count(path)) return MakeError(ErrorCode::kIo, "injected: cannot open " + path.string());
    TANDEM_ASSIGN_OR_RETURN(auto file, real_.OpenRead(path));
    if (changing.count(path)) return std::unique_ptr<fs::ReadableFile>(new Changing(std::move(file)));
    if (whole_seconds) return std::unique_ptr<fs::ReadableFile>(new Coarse(std::move(file)));
    return file;
  }

 private:
  // The open file's own stat, truncated like Lstat's.
  class Coarse final : public fs::ReadableFile {
   public:
    explicit Coarse(std::unique_ptr<fs::ReadableFile> file) : file_(std::move(file)) {}
    Result<size_t> Read(std::span<uint8_t> buffer) override { return file_->Read(buffer); }
    Result<fs::FileInfo> Stat() override {
      TANDEM_ASSIGN_OR_RETURN(fs::FileInfo info, file_->Stat());
      info.mtime_ns -= info.mtime_ns % 1'000'000'000;
      info.ctime_ns -= info.ctime_ns % 1'000'000'000;
      return info;
    }

   private:
    std::unique_ptr<fs::ReadableFile> file_;
  };

  class Changing final : public fs::ReadableFile {
   public:
    explicit Changing(std::unique_ptr<fs::ReadableFile> file) : file_(std::move(file)) {}
    Result<size_t> Read(std::span<uint8_t> buffer) override { return file_->Read(buffer); }
    Result<fs::FileInfo> Stat() override {
      TANDEM_ASSIGN_OR_RETURN(fs::FileInfo info, file_->Stat());
      info.mtime_ns += 1;
      return info;
    }

   private:
    std::unique_ptr<fs::ReadableFile> file_;
  };
};

class ScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stdfs::create_directories(root_);
    // Signatures kept, so each record the scanner made can be checked as
    // it signed it; states refer to records, as on every replica that reads.
    auto repo = store::Repository::Open(root_ / ".tandem", secrets_.share_id(), true,
                                        {.signatures = store::Signatures::kKept, .locator_key = secrets_.locator_key()});
    ASSERT_TRUE(repo) << repo.error().message;
    repo_ = std::move(*repo);
  }

  // a.txt, empty, link -> a.txt, empty_dir/, sub/big.bin (several blocks), sub/deeper/c.txt
  void MakeTree() {
    testing::WriteFile(root_ / "a.txt", "hello");
    testing::WriteFile(root_ / "empty", "");
    testing::WriteFile(root_ / "sub" / "big.bin", testing::RandomBytes(100000, 3));
    testing::WriteFile(root_ / "sub" / "deeper" / "c.txt", "c");
    stdfs::create_directory(root_ / "empty_dir");
    stdfs::create_symlink("a.txt", root_ / "link");
  }

  ScanStats Scan(fs::Filesystem& filesystem, uint64_t device = kDevice) {
    Scanner scanner(filesystem, *repo_, secrets_, device, root_, params_);
    auto stats = scanner.ScanAll();
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : ScanStats{};
  }
  ScanStats Scan() { return Scan(posix_); }

  std::optional<store::StoredRecord> RecordAt(const std::string& path) {
    return repo_->GetRecord(crypto::ComputeLocator(secrets_.locator_key(), path));
  }

  // The verified, opened entry recorded for `path`.
  std::optional<crypto::Entry> EntryAt(const std::string& path) {
    auto stored = RecordAt(path);
    if (!stored) return std::nullopt;
    EXPECT_TRUE(crypto::VerifyRecord(secrets_, stored->record)) << path;
    auto entry = crypto::OpenRecord(secrets_, stored->record);
    EXPECT_TRUE(entry) << path << ": " << entry.error().message;
    if (!entry) return std::nullopt;
    EXPECT_EQ(entry->path.str(), path);
    return *entry;
  }

  uint64_t SeqOf(const std::string& path) {
    auto stored = RecordAt(path);
    EXPECT_TRUE(stored) << path;
    return stored ? stored->seq : 0;
  }

  std::set<std::string> RecordedPaths() {
    std::set<std::string> paths;
    for (const auto& stored : repo_->RecordsSince(0, 100000)) {
      auto entry = crypto::OpenRecord(secrets_, stored.record);
      EXPECT_TRUE(entry);
      if (entry) paths.insert(entry->path.str());
    }
    return paths;
  }

  std::vector<crypto::BlockRef> ExpectedBlocks(std::string_view data) {
    std::vector<crypto::BlockRef> blocks;
    while (!data.empty()) {
      size_t n = FindCutPoint(AsBytes(data), params_);
      blocks.push_back({crypto::ComputeBlockId(secrets_.id_key(), AsBytes(data.substr(0, n))),
                        static_cast<uint32_t>(n)});
      data.remove_prefix(n);
    }
    return blocks;
  }

  testing::TempDir tmp_;
  stdfs::path root_ = tmp_ / "share";
  crypto::ShareSecrets secrets_ = crypto::ShareSecrets::FromWriteSeed(crypto::Key32{1, 2, 3});
  std::unique_ptr<store::Repository> repo_;
  fs::PosixFilesystem posix_;
  ChunkerParams params_{.min_size = 1024, .avg_size = 4096, .max_size = 16384};
};

TEST_F(ScannerTest, IndexesFilesDirectoriesAndSymlinks) {
  MakeTree();
  const auto scan_started = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  ScanStats stats = Scan();
  EXPECT_EQ(stats.entries_seen, 8u);
  EXPECT_EQ(stats.files_hashed, 4u);
  EXPECT_EQ(stats.bytes_hashed, 5u + 100000u + 1u);
  EXPECT_EQ(stats.records_written, 8u);
  EXPECT_EQ(stats.deleted, 0u);
  EXPECT_EQ(stats.skipped, 0u);

  EXPECT_EQ(RecordedPaths(), (std::set<std::string>{"a.txt", "empty", "empty_dir", "link", "sub",
                                                    "sub/big.bin", "sub/deeper",
                                                    "sub/deeper/c.txt"}));
  for (const std::string& path : RecordedPaths()) {
    auto stored = RecordAt(path);
    ASSERT_TRUE(stored);
    // A first version: this device's counter alone, started at the clock.
    VersionVector first;
    first.Set(kDevice, stored->record.vector.Get(kDevice));
    EXPECT_EQ(stored->record.vector, first) << path;
    EXPECT_GE(stored->record.vector.Get(kDevice), scan_started) << path;
    auto entry = EntryAt(path);
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->device_short_id, kDevice) << path;
    EXPECT_FALSE(entry->deleted) << path;
    EXPECT_EQ(entry->mode, Lstat(root_ / path).st_mode & 07777) << path;
  }

  auto a = EntryAt("a.txt");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, EntryKind::kFile);
  EXPECT_EQ(a->size, 5u);
  EXPECT_EQ(a->blocks, ExpectedBlocks("hello"));
  EXPECT_EQ(a->mtime_ns, Lstat(root_ / "a.txt").st_mtim.tv_sec * 1'000'000'000 +
                             Lstat(root_ / "a.txt").st_mtim.tv_nsec);

  auto empty = EntryAt("empty");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->kind, EntryKind::kFile);
  EXPECT_EQ(empty->size, 0u);
  EXPECT_TRUE(empty->blocks.empty());

  auto big = EntryAt("sub/big.bin");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->size, 100000u);
  EXPECT_GT(big->blocks.size(), 3u);
  EXPECT_EQ(big->blocks, ExpectedBlocks(testing::RandomBytes(100000, 3)));

  EXPECT_EQ(EntryAt("sub")->kind, EntryKind::kDirectory);
  EXPECT_EQ(EntryAt("empty_dir")->kind, EntryKind::kDirectory);

  auto link = EntryAt("link");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->kind, EntryKind::kSymlink);
  EXPECT_EQ(link->symlink_target, "a.txt");
  EXPECT_TRUE(link->blocks.empty());

  store::IndexSummary summary = repo_->Summarize();
  EXPECT_EQ(summary.files, 4u);
  EXPECT_EQ(summary.directories, 3u);
  EXPECT_EQ(summary.symlinks, 1u);
  EXPECT_EQ(summary.bytes, 100006u);
  EXPECT_EQ(summary.records, 8u);
  EXPECT_TRUE(repo_->IntegrityOk());
}

TEST_F(ScannerTest, EachCommittedBatchIsAnnouncedAndReadableBeforeTheScanEnds) {
  // More files than one batch holds: peers hear of the first ones while the
  // scan is still walking.
  constexpr int kFiles = 2500;
  for (int i = 0; i < kFiles; ++i) testing::WriteFile(root_ / ("f" + std::to_string(i)), std::to_string(i));
  auto reader = repo_->OpenReader();
  ASSERT_TRUE(reader);
  std::vector<size_t> readable_at_each_batch;
  Scanner scanner(posix_, *repo_, secrets_, kDevice, root_, params_);
  scanner.OnBatchCommitted([&] { readable_at_each_batch.push_back((*reader)->RecordsSince(0, kFiles).size()); });
  auto stats = scanner.ScanAll();
  ASSERT_TRUE(stats) << stats.error().message;
  ASSERT_FALSE(readable_at_each_batch.empty());
  EXPECT_GT(readable_at_each_batch.front(), 0u);
  EXPECT_LT(readable_at_each_batch.back(), static_cast<size_t>(kFiles));
  EXPECT_TRUE(std::is_sorted(readable_at_each_batch.begin(), readable_at_each_batch.end()));
  EXPECT_EQ((*reader)->RecordsSince(0, kFiles + 1).size(), static_cast<size_t>(kFiles));
}

TEST_F(ScannerTest, EveryAnnouncedRecordCanBeServedAtOnce) {
  // A peer asks for a new version's blocks the moment it hears of it: a
  // batch that carries a record must also carry where its blocks are, or
  // the peer is told "not available" and backs off.
  constexpr int kFiles = 4100;  // two full batches and a bit
  for (int i = 0; i < kFiles; ++i) testing::WriteFile(root_ / ("f" + std::to_string(i)), "file " + std::to_string(i));
  auto reader = repo_->OpenReader();
  ASSERT_TRUE(reader);
  size_t batches = 0;
  std::vector<std::string> unservable;
  Scanner scanner(posix_, *repo_, secrets_, kDevice, root_, params_);
  scanner.OnBatchCommitted([&] {
    ++batches;
    for (const store::StoredRecord& stored : (*reader)->RecordsSince(0, kFiles + 1)) {
      for (const crypto::BlockRef& block : stored.record.blocks) {
        if ((*reader)->FindBlock(block.id).empty()) unservable.push_back(HexEncode(block.id));
      }
    }
  });
  auto stats = scanner.ScanAll();
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_GE(batches, 2u);
  EXPECT_TRUE(unservable.empty()) << unservable.size() << " announced blocks had no location, e.g. "
                                  << unservable.front();
}

TEST_F(ScannerTest, SymlinksAreRecordedWithTheirTargetAndNeverFollowed) {
  stdfs::path outside = tmp_ / "outside";
  testing::WriteFile(outside / "secret.txt", "not in the share");
  testing::WriteFile(outside / "nested" / "deep.txt", "nor this");
  stdfs::create_directory_symlink(outside, root_ / "out");
  stdfs::create_directory_symlink(".", root_ / "loop");
  stdfs::create_symlink("nowhere", root_ / "dangling");

  ScanStats stats = Scan();
  EXPECT_EQ(stats.entries_seen, 3u);
  EXPECT_EQ(stats.files_hashed, 0u);
  EXPECT_EQ(RecordedPaths(), (std::set<std::string>{"dangling", "loop", "out"}));
  auto out = EntryAt("out");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->kind, EntryKind::kSymlink);
  EXPECT_EQ(out->symlink_target, outside.string());
  EXPECT_EQ(EntryAt("loop")->symlink_target, ".");
  EXPECT_EQ(EntryAt("dangling")->symlink_target, "nowhere");
  EXPECT_FALSE(RecordAt("out/secret.txt"));
  EXPECT_FALSE(RecordAt("loop/out"));
  EXPECT_EQ(repo_->Summarize().symlinks, 3u);
}

TEST_F(ScannerTest, RepositoryFolderIsNeverIndexed) {
  testing::WriteFile(root_ / ".tandem" / "notes.txt", "private");
  // Only the top-level .tandem is reserved.
  testing::WriteFile(root_ / "x" / ".tandem" / "y.txt", "ordinary");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.entries_seen, 3u);
  EXPECT_EQ(stats.skipped, 0u);
  EXPECT_EQ(RecordedPaths(), (std::set<std::string>{"x", "x/.tandem", "x/.tandem/y.txt"}));
  EXPECT_FALSE(RecordAt(".tandem"));
  EXPECT_FALSE(RecordAt(".tandem/index.db"));
  EXPECT_FALSE(repo_->GetFileState(".tandem"));
}

TEST_F(ScannerTest, RescanOfUnchangedTreeHashesNothing) {
  MakeTree();
  ScanStats first = Scan();
  uint64_t max_seq = repo_->Summarize().max_seq;
  ScanStats second = Scan();
  EXPECT_EQ(second.entries_seen, first.entries_seen);
  EXPECT_EQ(second.files_hashed, 0u);
  EXPECT_EQ(second.bytes_hashed, 0u);
  EXPECT_EQ(second.records_written, 0u);
  EXPECT_EQ(second.deleted, 0u);
  EXPECT_EQ(repo_->Summarize().max_seq, max_seq);
}

TEST_F(ScannerTest, ModifiedFileGetsANewRecordWithAHigherCounter) {
  MakeTree();
  Scan();
  auto before = RecordAt("a.txt");
  uint64_t big_seq = SeqOf("sub/big.bin");
  ASSERT_TRUE(before);

  testing::WriteFile(root_ / "a.txt", "hello, world");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.files_hashed, 1u);
  EXPECT_EQ(stats.records_written, 1u);

  auto after = RecordAt("a.txt");
  ASSERT_TRUE(after);
  EXPECT_GT(after->seq, before->seq);
  EXPECT_GT(after->record.vector.Get(kDevice), before->record.vector.Get(kDevice));
  EXPECT_EQ(after->record.vector.Compare(before->record.vector), Ordering::kAfter);
  auto entry = EntryAt("a.txt");
  EXPECT_EQ(entry->size, 12u);
  EXPECT_EQ(entry->blocks, ExpectedBlocks("hello, world"));
  EXPECT_EQ(repo_->GetFileState("a.txt")->size, 12u);
  EXPECT_EQ(SeqOf("sub/big.bin"), big_seq);
}

TEST_F(ScannerTest, ChangeOnAnotherDeviceDescendsFromTheFirstVersion) {
  MakeTree();
  Scan(posix_, kDevice);
  auto before = RecordAt("a.txt");
  testing::WriteFile(root_ / "a.txt", "edited elsewhere");
  Scan(posix_, kOtherDevice);
  auto after = RecordAt("a.txt");
  ASSERT_TRUE(before && after);
  // Counters start at the wall clock (seconds) and always move past every
  // counter the version descends from.
  EXPECT_EQ(after->record.vector.Get(kDevice), before->record.vector.Get(kDevice));
  EXPECT_GT(after->record.vector.Get(kOtherDevice), before->record.vector.Get(kDevice));
  EXPECT_EQ(after->record.vector.Compare(before->record.vector), Ordering::kAfter);
  EXPECT_EQ(EntryAt("a.txt")->device_short_id, kOtherDevice);
}

TEST_F(ScannerTest, ModeChangeIsANewVersion) {
  MakeTree();
  Scan();
  uint64_t counter = RecordAt("a.txt")->record.vector.Get(kDevice);
  stdfs::permissions(root_ / "a.txt", stdfs::perms(0600));
  stdfs::permissions(root_ / "sub", stdfs::perms(0700));
  ScanStats stats = Scan();
  EXPECT_EQ(stats.records_written, 2u);
  EXPECT_EQ(EntryAt("a.txt")->mode, 0600u);
  EXPECT_EQ(EntryAt("sub")->mode, 0700u);
  EXPECT_GT(RecordAt("a.txt")->record.vector.Get(kDevice), counter);
}

TEST_F(ScannerTest, DeletedFileBecomesATombstoneAndLosesItsLocalState) {
  MakeTree();
  Scan();
  auto before = RecordAt("a.txt");
  ASSERT_TRUE(repo_->GetFileState("a.txt"));

  stdfs::remove(root_ / "a.txt");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.deleted, 1u);
  EXPECT_EQ(stats.records_written, 1u);

  auto after = RecordAt("a.txt");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->record.vector.Compare(before->record.vector), Ordering::kAfter);
  auto entry = EntryAt("a.txt");
  ASSERT_TRUE(entry);
  EXPECT_TRUE(entry->deleted);
  EXPECT_EQ(entry->kind, EntryKind::kFile);
  EXPECT_TRUE(entry->blocks.empty());
  EXPECT_EQ(entry->device_short_id, kDevice);
  EXPECT_FALSE(repo_->GetFileState("a.txt"));

  // A tombstone is written once.
  ScanStats again = Scan();
  EXPECT_EQ(again.deleted, 0u);
  EXPECT_EQ(again.records_written, 0u);
}

TEST_F(ScannerTest, DeletedFolderTombstonesChildrenBeforeParents) {
  MakeTree();
  Scan();
  stdfs::remove_all(root_ / "sub");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.deleted, 4u);
  for (const char* path : {"sub", "sub/big.bin", "sub/deeper", "sub/deeper/c.txt"}) {
    auto entry = EntryAt(path);
    ASSERT_TRUE(entry) << path;
    EXPECT_TRUE(entry->deleted) << path;
    EXPECT_FALSE(repo_->GetFileState(path)) << path;
  }
  EXPECT_EQ(EntryAt("sub")->kind, EntryKind::kDirectory);
  EXPECT_LT(SeqOf("sub/deeper/c.txt"), SeqOf("sub/deeper"));
  EXPECT_LT(SeqOf("sub/deeper"), SeqOf("sub"));
  EXPECT_LT(SeqOf("sub/big.bin"), SeqOf("sub"));
  EXPECT_FALSE(EntryAt("a.txt")->deleted);
}

TEST_F(ScannerTest, RecreatedFileDescendsFromItsTombstone) {
  MakeTree();
  Scan();
  stdfs::remove(root_ / "a.txt");
  Scan();
  auto tombstone = RecordAt("a.txt");
  testing::WriteFile(root_ / "a.txt", "back again");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.records_written, 1u);
  auto revived = RecordAt("a.txt");
  ASSERT_TRUE(tombstone && revived);
  EXPECT_EQ(revived->record.vector.Compare(tombstone->record.vector), Ordering::kAfter);
  auto entry = EntryAt("a.txt");
  EXPECT_FALSE(entry->deleted);
  EXPECT_EQ(entry->size, 10u);
}

TEST_F(ScannerTest, FileReplacedByFolderIsANewVersion) {
  MakeTree();
  Scan();
  auto before = RecordAt("a.txt");
  stdfs::remove(root_ / "a.txt");
  testing::WriteFile(root_ / "a.txt" / "inner", "x");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.deleted, 0u);
  EXPECT_EQ(stats.records_written, 2u);
  auto entry = EntryAt("a.txt");
  EXPECT_EQ(entry->kind, EntryKind::kDirectory);
  EXPECT_FALSE(entry->deleted);
  EXPECT_EQ(RecordAt("a.txt")->record.vector.Compare(before->record.vector), Ordering::kAfter);
  EXPECT_TRUE(EntryAt("a.txt/inner"));
}

TEST_F(ScannerTest, TouchedFileWithSameContentAndMtimeIsNotRecordedAgain) {
  MakeTree();
  Scan();
  const stdfs::path file = root_ / "a.txt";
  const uint64_t seq = SeqOf("a.txt");
  const int64_t indexed_ctime = repo_->GetFileState("a.txt")->ctime_ns;
  const struct stat original = Lstat(file);

  // Same bytes written again, then the old mtime put back: only ctime moves.
  testing::WriteFile(file, "hello");
  const struct timespec times[2] = {original.st_atim, original.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  // The kernel's file clock ticks coarsely; touch again until ctime has moved.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (CtimeNs(file) == indexed_ctime) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "ctime never changed";
    ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }
  ASSERT_EQ(Lstat(file).st_mtim.tv_nsec, original.st_mtim.tv_nsec);

  ScanStats stats = Scan();
  EXPECT_EQ(stats.files_hashed, 1u);  // ctime changed, so it was read again...
  EXPECT_EQ(stats.records_written, 0u);  // ...but the content is the same
  EXPECT_EQ(SeqOf("a.txt"), seq);
  EXPECT_EQ(repo_->GetFileState("a.txt")->ctime_ns, CtimeNs(file));

  // The new ctime was remembered: the next scan reads nothing.
  EXPECT_EQ(Scan().files_hashed, 0u);
}

TEST_F(ScannerTest, UnreadableFolderDoesNotTombstoneItsChildren) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads folders whatever their mode";
  MakeTree();
  Scan();
  const uint64_t big_seq = SeqOf("sub/big.bin");
  const uint64_t c_seq = SeqOf("sub/deeper/c.txt");
  stdfs::permissions(root_ / "sub", stdfs::perms::none);
  ScanStats stats = Scan();
  stdfs::permissions(root_ / "sub", stdfs::perms(0755));
  EXPECT_GE(stats.skipped, 1u);
  EXPECT_EQ(stats.deleted, 0u);
  EXPECT_EQ(SeqOf("sub/big.bin"), big_seq);
  EXPECT_EQ(SeqOf("sub/deeper/c.txt"), c_seq);
  EXPECT_FALSE(EntryAt("sub/big.bin")->deleted);
  EXPECT_TRUE(repo_->GetFileState("sub/big.bin"));
  EXPECT_TRUE(repo_->GetFileState("sub/deeper/c.txt"));
}

TEST_F(ScannerTest, UnlistableFolderDoesNotTombstoneItsChildren) {
  // The same as above through an injected fault, so it also runs as root.
  MakeTree();
  Scan();
  const uint64_t big_seq = SeqOf("sub/big.bin");
  const uint64_t c_seq = SeqOf("sub/deeper/c.txt");
  FaultFs faulty;
  faulty.unlistable.insert(root_ / "sub");
  ScanStats stats = Scan(faulty);
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_EQ(stats.deleted, 0u);
  EXPECT_EQ(stats.records_written, 0u);
  EXPECT_EQ(SeqOf("sub/big.bin"), big_seq);
  EXPECT_EQ(SeqOf("sub/deeper/c.txt"), c_seq);
  EXPECT_TRUE(repo_->GetFileState("sub/big.bin"));
  EXPECT_TRUE(repo_->GetFileState("sub/deeper"));
  EXPECT_TRUE(repo_->GetFileState("sub/deeper/c.txt"));

  // Once listable again, nothing has changed.
  ScanStats healed = Scan();
  EXPECT_EQ(healed.records_written, 0u);
  EXPECT_EQ(healed.files_hashed, 0u);
}

TEST_F(ScannerTest, UnlistableFolderProtectsOnlyItsOwnSubtree) {
  MakeTree();
  testing::WriteFile(root_ / "sub2" / "x.txt", "x");  // shares a prefix with "sub"
  Scan();
  stdfs::remove(root_ / "sub" / "big.bin");
  stdfs::remove(root_ / "sub2" / "x.txt");
  FaultFs faulty;
  faulty.unlistable.insert(root_ / "sub" / "deeper");
  ScanStats stats = Scan(faulty);
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_EQ(stats.deleted, 2u);
  EXPECT_TRUE(EntryAt("sub/big.bin")->deleted);
  EXPECT_TRUE(EntryAt("sub2/x.txt")->deleted);
  EXPECT_FALSE(EntryAt("sub/deeper/c.txt")->deleted);
  EXPECT_TRUE(repo_->GetFileState("sub/deeper/c.txt"));
}

TEST_F(ScannerTest, UnreadableFileKeepsItsLastVersion) {
  MakeTree();
  Scan();
  const uint64_t seq = SeqOf("sub/big.bin");
  testing::WriteFile(root_ / "sub" / "big.bin", "now much shorter");
  testing::WriteFile(root_ / "new.txt", "new");
  FaultFs faulty;
  faulty.unopenable = {root_ / "sub" / "big.bin", root_ / "new.txt"};
  ScanStats stats = Scan(faulty);
  EXPECT_EQ(stats.skipped, 2u);
  EXPECT_EQ(stats.deleted, 0u);
  EXPECT_EQ(stats.records_written, 0u);
  EXPECT_EQ(SeqOf("sub/big.bin"), seq);
  EXPECT_EQ(EntryAt("sub/big.bin")->size, 100000u);
  EXPECT_EQ(repo_->GetFileState("sub/big.bin")->size, 100000u);
  EXPECT_FALSE(RecordAt("new.txt"));

  // Readable again: both are picked up.
  ScanStats healed = Scan();
  EXPECT_EQ(healed.files_hashed, 2u);
  EXPECT_EQ(healed.records_written, 2u);
  EXPECT_EQ(EntryAt("sub/big.bin")->size, 16u);
  EXPECT_TRUE(EntryAt("new.txt"));
}

TEST_F(ScannerTest, FileChangingWhileReadIsSkippedUntilItSettles) {
  testing::WriteFile(root_ / "busy.log", "being written");
  FaultFs faulty;
  faulty.changing.insert(root_ / "busy.log");
  ScanStats stats = Scan(faulty);
  EXPECT_EQ(stats.skipped, 1u);
  EXPECT_EQ(stats.records_written, 0u);
  EXPECT_FALSE(RecordAt("busy.log"));
  EXPECT_FALSE(repo_->GetFileState("busy.log"));

  ScanStats settled = Scan();
  EXPECT_EQ(settled.records_written, 1u);
  EXPECT_EQ(EntryAt("busy.log")->size, 13u);
}

TEST_F(ScannerTest, NameThatIsNotUtf8IsSkipped) {
  testing::WriteFile(root_ / "ok.txt", "ok");
  testing::WriteFile(root_ / "bad\xff.txt", "bad");
  testing::WriteFile(root_ / "bad\xc0\xaf" / "inside.txt", "unreachable");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.skipped, 2u);
  EXPECT_EQ(stats.entries_seen, 1u);
  EXPECT_EQ(RecordedPaths(), (std::set<std::string>{"ok.txt"}));
}

TEST_F(ScannerTest, MissingRootIsAnError) {
  for (const stdfs::path& root : {tmp_ / "missing", tmp_ / "file"}) {
    testing::WriteFile(tmp_ / "file", "not a folder");
    Scanner scanner(posix_, *repo_, secrets_, kDevice, root, params_);
    auto stats = scanner.ScanAll();
    ASSERT_FALSE(stats) << root;
    EXPECT_EQ(stats.error().code, ErrorCode::kNotFound);
    EXPECT_NE(stats.error().message.find(root.string()), std::string::npos);
  }
}

// Issue 16: a share folder moved away (or its drive unmounted) during a
// scan looked like every file deleted. The folder check before deletions
// are recorded ends the scan instead.
TEST_F(ScannerTest, AFolderThatStopsBeingTheShareMidScanRecordsNoDeletion) {
  MakeTree();
  Scan();
  stdfs::remove(root_ / "a.txt");
  stdfs::remove_all(root_ / "sub");
  int checks = 0;
  Scanner scanner(posix_, *repo_, secrets_, kDevice, root_, params_);
  scanner.CheckFolderWith([&]() -> Result<void> {
    if (++checks == 1) return Ok();
    return MakeError(ErrorCode::kNotFound, "the share's folder is missing");
  });
  auto stats = scanner.ScanAll();
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(checks, 2);
  for (const std::string& path : {"a.txt", "sub", "sub/big.bin", "sub/deeper/c.txt"}) {
    auto entry = EntryAt(path);
    ASSERT_TRUE(entry) << path;
    EXPECT_FALSE(entry->deleted) << path;
  }
  // The same scan with the folder still the share's records the deletions.
  Scanner again(posix_, *repo_, secrets_, kDevice, root_, params_);
  again.CheckFolderWith([] { return Ok(); });
  ASSERT_TRUE(again.ScanAll());
  EXPECT_TRUE(EntryAt("a.txt")->deleted);
}

// Issue 16: `rm -rf` of a share's folder deletes its files before its
// .tandem; a scan in between must not take them for deleted by the user.
TEST_F(ScannerTest, DeletionsAreRecordedOnlyOnceTheyHaveSettled) {
  MakeTree();
  Scan();
  DeletionHold hold;
  hold.settle = std::chrono::hours(1);
  auto scan = [&] {
    Scanner scanner(posix_, *repo_, secrets_, kDevice, root_, params_);
    scanner.HoldDeletionsIn(&hold);
    auto stats = scanner.ScanAll();
    EXPECT_TRUE(stats);
    return stats ? *stats : ScanStats{};
  };
  stdfs::remove(root_ / "a.txt");
  ScanStats first = scan();
  EXPECT_EQ(first.deleted, 0u);
  EXPECT_EQ(first.deletions_held, 1u);
  EXPECT_FALSE(EntryAt("a.txt")->deleted);
  EXPECT_TRUE(repo_->GetFileState("a.txt")) << "still indexed: it may come back";

  // Another path goes missing: the hold starts again, both are held.
  stdfs::remove(root_ / "empty");
  hold.since -= std::chrono::hours(2);
  ScanStats second = scan();
  EXPECT_EQ(second.deleted, 0u);
  EXPECT_EQ(second.deletions_held, 2u);

  // Nothing new, but not settled for long enough yet.
  EXPECT_EQ(scan().deleted, 0u);

  // Settled: recorded.
  hold.since -= std::chrono::hours(2);
  ScanStats settled = scan();
  EXPECT_EQ(settled.deleted, 2u);
  EXPECT_EQ(settled.deletions_held, 0u);
  EXPECT_TRUE(EntryAt("a.txt")->deleted);
  EXPECT_TRUE(EntryAt("empty")->deleted);
  EXPECT_TRUE(hold.paths.empty());
}

TEST_F(ScannerTest, AHeldDeletionThatComesBackIsNoDeletion) {
  MakeTree();
  Scan();
  DeletionHold hold;
  hold.settle = std::chrono::milliseconds(0);
  stdfs::rename(root_ / "a.txt", tmp_ / "a.txt");
  Scanner first(posix_, *repo_, secrets_, kDevice, root_, params_);
  first.HoldDeletionsIn(&hold);
  ASSERT_TRUE(first.ScanAll());
  stdfs::rename(tmp_ / "a.txt", root_ / "a.txt");  // a folder that came back
  Scanner second(posix_, *repo_, secrets_, kDevice, root_, params_);
  second.HoldDeletionsIn(&hold);
  auto stats = second.ScanAll();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->records_written, 0u);
  EXPECT_FALSE(EntryAt("a.txt")->deleted);
}

TEST_F(ScannerTest, DeletionsTandemMadeItselfAreNotHeld) {
  MakeTree();
  Scan();
  DeletionHold hold;
  hold.settle = std::chrono::hours(1);
  hold.record_now = {"a.txt"};
  stdfs::remove(root_ / "a.txt");
  stdfs::remove(root_ / "empty");
  Scanner scanner(posix_, *repo_, secrets_, kDevice, root_, params_);
  scanner.HoldDeletionsIn(&hold);
  auto stats = scanner.ScanAll();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->deleted, 1u);
  EXPECT_EQ(stats->deletions_held, 1u);
  EXPECT_TRUE(EntryAt("a.txt")->deleted);
  EXPECT_FALSE(EntryAt("empty")->deleted);
}

TEST_F(ScannerTest, AFolderThatIsNotTheShareIsNotScannedAtAll) {
  MakeTree();
  Scanner scanner(posix_, *repo_, secrets_, kDevice, root_, params_);
  scanner.CheckFolderWith([] { return Result<void>(MakeError(ErrorCode::kFailedPrecondition, "no marker")); });
  ASSERT_FALSE(scanner.ScanAll());
  EXPECT_TRUE(RecordedPaths().empty());
}

// Issue 16: special files were skipped with no word, and names that are not
// UTF-8 went to the log as raw bytes.
TEST_F(ScannerTest, WhatCannotBeSyncedIsListedWithWhyAndNamesEscaped) {
  MakeTree();
  ASSERT_EQ(::mkfifo((root_ / "pipe").c_str(), 0600), 0);
  testing::WriteFile(root_ / "bad\xff.txt", "x");
  ScanStats stats = Scan();
  EXPECT_EQ(stats.skipped, 2u);
  ASSERT_EQ(stats.skipped_paths.size(), 2u);
  std::string all = stats.skipped_paths[0] + "\n" + stats.skipped_paths[1];
  EXPECT_NE(all.find("pipe: not synced: a FIFO, socket or device file"), std::string::npos) << all;
  EXPECT_NE(all.find("bad\\xff.txt: this name cannot be synced"), std::string::npos) << all;
  EXPECT_EQ(all.find('\xff'), std::string::npos) << "raw bytes leaked";
  EXPECT_TRUE(EntryAt("a.txt"));
}

// Regression: an edit that keeps the size and lands within the timestamp
// resolution of the scan that indexed the file left size, mtime, ctime and
// inode exactly as indexed, so no later scan read the file again and the edit
// was lost ("racily clean" entries). With whole-second timestamps every such
// edit was lost.
TEST_F(ScannerTest, SameSizeEditWithinTimestampResolutionIsRecorded) {
  FaultFs coarse;
  coarse.whole_seconds = true;
  for (int i = 0; i < 5; ++i) {
    const std::string name = "racy" + std::to_string(i);
    testing::WriteFile(root_ / name, "aaaa");
    Scan(coarse);
    testing::WriteFile(root_ / name, "bbbb");
    Scan(coarse);
    Scan(coarse);
    auto entry = EntryAt(name);
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->blocks, ExpectedBlocks("bbbb")) << name << ": the edit was never recorded";
  }
}


// Issue 17: scans of what changed. Each reads the paths named, and only
// them, and leaves the rest of the index as it was.
class ScanChangedTest : public ScannerTest {
 protected:
  ScanStats ScanOnly(fs::ChangedPaths changed, DeletionHold* hold = nullptr) {
    Scanner scanner(posix_, *repo_, secrets_, kDevice, root_, params_);
    if (hold) scanner.HoldDeletionsIn(hold);
    auto stats = scanner.ScanChanged(changed);
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : ScanStats{};
  }
  static fs::ChangedPaths Entries(std::initializer_list<std::string> paths) {
    fs::ChangedPaths changed;
    for (const std::string& path : paths) changed.AddEntry(path);
    return changed;
  }
};

TEST_F(ScanChangedTest, ReadsTheNamedPathsAndNothingElse) {
  MakeTree();
  Scan();
  uint64_t c_seq = SeqOf("sub/deeper/c.txt");
  testing::WriteFile(root_ / "a.txt", "hello again");
  testing::WriteFile(root_ / "sub/deeper/c.txt", "changed too, but not named");
  ScanStats stats = ScanOnly(Entries({"a.txt"}));
  EXPECT_EQ(stats.entries_seen, 1u);
  EXPECT_EQ(stats.records_written, 1u);
  EXPECT_EQ(EntryAt("a.txt")->size, 11u);
  EXPECT_EQ(SeqOf("sub/deeper/c.txt"), c_seq) << "a path not named is not read";
  EXPECT_FALSE(stats.covered.everything);
  // The next full scan (the backstop) finds it.
  EXPECT_EQ(Scan().records_written, 1u);
  EXPECT_NE(SeqOf("sub/deeper/c.txt"), c_seq);
}

TEST_F(ScanChangedTest, AKnownFolderNamedIsReadItselfNotWhatIsInIt) {
  MakeTree();
  Scan();
  testing::WriteFile(root_ / "sub/big.bin", "no longer big");
  ScanStats stats = ScanOnly(Entries({"sub"}));
  EXPECT_EQ(stats.files_hashed, 0u);
  EXPECT_EQ(stats.records_written, 0u);
  EXPECT_EQ(EntryAt("sub/big.bin")->size, 100000u);
}

TEST_F(ScanChangedTest, ANewFolderIsReadWholeWhetherItOrAFileInItIsNamed) {
  MakeTree();
  Scan();
  testing::WriteFile(root_ / "new/x/y.txt", "y");
  testing::WriteFile(root_ / "new2/deep/z.txt", "z");
  ScanStats stats = ScanOnly(Entries({"new", "new2/deep/z.txt"}));
  EXPECT_EQ(stats.records_written, 6u);
  for (const char* path : {"new", "new/x", "new/x/y.txt", "new2", "new2/deep", "new2/deep/z.txt"}) {
    EXPECT_TRUE(EntryAt(path)) << path;
  }
  EXPECT_EQ(stats.covered.trees, (std::set<std::string>{"new", "new2"})) << "widened to the new folders";
}

TEST_F(ScanChangedTest, AFolderGoneBecomesTombstonesForEverythingIndexedBelowIt) {
  MakeTree();
  Scan();
  stdfs::remove_all(root_ / "sub");
  fs::ChangedPaths changed;
  changed.AddTree("sub");
  ScanStats stats = ScanOnly(changed);
  EXPECT_EQ(stats.deleted, 4u);
  for (const char* path : {"sub", "sub/big.bin", "sub/deeper", "sub/deeper/c.txt"}) {
    EXPECT_TRUE(EntryAt(path)->deleted) << path;
  }
  EXPECT_FALSE(EntryAt("a.txt")->deleted);
  EXPECT_TRUE(repo_->GetFileState("a.txt"));
}

TEST_F(ScanChangedTest, AFileNamedBelowAFolderNowASymlinkIsReadAsTheSymlinkNeverThroughIt) {
  MakeTree();
  Scan();
  testing::TempDir outside;
  testing::WriteFile(outside / "deeper/c.txt", "outside the share");
  stdfs::remove_all(root_ / "sub");
  stdfs::create_directory_symlink(outside.path(), root_ / "sub");
  ScanStats stats = ScanOnly(Entries({"sub/deeper/c.txt"}));
  EXPECT_EQ(EntryAt("sub")->kind, EntryKind::kSymlink);
  EXPECT_TRUE(EntryAt("sub/deeper/c.txt")->deleted) << "the indexed file is gone from the share";
  EXPECT_EQ(stats.files_hashed, 0u) << "nothing was read through the symlink";
}

TEST_F(ScanChangedTest, TandemsOwnFolderIsNeverRead) {
  MakeTree();
  Scan();
  ScanStats stats = ScanOnly(Entries({".tandem", ".tandem/index.db"}));
  EXPECT_EQ(stats.entries_seen, 0u);
  EXPECT_EQ(stats.records_written, 0u);
}

TEST_F(ScanChangedTest, HeldDeletionsElsewhereStayHeldUntilAScanLooksAtThem) {
  MakeTree();
  Scan();
  DeletionHold hold;
  hold.settle = std::chrono::hours(1);
  stdfs::remove(root_ / "a.txt");
  EXPECT_EQ(ScanOnly(Entries({"a.txt"}), &hold).deletions_held, 1u);
  hold.since -= std::chrono::hours(2);
  // Settled, but this scan reads another path: a.txt stays held, unrecorded.
  ScanStats other = ScanOnly(Entries({"empty"}), &hold);
  EXPECT_EQ(other.deleted, 0u);
  EXPECT_EQ(hold.paths, (std::set<std::string>{"a.txt"}));
  EXPECT_FALSE(EntryAt("a.txt")->deleted);
  // A scan of it records it.
  EXPECT_EQ(ScanOnly(Entries({"a.txt"}), &hold).deleted, 1u);
  EXPECT_TRUE(EntryAt("a.txt")->deleted);
  EXPECT_TRUE(hold.paths.empty());
}

TEST_F(ScanChangedTest, AReadReplicaObservesOnlyTheNamedPaths) {
  MakeTree();
  Scan();
  crypto::ShareSecrets reader = secrets_.Downgrade(crypto::AccessMode::kRead);
  testing::WriteFile(root_ / "a.txt", "edited on a read replica");
  testing::WriteFile(root_ / "empty", "not named");
  Scanner scanner(posix_, *repo_, reader, kDevice, root_, params_);
  std::vector<LocalChange> changes;
  ASSERT_TRUE(scanner.ObserveChanged(Entries({"a.txt"}), changes));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].path, "a.txt");
  EXPECT_EQ(changes[0].kind, LocalChange::Kind::kModified);
}


// A filesystem that finds a name by any case, as macOS does: lstat and open
// of a name missing as spelled take the entry the folder holds that differs
// only in case. Listings give the names as they are.
class CaseFoldingFs final : public testing::DiskFilesystem {
 public:
  Result<fs::FileInfo> Lstat(const stdfs::path& path) override { return real_.Lstat(Fold(path)); }
  Result<std::vector<std::string>> ListDir(const stdfs::path& path) override { return real_.ListDir(Fold(path)); }
  Result<std::unique_ptr<fs::ReadableFile>> OpenRead(const stdfs::path& path) override {
    return real_.OpenRead(Fold(path));
  }
  Result<std::string> ReadLink(const stdfs::path& path) override { return real_.ReadLink(Fold(path)); }

 private:
  static std::string Lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }
  stdfs::path Fold(const stdfs::path& path) {
    std::error_code ec;
    if (stdfs::symlink_status(path, ec).type() != stdfs::file_type::not_found) return path;
    for (const auto& entry : stdfs::directory_iterator(path.parent_path(), ec)) {
      if (Lower(entry.path().filename().string()) == Lower(path.filename().string())) return entry.path();
    }
    return path;
  }
};

TEST_F(ScanChangedTest, OnACaseFoldingFilesystemANameIsReadOnlyAsTheFolderSpellsIt) {
  testing::WriteFile(root_ / "README.txt", "the readme");
  Scan();
  CaseFoldingFs folding;
  auto scan_only = [&](std::initializer_list<std::string> paths) {
    Scanner scanner(folding, *repo_, secrets_, kDevice, root_, params_);
    auto stats = scanner.ScanChanged(Entries(paths));
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : ScanStats{};
  };
  // A pull asked for "readme.txt": the disk finds README.txt by that name,
  // but it is not a second file.
  EXPECT_EQ(scan_only({"readme.txt"}).records_written, 0u);
  EXPECT_FALSE(EntryAt("readme.txt"));
  // A pull asked for "notes.txt" of a record while the disk holds "NOTES.txt",
  // not indexed yet: the name the record gave is not read as that file.
  testing::WriteFile(root_ / "NOTES.txt", "a local file");
  {
    Scanner scanner(folding, *repo_, secrets_, kDevice, root_, params_);
    fs::ChangedPaths asked;
    asked.AddAsked("notes.txt");
    ASSERT_TRUE(scanner.ScanChanged(asked));
  }
  EXPECT_FALSE(EntryAt("notes.txt")) << "indexed under a name the folder does not hold";
  EXPECT_EQ(scan_only({"NOTES.txt"}).records_written, 1u) << "the watcher's name is the disk's";
  // A case-only rename: the old spelling is deleted, the new one recorded.
  stdfs::rename(root_ / "README.txt", root_ / "ReadMe.txt");
  ScanStats renamed = scan_only({"README.txt", "ReadMe.txt"});
  EXPECT_EQ(renamed.deleted, 1u);
  EXPECT_TRUE(EntryAt("README.txt")->deleted);
  ASSERT_TRUE(EntryAt("ReadMe.txt"));
  EXPECT_FALSE(EntryAt("ReadMe.txt")->deleted);
}

// Issue 20: ignored paths are left alone, both ways: never read, never
// recorded, never taken for deleted.
class IgnoringScanTest : public ScanChangedTest {
 protected:
  static std::shared_ptr<const IgnoreRules> Rules(std::string_view text) {
    auto rules = IgnoreRules::Parse(".tandemignore", text, [](const std::string&) { return std::nullopt; });
    EXPECT_TRUE(rules) << rules.error().message;
    return std::make_shared<const IgnoreRules>(rules ? std::move(*rules) : IgnoreRules());
  }
  ScanStats ScanWith(std::string_view patterns, const fs::ChangedPaths* changed = nullptr) {
    Scanner scanner(fault_, *repo_, secrets_, kDevice, root_, params_);
    scanner.IgnoreWith(Rules(patterns));
    auto stats = changed ? scanner.ScanChanged(*changed) : scanner.ScanAll();
    EXPECT_TRUE(stats) << stats.error().message;
    return stats ? *stats : ScanStats{};
  }
  FaultFs fault_;
};

TEST_F(IgnoringScanTest, AnIgnoredFolderIsNeitherListedNorReadNorRecorded) {
  testing::WriteFile(root_ / "a.txt", "a");
  for (int i = 0; i < 20; ++i) testing::WriteFile(root_ / "node_modules" / "m" / (std::to_string(i) + ".js"), "js");
  testing::WriteFile(root_ / "build.log", "log");
  testing::WriteFile(root_ / "keep.log", "keep");
  testing::WriteFile(root_ / ".tandemignore", "node_modules\n/build.log\n");
  ScanStats stats = ScanWith("node_modules\n/build.log\n");
  EXPECT_EQ(RecordedPaths(), (std::set<std::string>{"a.txt", "keep.log"}));
  EXPECT_EQ(stats.ignored, (std::vector<std::string>{"build.log", "node_modules"}));
  EXPECT_EQ(stats.files_hashed, 2u);
  for (const stdfs::path& path : fault_.listed) EXPECT_EQ(path.string().find("node_modules"), std::string::npos) << path;
  EXPECT_EQ(fault_.opened, (std::set<stdfs::path>{root_ / "a.txt", root_ / "keep.log"}));
}

TEST_F(IgnoringScanTest, APathThatBecomesIgnoredKeepsItsRecordAndIsNeverTakenForDeleted) {
  MakeTree();
  Scan();
  const uint64_t seq = SeqOf("sub/deeper/c.txt");
  stdfs::remove(root_ / "sub" / "deeper" / "c.txt");
  stdfs::remove(root_ / "a.txt");
  ScanStats stats = ScanWith("sub\n*.txt\n");
  EXPECT_EQ(stats.deleted, 0u);
  EXPECT_EQ(stats.records_written, 0u);
  EXPECT_EQ(SeqOf("sub/deeper/c.txt"), seq);
  EXPECT_FALSE(EntryAt("a.txt")->deleted);
  EXPECT_TRUE(repo_->GetFileState("sub/deeper/c.txt"));
  // The same when the watcher names the paths.
  fs::ChangedPaths changed;
  changed.AddTree("sub");
  changed.AddEntry("a.txt");
  stats = ScanWith("sub\n*.txt\n", &changed);
  EXPECT_EQ(stats.deleted, 0u);
  EXPECT_EQ(stats.ignored, (std::vector<std::string>{"a.txt", "sub"}));
  EXPECT_EQ(SeqOf("sub/deeper/c.txt"), seq);
  // No longer ignored: the deletions are what the disk shows.
  stats = ScanWith("");
  EXPECT_EQ(stats.deleted, 2u);
  EXPECT_TRUE(EntryAt("a.txt")->deleted);
  EXPECT_TRUE(EntryAt("sub/deeper/c.txt")->deleted);
}

TEST_F(IgnoringScanTest, AFileUnderAnIgnoredFolderCountsAsThatFolder) {
  testing::WriteFile(root_ / "build" / "out" / "x.o", "o");
  ScanWith("build\n");
  fs::ChangedPaths changed;
  changed.AddEntry("build/out/x.o");
  ScanStats stats = ScanWith("build\n", &changed);
  EXPECT_EQ(stats.ignored, (std::vector<std::string>{"build"}));
  EXPECT_TRUE(RecordedPaths().empty());
}

TEST_F(IgnoringScanTest, SyncingOnlyWhatIsInOneFolderKeepsItAndDeletesNothing) {
  testing::WriteFile(root_ / "photos" / "2026" / "a.jpg", "a");
  testing::WriteFile(root_ / "photos" / "b.jpg", "b");
  testing::WriteFile(root_ / "music" / "c.mp3", "c");
  const std::string only_photos = "!/photos/\n/*\n";
  ScanStats stats = ScanWith(only_photos);
  EXPECT_EQ(RecordedPaths(), (std::set<std::string>{"photos/2026", "photos/2026/a.jpg", "photos/b.jpg"}));
  for (int again = 0; again < 2; ++again) {
    stats = ScanWith(only_photos);
    EXPECT_EQ(stats.deleted, 0u);
    EXPECT_EQ(stats.records_written, 0u);
  }
  fs::ChangedPaths changed;
  changed.AddEntry("photos/b.jpg");
  EXPECT_EQ(ScanWith(only_photos, &changed).records_written, 0u);
  EXPECT_FALSE(EntryAt("photos/2026/a.jpg")->deleted);
}

TEST_F(IgnoringScanTest, WhatALineReincludesBelowAnIgnoredFolderIsStillFound) {
  testing::WriteFile(root_ / "logs" / "keep.txt", "keep");
  testing::WriteFile(root_ / "logs" / "other.txt", "other");
  ScanStats stats = ScanWith("!logs/keep.txt\nlogs\n");
  EXPECT_EQ(RecordedPaths(), (std::set<std::string>{"logs/keep.txt"}));
  EXPECT_EQ(stats.ignored, (std::vector<std::string>{"logs"}));  // what is ignored in it counts as the folder
}

}  // namespace
}  // namespace tandem::scan
