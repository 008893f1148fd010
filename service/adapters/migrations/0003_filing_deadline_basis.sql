-- Where the timely-filing clock comes from (payer policy, date of service), kept next to the date.
ALTER TABLE decisions ADD COLUMN filing_deadline_basis text;
ALTER TABLE appeal_tasks ADD COLUMN filing_deadline_basis text;
