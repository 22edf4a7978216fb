-- Each local path's look-alike key (base/rel_path.h: case folded, one
-- Unicode normal form), so a peer's new path that would be the same file on
-- macOS or Windows, or is easily mistaken for an existing one, is found with
-- one index lookup before anything is written. The covering index answers
-- that lookup without touching the rows.
ALTER TABLE local_files ADD COLUMN look_alike TEXT NOT NULL DEFAULT '';
UPDATE local_files SET look_alike = tandem_look_alike_key(path);
CREATE INDEX local_files_by_look_alike ON local_files(look_alike, path);
