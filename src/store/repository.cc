#include "store/repository.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/rel_path.h"
#include "crypto/keyed_hash.h"
#include "store/schema.h"

namespace tandem::store {
namespace {

constexpr size_t kEpochSize = 16;

// The look-alike key as local_files stores it: '' where it is the path itself.
std::string LookAlikeKeyToStore(const std::string& path) {
  std::string key = LookAlikeKey(path);
  return key == path ? std::string() : key;
}

// tandem_look_alike_key(path): for the migration that keys existing rows.
void LookAlikeKeyFunction(sqlite3_context* context, int, sqlite3_value** args) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(args[0]));
  std::string key = LookAlikeKey(text ? std::string_view(text, sqlite3_value_bytes(args[0])) : std::string_view());
  sqlite3_result_text(context, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
}

VersionVector DecodeVector(ByteView blob) {
  VersionVector vector;
  for (size_t i = 0; i + 16 <= blob.size(); i += 16) {
    vector.Set(ReadU64BE(blob.subspan(i)), ReadU64BE(blob.subspan(i + 8)));
  }
  return vector;
}

crypto::Record ReadRecord(const Statement& stmt, int first_column) {
  crypto::Record record;
  ByteView locator = stmt.ColumnBlob(first_column);
  if (locator.size() == record.locator.size()) {
    std::memcpy(record.locator.data(), locator.data(), locator.size());
  }
  record.vector = DecodeVector(stmt.ColumnBlob(first_column + 1));
  record.sealed_entry = ToBytes(stmt.ColumnBlob(first_column + 2));
  record.signature = ToBytes(stmt.ColumnBlob(first_column + 3));
  // Written by PutRecord from a decoded list, so it always decodes.
  record.blocks = crypto::DecodeBlockList(stmt.ColumnBlob(first_column + 4)).value_or(std::vector<crypto::BlockRef>{});
  return record;
}

// local_files.blocks of a state that takes its version and block list from
// its path's record (schema/009); no block list encodes as one byte.
constexpr uint8_t kAsRecorded[] = {0x00};
bool IsAsRecorded(ByteView blocks) { return blocks.size() == 1 && blocks[0] == kAsRecorded[0]; }

// Columns 0-6: path, kind, size, mtime_ns, ctime_ns, inode, mode.
LocalFileState ReadFileStateMeta(const Statement& stmt) {
  LocalFileState s;
  s.path = stmt.ColumnText(0);
  s.kind = static_cast<crypto::EntryKind>(stmt.ColumnInt(1));
  s.size = static_cast<uint64_t>(stmt.ColumnInt(2));
  s.mtime_ns = stmt.ColumnInt(3);
  s.ctime_ns = stmt.ColumnInt(4);
  s.inode = static_cast<uint64_t>(stmt.ColumnInt(5));
  s.mode = static_cast<uint32_t>(stmt.ColumnInt(6));
  return s;
}

// The queries Repository and RepositoryReader both run.
constexpr std::string_view kRecordsSinceSql =
    "SELECT seq, locator, vector, sealed_entry, signature, blocks FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2";
constexpr std::string_view kFindBlockSql =
    "SELECT f.path, b.offset, b.size, f.size, f.mtime_ns, f.ctime_ns, f.inode "
    "FROM local_blocks b JOIN local_files f ON f.id = b.file WHERE b.id = ?1 LIMIT ?2";
constexpr std::string_view kGetSealedSql = "SELECT sealed FROM blocks WHERE id = ?1";

std::vector<StoredRecord> QueryRecordsSince(Statement& stmt, uint64_t after, size_t limit) {
  stmt.Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  std::vector<StoredRecord> out;
  while (stmt.Step()) out.push_back({static_cast<uint64_t>(stmt.ColumnInt(0)), ReadRecord(stmt, 1)});
  stmt.Reset();
  return out;
}

std::vector<BlockLocation> QueryFindBlock(Statement& stmt, const crypto::BlockId& id, size_t limit) {
  stmt.BindBlob(1, id).Bind(2, static_cast<int64_t>(limit));
  std::vector<BlockLocation> out;
  while (stmt.Step()) {
    out.push_back({stmt.ColumnText(0), static_cast<uint64_t>(stmt.ColumnInt(1)),
                   static_cast<uint32_t>(stmt.ColumnInt(2)),
                   {static_cast<uint64_t>(stmt.ColumnInt(3)), stmt.ColumnInt(4), stmt.ColumnInt(5),
                    static_cast<uint64_t>(stmt.ColumnInt(6))}});
  }
  stmt.Reset();
  return out;
}

std::optional<Bytes> QuerySealedBlock(Statement& stmt, const crypto::BlockId& id) {
  stmt.BindBlob(1, id);
  std::optional<Bytes> out;
  if (stmt.Step()) out = ToBytes(stmt.ColumnBlob(0));
  stmt.Reset();
  return out;
}

}  // namespace

Repository::Repository(const std::filesystem::path& db_path, bool create)
    : db_path_(db_path), db_(db_path.string(), create) {}

Result<std::unique_ptr<Repository>> Repository::Open(const std::filesystem::path& repo_dir,
                                                     const crypto::Key32& share_id, bool create,
                                                     StoreOptions options) {
  std::filesystem::path db_path = repo_dir / kIndexFileName;
  struct stat st;
  const bool exists = ::stat(db_path.c_str(), &st) == 0;
  const uint64_t size = exists && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 1;
  if (create) {
    if (::mkdir(repo_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kIo,
                       "cannot create " + repo_dir.string() + ": " + std::strerror(errno));
    }
  } else if (!exists) {
    return MakeError(ErrorCode::kNotFound, "the share's repository " + db_path.string() + " is missing");
  } else if (size == 0) {
    // SQLite would take an empty file for a new database: a silent reset.
    return MakeError(ErrorCode::kCorrupt, "the share's repository " + db_path.string() + " is empty (0 bytes)");
  }
  try {
    std::unique_ptr<Repository> repo(new Repository(db_path, create));
    repo->options_ = std::move(options);
    if (exists && size > 0) TANDEM_RETURN_IF_ERROR(repo->QuickCheck());
    repo->db_.Exec("PRAGMA journal_mode=WAL");
    // WAL with synchronous=NORMAL survives a crash of the process intact; a
    // power cut may lose the last transactions, which the next rescan redoes.
    repo->db_.Exec("PRAGMA synchronous=NORMAL");
    // The index counts (schema 6) count a row an INSERT OR REPLACE replaces
    // out through its delete trigger, which fires only with this on.
    repo->db_.Exec("PRAGMA recursive_triggers=ON");
    sqlite3_create_function_v2(repo->db_.handle(), "tandem_look_alike_key", 1,
                               SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, LookAlikeKeyFunction, nullptr,
                               nullptr, nullptr);
    if (!create && repo->SchemaVersion() == 0) {
      return MakeError(ErrorCode::kCorrupt, "the share's repository " + db_path.string() +
                                                " holds no Tandem data (it was emptied or replaced)");
    }
    repo->Migrate();
    TANDEM_RETURN_IF_ERROR(repo->LoadMeta(share_id, create));
    repo->Prepare();
    return repo;
  } catch (const StoreError& e) {
    return MakeError(e.fault() == StoreFault::kDamaged ? ErrorCode::kCorrupt : ErrorCode::kIo,
                     "cannot open the share's repository " + db_path.string() + ": " + e.what());
  }
}

Result<void> Repository::QuickCheck() {
  // quick_check reads every page once (a fraction of a second for a large
  // share) and finds what a damaged file most often shows: pages that do not
  // parse, indexes that do not match their tables.
  Statement check(db_.handle(), "PRAGMA quick_check(5)");
  std::string problems;
  while (check.Step()) {
    std::string line = check.ColumnText(0);
    if (line == "ok") break;
    if (!problems.empty()) problems += "; ";
    problems += line;
  }
  check.Reset();
  if (problems.empty()) return Ok();
  return MakeError(ErrorCode::kCorrupt, "the share's repository " + db_path_.string() +
                                            " is damaged (" + problems.substr(0, 300) + ")");
}

void Repository::Probe() {
  Transaction tx(db_);
  db_.Exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('probe', randomblob(16))");
  tx.Commit();
}

// Settings share the meta table under a prefix, so no key a caller picks
// can reach the share id or the epoch.
std::optional<std::string> Repository::GetSetting(std::string_view key) {
  Statement get(db_.handle(), "SELECT value FROM meta WHERE key = ?1");
  get.Bind(1, "setting." + std::string(key));
  if (!get.Step()) return std::nullopt;
  ByteView value = get.ColumnBlob(0);
  return std::string(reinterpret_cast<const char*>(value.data()), value.size());
}

void Repository::PutSetting(std::string_view key, std::string_view value) {
  Statement set(db_.handle(), "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)");
  set.Bind(1, "setting." + std::string(key)).BindBlob(2, AsBytes(value)).Run();
}

void Repository::NoteVersion(std::string_view file, const VersionNote& note) {
  Statement set(db_.handle(), "INSERT OR REPLACE INTO versions(file, path, device) VALUES (?1, ?2, ?3)");
  set.Bind(1, file).Bind(2, note.path).Bind(3, note.device).Run();
}

std::optional<Repository::VersionNote> Repository::GetVersionNote(std::string_view file) {
  Statement get(db_.handle(), "SELECT path, device FROM versions WHERE file = ?1");
  get.Bind(1, file);
  if (!get.Step()) return std::nullopt;
  return VersionNote{get.ColumnText(0), get.ColumnText(1)};
}

void Repository::ForgetVersion(std::string_view file) {
  Statement drop(db_.handle(), "DELETE FROM versions WHERE file = ?1");
  drop.Bind(1, file).Run();
}

size_t Repository::SchemaVersion() {
  Statement get_version(db_.handle(), "PRAGMA user_version");
  get_version.Step();
  auto version = static_cast<size_t>(get_version.ColumnInt(0));
  get_version.Reset();
  return version;
}

void Repository::Migrate() {
  size_t version = SchemaVersion();
  auto migrations = SchemaMigrations();
  if (version > migrations.size()) {
    throw StoreError("it was written by a newer Tandem (schema " + std::to_string(version) + ")");
  }
  for (; version < migrations.size(); ++version) {
    Transaction tx(db_);
    db_.Exec(migrations[version]);
    db_.Exec("PRAGMA user_version = " + std::to_string(version + 1));
    tx.Commit();
  }
}

Result<void> Repository::LoadMeta(const crypto::Key32& share_id, bool create) {
  Statement get(db_.handle(), "SELECT value FROM meta WHERE key = ?1");
  Statement set(db_.handle(), "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)");
  auto read = [&](std::string_view key) -> std::optional<Bytes> {
    get.Bind(1, key);
    std::optional<Bytes> value;
    if (get.Step()) value = ToBytes(get.ColumnBlob(0));
    get.Reset();
    return value;
  };
  std::optional<Bytes> stored_id = read("share_id");
  if (stored_id && !ConstantTimeEqual(*stored_id, share_id)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the folder's .tandem repository belongs to a different share; import that "
                     "share's token instead, or delete the .tandem folder to start afresh");
  }
  if (!stored_id && !create) {
    return MakeError(ErrorCode::kCorrupt, "the share's repository " + db_path_.string() +
                                              " does not say which share it belongs to (it was emptied or replaced)");
  }
  if (!stored_id) {
    Bytes epoch(kEpochSize);
    randombytes_buf(epoch.data(), epoch.size());
    Transaction tx(db_);
    set.Bind(1, "share_id").BindBlob(2, share_id).Run();
    set.Bind(1, "epoch").BindBlob(2, epoch).Run();
    tx.Commit();
  }
  epoch_ = *read("epoch");
  // The id this repository's versions carry. A new repository of the same
  // device never reuses its predecessor's: versions it issues can then never
  // be mistaken for ones issued before (docs/decisions.md). Repositories
  // made before replica ids existed get one now.
  std::optional<Bytes> replica = read("replica_id");
  if (!replica || replica->size() != 8) {
    replica = Bytes(8);
    do {
      randombytes_buf(replica->data(), replica->size());
    } while (ReadU64BE(*replica) == 0);
    set.Bind(1, "replica_id").BindBlob(2, *replica).Run();
  }
  replica_id_ = ReadU64BE(*replica);
  // Once a store has kept records without signatures, only a replica that
  // can sign them again may use it: a read or blind replica would relay
  // records no peer accepts.
  if (options_.signatures == Signatures::kDerived) {
    if (!read("signatures_derived")) set.Bind(1, "signatures_derived").BindBlob(2, Bytes{1}).Run();
  } else if (read("signatures_derived")) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the share's repository " + db_path_.string() +
                         " was kept by a replica that could write: it holds no record signatures, which this "
                         "replica needs and cannot make. Move " + db_path_.parent_path().string() +
                         " aside and the index is rebuilt from the folder and the peers (for a share already "
                         "added, `tandem repair` does that)");
  }
  Statement max_seq(db_.handle(), "SELECT COALESCE(MAX(seq), 0) FROM records");
  max_seq.Step();
  next_seq_ = static_cast<uint64_t>(max_seq.ColumnInt(0)) + 1;
  return Ok();
}

void Repository::Prepare() {
  sqlite3* h = db_.handle();
  // records_by_locator indexes the locator's first 8 bytes (schema/008).
  get_record_.emplace(h, "SELECT seq, locator, vector, sealed_entry, signature, blocks FROM records "
                         "WHERE substr(locator, 1, 8) = substr(?1, 1, 8) AND locator = ?1");
  delete_record_.emplace(h, "DELETE FROM records WHERE substr(locator, 1, 8) = substr(?1, 1, 8) AND locator = ?1");
  put_record_.emplace(h, "INSERT INTO records(locator, seq, vector, sealed_entry, "
                         "signature, blocks) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  refers_to_record_.emplace(h, "SELECT 1 FROM local_files WHERE path = ?1 AND blocks = x'00'");
  keep_local_version_.emplace(h, "UPDATE local_files SET vector = ?2, blocks = ?3 WHERE path = ?1");
  records_since_.emplace(h, kRecordsSinceSql);
  get_file_.emplace(h, "SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode, blocks, vector "
                       "FROM local_files WHERE path = ?1");
  // An update keeps the row's id, which local_blocks refers to.
  put_file_.emplace(h, "INSERT INTO local_files(path, kind, size, mtime_ns, ctime_ns, "
                       "inode, mode, blocks, vector, look_alike) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                       "ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, size = excluded.size, "
                       "mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns, inode = excluded.inode, "
                       "mode = excluded.mode, blocks = excluded.blocks, vector = excluded.vector, "
                       "look_alike = excluded.look_alike RETURNING id");
  file_blocks_.emplace(h, "SELECT id, blocks FROM local_files WHERE path = ?1");
  // Another path with the key ?1: one whose stored key it is, or the path
  // that is the key itself (stored with '': schema/007).
  find_look_alike_.emplace(h, "SELECT path FROM local_files WHERE look_alike = ?1 AND look_alike <> '' AND path <> ?2 "
                              "UNION ALL SELECT path FROM local_files WHERE path = ?1 AND look_alike = '' "
                              "AND path <> ?2 LIMIT 1");
  delete_file_.emplace(h, "DELETE FROM local_files WHERE path = ?1");
  delete_block_location_.emplace(h, "DELETE FROM local_blocks WHERE id = ?1 AND file = ?2 AND offset = ?3");
  put_block_location_.emplace(h, "INSERT OR REPLACE INTO local_blocks(id, file, offset, size) VALUES (?1, ?2, ?3, ?4)");
  find_block_.emplace(h, kFindBlockSql);
}

std::optional<StoredRecord> Repository::GetRecord(const crypto::Locator& locator) {
  Statement& stmt = *get_record_;
  stmt.BindBlob(1, locator);
  std::optional<StoredRecord> result;
  if (stmt.Step()) result = StoredRecord{static_cast<uint64_t>(stmt.ColumnInt(0)), ReadRecord(stmt, 1)};
  stmt.Reset();
  return result;
}

std::optional<crypto::Record> Repository::RecordAt(std::string_view path) {
  if (!options_.locator_key) return std::nullopt;
  auto stored = GetRecord(crypto::ComputeLocator(*options_.locator_key, path));
  if (!stored) return std::nullopt;
  return std::move(stored->record);
}

void Repository::KeepLocalVersion(std::string_view path, const crypto::Locator& locator) {
  refers_to_record_->Bind(1, path);
  const bool refers = refers_to_record_->Step();
  refers_to_record_->Reset();
  if (!refers) return;
  auto old = GetRecord(locator);
  if (!old) throw DamagedState(path);
  keep_local_version_->Bind(1, path)
      .BindBlob(2, old->record.vector.Canonical())
      .BindBlob(3, crypto::EncodeBlockList(old->record.blocks))
      .Run();
}

StoreError Repository::DamagedState(std::string_view path) const {
  return StoreError("the local state stored for " + std::string(path) + " in " + db_path_.string() +
                        " is damaged; `tandem repair` rebuilds the index from the folder and the peers",
                    SQLITE_CORRUPT);
}

uint64_t Repository::PutRecord(const crypto::Record& record, std::string_view path) {
  if (options_.locator_key && (path.empty() || crypto::ComputeLocator(*options_.locator_key, path) != record.locator)) {
    // Without it, a state referring to the version replaced would take the
    // new one for what the disk holds.
    throw std::logic_error("a record is stored without its own path in a store whose states refer to records");
  }
  // Replacing is a delete and an insert: never one without the other.
  std::optional<Transaction> own;
  if (sqlite3_get_autocommit(db_.handle())) own.emplace(db_);
  uint64_t seq = next_seq_;
  if (options_.locator_key) KeepLocalVersion(path, record.locator);
  delete_record_->BindBlob(1, record.locator).Run();
  put_record_->BindBlob(1, record.locator)
      .Bind(2, static_cast<int64_t>(seq))
      .BindBlob(3, record.vector.Canonical())
      .BindBlob(4, record.sealed_entry)
      .BindBlob(5, options_.signatures == Signatures::kDerived ? ByteView{} : ByteView(record.signature))
      .BindBlob(6, crypto::EncodeBlockList(record.blocks))
      .Run();
  if (own) own->Commit();
  ++next_seq_;
  return seq;
}

std::vector<StoredRecord> Repository::RecordsSince(uint64_t after, size_t limit) {
  return QueryRecordsSince(*records_since_, after, limit);
}

std::optional<LocalFileState> Repository::GetFileState(const std::string& path) {
  Statement& stmt = *get_file_;
  stmt.Bind(1, path);
  std::optional<LocalFileState> result;
  bool as_recorded = false;
  if (stmt.Step()) {
    LocalFileState s = ReadFileStateMeta(stmt);
    as_recorded = IsAsRecorded(stmt.ColumnBlob(7));
    s.blocks = crypto::DecodeBlockList(stmt.ColumnBlob(7)).value_or(std::vector<crypto::BlockRef>{});
    s.vector = DecodeVector(stmt.ColumnBlob(8));
    result = std::move(s);
  }
  stmt.Reset();
  if (as_recorded) {
    // Without its record the disk's version is unknown: nothing may take
    // it for another.
    auto record = RecordAt(path);
    if (!record) throw DamagedState(path);
    result->blocks = std::move(record->blocks);
    result->vector = std::move(record->vector);
  }
  return result;
}

std::optional<Repository::IndexedFile> Repository::FindIndexedFile(const std::string& path,
                                                                   const std::optional<crypto::Record>* record_at_path) {
  file_blocks_->Bind(1, path);
  std::optional<IndexedFile> found;
  Result<std::vector<crypto::BlockRef>> blocks = std::vector<crypto::BlockRef>{};
  bool as_recorded = false;
  if (file_blocks_->Step()) {
    as_recorded = IsAsRecorded(file_blocks_->ColumnBlob(1));
    if (!as_recorded) blocks = crypto::DecodeBlockList(file_blocks_->ColumnBlob(1));
    if (blocks) found = IndexedFile{file_blocks_->ColumnInt(0), std::move(*blocks)};
  }
  file_blocks_->Reset();
  if (as_recorded) {
    std::optional<crypto::Record> looked_up;
    if (!record_at_path) looked_up = RecordAt(path);
    const std::optional<crypto::Record>& record = record_at_path ? *record_at_path : looked_up;
    if (!record) throw DamagedState(path);
    found->blocks = record->blocks;
  }
  if (!blocks) {
    throw StoreError("the block list stored for " + path + " in " + db_path_.string() +
                         " is damaged; `tandem repair` rebuilds the index from the folder and the peers",
                     SQLITE_CORRUPT);
  }
  return found;
}

void Repository::PlaceBlocks(int64_t file, const std::vector<crypto::BlockRef>& blocks, bool place) {
  Statement& stmt = place ? *put_block_location_ : *delete_block_location_;
  uint64_t offset = 0;
  for (const crypto::BlockRef& block : blocks) {
    stmt.BindBlob(1, block.id).Bind(2, file).Bind(3, static_cast<int64_t>(offset));
    if (place) stmt.Bind(4, static_cast<int64_t>(block.size));
    stmt.Run();
    offset += block.size;
  }
}

void Repository::PutFileState(const LocalFileState& s) {
  // At its recorded version (after a scan or a pull, nearly every state),
  // the state refers to the record instead of repeating its version and
  // block list: some 50 bytes a file. Looked up once, for both uses.
  const std::optional<crypto::Record> record = RecordAt(s.path);
  std::optional<IndexedFile> old = FindIndexedFile(s.path, &record);
  const bool as_recorded = record && record->vector == s.vector && record->blocks == s.blocks;
  const Bytes blocks = as_recorded ? Bytes(std::begin(kAsRecorded), std::end(kAsRecorded)) : crypto::EncodeBlockList(s.blocks);
  put_file_->Bind(1, s.path)
      .Bind(2, static_cast<int64_t>(s.kind))
      .Bind(3, static_cast<int64_t>(s.size))
      .Bind(4, s.mtime_ns)
      .Bind(5, s.ctime_ns)
      .Bind(6, static_cast<int64_t>(s.inode))
      .Bind(7, static_cast<int64_t>(s.mode))
      .BindBlob(8, blocks)
      .BindBlob(9, as_recorded ? Bytes{} : s.vector.Canonical())
      .Bind(10, LookAlikeKeyToStore(s.path));
  if (!put_file_->Step()) throw StoreError("storing the state of " + s.path + " returned no row");
  const int64_t file = put_file_->ColumnInt(0);  // RETURNING id
  put_file_->Reset();
  // The upsert kept the row's id. A change of metadata only (a touch, a
  // chmod) leaves the places as they are.
  if (old && old->blocks == s.blocks) return;
  if (old) PlaceBlocks(file, old->blocks, /*place=*/false);
  PlaceBlocks(file, s.blocks, /*place=*/true);
}

std::optional<std::string> Repository::FindLookAlike(const std::string& path) {
  find_look_alike_->Bind(1, LookAlikeKey(path)).Bind(2, path);
  std::optional<std::string> found;
  if (find_look_alike_->Step()) found = find_look_alike_->ColumnText(0);
  find_look_alike_->Reset();
  return found;
}

void Repository::DeleteFileState(const std::string& path) {
  std::optional<IndexedFile> old = FindIndexedFile(path);
  if (!old) return;
  PlaceBlocks(old->id, old->blocks, /*place=*/false);
  delete_file_->Bind(1, path).Run();
}

std::vector<BlockLocation> Repository::FindBlock(const crypto::BlockId& id, size_t limit) {
  return QueryFindBlock(*find_block_, id, limit);
}

void Repository::ForEachRecord(const std::function<void(StoredRecord&&)>& visit) {
  Statement stmt(db_.handle(), "SELECT seq, locator, vector, sealed_entry, signature, blocks FROM records "
                      "ORDER BY seq");
  while (stmt.Step()) visit({static_cast<uint64_t>(stmt.ColumnInt(0)), ReadRecord(stmt, 1)});
}

std::optional<Bytes> Repository::GetSealedBlock(const crypto::BlockId& id) {
  Statement stmt(db_.handle(), kGetSealedSql);
  return QuerySealedBlock(stmt, id);
}

void Repository::SetRecordBlocks(const crypto::Locator& locator, const std::vector<crypto::BlockRef>& blocks) {
  Statement old(db_.handle(), "SELECT id FROM record_blocks WHERE locator = ?1");
  old.BindBlob(1, locator);
  std::vector<Bytes> previous;
  while (old.Step()) previous.push_back(ToBytes(old.ColumnBlob(0)));
  Statement clear(db_.handle(), "DELETE FROM record_blocks WHERE locator = ?1");
  clear.BindBlob(1, locator).Run();
  Statement add(db_.handle(), "INSERT OR IGNORE INTO record_blocks(id, locator, size) VALUES (?1, ?2, ?3)");
  for (const crypto::BlockRef& block : blocks) {
    add.BindBlob(1, block.id).BindBlob(2, locator).Bind(3, static_cast<int64_t>(block.size)).Run();
  }
  Statement drop(db_.handle(), "DELETE FROM blocks WHERE id = ?1 AND NOT EXISTS "
                               "(SELECT 1 FROM record_blocks WHERE id = ?1)");
  for (const Bytes& id : previous) drop.BindBlob(1, id).Run();
}

std::vector<crypto::BlockRef> Repository::MissingSealedBlocks(ByteView after, size_t limit) {
  Statement stmt(db_.handle(),
                 "SELECT r.id, MIN(r.size) FROM record_blocks r WHERE r.id > ?1 AND NOT EXISTS "
                 "(SELECT 1 FROM blocks b WHERE b.id = r.id) GROUP BY r.id ORDER BY r.id LIMIT ?2");
  stmt.BindBlob(1, after).Bind(2, static_cast<int64_t>(limit));
  std::vector<crypto::BlockRef> out;
  while (stmt.Step()) {
    crypto::BlockRef block;
    ByteView id = stmt.ColumnBlob(0);
    if (id.size() != block.id.size()) continue;
    std::memcpy(block.id.data(), id.data(), id.size());
    block.size = static_cast<uint32_t>(stmt.ColumnInt(1));
    out.push_back(block);
  }
  return out;
}

bool Repository::IsBlockReferenced(const crypto::BlockId& id) {
  Statement stmt(db_.handle(), "SELECT 1 FROM record_blocks WHERE id = ?1 LIMIT 1");
  stmt.BindBlob(1, id);
  return stmt.Step();
}

void Repository::PutSealedBlock(const crypto::BlockId& id, ByteView sealed) {
  Statement stmt(db_.handle(), "INSERT OR IGNORE INTO blocks(id, sealed) VALUES (?1, ?2)");
  stmt.BindBlob(1, id).BindBlob(2, sealed).Run();
}

std::optional<PeerProgress> Repository::GetPeerProgress(const std::string& device_id) {
  Statement stmt(db_.handle(), "SELECT epoch, last_seq FROM peer_progress WHERE device_id = ?1");
  stmt.Bind(1, device_id);
  if (!stmt.Step()) return std::nullopt;
  return PeerProgress{ToBytes(stmt.ColumnBlob(0)), static_cast<uint64_t>(stmt.ColumnInt(1))};
}

void Repository::SetPeerProgress(const std::string& device_id, const PeerProgress& progress) {
  Statement stmt(db_.handle(),
                 "INSERT OR REPLACE INTO peer_progress(device_id, epoch, last_seq) VALUES (?1, ?2, ?3)");
  stmt.Bind(1, device_id).BindBlob(2, progress.epoch).Bind(3, static_cast<int64_t>(progress.last_seq)).Run();
}

void Repository::ForEachFileStateMeta(const std::function<void(LocalFileState&&)>& visit) {
  Statement stmt(db_.handle(), "SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode FROM local_files");
  while (stmt.Step()) visit(ReadFileStateMeta(stmt));
}

void Repository::ForEachFileStateMetaUnder(const std::string& path,
                                           const std::function<void(LocalFileState&&)>& visit) {
  // Below "a" is everything from "a/" up to, not including, "a0" ('0'
  // follows '/'): one range of the primary key.
  Statement stmt(db_.handle(),
                 "SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode FROM local_files "
                 "WHERE path = ?1 OR (path >= ?2 AND path < ?3)");
  stmt.Bind(1, path).Bind(2, path + "/").Bind(3, path + "0");
  while (stmt.Step()) visit(ReadFileStateMeta(stmt));
}

IndexSummary Repository::Summarize() {
  // Kept by triggers (schema/006_index_counts.sql): a few rows, whatever the
  // size of the share.
  IndexSummary summary;
  Statement counts(db_.handle(), "SELECT what, n, bytes FROM counts");
  while (counts.Step()) {
    std::string what = counts.ColumnText(0);
    auto n = static_cast<uint64_t>(counts.ColumnInt(1));
    auto bytes = static_cast<uint64_t>(counts.ColumnInt(2));
    if (what == "kind0") {
      summary.files = n;
      summary.bytes = bytes;
    } else if (what == "kind1") {
      summary.directories = n;
    } else if (what == "kind2") {
      summary.symlinks = n;
    } else if (what == "records") {
      summary.records = n;
    } else if (what == "sealed") {
      summary.sealed_blocks = n;
      summary.sealed_bytes = bytes;
    }
  }
  Statement last(db_.handle(), "SELECT COALESCE(MAX(seq), 0) FROM records");
  last.Step();
  summary.max_seq = static_cast<uint64_t>(last.ColumnInt(0));
  return summary;
}

bool Repository::IntegrityOk() {
  Statement check(db_.handle(), "PRAGMA integrity_check");
  return check.Step() && check.ColumnText(0) == "ok";
}

Result<std::shared_ptr<RepositoryReader>> Repository::OpenReader() const {
  try {
    return std::make_shared<RepositoryReader>(db_path_);
  } catch (const StoreError& e) {
    return MakeError(ErrorCode::kIo, e.what());
  }
}

RepositoryReader::RepositoryReader(const std::filesystem::path& db_path) {
  db_.emplace(db_path.string(), false);
  db_->Exec("PRAGMA query_only=1");
  records_since_.emplace(db_->handle(), kRecordsSinceSql);
  find_block_.emplace(db_->handle(), kFindBlockSql);
  get_sealed_.emplace(db_->handle(), kGetSealedSql);
}

void RepositoryReader::Close() {
  std::lock_guard lock(mutex_);
  records_since_.reset();
  find_block_.reset();
  get_sealed_.reset();
  db_.reset();
}

std::vector<StoredRecord> RepositoryReader::RecordsSince(uint64_t after, size_t limit) {
  std::lock_guard lock(mutex_);
  if (!db_) return {};
  return QueryRecordsSince(*records_since_, after, limit);
}

uint64_t RepositoryReader::LastSeq() {
  std::lock_guard lock(mutex_);
  if (!db_) return 0;
  Statement max_seq(db_->handle(), "SELECT COALESCE(MAX(seq), 0) FROM records");
  max_seq.Step();
  return static_cast<uint64_t>(max_seq.ColumnInt(0));
}

std::vector<BlockLocation> RepositoryReader::FindBlock(const crypto::BlockId& id, size_t limit) {
  std::lock_guard lock(mutex_);
  if (!db_) return {};
  return QueryFindBlock(*find_block_, id, limit);
}

std::optional<Bytes> RepositoryReader::GetSealedBlock(const crypto::BlockId& id) {
  std::lock_guard lock(mutex_);
  if (!db_) return std::nullopt;
  return QuerySealedBlock(*get_sealed_, id);
}

}  // namespace tandem::store
