-- What the billing platform documents about a procedure line, when it sends it (claims.status.v1 submitted lines):
-- the side and levels treated, diagnostic or therapeutic, and the relief that followed (percent, days). Coverage
-- rules read them from the patient's history (an ablation needs two diagnostic blocks at its side and levels, each
-- with the documented relief); a rule whose column is NULL says it cannot decide. Remittances never carry these, so
-- an upsert from a remittance keeps what a submission wrote.
ALTER TABLE procedure_history
    ADD COLUMN side text,
    ADD COLUMN levels text[] NOT NULL DEFAULT '{}',
    ADD COLUMN intent text,
    ADD COLUMN relief_percent smallint,
    ADD COLUMN relief_days integer;
