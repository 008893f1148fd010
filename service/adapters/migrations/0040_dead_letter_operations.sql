-- Dead-letter operations (issue 6): `denials deadletters replay` records how often and where each letter was
-- re-published; letters are never deleted, only marked replayed or resolved.

ALTER TABLE dead_letters
    ADD COLUMN replay_count       integer NOT NULL DEFAULT 0,
    ADD COLUMN replayed_partition integer,
    ADD COLUMN replayed_offset    bigint;

ALTER TABLE dead_letters
    ADD CONSTRAINT dead_letters_status CHECK (status IN ('new', 'replayed', 'resolved'));

CREATE INDEX dead_letters_status_class ON dead_letters (status, error_class, created_at);
