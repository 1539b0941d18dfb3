-- A changeset that is applied or reverted changed files on disk: say which, on the one event
-- stream, in the same transaction as the status change (whichever code path made it: an apply,
-- a revert, or the reconciliation that finishes an interrupted one). One `project`/`file` event
-- per file change, in the changeset's order, carrying the sha256 now on disk: `after_hash` when
-- applied, `base_hash` when reverted; JSON null when the file does not exist any more (a NULL
-- hash in file_changes means "no file"). A status that does not change (a failed revert goes
-- back to `applied`) moved no file and says nothing.
CREATE TRIGGER changeset_files_changed AFTER UPDATE OF status ON changesets
WHEN OLD.status IS NOT NEW.status AND NEW.status IN ('applied', 'reverted')
BEGIN
    INSERT INTO events (topic, kind, data, at)
    SELECT 'project', 'file',
           json_object('path', f.path,
                       'sha256', CASE WHEN NEW.status = 'applied' THEN f.after_hash
                                      ELSE f.base_hash END,
                       'from', 'changeset'),
           (julianday('now') - 2440587.5) * 86400.0
    FROM file_changes AS f
    WHERE f.changeset_id = NEW.id
    ORDER BY f.seq;
END;
