-- The embedded repository of one share: <share>/.tandem/index.db.
-- Opened in WAL mode; one owner per share (docs/store.md).

-- Small facts about this repository: its share id (so a repository is never
-- opened for the wrong share), its epoch (random, new whenever the store is
-- created, so peers notice a reset and resend everything) and the next sequence.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;

-- The latest known version of every path, in its sealed, signed wire form:
-- exactly the bytes a blind replica stores and serves. seq orders local
-- arrival, so "records since N" is one index range.
CREATE TABLE records (
  locator      BLOB PRIMARY KEY,
  seq          INTEGER NOT NULL UNIQUE,
  vector       BLOB NOT NULL,   -- canonical VersionVector (16 bytes per device)
  sealed_entry BLOB NOT NULL,
  signature    BLOB NOT NULL
) WITHOUT ROWID;

-- What a full replica last saw on disk, so a rescan re-reads only files whose
-- size, mtime, ctime, inode or mode changed. Plaintext paths are fine here:
-- the files beside this database are plaintext too. Blind replicas keep none.
CREATE TABLE local_files (
  path     TEXT PRIMARY KEY,
  kind     INTEGER NOT NULL,    -- crypto::EntryKind
  size     INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  inode    INTEGER NOT NULL,
  mode     INTEGER NOT NULL,
  blocks   BLOB NOT NULL        -- 36 bytes per block: id (32) then size (u32 BE)
) WITHOUT ROWID;

-- Sealed blocks held by a blind replica (a full replica serves from its files).
CREATE TABLE blocks (
  id     BLOB PRIMARY KEY,
  sealed BLOB NOT NULL
) WITHOUT ROWID;

-- How far each peer's index has been received, per peer store epoch.
CREATE TABLE peer_progress (
  device_id TEXT PRIMARY KEY,
  epoch     BLOB NOT NULL,
  last_seq  INTEGER NOT NULL
) WITHOUT ROWID;
