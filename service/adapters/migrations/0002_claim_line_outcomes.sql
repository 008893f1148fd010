-- The latest adjudication of each line by each payer ({"payer\u001fline": ["event time", paid]}), so a late, older
-- denial never opens a task for a line a newer remittance already paid.
ALTER TABLE claims ADD COLUMN line_outcomes jsonb NOT NULL DEFAULT '{}';

-- What opened a task: "remittance", or "status:<bucket>" for a 277/277CA (a rejection's task is answered by the
-- accepted resubmission).
ALTER TABLE appeal_tasks ADD COLUMN origin text NOT NULL DEFAULT 'remittance';
