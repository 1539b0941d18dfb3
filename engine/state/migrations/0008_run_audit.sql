-- Complete agent audits and runs that keep what they used.
--
-- Every call a model makes is a tool_events row with its run, its step and its place in the
-- model's turn (call_index), and the result the model was given (result_json), so a run resumed
-- after its worker died answers the calls already made from the record instead of making them
-- again. A run keeps the exact settings it was started with (settings: the system instruction,
-- temperature, thinking level, model, step limit, the workflow's path, name and hash), so a
-- resumed run goes on with them and a reviewer sees what the model was told.
ALTER TABLE tool_events ADD COLUMN run_id INTEGER REFERENCES runs (id);
ALTER TABLE tool_events ADD COLUMN step INTEGER;
ALTER TABLE tool_events ADD COLUMN call_index INTEGER;
ALTER TABLE tool_events ADD COLUMN result_json TEXT;
CREATE INDEX tool_events_run ON tool_events (run_id, step, call_index);

ALTER TABLE runs ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
