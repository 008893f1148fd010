-- A patient's procedure history is read by patient (the classifier's history rules for every line of a batch, the
-- workbench's claim view), about a dozen rows a patient written months apart: through procedure_history_patient_date
-- each row cost a heap page of its own, and once the table outgrew shared_buffers the read cost four times as much
-- per event at 200,000 events as at 20,000 (docs/performance.md, "Long backlogs, settled"). The primary key already
-- leads with the patient: carrying the columns the reads need (INCLUDE) lets them scan the patient's few adjacent
-- key entries alone (an index-only scan on pages vacuum has marked all-visible), and the second index, one more
-- random insert a line, goes.
ALTER TABLE procedure_history DROP CONSTRAINT procedure_history_pkey;
ALTER TABLE procedure_history ADD CONSTRAINT procedure_history_pkey PRIMARY KEY (patient_key, claim_id, line_id)
    INCLUDE (service_date, procedure_code, modifiers, paid, side, levels, intent, relief_percent, relief_days);
DROP INDEX procedure_history_patient_date;
