-- Where each block of a full replica's files sits on disk, so a block can be
-- served to a peer, or reused for another file, without scanning block lists.
-- Rows follow local_files: written and deleted with the file's state.
CREATE TABLE local_blocks (
  id     BLOB NOT NULL,
  path   TEXT NOT NULL,
  offset INTEGER NOT NULL,
  size   INTEGER NOT NULL,
  PRIMARY KEY (id, path, offset)
) WITHOUT ROWID;

CREATE INDEX local_blocks_by_path ON local_blocks(path);
