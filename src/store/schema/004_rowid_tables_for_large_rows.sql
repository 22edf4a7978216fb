-- A WITHOUT ROWID table keeps whole rows in its key's b-tree, and SQLite
-- reads a row's overflow pages whenever a search compares a key against it:
-- every lookup that passed the row of a 4 GiB file read its 2.4 MB block
-- list, and serving that file took 70 s instead of 25. Tables whose rows can
-- be large become rowid tables: keys live in a small index, and a row's
-- overflow pages are read only for the columns asked for (so the block
-- lists go last).
CREATE TABLE records_v4 (
  locator      BLOB NOT NULL PRIMARY KEY,
  seq          INTEGER NOT NULL UNIQUE,
  vector       BLOB NOT NULL,
  signature    BLOB NOT NULL,
  sealed_entry BLOB NOT NULL,
  blocks       BLOB NOT NULL DEFAULT x''
);
INSERT INTO records_v4(locator, seq, vector, signature, sealed_entry, blocks)
  SELECT locator, seq, vector, signature, sealed_entry, blocks FROM records;
DROP TABLE records;
ALTER TABLE records_v4 RENAME TO records;

CREATE TABLE local_files_v4 (
  path     TEXT NOT NULL PRIMARY KEY,
  kind     INTEGER NOT NULL,
  size     INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  inode    INTEGER NOT NULL,
  mode     INTEGER NOT NULL,
  vector   BLOB NOT NULL DEFAULT x'',
  blocks   BLOB NOT NULL
);
INSERT INTO local_files_v4(path, kind, size, mtime_ns, ctime_ns, inode, mode, vector, blocks)
  SELECT path, kind, size, mtime_ns, ctime_ns, inode, mode, vector, blocks FROM local_files;
DROP TABLE local_files;
ALTER TABLE local_files_v4 RENAME TO local_files;

CREATE TABLE blocks_v4 (
  id     BLOB NOT NULL PRIMARY KEY,
  sealed BLOB NOT NULL
);
INSERT INTO blocks_v4(id, sealed) SELECT id, sealed FROM blocks;
DROP TABLE blocks;
ALTER TABLE blocks_v4 RENAME TO blocks;
