-- Core pipeline: inbox, claims and their timeline, remittances, lines, decisions, tasks, outbox, dead letters.
-- Runs on PostgreSQL 15 and later.

CREATE TABLE inbox (
    event_id      text PRIMARY KEY,
    topic         text NOT NULL,
    "partition"   integer,
    "offset"      bigint,
    outcome       text NOT NULL DEFAULT 'applied',  -- applied | duplicate_business_key | batch_status
    processed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE claims (
    claim_id            text PRIMARY KEY,
    patient_key         text,
    state               text NOT NULL DEFAULT 'unknown',
    state_at            timestamptz,
    payer_id            text,
    payer_type          text,
    submission          jsonb,
    submitted_at        timestamptz,
    total_charge        numeric(14, 2),
    service_date_from   date,
    service_date_to     date,
    adjudicated_payers  text[] NOT NULL DEFAULT '{}',
    payer_claim_numbers text[] NOT NULL DEFAULT '{}',
    forwarded           boolean NOT NULL DEFAULT false,
    last_event_at       timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claims_patient_key ON claims (patient_key);

-- Append-only timeline of everything that happened to a claim.
CREATE TABLE claim_events (
    id           bigserial PRIMARY KEY,
    claim_id     text NOT NULL,
    event_id     text NOT NULL,
    kind         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    payer_id     text,
    summary      jsonb NOT NULL DEFAULT '{}',
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, kind)
);
CREATE INDEX claim_events_claim ON claim_events (claim_id, occurred_at);

CREATE TABLE remittances (
    event_id               text PRIMARY KEY,
    claim_id               text NOT NULL,
    payer_id               text NOT NULL,
    payer_type             text NOT NULL,
    payer_claim_number     text,
    status_code            text NOT NULL,
    filing_indicator       text,
    trace_number           text,
    production_date        date NOT NULL,
    total_charge           numeric(14, 2) NOT NULL,
    total_paid             numeric(14, 2) NOT NULL,
    patient_responsibility numeric(14, 2),
    balanced               boolean NOT NULL DEFAULT true,
    business_key           text NOT NULL,
    duplicate_of           text,
    occurred_at            timestamptz NOT NULL,
    recorded_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX remittances_claim ON remittances (claim_id);
-- A file re-sent under new control numbers is recognised by its business key: only one original per key.
CREATE UNIQUE INDEX remittances_business_key ON remittances (business_key) WHERE duplicate_of IS NULL;

CREATE TABLE service_lines (
    event_id        text NOT NULL,
    claim_id        text NOT NULL,
    line_id         text NOT NULL,
    procedure_code  text NOT NULL,
    modifiers       text[] NOT NULL DEFAULT '{}',
    units           numeric(12, 3),
    charge          numeric(14, 2) NOT NULL,
    allowed         numeric(14, 2),
    paid            numeric(14, 2) NOT NULL,
    service_date    date,
    remarks         text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (event_id, line_id)
);
CREATE INDEX service_lines_claim ON service_lines (claim_id);

-- Procedure sessions per patient, from submissions and remittances: the claim history the classifier reads.
CREATE TABLE procedure_history (
    patient_key     text NOT NULL,
    claim_id        text NOT NULL,
    line_id         text NOT NULL,
    service_date    date NOT NULL,
    procedure_code  text NOT NULL,
    modifiers       text[] NOT NULL DEFAULT '{}',
    paid            boolean,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (patient_key, claim_id, line_id)
);
CREATE INDEX procedure_history_patient_date ON procedure_history (patient_key, service_date);

CREATE TABLE decisions (
    id               bigserial PRIMARY KEY,
    event_id         text NOT NULL,
    claim_id         text NOT NULL,
    payer_id         text NOT NULL,
    payer_type       text NOT NULL,
    line_id          text,
    adjustment_index integer NOT NULL,
    group_code       text NOT NULL,
    reason           text NOT NULL,
    amount           numeric(14, 2) NOT NULL,
    remarks          text[] NOT NULL DEFAULT '{}',
    procedure_code   text,
    modifiers        text[] NOT NULL DEFAULT '{}',
    service_date     date,
    category         text NOT NULL,
    is_denial        boolean NOT NULL,
    action           text NOT NULL,
    queue            text,
    appealable       boolean NOT NULL,
    recoverability   real NOT NULL,
    deadline         date,
    deadline_basis   text,
    filing_deadline  date,
    explanation      text NOT NULL,
    rule_id          text NOT NULL,
    rules_version    text NOT NULL,
    checklist        jsonb NOT NULL DEFAULT '[]',
    task_id          text,
    occurred_at      timestamptz NOT NULL,
    decided_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (event_id, line_id, adjustment_index)
);
CREATE INDEX decisions_claim ON decisions (claim_id);
CREATE INDEX decisions_task ON decisions (task_id) WHERE task_id IS NOT NULL;

CREATE TABLE appeal_tasks (
    task_id          text PRIMARY KEY,
    claim_id         text NOT NULL,
    payer_id         text NOT NULL,
    payer_type       text NOT NULL,
    category         text NOT NULL,
    action           text NOT NULL,
    queue            text NOT NULL,
    state            text NOT NULL,
    appealable       boolean NOT NULL,
    amount_at_risk   numeric(14, 2) NOT NULL,
    recovered_amount numeric(14, 2),
    recoverability   real NOT NULL,
    deadline         date,
    deadline_basis   text,
    filing_deadline  date,
    priority         real NOT NULL DEFAULT 0,
    priority_parts   jsonb NOT NULL DEFAULT '{}',
    explanation      text NOT NULL,
    rule_ids         text[] NOT NULL DEFAULT '{}',
    lines            jsonb NOT NULL DEFAULT '[]',
    checklist        jsonb NOT NULL DEFAULT '[]',
    notes            jsonb NOT NULL DEFAULT '[]',
    assignee         text,
    lease_expires_at timestamptz,
    source_event_id  text NOT NULL,
    opened_at        timestamptz NOT NULL,
    last_event_at    timestamptz NOT NULL,
    closed_at        timestamptz,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (claim_id, payer_id, category)
);
CREATE INDEX appeal_tasks_queue ON appeal_tasks (queue, state, priority DESC);

-- Audit: every change of a task, by whom and when.
CREATE TABLE task_events (
    id           bigserial PRIMARY KEY,
    task_id      text NOT NULL REFERENCES appeal_tasks (task_id),
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    change       text NOT NULL,
    from_state   text,
    to_state     text NOT NULL,
    note         text,
    causation_id text,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_events_task ON task_events (task_id, id);
CREATE INDEX task_events_actor ON task_events (actor, at);

-- Transactional outbox: rows written with the work that caused them, published by the relay in id order.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          bytea,
    payload      bytea NOT NULL,
    causation_id text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_causation ON outbox (causation_id);

CREATE TABLE dead_letters (
    id               bigserial PRIMARY KEY,
    dead_letter_id   text NOT NULL UNIQUE,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    source_event_id  text,
    key              bytea,
    value            bytea,
    error_class      text NOT NULL,
    reason           text NOT NULL,
    attempts         integer NOT NULL DEFAULT 1,
    first_failed_at  timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    status           text NOT NULL DEFAULT 'new',  -- new | replayed | resolved
    replayed_at      timestamptz,
    resolved_at      timestamptz,
    note             text
);
CREATE INDEX dead_letters_created ON dead_letters (created_at);

-- 277 records above claim level (information receiver, provider): stored and counted, not dropped.
CREATE TABLE batch_statuses (
    event_id        text PRIMARY KEY,
    kind            text NOT NULL,
    payer_id        text NOT NULL,
    level           text,
    category        text NOT NULL,
    code            text,
    entity          text,
    action_code     text,
    effective_date  date,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE provider_adjustments (
    event_id        text PRIMARY KEY,
    payer_id        text NOT NULL,
    payee_npi       text NOT NULL,
    reason          text NOT NULL,
    reference       text,
    claim_id        text,
    amount          numeric(14, 2) NOT NULL,
    production_date date NOT NULL,
    trace_number    text,
    linked          boolean NOT NULL DEFAULT false,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
