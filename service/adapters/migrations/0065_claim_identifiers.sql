-- The patient identifiers an appeal letter names (name, member id / MBI, birth date), per claim and payer (each
-- payer has its own member id), each field encrypted by the application (Fernet, DENIALS_PHI_KEY) with a keyed
-- digest beside it so the stream rewrites a field only when its value changes. The database never sees a clear
-- value; reads go through the letter route, which writes an `identifiers_read` row to task_events.

CREATE TABLE claim_identifiers (
    claim_id          text NOT NULL REFERENCES claims (claim_id),
    payer_id          text NOT NULL,
    name_enc          bytea,
    name_digest       bytea,
    member_id_enc     bytea,
    member_id_digest  bytea,
    birth_date_enc    bytea,
    birth_date_digest bytea,
    source_at         timestamptz NOT NULL,  -- business time of the newest record written: older ones only fill gaps
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (claim_id, payer_id)
);
