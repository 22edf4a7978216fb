-- Versions kept in .tandem/versions/ (sync/versions.h): the folder holds the
-- files themselves; this says which device's change replaced or deleted
-- each one, which the file cannot. A row without its file is dropped when
-- the versions are next listed or cleaned up.
CREATE TABLE IF NOT EXISTS versions (
  file   TEXT PRIMARY KEY,   -- relative to .tandem/versions, '/'-separated
  device TEXT NOT NULL       -- the first group of that device's id
) WITHOUT ROWID;
