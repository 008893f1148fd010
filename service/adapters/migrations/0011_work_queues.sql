-- Work queues (issue 7): leasing, filters, the deadline timer's bookkeeping.

-- `POST /api/queues/{queue}/next`: the highest-priority open task of a queue, FOR UPDATE SKIP LOCKED.
CREATE INDEX appeal_tasks_leasable ON appeal_tasks (queue, priority DESC, deadline, opened_at, task_id)
    WHERE state = 'open';

-- The deadline timer: open tasks whose last clock has passed.
CREATE INDEX appeal_tasks_expiry ON appeal_tasks ((GREATEST(deadline, filing_deadline)))
    WHERE state IN ('open', 'in_progress');

-- Filters of `GET /api/tasks`: CPT (lines @> [{"procedure_code": ...}]), payer, assignee.
CREATE INDEX appeal_tasks_lines ON appeal_tasks USING gin (lines jsonb_path_ops);
CREATE INDEX appeal_tasks_payer ON appeal_tasks (payer_id);
CREATE INDEX appeal_tasks_assignee ON appeal_tasks (assignee) WHERE assignee IS NOT NULL;

-- When each leader-only timer last ran, so a restart does not run (or skip) a periodic job early.
CREATE TABLE task_timer_runs (
    name           text PRIMARY KEY,
    ran_at         timestamptz NOT NULL,
    business_date  date NOT NULL
);
