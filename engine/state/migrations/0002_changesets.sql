-- Audit-first changesets: every tool call is recorded (tool_events) before any file is touched;
-- a changeset groups the file changes its tool calls proposed, applied and reverted as a whole
-- under sha256 checks.
CREATE TABLE changesets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'ready', 'applied', 'reverted', 'failed')),
    in_flight       TEXT    CHECK (in_flight IN ('apply', 'revert')),  -- set while files are written
    author          TEXT    NOT NULL,
    reason          TEXT    NOT NULL DEFAULT '',
    applied_order   INTEGER,                       -- increases with every apply (revert order)
    error           TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    applied_at      TEXT,
    reverted_at     TEXT
);

CREATE TABLE file_changes (
    changeset_id    INTEGER NOT NULL REFERENCES changesets (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,              -- order of first touch within the changeset
    path            TEXT    NOT NULL,              -- relative POSIX path inside the project
    base_hash       TEXT,                          -- sha256 before; NULL: the file did not exist
    after_hash      TEXT,                          -- sha256 after; NULL: the change deletes it
    before_text     TEXT,
    after_text      TEXT,
    diff            TEXT    NOT NULL,              -- unified diff, before -> after
    before_bytes    INTEGER NOT NULL DEFAULT 0,
    after_bytes     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (changeset_id, seq),
    UNIQUE (changeset_id, path)
);

CREATE TABLE tool_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    changeset_id    INTEGER REFERENCES changesets (id) ON DELETE SET NULL,
    tool            TEXT    NOT NULL,
    args_json       TEXT    NOT NULL,
    audit_json      TEXT    NOT NULL,              -- {"before": ..., "after": ..., "meta": ...}
    ok              INTEGER NOT NULL CHECK (ok IN (0, 1)),
    error           TEXT,
    created_at      TEXT    NOT NULL
);
CREATE INDEX tool_events_changeset ON tool_events (changeset_id);
