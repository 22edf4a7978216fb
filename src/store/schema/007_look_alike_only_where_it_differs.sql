-- Most paths are their own look-alike key (no capital letter, already in one
-- Unicode normal form): the key stored beside such a path, and indexed, only
-- repeated it, about 75 of a file's 750 bytes. The key is now stored only
-- where it differs from the path ('' elsewhere) and only those rows are in
-- the index; a path that is its own key is found by the primary key
-- (Repository::FindLookAlike asks both).
DROP INDEX local_files_by_look_alike;
UPDATE local_files SET look_alike = '' WHERE look_alike = path;
CREATE INDEX local_files_by_look_alike ON local_files(look_alike, path) WHERE look_alike <> '';
