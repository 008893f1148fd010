-- The patient bills a claim's remittances sent, per adjudication ("payer id\x1fpayer claim number" -> [[remittance
-- event id, amount], ...]), so a reversal (CLP02 22) voids what was billed for the adjudication it takes back.
ALTER TABLE claims ADD COLUMN IF NOT EXISTS patient_bills jsonb NOT NULL DEFAULT '{}'::jsonb;
