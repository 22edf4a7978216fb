// A thin RAII layer over the SQLite C API: a connection and prepared
// statements. Statement errors are environmental (disk full, I/O error) and
// throw StoreError; they are caught where the owning task ends.
// Not thread-safe: one owner per connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace tandem::store {

// What a failed SQLite call means for the share: whether waiting (space
// freed, a disk back) can help, or the database itself is damaged.
enum class StoreFault {
  kOther,    // anything else (I/O error, locked, a bug): retried
  kFull,     // the disk is full (SQLITE_FULL)
  kDamaged,  // the file is not a database or is malformed (SQLITE_CORRUPT, SQLITE_NOTADB)
};

class StoreError : public std::runtime_error {
 public:
  explicit StoreError(const std::string& message, int sqlite_code = SQLITE_ERROR)
      : std::runtime_error(message), sqlite_code_(sqlite_code) {}
  int sqlite_code() const { return sqlite_code_; }
  StoreFault fault() const;

 private:
  int sqlite_code_;
};

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, ByteView blob);

  // true while there is a row to read; false when done.
  bool Step();
  // Runs to completion and resets, for statements that return no rows.
  void Run();
  void Reset();

  int64_t ColumnInt(int index) const;
  std::string ColumnText(int index) const;
  ByteView ColumnBlob(int index) const;  // valid until the next Step/Reset

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating if `create`) the database at `path`; StoreError on failure.
  Database(const std::string& path, bool create);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void Exec(std::string_view sql);
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Commits on Commit(); rolls back if destroyed first. A deferred one takes
// the write lock only at its first write (BEGIN DEFERRED), so one that only
// reads costs what a single read does.
class Transaction {
 public:
  explicit Transaction(Database& db, bool deferred = false);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : db_(other.db_), done_(other.done_) { other.done_ = true; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void Commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace tandem::store
