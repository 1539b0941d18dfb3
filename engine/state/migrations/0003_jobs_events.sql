-- Background jobs (proxies, thumbnails, waveforms, later TTS, STT, agent runs and exports) and
-- the one event stream every client reads. Times are Unix seconds (REAL): leases are compared
-- across processes.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL DEFAULT '{}',          -- JSON
    status          TEXT    NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled',
                                      'dead')),
    progress        REAL    NOT NULL DEFAULT 0 CHECK (progress >= 0 AND progress <= 1),
    message         TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,             -- claims so far
    max_attempts    INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    worker          TEXT,                                   -- who holds the lease
    lease_until     REAL,                                   -- the lease ends unless renewed
    heartbeat_at    REAL,
    not_before      REAL    NOT NULL DEFAULT 0,             -- back-off after a failed attempt
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    result          TEXT,                                   -- JSON, when succeeded
    error           TEXT,                                   -- the last error
    idempotency_key TEXT    UNIQUE,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    started_at      REAL,
    finished_at     REAL
);

CREATE INDEX jobs_claimable ON jobs (kind, status, id);  -- oldest first, stops at LIMIT
CREATE INDEX jobs_running ON jobs (status, lease_until);

CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,      -- never reused: resume points
    topic           TEXT    NOT NULL
                    CHECK (topic IN ('project', 'playback', 'job', 'run', 'changeset')),
    kind            TEXT    NOT NULL,
    data            TEXT    NOT NULL DEFAULT '{}',          -- JSON
    at              REAL    NOT NULL
);
