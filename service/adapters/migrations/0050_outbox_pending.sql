-- The outbox is written once and never rewritten: what is still to publish is a narrow queue of ids beside it.
-- Marking a published row by `UPDATE outbox SET sent_at` copied the whole row (its ~1.7 kB payload) and inserted
-- three index entries per follow-up, the largest single write of a backlog; deleting an 8-byte id from
-- outbox_pending costs a fraction of that. A row is unpublished exactly while its id is in outbox_pending; every
-- writer adds both in one statement (store.add_to_outbox, the stream's unit of work).

CREATE TABLE outbox_pending (
    id         bigint PRIMARY KEY,
    created_at timestamptz NOT NULL
);

INSERT INTO outbox_pending (id, created_at) SELECT id, created_at FROM outbox WHERE sent_at IS NULL;

DROP INDEX outbox_unsent;
DROP INDEX outbox_unsent_created;
ALTER TABLE outbox DROP COLUMN sent_at;
