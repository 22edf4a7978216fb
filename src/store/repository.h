// Repository: the embedded store of one share (<share>/.tandem/index.db):
// records in wire form, the local file state of a full replica, sealed
// blocks of a blind replica, per-peer progress.
//
// One owner: each share's repository is used only from that share's strand.
// Opening returns Result (a wrong or unreadable database is the user's
// business to fix); SQLite failures afterwards are environmental and throw
// StoreError.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/record.h"
#include "store/sqlite.h"

namespace tandem::store {

inline constexpr char kIndexFileName[] = "index.db";

// What a store keeps of each record's 64-byte signature, an eighth of a
// small file's index. Ed25519 signs a message one way only (RFC 8032), so a
// replica holding the share key keeps none and signs again where a record
// leaves the store for a peer, or two are ordered by signature
// (crypto::RestoreSignature). Read and blind replicas cannot, and keep them.
enum class Signatures { kKept, kDerived };

// How a replica of the share opens its store.
struct StoreOptions {
  Signatures signatures = Signatures::kKept;
  // A replica that reads the share: a local file state at its path's
  // recorded version (the usual case) keeps no version and block list of its
  // own, it refers to the record's, found by the path's locator. Without it
  // every state keeps its own.
  std::optional<crypto::Key32> locator_key;
};
inline StoreOptions OptionsFor(const crypto::ShareSecrets& secrets) {
  StoreOptions options;
  if (secrets.CanWrite()) options.signatures = Signatures::kDerived;
  if (secrets.CanRead()) options.locator_key = secrets.locator_key();
  return options;
}

struct StoredRecord {
  uint64_t seq = 0;
  // Its signature is empty where the store derives them (Signatures::kDerived).
  crypto::Record record;
};

// What a full replica last saw of one path on disk.
struct LocalFileState {
  std::string path;
  crypto::EntryKind kind = crypto::EntryKind::kFile;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint32_t mode = 0;
  std::vector<crypto::BlockRef> blocks;
  // The version the disk state was written from or indexed as: a local edit
  // descends from it (not from the latest record, maybe not pulled yet).
  VersionVector vector;
};

// One place a block can be read from: `size` bytes at `offset` of `path`.
// `file` is that file's indexed stat data: while the disk still shows it,
// the block is there without reading the file again to check.
struct BlockLocation {
  std::string path;
  uint64_t offset = 0;
  uint32_t size = 0;
  struct IndexedFile {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    uint64_t inode = 0;
  } file;
};

struct PeerProgress {
  Bytes epoch;
  uint64_t last_seq = 0;
};

struct IndexSummary {
  uint64_t records = 0;
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t symlinks = 0;
  uint64_t bytes = 0;
  uint64_t max_seq = 0;
  uint64_t sealed_blocks = 0;  // held by a blind replica
  uint64_t sealed_bytes = 0;
};

class RepositoryReader;

class Repository {
 public:
  // Opens the repository in `repo_dir` (the share's .tandem folder), creating
  // it when `create`. An existing database is checked first (SQLite's quick
  // check). kNotFound if it is missing and not to be created; kCorrupt if
  // it is damaged, empty or holds no Tandem data (never silently reset);
  // kFailedPrecondition if it belongs to another share or holds no record
  // signatures and `options` cannot make them; kIo if it cannot be opened
  // or migrated.
  static Result<std::unique_ptr<Repository>> Open(const std::filesystem::path& repo_dir,
                                                   const crypto::Key32& share_id, bool create,
                                                   StoreOptions options = {});

  // Random bytes fixed when the store was created.
  const Bytes& epoch() const { return epoch_; }
  // The id in version vectors for changes made here: random, fixed when the
  // store was created, never the same for two repositories.
  uint64_t replica_id() const { return replica_id_; }
  // A small write transaction: throws StoreError while the store cannot
  // write (a full disk), returns once it can again.
  void Probe();

  // A small named value kept with the share's index (the ignore patterns
  // last in force: sync/ignore_patterns.h). Keys are the caller's; the
  // store's own facts are not reachable through these.
  std::optional<std::string> GetSetting(std::string_view key);
  void PutSetting(std::string_view key, std::string_view value);

  // The file kept as version `file` (relative to .tandem/versions;
  // sync/versions.h): its path in the share, and whose change replaced or
  // deleted it.
  struct VersionNote {
    std::string path;
    std::string device;
  };
  void NoteVersion(std::string_view file, const VersionNote& note);
  std::optional<VersionNote> GetVersionNote(std::string_view file);
  void ForgetVersion(std::string_view file);

  // Groups writes; many small writes in one transaction are ~100x faster.
  Transaction Begin() { return Transaction(db_); }
  Transaction BeginDeferred() { return Transaction(db_, /*deferred=*/true); }

  std::optional<StoredRecord> GetRecord(const crypto::Locator& locator);
  // Stores `record` as the latest version of its locator with the next
  // sequence number, which it returns. Without its signature when the store
  // derives them. `path` is the record's path, required where the store has
  // a locator key: a local file state that referred to the version this
  // replaces is given its own copy of it first. Throws std::logic_error for
  // a path that is missing or not the record's.
  uint64_t PutRecord(const crypto::Record& record, std::string_view path = {});
  // The sequence number of the latest record stored (0: none yet).
  uint64_t LastSeq() const { return next_seq_ - 1; }
  // Up to `limit` records with seq > `after`, in sequence order.
  std::vector<StoredRecord> RecordsSince(uint64_t after, size_t limit);

  // Every record in sequence order (startup work: what still needs pulling).
  void ForEachRecord(const std::function<void(StoredRecord&&)>& visit);

  // Throws StoreError for a state that refers to a record the store does
  // not hold (a damaged store: `tandem repair`).
  std::optional<LocalFileState> GetFileState(const std::string& path);
  // Also records where each of the file's blocks sits (local_blocks).
  void PutFileState(const LocalFileState& state);
  void DeleteFileState(const std::string& path);
  // Another local path with the same LookAlikeKey as `path`, if any.
  std::optional<std::string> FindLookAlike(const std::string& path);

  // Up to `limit` places that held block `id` when they were indexed; the
  // caller verifies the bytes, since files change behind our back.
  std::vector<BlockLocation> FindBlock(const crypto::BlockId& id, size_t limit = 4);

  // A blind replica's sealed blocks.
  std::optional<Bytes> GetSealedBlock(const crypto::BlockId& id);
  void PutSealedBlock(const crypto::BlockId& id, ByteView sealed);
  // Which blocks the record at `locator` refers to (blind replicas); sealed
  // blocks no record refers to any more are dropped.
  void SetRecordBlocks(const crypto::Locator& locator, const std::vector<crypto::BlockRef>& blocks);
  // Up to `limit` blocks some record refers to that are not held yet, with
  // ids above `after` (empty: from the start), in id order.
  std::vector<crypto::BlockRef> MissingSealedBlocks(ByteView after, size_t limit);
  bool IsBlockReferenced(const crypto::BlockId& id);

  std::optional<PeerProgress> GetPeerProgress(const std::string& device_id);
  void SetPeerProgress(const std::string& device_id, const PeerProgress& progress);
  // Every local file state without its block list and version (cheap to
  // hold for a whole tree; GetFileState has them).
  void ForEachFileStateMeta(const std::function<void(LocalFileState&&)>& visit);
  // The same, for `path` and every path below it.
  void ForEachFileStateMetaUnder(const std::string& path, const std::function<void(LocalFileState&&)>& visit);

  IndexSummary Summarize();

  // For tests and tools.
  bool IntegrityOk();

  // A second connection to this store for serving peers; see RepositoryReader.
  // kIo when it cannot be opened.
  Result<std::shared_ptr<RepositoryReader>> OpenReader() const;

 private:
  explicit Repository(const std::filesystem::path& db_path, bool create);
  void Migrate();
  size_t SchemaVersion();
  Result<void> QuickCheck();
  // kFailedPrecondition when the store belongs to another share; kCorrupt
  // when it names no share and is not being created.
  Result<void> LoadMeta(const crypto::Key32& share_id, bool create);
  void Prepare();
  // A local file's id and block list as stored, which say where its
  // blocks' places are (local_blocks has no index by file: schema/008).
  // Throws StoreError, before anything is written, for a list that does
  // not decode: that file's places could not be taken away any more.
  struct IndexedFile {
    int64_t id = 0;
    std::vector<crypto::BlockRef> blocks;
  };
  // `record_at_path`: RecordAt(path), when the caller has it already.
  std::optional<IndexedFile> FindIndexedFile(const std::string& path,
                                             const std::optional<crypto::Record>* record_at_path = nullptr);
  // Adds (or removes) the place of each of `blocks` in `file`.
  void PlaceBlocks(int64_t file, const std::vector<crypto::BlockRef>& blocks, bool place);

  // The version and block list of the record at `path`, when the store
  // holds one (what a state stored as kAsRecorded refers to).
  std::optional<crypto::Record> RecordAt(std::string_view path);
  // Before the record at `locator` is replaced: a state at `path` that
  // refers to it gets its own copy of its version and block list.
  void KeepLocalVersion(std::string_view path, const crypto::Locator& locator);
  // A state that refers to a record the store does not hold.
  StoreError DamagedState(std::string_view path) const;

  std::filesystem::path db_path_;
  Database db_;
  StoreOptions options_;
  Bytes epoch_;
  uint64_t replica_id_ = 0;
  uint64_t next_seq_ = 1;
  // Prepared once the schema exists, reused for every call.
  std::optional<Statement> get_record_;
  std::optional<Statement> delete_record_;
  std::optional<Statement> put_record_;
  std::optional<Statement> refers_to_record_;
  std::optional<Statement> keep_local_version_;
  std::optional<Statement> records_since_;
  std::optional<Statement> get_file_;
  std::optional<Statement> put_file_;
  std::optional<Statement> find_look_alike_;
  std::optional<Statement> delete_file_;
  std::optional<Statement> file_blocks_;
  std::optional<Statement> delete_block_location_;
  std::optional<Statement> put_block_location_;
  std::optional<Statement> find_block_;
};

// What serving peers reads: records since a sequence number, where a block
// sits, a blind replica's sealed block. Its own connection sees every
// committed transaction (WAL) while the owner's connection is inside a long
// one, so a scan committing in batches does not keep peers waiting for the
// whole tree. Thread-safe: calls are serialized, and the owner may be
// destroyed first.
class RepositoryReader {
 public:
  explicit RepositoryReader(const std::filesystem::path& db_path);
  // Closes the connection now, whoever still holds the reader (calls then
  // find nothing): a repository being moved aside must not have a
  // connection that would, closing last, checkpoint and delete the WAL of
  // the new database at the same path.
  void Close();

  std::vector<StoredRecord> RecordsSince(uint64_t after, size_t limit);
  // The sequence number of the latest record committed (0: none).
  uint64_t LastSeq();
  std::vector<BlockLocation> FindBlock(const crypto::BlockId& id, size_t limit = 4);
  std::optional<Bytes> GetSealedBlock(const crypto::BlockId& id);

 private:
  std::mutex mutex_;
  std::optional<Database> db_;  // empty once closed
  std::optional<Statement> records_since_;
  std::optional<Statement> find_block_;
  std::optional<Statement> get_sealed_;
};

}  // namespace tandem::store
