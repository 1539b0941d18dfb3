-- Changes to large files kept as what changed (engine.changes.delta). A file change whose file is
-- over 1 MiB on a side where it exists on both keeps no before_text or after_text copy: `delta`
-- holds its splices as JSON ([[line, old lines, new lines], ...]), applied to the file on disk
-- whose sha256 is base_hash (or, in reverse, after_hash). NULL for every other change.
ALTER TABLE file_changes ADD COLUMN delta TEXT;
