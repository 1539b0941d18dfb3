-- Undo/redo history of the session: one row per recorded edit, grouped so that one gesture
-- (or one agent changeset) undoes as one step.
CREATE TABLE history_steps (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id     INTEGER NOT NULL,
    label        TEXT    NOT NULL,
    author       TEXT    NOT NULL,
    op_json      TEXT    NOT NULL,   -- the operation as it was asked for
    forward_json TEXT    NOT NULL,   -- the primitives it applied (redo replays these)
    inverse_json TEXT    NOT NULL,   -- their exact inverse (undo applies this)
    before_hash  TEXT    NOT NULL,   -- sha256 of project.json before the step
    after_hash   TEXT    NOT NULL,   -- and after it
    undone       INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1)),
    created_at   TEXT    NOT NULL
);
CREATE INDEX history_steps_group ON history_steps (group_id);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
