-- The pre-submission check (`denials check`, POST /api/check) and what it reads besides the claim history.

-- The authorization register: prior authorizations the practice obtained (`denials auths import`,
-- POST /api/authorizations). The member id is PHI: only a keyed digest of it (HMAC-SHA256 with
-- DENIALS_PSEUDONYM_KEY) is kept, to match claims and remittances to their authorizations; never the id itself.
CREATE TABLE authorizations (
    id            bigserial PRIMARY KEY,
    payer_id      text NOT NULL,
    member_digest text NOT NULL,
    auth_number   text NOT NULL,
    scope         text NOT NULL,  -- a procedure code, a procedure family or a family group (esi, facet, rfa ...)
    side          text,           -- left | right | bilateral | NULL (any)
    levels        integer,        -- levels per session authorized (NULL: not limited)
    units         integer,        -- units per date authorized (NULL: not limited)
    valid_from    date NOT NULL,
    valid_to      date NOT NULL,
    source        text,           -- the import file or api:<team>
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (payer_id, member_digest, auth_number, scope, valid_from)
);
CREATE INDEX authorizations_member ON authorizations (member_digest);

-- CMS's NCCI procedure-to-procedure edits, as imported from the quarterly practitioner files (`denials ncci import`).
-- deletion: the last day the edit applies (NULL: in force).
CREATE TABLE ncci_ptp (
    column1            text NOT NULL,
    column2            text NOT NULL,
    effective          date NOT NULL,
    deletion           date,
    modifier_indicator text NOT NULL,
    rationale          text NOT NULL DEFAULT '',
    source             text,
    imported_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (column2, column1, effective)
);

-- CMS's medically unlikely edits (practitioner services): the most units of a code per line or per date.
CREATE TABLE ncci_mue (
    code         text PRIMARY KEY,
    max_units    integer NOT NULL,
    adjudication text NOT NULL,  -- 1 per line, 2 per date (policy), 3 per date (clinical)
    rationale    text NOT NULL DEFAULT '',
    source       text,
    imported_at  timestamptz NOT NULL DEFAULT now()
);

-- What the check said about each submission it read against the database: the dashboard compares the denial rate
-- of claims that passed with those it flagged.
CREATE TABLE check_outcomes (
    claim_id   text NOT NULL,
    event_id   text NOT NULL,
    outcome    text NOT NULL,  -- passed | warned | flagged
    denies     integer NOT NULL,
    warnings   integer NOT NULL,
    rule_ids   text[] NOT NULL DEFAULT '{}',
    origin     text NOT NULL,  -- cli | api | demo
    checked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (claim_id, event_id)
);
CREATE INDEX check_outcomes_checked ON check_outcomes (claim_id, checked_at DESC);

-- Prevention feedback turned into check rules: the recurring avoidable causes a user enabled (GET /api/prevention
-- lists them; `denials prevention enable KEY` or POST /api/check/rules enables one).
CREATE TABLE check_prevention_rules (
    key            text PRIMARY KEY,  -- payer:code:condition
    payer_id       text NOT NULL,
    procedure_code text NOT NULL,
    condition      text NOT NULL,
    category       text NOT NULL,
    rule_text      text NOT NULL,
    check_text     text NOT NULL,
    enabled_by     text NOT NULL,
    enabled_at     timestamptz NOT NULL DEFAULT now()
);
