-- The index summary (tandem info: files, folders, symlinks, bytes, records,
-- sealed blocks) kept up to date by triggers, in the same transaction as
-- each change, so reading it costs one small table instead of counting
-- every row of a large share after each change. The connection runs with
-- recursive_triggers on, so a row an INSERT OR REPLACE replaces is counted
-- out before the new one is counted in.
CREATE TABLE counts (
  what  TEXT PRIMARY KEY,  -- 'kind0' files, 'kind1' folders, 'kind2' symlinks, 'records', 'sealed'
  n     INTEGER NOT NULL,
  bytes INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counts(what, n, bytes) VALUES ('kind0', 0, 0), ('kind1', 0, 0), ('kind2', 0, 0);
UPDATE counts SET n = (SELECT COUNT(*) FROM local_files WHERE 'kind' || kind = what),
                  bytes = (SELECT COALESCE(SUM(size), 0) FROM local_files WHERE 'kind' || kind = what);
INSERT INTO counts(what, n, bytes) SELECT 'records', COUNT(*), 0 FROM records;
INSERT INTO counts(what, n, bytes) SELECT 'sealed', COUNT(*), COALESCE(SUM(LENGTH(sealed)), 0) FROM blocks;

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
CREATE TRIGGER sealed_counted_in AFTER INSERT ON blocks BEGIN
  UPDATE counts SET n = n + 1, bytes = bytes + LENGTH(NEW.sealed) WHERE what = 'sealed';
END;
CREATE TRIGGER sealed_counted_out AFTER DELETE ON blocks BEGIN
  UPDATE counts SET n = n - 1, bytes = bytes - LENGTH(OLD.sealed) WHERE what = 'sealed';
END;
