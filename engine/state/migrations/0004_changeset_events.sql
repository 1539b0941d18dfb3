-- Changeset status changes publish on the one event stream, in the same transaction as the
-- change itself, whichever code path made it.
CREATE TRIGGER changeset_created AFTER INSERT ON changesets
BEGIN
    INSERT INTO events (topic, kind, data, at)
    VALUES ('changeset', NEW.status,
            json_object('changeset', NEW.id, 'status', NEW.status, 'in_flight', NEW.in_flight,
                        'author', NEW.author, 'error', NEW.error),
            (julianday('now') - 2440587.5) * 86400.0);
END;

CREATE TRIGGER changeset_changed AFTER UPDATE OF status, in_flight ON changesets
WHEN OLD.status IS NOT NEW.status OR OLD.in_flight IS NOT NEW.in_flight
BEGIN
    INSERT INTO events (topic, kind, data, at)
    VALUES ('changeset', CASE WHEN NEW.in_flight IS NOT NULL THEN NEW.in_flight || 'ing'
                              ELSE NEW.status END,
            json_object('changeset', NEW.id, 'status', NEW.status, 'in_flight', NEW.in_flight,
                        'author', NEW.author, 'error', NEW.error),
            (julianday('now') - 2440587.5) * 86400.0);
END;
