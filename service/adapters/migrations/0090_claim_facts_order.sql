-- Facts count in business-time order (DESIGN invariant 7): a claim keeps every submission it was sent with (a
-- remittance is judged against the one in effect at its production date, whichever arrived first) and the
-- business-time key of every fact applied to it (event id -> [day, kind rank, occurred_at, event id, kind, payer id]),
-- so a late, earlier fact can tell which tasks newer facts shaped.
ALTER TABLE claims ADD COLUMN IF NOT EXISTS submissions jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE claims ADD COLUMN IF NOT EXISTS ledger jsonb NOT NULL DEFAULT '{}'::jsonb;
