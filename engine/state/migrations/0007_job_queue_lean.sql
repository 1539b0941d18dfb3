-- A job's events are written by triggers, in the statement that changes the job: one statement
-- per state change instead of two, and the event's JSON built by SQLite rather than Python.
-- `event` names the event the latest change published (`queued`, `running`, `progress`,
-- `succeeded`, `retrying`, `released`, `cancelling`, `reclaimable`, ...): an UPDATE that sets
-- it publishes one; an UPDATE that does not (a lease renewal) publishes nothing.
ALTER TABLE jobs ADD COLUMN event TEXT;

CREATE TRIGGER job_inserted AFTER INSERT ON jobs
BEGIN
    INSERT INTO events (topic, kind, data, at)
    VALUES ('job', coalesce(NEW.event, 'queued'),
            json_object('job', NEW.id, 'kind', NEW.kind, 'status', NEW.status,
                        'progress', round(NEW.progress, 4), 'message', NEW.message,
                        'attempts', NEW.attempts, 'error', NEW.error),
            NEW.updated_at);
END;

CREATE TRIGGER job_changed AFTER UPDATE OF event ON jobs
WHEN NEW.event IS NOT NULL
BEGIN
    INSERT INTO events (topic, kind, data, at)
    VALUES ('job', NEW.event,
            json_object('job', NEW.id, 'kind', NEW.kind, 'status', NEW.status,
                        'progress', round(NEW.progress, 4), 'message', NEW.message,
                        'attempts', NEW.attempts, 'error', NEW.error),
            NEW.updated_at);
END;

-- Partial indexes: only the queued jobs (for claiming, oldest first) and the running ones (for
-- the reaper) are indexed. A job that finishes leaves both, so the indexes stay as small as the
-- live queue however many finished jobs the table keeps, and finishing a job updates neither
-- (it was removed from the queued one when claimed).
DROP INDEX jobs_claimable;
DROP INDEX jobs_running;
CREATE INDEX jobs_queued ON jobs (kind, id) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs (lease_until) WHERE status = 'running';
