-- Conflicting duplicates and bounded dead letters (issue 20).
--
-- inbox.content_digest: the canonical digest (topics.codec.content_digest, `cj1:<sha256>`) of the record first
-- applied under each event id, so the same id with other content is recognised and dead-lettered. Rows from before
-- this migration keep NULL: "unknown, never flagged". They cannot be backfilled: the inbox never kept the records'
-- bytes, and the timeline holds the service's reading of an event, not what the producer sent.
ALTER TABLE inbox ADD COLUMN content_digest text;

-- dead_letters: structured detail (both digests of a conflicting duplicate; where an oversize value's whole bytes
-- are), and the size and digest of the whole original value (of an oversize one only a prefix is stored).
ALTER TABLE dead_letters
    ADD COLUMN detail          jsonb,
    ADD COLUMN value_size      bigint,
    ADD COLUMN value_digest    text,
    ADD COLUMN value_truncated boolean NOT NULL DEFAULT false;

UPDATE dead_letters
   SET value_size = octet_length(COALESCE(value, ''::bytea)),
       value_digest = 'sha256:' || encode(sha256(COALESCE(value, ''::bytea)), 'hex');
