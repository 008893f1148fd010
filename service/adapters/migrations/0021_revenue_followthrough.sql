-- Revenue follow-through (issue 9): appeal levels on tasks, recoupment flags, the silent-claim timer's bookkeeping.

-- The appeal level a task's work is at (1 = first appeal / Medicare redetermination; 2 = reconsideration ...), and
-- what linked provider-level recoupments (PLB WO ...) took back from the claim after the task was won.
ALTER TABLE appeal_tasks ADD COLUMN appeal_level integer NOT NULL DEFAULT 1;
ALTER TABLE appeal_tasks ADD COLUMN recouped_amount numeric(14, 2);

-- One status inquiry (followups.status-inquiry.v1) per silent claim and interval: the idempotency key is the claim,
-- the submission it waits on (a resubmission starts counting again) and the interval number.
CREATE TABLE status_inquiries (
    claim_id            text NOT NULL,
    submission_event_id text NOT NULL,
    interval_no         integer NOT NULL CHECK (interval_no >= 1),
    interval_days       integer NOT NULL,
    payer_id            text NOT NULL,
    submitted_at        timestamptz NOT NULL,
    business_date       date NOT NULL,                -- the "today" of the pass that sent it
    outbox_event_id     text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (claim_id, submission_event_id, interval_no)
);

-- The timer's scan: claims waiting on the payer since their latest submission.
CREATE INDEX claims_awaiting_payer ON claims (submitted_at)
    WHERE state IN ('submitted', 'acknowledged', 'accepted');

-- Unlinked recoupments for the contracts queue, newest first.
CREATE INDEX provider_adjustments_unlinked ON provider_adjustments (production_date DESC, event_id) WHERE NOT linked;

-- Prevention feedback scans denials per payer and code over a window.
CREATE INDEX decisions_denials_recent ON decisions (occurred_at, payer_id, procedure_code) WHERE is_denial;
