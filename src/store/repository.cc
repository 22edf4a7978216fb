#include "store/repository.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "store/schema.h"

namespace tandem::store {
namespace {

constexpr size_t kEpochSize = 16;
constexpr size_t kBlockRefSize = 36;

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
  return record;
}

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

}  // namespace

Bytes EncodeBlockList(const std::vector<crypto::BlockRef>& blocks) {
  Bytes out;
  out.reserve(blocks.size() * kBlockRefSize);
  for (const crypto::BlockRef& block : blocks) {
    out.insert(out.end(), block.id.begin(), block.id.end());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(block.size >> shift));
  }
  return out;
}

std::vector<crypto::BlockRef> DecodeBlockList(ByteView blob) {
  std::vector<crypto::BlockRef> blocks;
  blocks.reserve(blob.size() / kBlockRefSize);
  for (size_t i = 0; i + kBlockRefSize <= blob.size(); i += kBlockRefSize) {
    crypto::BlockRef block;
    std::memcpy(block.id.data(), blob.data() + i, 32);
    for (size_t k = 32; k < kBlockRefSize; ++k) block.size = (block.size << 8) | blob[i + k];
    blocks.push_back(block);
  }
  return blocks;
}

Repository::Repository(const std::filesystem::path& db_path, bool create)
    : db_(db_path.string(), create) {}

Result<std::unique_ptr<Repository>> Repository::Open(const std::filesystem::path& repo_dir,
                                                     const crypto::Key32& share_id, bool create) {
  std::filesystem::path db_path = repo_dir / kIndexFileName;
  if (create) {
    if (::mkdir(repo_dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return MakeError(ErrorCode::kIo,
                       "cannot create " + repo_dir.string() + ": " + std::strerror(errno));
    }
  } else if (!std::filesystem::exists(db_path)) {
    return MakeError(ErrorCode::kNotFound, "the share's repository " + db_path.string() +
                                               " is missing; remove the share and import it again");
  }
  try {
    std::unique_ptr<Repository> repo(new Repository(db_path, create));
    repo->db_.Exec("PRAGMA journal_mode=WAL");
    // WAL with synchronous=NORMAL survives a crash of the process intact; a
    // power cut may lose the last transactions, which the next rescan redoes.
    repo->db_.Exec("PRAGMA synchronous=NORMAL");
    repo->Migrate();
    TANDEM_RETURN_IF_ERROR(repo->LoadMeta(share_id));
    repo->Prepare();
    return repo;
  } catch (const StoreError& e) {
    return MakeError(ErrorCode::kIo, "cannot open the share's repository " + db_path.string() +
                                         ": " + e.what());
  }
}

void Repository::Migrate() {
  Statement get_version(db_.handle(), "PRAGMA user_version");
  get_version.Step();
  auto version = static_cast<size_t>(get_version.ColumnInt(0));
  get_version.Reset();
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

Result<void> Repository::LoadMeta(const crypto::Key32& share_id) {
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
  if (!stored_id) {
    Bytes epoch(kEpochSize);
    randombytes_buf(epoch.data(), epoch.size());
    Transaction tx(db_);
    set.Bind(1, "share_id").BindBlob(2, share_id).Run();
    set.Bind(1, "epoch").BindBlob(2, epoch).Run();
    tx.Commit();
  }
  epoch_ = *read("epoch");
  Statement max_seq(db_.handle(), "SELECT COALESCE(MAX(seq), 0) FROM records");
  max_seq.Step();
  next_seq_ = static_cast<uint64_t>(max_seq.ColumnInt(0)) + 1;
  return Ok();
}

void Repository::Prepare() {
  sqlite3* h = db_.handle();
  get_record_.emplace(h, "SELECT seq, locator, vector, sealed_entry, signature FROM records "
                         "WHERE locator = ?1");
  put_record_.emplace(h, "INSERT OR REPLACE INTO records(locator, seq, vector, sealed_entry, "
                         "signature) VALUES (?1, ?2, ?3, ?4, ?5)");
  records_since_.emplace(h, "SELECT seq, locator, vector, sealed_entry, signature FROM records "
                            "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  get_file_.emplace(h, "SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode, blocks "
                       "FROM local_files WHERE path = ?1");
  put_file_.emplace(h, "INSERT OR REPLACE INTO local_files(path, kind, size, mtime_ns, ctime_ns, "
                       "inode, mode, blocks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  delete_file_.emplace(h, "DELETE FROM local_files WHERE path = ?1");
  delete_blocks_.emplace(h, "DELETE FROM local_blocks WHERE path = ?1");
  put_block_location_.emplace(h, "INSERT OR REPLACE INTO local_blocks(id, path, offset, size) "
                                 "VALUES (?1, ?2, ?3, ?4)");
  find_block_.emplace(h, "SELECT path, offset, size FROM local_blocks WHERE id = ?1 LIMIT ?2");
}

std::optional<StoredRecord> Repository::GetRecord(const crypto::Locator& locator) {
  Statement& stmt = *get_record_;
  stmt.BindBlob(1, locator);
  std::optional<StoredRecord> result;
  if (stmt.Step()) result = StoredRecord{static_cast<uint64_t>(stmt.ColumnInt(0)), ReadRecord(stmt, 1)};
  stmt.Reset();
  return result;
}

uint64_t Repository::PutRecord(const crypto::Record& record) {
  uint64_t seq = next_seq_;
  put_record_->BindBlob(1, record.locator)
      .Bind(2, static_cast<int64_t>(seq))
      .BindBlob(3, record.vector.Canonical())
      .BindBlob(4, record.sealed_entry)
      .BindBlob(5, record.signature)
      .Run();
  ++next_seq_;
  return seq;
}

std::vector<StoredRecord> Repository::RecordsSince(uint64_t after, size_t limit) {
  Statement& stmt = *records_since_;
  stmt.Bind(1, static_cast<int64_t>(after)).Bind(2, static_cast<int64_t>(limit));
  std::vector<StoredRecord> out;
  while (stmt.Step()) out.push_back({static_cast<uint64_t>(stmt.ColumnInt(0)), ReadRecord(stmt, 1)});
  stmt.Reset();
  return out;
}

std::optional<LocalFileState> Repository::GetFileState(const std::string& path) {
  Statement& stmt = *get_file_;
  stmt.Bind(1, path);
  std::optional<LocalFileState> result;
  if (stmt.Step()) {
    LocalFileState s = ReadFileStateMeta(stmt);
    s.blocks = DecodeBlockList(stmt.ColumnBlob(7));
    result = std::move(s);
  }
  stmt.Reset();
  return result;
}

void Repository::PutFileState(const LocalFileState& s) {
  put_file_->Bind(1, s.path)
      .Bind(2, static_cast<int64_t>(s.kind))
      .Bind(3, static_cast<int64_t>(s.size))
      .Bind(4, s.mtime_ns)
      .Bind(5, s.ctime_ns)
      .Bind(6, static_cast<int64_t>(s.inode))
      .Bind(7, static_cast<int64_t>(s.mode))
      .BindBlob(8, EncodeBlockList(s.blocks))
      .Run();
  delete_blocks_->Bind(1, s.path).Run();
  uint64_t offset = 0;
  for (const crypto::BlockRef& block : s.blocks) {
    put_block_location_->BindBlob(1, block.id)
        .Bind(2, s.path)
        .Bind(3, static_cast<int64_t>(offset))
        .Bind(4, static_cast<int64_t>(block.size))
        .Run();
    offset += block.size;
  }
}

void Repository::DeleteFileState(const std::string& path) {
  delete_file_->Bind(1, path).Run();
  delete_blocks_->Bind(1, path).Run();
}

std::vector<BlockLocation> Repository::FindBlock(const crypto::BlockId& id, size_t limit) {
  Statement& stmt = *find_block_;
  stmt.BindBlob(1, id).Bind(2, static_cast<int64_t>(limit));
  std::vector<BlockLocation> out;
  while (stmt.Step()) {
    out.push_back({stmt.ColumnText(0), static_cast<uint64_t>(stmt.ColumnInt(1)),
                   static_cast<uint32_t>(stmt.ColumnInt(2))});
  }
  stmt.Reset();
  return out;
}

void Repository::ForEachRecord(const std::function<void(StoredRecord&&)>& visit) {
  Statement stmt(db_.handle(), "SELECT seq, locator, vector, sealed_entry, signature FROM records ORDER BY seq");
  while (stmt.Step()) visit({static_cast<uint64_t>(stmt.ColumnInt(0)), ReadRecord(stmt, 1)});
}

std::optional<Bytes> Repository::GetSealedBlock(const crypto::BlockId& id) {
  Statement stmt(db_.handle(), "SELECT sealed FROM blocks WHERE id = ?1");
  stmt.BindBlob(1, id);
  if (!stmt.Step()) return std::nullopt;
  return ToBytes(stmt.ColumnBlob(0));
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
  Statement stmt(db_.handle(),
                 "SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode FROM local_files");
  while (stmt.Step()) visit(ReadFileStateMeta(stmt));
}

IndexSummary Repository::Summarize() {
  IndexSummary summary;
  Statement by_kind(db_.handle(),
                    "SELECT kind, COUNT(*), COALESCE(SUM(size), 0) FROM local_files GROUP BY kind");
  while (by_kind.Step()) {
    auto count = static_cast<uint64_t>(by_kind.ColumnInt(1));
    switch (static_cast<crypto::EntryKind>(by_kind.ColumnInt(0))) {
      case crypto::EntryKind::kFile:
        summary.files = count;
        summary.bytes = static_cast<uint64_t>(by_kind.ColumnInt(2));
        break;
      case crypto::EntryKind::kDirectory: summary.directories = count; break;
      case crypto::EntryKind::kSymlink: summary.symlinks = count; break;
    }
  }
  Statement records(db_.handle(), "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM records");
  records.Step();
  summary.records = static_cast<uint64_t>(records.ColumnInt(0));
  summary.max_seq = static_cast<uint64_t>(records.ColumnInt(1));
  return summary;
}

bool Repository::IntegrityOk() {
  Statement check(db_.handle(), "PRAGMA integrity_check");
  return check.Step() && check.ColumnText(0) == "ok";
}

}  // namespace tandem::store
