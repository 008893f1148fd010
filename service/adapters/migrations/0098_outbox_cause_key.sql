-- The outbox's uniqueness is kept under its cause: (causation_id, event_id) instead of event_id alone, which also
-- replaces the index on causation_id. An event id is a uuid5 of its cause, topic and position (outbox_event_id; a
-- dead letter's is its own cause), so unique per cause is unique; ON CONFLICT (causation_id, event_id) skips a
-- record already on file exactly as ON CONFLICT (event_id) did.
-- Why: an index on the random event ids touches a random leaf page per row; once the indexes outgrow
-- shared_buffers each such insert reads a page and, after every checkpoint, writes it whole to the WAL, so a long
-- backlog cost more database CPU per event the longer it ran (docs/performance.md, "Soak"). Causation ids are the
-- inputs' ids (the X12 gateway's are its sender's interchange and record numbers), so the rows a batch writes land
-- side by side, and one index is maintained instead of two.
-- NULLS NOT DISTINCT: a row without a cause is still unique by its event id.

CREATE UNIQUE INDEX outbox_cause_event ON outbox (causation_id, event_id) NULLS NOT DISTINCT;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_id_key;
DROP INDEX outbox_causation;
