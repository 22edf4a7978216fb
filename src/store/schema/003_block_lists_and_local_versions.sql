-- Records carry their block list in the clear (signed with the rest) so a
-- blind replica knows which sealed blocks to keep. Records of earlier builds
-- were signed in a form without it: they are dropped with the local file
-- state, and a new epoch makes peers resend everything. The next scan
-- re-indexes the folder; versions equal to a peer's converge silently.
ALTER TABLE records ADD COLUMN blocks BLOB NOT NULL DEFAULT x'';
DELETE FROM records;
DELETE FROM local_files;
DELETE FROM local_blocks;
DELETE FROM peer_progress;
DELETE FROM blocks;
UPDATE meta SET value = randomblob(16) WHERE key = 'epoch';

-- The version vector of the record the disk state was written from or
-- indexed as. A local edit descends from this version, not from the latest
-- record, which may be a peer's newer version still being pulled: the two
-- are then concurrent, and resolved as a conflict instead of one silently
-- replacing the other.
ALTER TABLE local_files ADD COLUMN vector BLOB NOT NULL DEFAULT x'';

-- Which blocks each record of a blind replica refers to, so sealed blocks no
-- record needs any more are dropped.
CREATE TABLE record_blocks (
  id      BLOB NOT NULL,
  locator BLOB NOT NULL,
  size    INTEGER NOT NULL,
  PRIMARY KEY (id, locator)
) WITHOUT ROWID;

CREATE INDEX record_blocks_by_locator ON record_blocks(locator);
