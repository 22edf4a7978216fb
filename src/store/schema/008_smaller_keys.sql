-- Smaller keys. On a share of small files, keys took half of index.db: each
-- block's path twice (local_blocks and its index by path), each record's
-- locator twice (the row and its unique index) and a second unique index
-- for seq.
--
-- local_files gets an explicit id (a rowid without one may be renumbered by
-- VACUUM or a rebuild), and local_blocks names the file by it. The places of
-- one file are found through the file's own block list, so local_blocks
-- needs no index by file.
CREATE TABLE local_files_v8 (
  id         INTEGER PRIMARY KEY,
  path       TEXT NOT NULL UNIQUE,
  kind       INTEGER NOT NULL,
  size       INTEGER NOT NULL,
  mtime_ns   INTEGER NOT NULL,
  ctime_ns   INTEGER NOT NULL,
  inode      INTEGER NOT NULL,
  mode       INTEGER NOT NULL,
  vector     BLOB NOT NULL DEFAULT x'',
  look_alike TEXT NOT NULL DEFAULT '',
  blocks     BLOB NOT NULL
);
INSERT INTO local_files_v8(id, path, kind, size, mtime_ns, ctime_ns, inode, mode, vector, look_alike, blocks)
  SELECT rowid, path, kind, size, mtime_ns, ctime_ns, inode, mode, vector, look_alike, blocks FROM local_files;

CREATE TABLE local_blocks_v8 (
  id     BLOB NOT NULL,
  file   INTEGER NOT NULL,  -- local_files.id
  offset INTEGER NOT NULL,
  size   INTEGER NOT NULL,
  PRIMARY KEY (id, file, offset)
) WITHOUT ROWID;
INSERT OR IGNORE INTO local_blocks_v8(id, file, offset, size)
  SELECT b.id, f.id, b.offset, b.size FROM local_blocks b JOIN local_files_v8 f ON f.path = b.path;
DROP TABLE local_blocks;
ALTER TABLE local_blocks_v8 RENAME TO local_blocks;

DROP TABLE local_files;
ALTER TABLE local_files_v8 RENAME TO local_files;
CREATE INDEX local_files_by_look_alike ON local_files(look_alike, path) WHERE look_alike <> '';

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

-- Dropping the tables dropped their triggers (schema/006).
CREATE TRIGGER local_files_counted_in AFTER INSERT ON local_files BEGIN
  UPDATE counts SET n = n + 1, bytes = bytes + NEW.size WHERE what = 'kind' || NEW.kind;
END;
CREATE TRIGGER local_files_counted_out AFTER DELETE ON local_files BEGIN
  UPDATE counts SET n = n - 1, bytes = bytes - OLD.size WHERE what = 'kind' || OLD.kind;
END;
CREATE TRIGGER local_files_recounted AFTER UPDATE OF kind, size ON local_files BEGIN
  UPDATE counts SET n = n - 1, bytes = bytes - OLD.size WHERE what = 'kind' || OLD.kind;
  UPDATE counts SET n = n + 1, bytes = bytes + NEW.size WHERE what = 'kind' || NEW.kind;
END;
CREATE TRIGGER records_counted_in AFTER INSERT ON records BEGIN
  UPDATE counts SET n = n + 1 WHERE what = 'records';
END;
CREATE TRIGGER records_counted_out AFTER DELETE ON records BEGIN
  UPDATE counts SET n = n - 1 WHERE what = 'records';
END;
