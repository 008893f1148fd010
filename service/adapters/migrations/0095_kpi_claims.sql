-- KPIs at scale: one row per claim holding what the KPIs need of it (docs/kpis.md, `analyse_claim` in
-- service/domain/kpis.py is the reference), so GET /api/kpis aggregates indexed rows instead of loading every claim.
-- Kept in the transaction of the write: statement triggers on the tables the row is derived from mark the claims
-- dirty, and `kpi_claims_refresh_dirty()` recomputes them (the worker's save calls it before committing; the KPI read
-- calls it too, so a writer that does not is still never stale). Timestamps stay timestamps: the office time zone is
-- a setting, applied by the read.

CREATE TABLE kpi_claims (
    claim_id            text PRIMARY KEY,
    payer_id            text,           -- primary payer (first submission's, else the first adjudicating one)
    payer_type          text,
    provider            text,           -- billing NPI, else rendering NPI
    service_date        date,
    codes               text[] NOT NULL DEFAULT '{}',  -- submitted and remitted procedure codes (families: the read)
    first_submitted_at  timestamptz,
    clean               boolean,        -- NULL: no submission on file
    fa_event_id         text,           -- the first adjudication
    fa_production_date  date,
    fa_charge           numeric(14, 2),
    fa_paid             numeric(14, 2),
    fa_denied           boolean NOT NULL DEFAULT false,  -- at least one denial decision on the FA
    fa_denied_amount    numeric(14, 2) NOT NULL DEFAULT 0,
    first_pass          boolean NOT NULL DEFAULT false,
    -- money: standing remittances (reversals cancel what they reverse), every payer's payments, the primary payer's
    -- contractual adjustments and cost share; `*_now` over every remittance, `steps` as of a date
    charge              numeric(14, 2) NOT NULL DEFAULT 0,  -- latest submission's total, else the FA's, else remitted
    paid_now            numeric(14, 2) NOT NULL DEFAULT 0,
    settled_now         numeric(14, 2) NOT NULL DEFAULT 0,  -- primary payer: contractual + patient responsibility
    contractual_now     numeric(14, 2) NOT NULL DEFAULT 0,
    last_production     date,           -- after this date the sums no longer change (NULL: no remittance)
    has_void            boolean NOT NULL DEFAULT false      -- a frequency-8 submission is on file (kpi_claim_voids)
);
CREATE INDEX kpi_claims_fa_day ON kpi_claims (fa_production_date) WHERE fa_event_id IS NOT NULL;
CREATE INDEX kpi_claims_first_submitted ON kpi_claims (first_submitted_at) WHERE first_submitted_at IS NOT NULL;

-- The FA's denial decisions summed by cause (the cause breakdown and the payer x cause matrix).
CREATE TABLE kpi_claim_denials (
    claim_id  text NOT NULL,
    category  text NOT NULL,
    amount    numeric(14, 2) NOT NULL,
    PRIMARY KEY (claim_id, category)
);
CREATE INDEX kpi_claim_denials_category ON kpi_claim_denials (category);

-- The standing sums as of each production date of the claim (A/R at a date before `last_production`).
CREATE TABLE kpi_claim_steps (
    claim_id  text NOT NULL,
    day       date NOT NULL,
    paid      numeric(14, 2) NOT NULL,
    settled   numeric(14, 2) NOT NULL,
    contractual numeric(14, 2) NOT NULL,
    PRIMARY KEY (claim_id, day)
);

-- Voids: the frequency-8 submission at `void_at` is the latest on file until the next submission (`next_at`).
CREATE TABLE kpi_claim_voids (
    claim_id  text NOT NULL,
    void_at   timestamptz NOT NULL,
    next_at   timestamptz
);
CREATE INDEX kpi_claim_voids_claim ON kpi_claim_voids (claim_id);

-- Every set of codes a claim has (sorted, as kpi_claims.codes): the read maps these few sets to CPT families
-- instead of every claim's codes.
CREATE TABLE kpi_code_sets (codes text[] PRIMARY KEY);

CREATE TABLE kpi_claims_dirty (claim_id text PRIMARY KEY);

-- A 277CA rejects when its claim-level category, or a line status's category, is A3, A6, A7 or A8.
CREATE FUNCTION kpi_ack_rejected(summary jsonb) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(summary->>'category' IN ('A3', 'A6', 'A7', 'A8'), false) OR EXISTS (
        SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(summary->'line_statuses') = 'array'
                                                THEN summary->'line_statuses' ELSE '[]'::jsonb END) AS x
        WHERE jsonb_typeof(x) = 'string' AND split_part(x #>> '{}', ':', 1) IN ('A3', 'A6', 'A7', 'A8'))
$$;

-- The claim's remittances standing at `as_of` (NULL: all), as `effective_remittances` decides: in event order, a
-- reversal (CLP02 22) removes the latest earlier standing adjudication of its payer (same payer claim number when
-- both carry one), preferring one whose amounts it negates exactly; with nothing to cancel it stands itself.
CREATE FUNCTION kpi_standing(cid text, as_of date) RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
    r record;
    standing text[] := '{}';
    chosen text;
BEGIN
    FOR r IN SELECT x.event_id, x.payer_id, x.status_code, x.payer_claim_number, x.total_charge, x.total_paid
             FROM remittances x
             WHERE x.claim_id = cid AND x.duplicate_of IS NULL AND (as_of IS NULL OR x.production_date <= as_of)
             ORDER BY x.occurred_at, x.production_date, x.event_id COLLATE "C" LOOP
        IF r.status_code <> '22' THEN
            standing := standing || r.event_id;
            CONTINUE;
        END IF;
        chosen := NULL;
        SELECT u.event_id INTO chosen
        FROM unnest(standing) WITH ORDINALITY AS u(event_id, n) JOIN remittances x ON x.event_id = u.event_id
        WHERE x.status_code <> '22' AND x.payer_id = r.payer_id
          AND (r.payer_claim_number IS NULL OR x.payer_claim_number IS NULL
               OR x.payer_claim_number = r.payer_claim_number)
        ORDER BY (x.total_paid = -r.total_paid AND x.total_charge = -r.total_charge) DESC, u.n DESC
        LIMIT 1;
        IF chosen IS NULL THEN
            standing := standing || r.event_id;
        ELSE
            standing := array_remove(standing, chosen);
        END IF;
    END LOOP;
    RETURN QUERY SELECT unnest(standing);
END
$$;

-- Recompute the rows of these claims (NULL: every claim). Orders compare event ids bytewise (COLLATE "C"), as
-- Python compares strings.
CREATE FUNCTION kpi_claims_refresh(ids text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM kpi_claim_denials WHERE ids IS NULL OR claim_id = ANY(ids);
    DELETE FROM kpi_claim_steps WHERE ids IS NULL OR claim_id = ANY(ids);
    DELETE FROM kpi_claim_voids WHERE ids IS NULL OR claim_id = ANY(ids);
    DELETE FROM kpi_claims WHERE ids IS NULL OR claim_id = ANY(ids);
    INSERT INTO kpi_claims (claim_id, payer_id, payer_type, provider, service_date, codes, first_submitted_at, clean,
                            fa_event_id, fa_production_date, fa_charge, fa_paid, fa_denied, fa_denied_amount,
                            first_pass)
    SELECT c.claim_id, pp.payer_id, pt.payer_type,
           COALESCE(NULLIF(c.submission->>'billing_npi', ''), NULLIF(c.submission->>'rendering_npi', '')),
           COALESCE(c.service_date_from, l.first_service_date),
           ARRAY(SELECT DISTINCT code FROM (
                     SELECT x->>'code' AS code FROM jsonb_array_elements(
                         CASE WHEN jsonb_typeof(c.submission->'lines') = 'array' THEN c.submission->'lines'
                              ELSE '[]'::jsonb END) AS x
                     UNION ALL SELECT unnest(l.codes)) AS u
                 WHERE code IS NOT NULL AND code <> '' ORDER BY code),
           fs.occurred_at,
           CASE WHEN fs.occurred_at IS NOT NULL THEN NOT EXISTS (
               SELECT 1 FROM claim_events a
               WHERE a.claim_id = c.claim_id AND a.kind = 'acknowledgement' AND a.occurred_at >= fs.occurred_at
                 AND (nx.at IS NULL OR a.occurred_at < nx.at) AND kpi_ack_rejected(a.summary)) END,
           fa.event_id, fa.production_date, fa.total_charge, fa.total_paid,
           COALESCE(d.n, 0) > 0, COALESCE(d.amount, 0),
           fa.event_id IS NOT NULL AND fa.total_paid > 0 AND COALESCE(d.n, 0) = 0 AND NOT (
               fs.occurred_at IS NOT NULL AND EXISTS (
                   SELECT 1 FROM claim_events a
                   WHERE a.claim_id = c.claim_id AND a.kind = 'acknowledgement' AND a.occurred_at >= fs.occurred_at
                     AND a.occurred_at < fa.occurred_at AND kpi_ack_rejected(a.summary)))
    FROM claims c
    LEFT JOIN LATERAL (SELECT array_agg(DISTINCT s.procedure_code) AS codes, min(s.service_date) AS first_service_date
                       FROM service_lines s WHERE s.claim_id = c.claim_id) l ON true
    LEFT JOIN LATERAL (SELECT e.occurred_at, e.payer_id FROM claim_events e
                       WHERE e.claim_id = c.claim_id AND e.kind = 'submitted'
                       ORDER BY e.occurred_at, e.id LIMIT 1) fs ON true
    LEFT JOIN LATERAL (SELECT min(e.occurred_at) AS at FROM claim_events e
                       WHERE e.claim_id = c.claim_id AND e.kind = 'submitted'
                         AND e.occurred_at > fs.occurred_at) nx ON true
    LEFT JOIN LATERAL (SELECT r.payer_id FROM remittances r
                       WHERE r.claim_id = c.claim_id AND r.duplicate_of IS NULL AND r.status_code NOT IN ('22', '25')
                       ORDER BY r.status_code IN ('2', '3', '20', '21'), r.occurred_at, r.production_date,
                                r.event_id COLLATE "C"
                       LIMIT 1) ap ON fs.occurred_at IS NULL
    CROSS JOIN LATERAL (SELECT CASE WHEN fs.occurred_at IS NOT NULL THEN fs.payer_id
                                    ELSE COALESCE(ap.payer_id, c.payer_id) END AS payer_id) pp
    LEFT JOIN LATERAL (SELECT COALESCE(
                           (SELECT r.payer_type FROM remittances r
                            WHERE r.claim_id = c.claim_id AND r.duplicate_of IS NULL
                              AND r.status_code NOT IN ('22', '25') AND r.payer_id = pp.payer_id
                            ORDER BY r.occurred_at, r.production_date, r.event_id COLLATE "C" LIMIT 1),
                           CASE WHEN pp.payer_id IS NOT DISTINCT FROM c.payer_id THEN c.payer_type END)
                           AS payer_type) pt ON true
    LEFT JOIN LATERAL (SELECT r.event_id, r.production_date, r.total_charge, r.total_paid, r.occurred_at
                       FROM remittances r
                       WHERE r.claim_id = c.claim_id AND r.duplicate_of IS NULL
                         AND r.status_code NOT IN ('22', '25') AND r.payer_id = pp.payer_id
                       ORDER BY r.occurred_at, r.production_date, r.event_id COLLATE "C" LIMIT 1) fa ON true
    LEFT JOIN LATERAL (SELECT count(*) AS n, sum(x.amount) AS amount FROM decisions x
                       WHERE x.event_id = fa.event_id AND x.is_denial) d ON true
    WHERE ids IS NULL OR c.claim_id = ANY(ids);

    INSERT INTO kpi_code_sets (codes)
    SELECT DISTINCT codes FROM kpi_claims WHERE ids IS NULL OR claim_id = ANY(ids) ORDER BY codes
    ON CONFLICT (codes) DO NOTHING;

    INSERT INTO kpi_claim_denials (claim_id, category, amount)
    SELECT k.claim_id, x.category, sum(x.amount)
    FROM kpi_claims k JOIN decisions x ON x.event_id = k.fa_event_id AND x.is_denial
    WHERE ids IS NULL OR k.claim_id = ANY(ids)
    GROUP BY k.claim_id, x.category;

    -- the standing sums at each production date of the claim; the last one is `*_now`
    INSERT INTO kpi_claim_steps (claim_id, day, paid, settled, contractual)
    WITH parts AS (  -- each remittance's part (its decisions summed as the KPI read sums them)
        SELECT r.claim_id, r.event_id, r.production_date, r.status_code, r.total_paid AS paid,
               CASE WHEN r.payer_id = k.payer_id THEN COALESCE(d.contractual, 0) + COALESCE(d.cost_share, 0)
                    ELSE 0 END AS settled,
               CASE WHEN r.payer_id = k.payer_id THEN COALESCE(d.contractual, 0) ELSE 0 END AS contractual,
               bool_or(r.status_code = '22') OVER (PARTITION BY r.claim_id) AS reversed
        FROM kpi_claims k
        JOIN remittances r ON r.claim_id = k.claim_id AND r.duplicate_of IS NULL
        LEFT JOIN LATERAL (SELECT sum(x.amount) FILTER (WHERE x.category = 'contractual') AS contractual,
                                  sum(x.amount) FILTER (WHERE x.category = 'patient_responsibility') AS cost_share
                           FROM decisions x WHERE x.event_id = r.event_id AND NOT x.is_denial) d ON true
        WHERE ids IS NULL OR k.claim_id = ANY(ids)
    )
    -- without a reversal, everything produced by a date stands at that date
    SELECT claim_id, production_date, sum(sum(paid)) OVER w, sum(sum(settled)) OVER w, sum(sum(contractual)) OVER w
    FROM parts WHERE NOT reversed
    GROUP BY claim_id, production_date
    WINDOW w AS (PARTITION BY claim_id ORDER BY production_date)
    UNION ALL
    -- with one, what `kpi_standing` leaves at each date
    SELECT days.claim_id, days.production_date, COALESCE(sum(p.paid), 0), COALESCE(sum(p.settled), 0),
           COALESCE(sum(p.contractual), 0)
    FROM (SELECT DISTINCT claim_id, production_date FROM parts WHERE reversed) days
    LEFT JOIN LATERAL kpi_standing(days.claim_id, days.production_date) AS st(event_id) ON true
    LEFT JOIN parts p ON p.event_id = st.event_id
    GROUP BY days.claim_id, days.production_date;

    UPDATE kpi_claims k SET paid_now = n.paid, settled_now = n.settled, contractual_now = n.contractual,
                            last_production = n.day
    FROM (SELECT DISTINCT ON (claim_id) claim_id, day, paid, settled, contractual FROM kpi_claim_steps
          WHERE ids IS NULL OR claim_id = ANY(ids) ORDER BY claim_id, day DESC) n
    WHERE k.claim_id = n.claim_id;

    UPDATE kpi_claims k SET charge = COALESCE(c.total_charge, k.fa_charge,
                                              (SELECT max(r.total_charge) FROM remittances r
                                               WHERE r.claim_id = k.claim_id AND r.duplicate_of IS NULL), 0)
    FROM claims c
    WHERE c.claim_id = k.claim_id AND (ids IS NULL OR k.claim_id = ANY(ids));

    INSERT INTO kpi_claim_voids (claim_id, void_at, next_at)
    SELECT claim_id, occurred_at, next_at
    FROM (SELECT e.claim_id, e.occurred_at, COALESCE(NULLIF(e.summary->>'frequency_code', ''), '1') AS frequency_code,
                 lead(e.occurred_at) OVER (PARTITION BY e.claim_id ORDER BY e.occurred_at, e.id) AS next_at
          FROM claim_events e
          WHERE e.kind = 'submitted' AND (ids IS NULL OR e.claim_id = ANY(ids))) s
    WHERE frequency_code = '8' AND EXISTS (SELECT 1 FROM kpi_claims k WHERE k.claim_id = s.claim_id);
    UPDATE kpi_claims k SET has_void = true
    WHERE (ids IS NULL OR k.claim_id = ANY(ids))
      AND EXISTS (SELECT 1 FROM kpi_claim_voids v WHERE v.claim_id = k.claim_id);
END
$$;

-- Recompute the claims marked dirty (by this transaction or a committed one) and clear the marks.
CREATE FUNCTION kpi_claims_refresh_dirty() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    ids text[];
BEGIN
    WITH gone AS (DELETE FROM kpi_claims_dirty RETURNING claim_id)
    SELECT array_agg(claim_id ORDER BY claim_id) INTO ids FROM gone;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM kpi_claims_refresh(ids);
    RETURN cardinality(ids);
END
$$;

-- Recompute these claims now (the worker's batch, before it commits) and clear their marks; other marks wait.
CREATE FUNCTION kpi_claims_refresh_claims(ids text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM kpi_claims_dirty WHERE claim_id = ANY(ids);
    PERFORM kpi_claims_refresh(ids);
END
$$;

CREATE FUNCTION kpi_claims_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_claims_dirty (claim_id)
    SELECT DISTINCT claim_id FROM changed WHERE claim_id IS NOT NULL ORDER BY claim_id
    ON CONFLICT (claim_id) DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER kpi_claims_insert AFTER INSERT ON claims REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();
CREATE TRIGGER kpi_claims_update AFTER UPDATE ON claims REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();
CREATE TRIGGER kpi_claim_events_insert AFTER INSERT ON claim_events REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();
CREATE TRIGGER kpi_remittances_insert AFTER INSERT ON remittances REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();
CREATE TRIGGER kpi_remittances_update AFTER UPDATE ON remittances REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();
CREATE TRIGGER kpi_service_lines_insert AFTER INSERT ON service_lines REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();
CREATE TRIGGER kpi_decisions_insert AFTER INSERT ON decisions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();
CREATE TRIGGER kpi_decisions_update AFTER UPDATE ON decisions REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_claims_mark();

-- Backfill: every claim already on file.
SELECT kpi_claims_refresh(NULL);
