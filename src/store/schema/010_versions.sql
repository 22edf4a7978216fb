-- Versions kept in .tandem/versions/ (sync/versions.h): the folder holds the
-- files themselves; this says which device's change replaced or deleted
-- each one, and the file's own path (a long name is shortened in the
-- version's name), which the version's name cannot always say.
CREATE TABLE IF NOT EXISTS versions (
  file   TEXT PRIMARY KEY,   -- relative to .tandem/versions, '/'-separated
  path   TEXT NOT NULL,      -- the file's path in the share
  device TEXT NOT NULL       -- the first group of that device's id
) WITHOUT ROWID;
