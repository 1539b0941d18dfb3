-- Agent runs: threads of messages (Gemini's own JSON for contents, so a thread is replayed to
-- the model as stored), runs (one job each), the changesets a run made, and usage per model
-- call with its cost. A run's status changes publish `run` events in the same transaction.
CREATE TABLE threads (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT    NOT NULL DEFAULT '',
    created_at      REAL    NOT NULL
);

CREATE TABLE runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id       INTEGER NOT NULL REFERENCES threads (id),
    job_id          INTEGER REFERENCES jobs (id),
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'interrupted', 'complete', 'error',
                                      'cancelled')),
    model           TEXT    NOT NULL,
    thinking_level  TEXT,
    auto_apply      INTEGER NOT NULL DEFAULT 0,
    max_steps       INTEGER NOT NULL DEFAULT 12,
    steps           INTEGER NOT NULL DEFAULT 0,             -- model calls completed
    workflow_path   TEXT,
    workflow_name   TEXT,
    workflow_sha256 TEXT,
    stopped         TEXT,                                   -- why it ended: done | step-limit
    error           TEXT,
    created_at      REAL    NOT NULL,
    started_at      REAL,
    finished_at     REAL
);

CREATE INDEX runs_by_thread ON runs (thread_id, id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id       INTEGER NOT NULL REFERENCES threads (id),
    run_id          INTEGER REFERENCES runs (id),
    step            INTEGER,
    role            TEXT    NOT NULL CHECK (role IN ('user', 'model')),
    parts           TEXT    NOT NULL,                       -- JSON list of Gemini parts
    created_at      REAL    NOT NULL
);

CREATE INDEX messages_by_thread ON messages (thread_id, id);

CREATE TABLE run_changesets (
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    changeset_id    INTEGER NOT NULL REFERENCES changesets (id),
    PRIMARY KEY (run_id, changeset_id)
);

CREATE TABLE usage_records (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    step            INTEGER NOT NULL,
    model           TEXT    NOT NULL,
    prompt_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens   INTEGER NOT NULL DEFAULT 0,
    cached_tokens   INTEGER NOT NULL DEFAULT 0,
    thought_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_usd        REAL,                                   -- NULL: no price for the model
    meta            TEXT    NOT NULL DEFAULT '{}',          -- JSON: the workflow, the raw usage
    at              REAL    NOT NULL
);

CREATE INDEX usage_by_run ON usage_records (run_id);

CREATE TRIGGER run_status_changed AFTER UPDATE OF status ON runs
WHEN OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO events (topic, kind, data, at)
    VALUES ('run', NEW.status,
            json_object('run', NEW.id, 'thread', NEW.thread_id, 'status', NEW.status,
                        'error', NEW.error, 'stopped', NEW.stopped, 'steps', NEW.steps),
            (julianday('now') - 2440587.5) * 86400.0);
END;
