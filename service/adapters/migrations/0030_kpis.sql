-- KPIs and metrics (issue 10): indexes for the reads behind GET /api/kpis, `denials report` and /metrics.

-- First submissions and 277CA acknowledgements per claim, in event order (clean claims, first-pass resolution).
CREATE INDEX claim_events_submissions_acks ON claim_events (claim_id, occurred_at)
    WHERE kind IN ('submitted', 'acknowledgement');

-- Each task's first move to `submitted` (days from denial to appeal).
CREATE INDEX task_events_submitted ON task_events (task_id, at) WHERE to_state = 'submitted';

-- /metrics: the age of the oldest unsent outbox row without reading the unsent rows themselves.
CREATE INDEX outbox_unsent_created ON outbox (created_at) WHERE sent_at IS NULL;
