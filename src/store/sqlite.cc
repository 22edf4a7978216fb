#include "store/sqlite.h"

namespace tandem::store {
namespace {

[[noreturn]] void Throw(sqlite3* db, std::string_view what) {
  throw StoreError(std::string(what) + ": " + sqlite3_errmsg(db), sqlite3_extended_errcode(db));
}

}  // namespace

StoreFault StoreError::fault() const {
  switch (sqlite_code_ & 0xff) {
    case SQLITE_FULL: return StoreFault::kFull;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StoreFault::kDamaged;
    default: return StoreFault::kOther;
  }
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt_, nullptr) != SQLITE_OK) {
    Throw(db, "cannot prepare statement");
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) Throw(db_, "cannot bind");
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    Throw(db_, "cannot bind");
  }
  return *this;
}

Statement& Statement::BindBlob(int index, ByteView blob) {
  // A zero-length blob must still bind as a blob, not NULL.
  static const uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  if (sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_TRANSIENT) != SQLITE_OK) {
    Throw(db_, "cannot bind");
  }
  return *this;
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(stmt_);
  Throw(db_, "statement failed");
}

void Statement::Run() {
  while (Step()) {
  }
  Reset();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::ColumnInt(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::ColumnText(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  return text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, index))
              : std::string();
}

ByteView Statement::ColumnBlob(int index) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, index));
  return ByteView(data, static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

Database::Database(const std::string& path, bool create) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    std::string message = std::string("cannot open ") + path + ": " + sqlite3_errmsg(db_);
    int code = db_ ? sqlite3_extended_errcode(db_) : SQLITE_NOMEM;
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(message, code);
  }
  sqlite3_busy_timeout(db_, 5000);
}

Database::~Database() { sqlite3_close(db_); }

void Database::Exec(std::string_view sql) {
  std::string owned(sql);
  char* error = nullptr;
  if (int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &error); rc != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw StoreError("cannot execute SQL: " + message, sqlite3_extended_errcode(db_) ? sqlite3_extended_errcode(db_) : rc);
  }
}

Transaction::Transaction(Database& db, bool deferred) : db_(db) {
  db_.Exec(deferred ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::Commit() {
  db_.Exec("COMMIT");
  done_ = true;
}

}  // namespace tandem::store
