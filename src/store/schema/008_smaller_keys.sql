-- Smaller keys. On a share of small files, keys took half of index.db: each
-- block's full id and path twice (local_blocks and its index by path), each
-- record's locator twice (the row and its unique index) and a second unique
-- index for seq.
--
-- local_blocks finds a block by the first 8 bytes of its id and names the
-- file by its local_files rowid. FindBlock's callers read and verify the
-- bytes of every place it returns (they change behind our back anyway), so a
-- place that only shares the prefix is skipped like a stale one. The rows of
-- one file are found through the file's own block list in local_files.
CREATE TABLE local_blocks_v8 (
  id_prefix BLOB NOT NULL,     -- the block id's first 8 bytes
  file      INTEGER NOT NULL,  -- local_files.rowid
  offset    INTEGER NOT NULL,
  size      INTEGER NOT NULL,
  PRIMARY KEY (id_prefix, file, offset)
) WITHOUT ROWID;
INSERT OR IGNORE INTO local_blocks_v8(id_prefix, file, offset, size)
  SELECT substr(b.id, 1, 8), f.rowid, b.offset, b.size FROM local_blocks b JOIN local_files f ON f.path = b.path;
DROP TABLE local_blocks;
ALTER TABLE local_blocks_v8 RENAME TO local_blocks;

-- seq becomes the rowid, and a locator is found by an index of its first
-- 8 bytes; Repository::PutRecord keeps one record per locator.
CREATE TABLE records_v8 (
  seq          INTEGER PRIMARY KEY,
  locator      BLOB NOT NULL,
  vector       BLOB NOT NULL,
  signature    BLOB NOT NULL,
  sealed_entry BLOB NOT NULL,
  blocks       BLOB NOT NULL DEFAULT x''
);
INSERT INTO records_v8(seq, locator, vector, signature, sealed_entry, blocks)
  SELECT seq, locator, vector, signature, sealed_entry, blocks FROM records;
DROP TABLE records;
ALTER TABLE records_v8 RENAME TO records;
CREATE INDEX records_by_locator ON records(substr(locator, 1, 8));

-- Dropping the table dropped its triggers (schema/006).
CREATE TRIGGER records_counted_in AFTER INSERT ON records BEGIN
  UPDATE counts SET n = n + 1 WHERE what = 'records';
END;
CREATE TRIGGER records_counted_out AFTER DELETE ON records BEGIN
  UPDATE counts SET n = n - 1 WHERE what = 'records';
END;
