"""The KPI report summed by PostgreSQL (asyncpg): the same numbers as `service.domain.kpis.build_report` over the facts
`service.adapters.kpis.read_facts` reads, without loading a claim into Python.

Every claim's analysis (`analyse_claim`: primary payer, first adjudication and its denials, clean and first-pass
flags, standing payments and adjustments, the A/R sums at each production date, voids) is kept in `kpi_claims` and
its side tables by migration 0095 in the transaction of the write. Here each part of the report is one aggregate
over those rows (claims) or over `appeal_tasks` (tasks), grouped the way `build_report` groups them; the domain's own
`ratio`, `money` and `Kpi` turn the sums into the report, so rounding is the reference's.

Scope and filters are the reference's: with `queues`, the claims that have a task in one of them and those queues'
tasks only; `payer` keeps claims of that primary payer and tasks of that payer, `cpt_family` / `provider` keep claims
by their procedures / NPI and the tasks of those claims, `category` narrows the denial side.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from service.adapters.kpis import Fetcher
from service.domain.kpis import (
    AGING_BUCKETS,
    AR_WINDOW_DAYS,
    NO_FAMILY,
    UNKNOWN,
    ZERO,
    AgingBucket,
    ClaimTotals,
    Filters,
    Group,
    Kpi,
    KpiReport,
    KpiSet,
    PayerCause,
    Period,
    TrendPoint,
    assemble_kpi_set,
    money,
)

# Parameters shared by every statement below.
#  $1 office time zone  $2 period start  $3 period end  $4 A/R date  $5 queues (NULL: all)  $6 payer  $7 cpt family
#  $8 provider  $9 category  $10 catalog codes  $11 their families

# (a marker: the statement has one text without a scope and one with, `_scoped`, because PostgreSQL turns `IN
# (SELECT ...)` into a join only when nothing else is ORed with it, before it folds `$5 IS NULL` away)
_SCOPE = "/*scope*/"
_SCOPED = "k.claim_id IN (SELECT s.claim_id FROM appeal_tasks s WHERE s.queue = ANY($5::text[]))"


def _scoped(sql: str) -> dict[bool, str]:
    """The statement's text for reads of the whole practice (False) and of a team's queues (True)."""
    return {False: sql.replace(_SCOPE, "true"), True: sql.replace(_SCOPE, _SCOPED)}



# `params` types every parameter, whichever a statement uses; `catalog` is the procedure catalog as a relation (codes
# upper-cased, as ProcedureCatalog.get looks them up).
_CATALOG = """params AS (SELECT $1::text, $2::date, $3::date, $4::date, $5::text[], $6::text, $7::text, $8::text,
                      $9::text),
catalog AS (SELECT * FROM unnest($10::text[], $11::text[]) AS m(code, family))"""

# The CPT families of each set of codes claims have (a claim's `codes` is one of these sets).
_FAMILIES = """code_families AS (
    SELECT s.codes, COALESCE(array_agg(DISTINCT m.family ORDER BY m.family) FILTER (WHERE m.family IS NOT NULL),
                             '{}') AS families
    FROM kpi_code_sets s CROSS JOIN LATERAL unnest(s.codes) AS c(code) LEFT JOIN catalog m ON m.code = upper(c.code)
    GROUP BY s.codes
    UNION ALL SELECT s.codes, '{}' FROM kpi_code_sets s WHERE cardinality(s.codes) = 0
)"""

_CLAIM_FILTERS = """($6::text IS NULL OR k.payer_id = $6)
    AND ($7::text IS NULL OR $7 = ANY(cf.families))
    AND ($8::text IS NULL OR k.provider = $8)"""

# The claim filters by the claim's set of codes rather than its families (no join a claim when no family is asked).
_CODES_FILTERS = """($6::text IS NULL OR k.payer_id = $6)
    AND ($7::text IS NULL OR k.codes IN (SELECT cf.codes FROM code_families cf WHERE $7 = ANY(cf.families)))
    AND ($8::text IS NULL OR k.provider = $8)"""

# One row per claim in scope that passes the filters, with what the KPI sums need of it.
_VIEWS = """views AS (
    SELECT k.claim_id, k.payer_id, k.payer_type, COALESCE(k.provider, '""" + UNKNOWN + """') AS provider_key,
           k.fa_event_id IS NOT NULL AND ($2::date IS NULL OR k.fa_production_date >= $2)
               AND ($3::date IS NULL OR k.fa_production_date <= $3) AS in_cohort,
           k.fa_production_date, k.fa_charge, k.first_pass,
           CASE WHEN $9::text IS NULL THEN k.fa_denied ELSE d.claim_id IS NOT NULL END AS denied,
           CASE WHEN $9::text IS NULL THEN k.fa_denied_amount ELSE COALESCE(d.amount, 0) END AS denied_amount,
           -- the office date of the first submission in the period, as instants (one comparison a claim)
           k.first_submitted_at IS NOT NULL
               AND ($2::date IS NULL OR k.first_submitted_at >= ($2::date::timestamp AT TIME ZONE $1))
               AND ($3::date IS NULL OR k.first_submitted_at < (($3::date + 1)::timestamp AT TIME ZONE $1))
               AS in_subs,
           k.clean, k.paid_now, k.fa_charge - k.contractual_now AS collectible, k.charge,
           $4::date - k.service_date AS age,
           k.codes,
           CASE WHEN k.service_date IS NOT NULL AND k.service_date <= $4 AND NOT (k.has_void AND EXISTS (
                     SELECT 1 FROM kpi_claim_voids x
                     WHERE x.claim_id = k.claim_id AND (x.void_at AT TIME ZONE $1)::date <= $4
                       AND (x.next_at IS NULL OR (x.next_at AT TIME ZONE $1)::date > $4)))
                THEN LEAST(GREATEST(k.charge
                                    - CASE WHEN k.last_production IS NULL OR k.last_production <= $4 THEN k.paid_now
                                           ELSE COALESCE(st.paid, 0) END
                                    - CASE WHEN k.last_production IS NULL OR k.last_production <= $4
                                           THEN k.settled_now ELSE COALESCE(st.settled, 0) END
                                    - COALESCE(wo.amount, 0), 0), GREATEST(k.charge, 0)) END AS balance
    FROM kpi_claims k
    LEFT JOIN kpi_claim_denials d ON d.claim_id = k.claim_id AND d.category = $9
    LEFT JOIN LATERAL (SELECT s.paid, s.settled FROM kpi_claim_steps s
                       WHERE k.last_production > $4 AND s.claim_id = k.claim_id AND s.day <= $4
                       ORDER BY s.day DESC LIMIT 1) st ON true
    LEFT JOIN written_off wo ON wo.claim_id = k.claim_id
    WHERE """ + _SCOPE + " AND " + _CODES_FILTERS + """
)"""

# Tasks of the scope written off by the A/R date, per claim (they leave the balance).
_WRITTEN_OFF = """written_off AS (
    SELECT t.claim_id, sum(t.amount_at_risk) AS amount FROM appeal_tasks t
    WHERE t.state = 'written_off' AND t.closed_at IS NOT NULL AND (t.closed_at AT TIME ZONE $1)::date <= $4
      AND ($5::text[] IS NULL OR t.queue = ANY($5::text[]))
    GROUP BY t.claim_id
)"""

_BUCKETS = ",\n".join(
    f"count(*) FILTER (WHERE balance > 0 AND age >= {low}{f' AND age <= {high}' if high is not None else ''}) "
    f"AS b{i}_n, COALESCE(sum(balance) FILTER (WHERE balance > 0 AND age >= {low}"
    f"{f' AND age <= {high}' if high is not None else ''}), 0) AS b{i}_a"
    for i, (_, low, high) in enumerate(AGING_BUCKETS))

_CLAIM_SUMS = f"""
    count(*) FILTER (WHERE in_cohort) AS adjudicated,
    COALESCE(sum(fa_charge) FILTER (WHERE in_cohort), 0) AS charges,
    count(*) FILTER (WHERE in_cohort AND denied) AS denied_claims,
    COALESCE(sum(denied_amount) FILTER (WHERE in_cohort), 0) AS denied_amount,
    count(*) FILTER (WHERE in_cohort AND first_pass) AS first_pass,
    count(*) FILTER (WHERE in_subs) AS submitted,
    count(*) FILTER (WHERE in_subs AND clean) AS clean,
    COALESCE(sum(paid_now) FILTER (WHERE in_cohort), 0) AS payments,
    COALESCE(sum(collectible) FILTER (WHERE in_cohort), 0) AS collectible,
    COALESCE(sum(balance), 0) AS balance,
    COALESCE(sum(charge) FILTER (WHERE balance IS NOT NULL AND age < {AR_WINDOW_DAYS}), 0) AS charges_90,
    {_BUCKETS}"""

_WITH = "WITH " + ",\n".join((_CATALOG, _FAMILIES, _WRITTEN_OFF, _VIEWS))

_SUM_NAMES = ("adjudicated", "charges", "denied_claims", "denied_amount", "first_pass", "submitted", "clean",
              "payments", "collectible", "balance", "charges_90",
              *(f"b{i}_{x}" for i in range(len(AGING_BUCKETS)) for x in ("n", "a")))


def _padded(**values: str) -> str:
    """The claim sums' columns with these expressions, 0 for the others (a UNION ALL branch of another shape)."""
    return ", ".join(f"{values.get(name, '0')} AS {name}" for name in _SUM_NAMES)


# Every part of the report that sums claims, in one statement that reads each claim once: `views` (computed once a
# claim, behind OFFSET 0, so that no aggregate re-evaluates its expressions) is summed in one pass into two groupings,
# the cells (primary payer, payer type, provider, first-adjudication month: a few thousand for a million claims) and
# the sets of codes (a few hundred); the practice, payer, provider and month groups sum the cells, the family groups
# sum the code sets (a set in each of its families). The cohort's first-adjudication denials by primary payer and cause
# (the matrix and the causes' numerators) join the denial rows to the cohort's claims.
_CELL_SUMS = ", ".join(f"sum({name}) AS {name}" for name in _SUM_NAMES)
# (`views` behind OFFSET 0: its columns are computed once a claim, not once an aggregate that reads them)
_FENCED = "WITH " + ",\n".join((_CATALOG, _FAMILIES, _WRITTEN_OFF, _VIEWS.removesuffix("\n)") + "\n    OFFSET 0\n)"))
_CLAIM_PARTS_SQL = _FENCED + f""",
sums AS MATERIALIZED (
    SELECT GROUPING(codes) = 0 AS by_codes, payer_id, payer_type, provider_key, codes,
           CASE WHEN in_cohort THEN date_trunc('month', fa_production_date)::date END AS fa_month,
           min(fa_production_date) FILTER (WHERE in_cohort) AS first_day,
           max(fa_production_date) FILTER (WHERE in_cohort) AS last_day,
           {_CLAIM_SUMS}
    FROM views GROUP BY GROUPING SETS ((payer_id, payer_type, provider_key, 6), (codes))
),
cells AS (SELECT * FROM sums WHERE NOT by_codes)
SELECT CASE WHEN GROUPING(payer_id) = 0 THEN 'payer' WHEN GROUPING(provider_key) = 0 THEN 'provider'
            ELSE 'total' END AS dim,
       CASE WHEN GROUPING(payer_id) = 0 THEN payer_id WHEN GROUPING(provider_key) = 0 THEN provider_key
            ELSE '' END AS key,
       NULL::text AS category, max(payer_type) AS payer_type, NULL::date AS first_day, NULL::date AS last_day,
       {_CELL_SUMS}
FROM cells GROUP BY GROUPING SETS ((), (payer_id), (provider_key))
UNION ALL
SELECT 'family', fam, NULL, NULL, NULL, NULL, {_CELL_SUMS}
FROM sums c LEFT JOIN code_families cf ON cf.codes = c.codes
CROSS JOIN LATERAL unnest(CASE WHEN cardinality(cf.families) > 0 THEN cf.families
                               ELSE ARRAY['{NO_FAMILY}'] END) AS f(fam)
WHERE c.by_codes
GROUP BY fam
UNION ALL
SELECT 'month', to_char(fa_month, 'YYYY-MM'), NULL, NULL, min(first_day), max(last_day), {_CELL_SUMS}
FROM cells WHERE fa_month IS NOT NULL GROUP BY fa_month
UNION ALL
SELECT 'payer_cause', COALESCE(k.payer_id, '{UNKNOWN}'), d.category, NULL, NULL, NULL,
       {_padded(adjudicated="count(*)", denied_amount="sum(d.amount)")}
FROM kpi_claims k JOIN kpi_claim_denials d ON d.claim_id = k.claim_id
WHERE k.fa_event_id IS NOT NULL AND ($2::date IS NULL OR k.fa_production_date >= $2)
  AND ($3::date IS NULL OR k.fa_production_date <= $3) AND ($9::text IS NULL OR d.category = $9)
  AND {_SCOPE} AND {_CODES_FILTERS}
GROUP BY 2, 3
"""
_CLAIM_PARTS = _scoped(_CLAIM_PARTS_SQL)

# The tasks of the scope that pass the filters, with their claim's keys and whether the claim is in the cohort.
_TASKS = """tasks AS (
    SELECT t.task_id, t.claim_id, t.payer_id, t.category, t.state, t.amount_at_risk,
           COALESCE(t.recovered_amount, 0) AS recovered, COALESCE(t.recouped_amount, 0) AS recouped,
           (t.opened_at AT TIME ZONE $1)::date AS opened_on, (t.closed_at AT TIME ZONE $1)::date AS closed_on,
           (se.at AT TIME ZONE $1)::date AS submitted_on,
           CASE WHEN cardinality(cf.families) > 0 THEN cf.families ELSE ARRAY['""" + NO_FAMILY + """'] END
               AS family_keys,
           k.payer_id AS claim_payer, COALESCE(k.provider, '""" + UNKNOWN + """')
               AS provider_key,
           k.fa_event_id IS NOT NULL AND ($2::date IS NULL OR k.fa_production_date >= $2)
               AND ($3::date IS NULL OR k.fa_production_date <= $3)
               AND ($6::text IS NULL OR k.payer_id = $6) AS claim_in_cohort
    FROM appeal_tasks t
    -- each task's first submission, summed once for all tasks (one probe a task cost 4 of 17 s at a million claims)
    LEFT JOIN (SELECT e.task_id, min(e.at) AS at FROM task_events e WHERE e.to_state = 'submitted'
               GROUP BY e.task_id) se ON se.task_id = t.task_id
    LEFT JOIN kpi_claims k ON k.claim_id = t.claim_id
    LEFT JOIN code_families cf ON cf.codes = k.codes
    WHERE ($5::text[] IS NULL OR t.queue = ANY($5::text[])) AND ($6::text IS NULL OR t.payer_id = $6)
      AND ($9::text IS NULL OR t.category = $9)
      AND (($7::text IS NULL AND $8::text IS NULL) OR (k.claim_id IS NOT NULL AND """ + _CLAIM_FILTERS + """))
)"""

_IN = "($2::date IS NULL OR {d} >= $2) AND ($3::date IS NULL OR {d} <= $3)"
_TASK_SUMS_TEMPLATE = f"""
    count(*) FILTER (WHERE state = 'won' AND {_IN.format(d='closed_on')}) AS won,
    count(*) FILTER (WHERE state = 'lost' AND {_IN.format(d='closed_on')}) AS lost,
    COALESCE(sum(recovered) FILTER (WHERE state = 'won' AND {_IN.format(d='closed_on')}), 0) AS recovered,
    COALESCE(sum(recouped) FILTER (WHERE state = 'won' AND {_IN.format(d='closed_on')}), 0) AS recouped,
    @WRITE_OFFS@ AS write_offs,
    count(*) FILTER (WHERE submitted_on IS NOT NULL AND {_IN.format(d='submitted_on')}) AS appeal_n,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY submitted_on - opened_on)
        FILTER (WHERE submitted_on IS NOT NULL AND {_IN.format(d='submitted_on')}) AS appeal_median,
    count(*) FILTER (WHERE closed_on IS NOT NULL AND state IN ('won', 'lost', 'written_off', 'resolved')
                     AND {_IN.format(d='closed_on')}) AS resolution_n,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY closed_on - opened_on)
        FILTER (WHERE closed_on IS NOT NULL AND state IN ('won', 'lost', 'written_off', 'resolved')
                AND {_IN.format(d='closed_on')}) AS resolution_median"""

# The practice, payer, provider and cause groups in one pass over the tasks (GROUPING SETS), the family groups in a
# second (a task in each family of its claim). A payer's write-offs count only the tasks whose claim has that primary
# payer.
_WRITE_OFFS = "sum(amount_at_risk) FILTER (WHERE state = 'written_off' AND claim_in_cohort{})"
_OWN_WRITE_OFFS = _WRITE_OFFS.format(" AND claim_payer IS NOT DISTINCT FROM payer_id")


def _task_sums(write_offs: str) -> str:
    return _TASK_SUMS_TEMPLATE.replace("@WRITE_OFFS@", write_offs)


_TASK_GROUPS = "WITH " + ",\n".join((_CATALOG, _FAMILIES, _TASKS)) + f"""
SELECT CASE WHEN GROUPING(payer_id) = 0 THEN 'payer' WHEN GROUPING(provider_key) = 0 THEN 'provider'
            WHEN GROUPING(category) = 0 THEN 'cause' ELSE 'total' END AS dim,
       CASE WHEN GROUPING(payer_id) = 0 THEN payer_id WHEN GROUPING(provider_key) = 0 THEN provider_key
            WHEN GROUPING(category) = 0 THEN category ELSE '' END AS key,
       {_task_sums(f"COALESCE(CASE WHEN GROUPING(payer_id) = 0 THEN {_OWN_WRITE_OFFS} "
                   f"ELSE {_WRITE_OFFS.format('')} END, 0)")}
FROM tasks GROUP BY GROUPING SETS ((), (payer_id), (provider_key), (category))
UNION ALL
SELECT 'family', fam, {_task_sums(f"COALESCE({_WRITE_OFFS.format('')}, 0)")}
FROM tasks t CROSS JOIN LATERAL unnest(family_keys) AS f(fam) GROUP BY fam
"""

# The cohort's claims per month of first adjudication, alone (the trend's claim side, for a read of the trend only:
# the same numbers as the `month` rows of `_CLAIM_PARTS`, without the A/R and the groups).
_TREND_CLAIMS = _scoped("WITH " + ",\n".join((_CATALOG, _FAMILIES)) + """
SELECT to_char(k.fa_production_date, 'YYYY-MM') AS key, count(*) AS adjudicated,
       COALESCE(sum(k.fa_charge), 0) AS charges,
       count(*) FILTER (WHERE CASE WHEN $9::text IS NULL THEN k.fa_denied ELSE d.claim_id IS NOT NULL END)
           AS denied_claims,
       COALESCE(sum(CASE WHEN $9::text IS NULL THEN k.fa_denied_amount ELSE COALESCE(d.amount, 0) END), 0)
           AS denied_amount,
       min(k.fa_production_date) AS first_day, max(k.fa_production_date) AS last_day
FROM kpi_claims k
LEFT JOIN kpi_claim_denials d ON d.claim_id = k.claim_id AND d.category = $9
WHERE k.fa_event_id IS NOT NULL AND ($2::date IS NULL OR k.fa_production_date >= $2)
  AND ($3::date IS NULL OR k.fa_production_date <= $3) AND """ + _SCOPE + " AND " + _CODES_FILTERS + """
GROUP BY 1
""")

# Tasks won or lost per month of outcome (the trend's overturns).
_TREND_TASKS = "WITH " + ",\n".join((_CATALOG, _FAMILIES, _TASKS)) + f"""
SELECT to_char(closed_on, 'YYYY-MM') AS month, count(*) FILTER (WHERE state = 'won') AS won,
       count(*) FILTER (WHERE state = 'lost') AS lost, min(closed_on) AS first_day, max(closed_on) AS last_day
FROM tasks WHERE state IN ('won', 'lost') AND closed_on IS NOT NULL AND {_IN.format(d='closed_on')}
GROUP BY 1
"""


_REFRESH = "SELECT kpi_claims_refresh_dirty()"
_SETTINGS = (
    # the groupings hash every claim of the period: in memory rather than in temporary files
    "SET LOCAL work_mem = '64MB'",
    # ... and hashed at all: PostgreSQL hashes grouping sets only when it expects the tables to fit in hash_mem, and
    # it expects ~100,000 cells at a million claims (the product of the keys' distinct values) where there are
    # ~3,500 (20 MB). At 128 MB it sorted the million claims on disk instead (17 of 36 s of the read). A hash table
    # that outgrows hash_mem spills to disk, so this is a ceiling, not a reservation.
    "SET LOCAL hash_mem_multiplier = 8",
    # plan for the actual parameters: a generic plan cannot drop the filters a request leaves out (`$6 IS NULL OR
    # ...`) and, once the prepared statement switches to one, a request took minutes instead of seconds
    "SET LOCAL plan_cache_mode = force_custom_plan",
)


def _count(value: Any) -> int:
    return int(value or 0)


def _decimal(value: Any) -> Decimal:
    return value if value is not None else ZERO


_NO_TASKS: dict[str, Any] = {"won": 0, "lost": 0, "recovered": ZERO, "recouped": ZERO, "write_offs": ZERO,
                             "appeal_n": 0, "appeal_median": None, "resolution_n": 0, "resolution_median": None}
_NO_CLAIMS: dict[str, Any] = {"adjudicated": 0, "charges": ZERO, "denied_claims": 0, "denied_amount": ZERO,
                              "first_pass": 0, "submitted": 0, "clean": 0, "payments": ZERO, "collectible": ZERO,
                              "balance": ZERO, "charges_90": ZERO,
                              **{f"b{i}_{x}": 0 if x == "n" else ZERO for i in range(len(AGING_BUCKETS))
                                 for x in ("n", "a")}}


def _median(n: int, value: float | None) -> Kpi:
    return Kpi(float(value) if n else None, None, n, "days")


def kpi_set_of(c: Mapping[str, Any], t: Mapping[str, Any], *, cause_only: bool = False) -> KpiSet:
    """A KpiSet from a group's claim sums `c` and task sums `t` (the arithmetic is the domain's `assemble_kpi_set`)."""
    totals = None if cause_only else ClaimTotals(
        first_pass=_count(c["first_pass"]), submitted=_count(c["submitted"]), clean=_count(c["clean"]),
        payments=_decimal(c["payments"]), collectible=_decimal(c["collectible"]), balance=_decimal(c["balance"]),
        charges_90=_decimal(c["charges_90"]),
        aging=tuple(AgingBucket(name, _count(c[f"b{i}_n"]), money(_decimal(c[f"b{i}_a"])))
                    for i, (name, _, _) in enumerate(AGING_BUCKETS)))
    return assemble_kpi_set(
        adjudicated=_count(c["adjudicated"]), charges=_decimal(c["charges"]), denied_claims=_count(c["denied_claims"]),
        denied_amount=_decimal(c["denied_amount"]), won=_count(t["won"]), lost=_count(t["lost"]),
        recovered=_decimal(t["recovered"]), recouped=_decimal(t["recouped"]), write_offs=_decimal(t["write_offs"]),
        to_appeal=_median(_count(t["appeal_n"]), t["appeal_median"]),
        to_resolution=_median(_count(t["resolution_n"]), t["resolution_median"]), totals=totals)


def _worked(s: KpiSet) -> bool:
    return any(s.kpis[n].denominator for n in ("appeal_overturn_rate", "median_days_to_appeal",
                                               "median_days_to_resolution"))


def _months(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    out = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


async def sum_report(db: Fetcher, *, timezone: str, catalog: Mapping[str, str], period: Period, as_of: dt.date,
                     filters: Filters = Filters(), queues: Sequence[str] | None = None,
                     family_label: Callable[[str], str] = lambda f: f, trend_months: int = 36,
                     refresh: bool = True, trend_only: bool = False) -> KpiReport:
    """The report `build_report` computes, summed in PostgreSQL. `catalog` maps procedure codes (upper case) to
    CPT families. `refresh`: first bring up to date the claims a writer marked and did not refresh itself.
    `trend_only`: only the trend is summed (the totals are zeros, the groups empty), for a read of the trend alone."""
    if refresh:
        await db.fetch(_REFRESH)
    codes = sorted(catalog)
    args = (timezone, period.start, period.end, as_of, sorted(queues) if queues is not None else None,
            filters.payer, filters.cpt_family, filters.provider, filters.category, [c.upper() for c in codes],
            [catalog[c] for c in codes])
    if trend_only:
        months = {r["key"]: r for r in await db.fetch(_TREND_CLAIMS[queues is not None], *args)}
        return KpiReport(period=period, as_of=as_of, filters=filters, totals=kpi_set_of(_NO_CLAIMS, _NO_TASKS),
                         by_payer=(), by_cpt_family=(), by_provider=(), by_cause=(), payer_cause=(),
                         trend=await _trend(db, args, months, period, trend_months))
    parts = await db.fetch(_CLAIM_PARTS[queues is not None], *args)
    task_rows = await db.fetch(_TASK_GROUPS, *args)
    # (claims without a primary payer make a payer group with no key: the reference has no such group)
    claims: dict[tuple[str, str], Mapping[str, Any]] = {(r["dim"], r["key"]): r for r in parts
                                                        if r["dim"] in ("total", "payer", "provider", "family")
                                                        and r["key"] is not None}
    tasks: dict[tuple[str, str], Mapping[str, Any]] = {(r["dim"], r["key"]): r for r in task_rows}
    matrix_rows = [r for r in parts if r["dim"] == "payer_cause"]

    def group_set(dim: str, key: str) -> KpiSet:
        return kpi_set_of(claims.get((dim, key), _NO_CLAIMS), tasks.get((dim, key), _NO_TASKS))

    totals = group_set("total", "")

    def groups(dim: str, label: Callable[[str], str]) -> tuple[Group, ...]:
        out = []
        for key in sorted({k for d, k in claims if d == dim} | {k for d, k in tasks if d == dim}):
            s = group_set(dim, key)
            if s.claims_adjudicated or s.claims_submitted or any(b.amount for b in s.aging) or _worked(s):
                out.append(Group(key, label(key), s))
        return tuple(out)

    by_payer = groups("payer", lambda k: k)
    by_family = groups("family", lambda k: "other / not in the procedure catalog" if k == NO_FAMILY
                       else family_label(k))
    by_provider = groups("provider", lambda k: "no NPI on the submission" if k == UNKNOWN else k)

    cause_claims: dict[str, dict[str, Any]] = defaultdict(lambda: {**_NO_CLAIMS})
    for r in matrix_rows:
        entry = cause_claims[r["category"]]
        entry["denied_claims"] += r["adjudicated"]
        entry["denied_amount"] += r["denied_amount"]
    total_claims = claims.get(("total", ""), _NO_CLAIMS)
    causes = set(cause_claims) | {k for d, k in tasks if d == "cause"}
    if filters.category is not None:
        causes &= {filters.category}
    by_cause = []
    for cause in causes:
        c = {**_NO_CLAIMS, "adjudicated": total_claims["adjudicated"], "charges": total_claims["charges"],
             **({k: cause_claims[cause][k] for k in ("denied_claims", "denied_amount")} if cause in cause_claims
                else {})}
        s = kpi_set_of(c, tasks.get(("cause", cause), _NO_TASKS), cause_only=True)
        if s.denied_claims or _worked(s):
            by_cause.append(Group(cause, cause.replace("_", " "), s))
    by_cause.sort(key=lambda g: (-g.kpis.denied_amount, g.key))

    # a payer's type in the matrix: the reference takes the last claim's it meets, here the greatest (one type a
    # payer, in practice)
    payer_types = {k: r["payer_type"] for (d, k), r in claims.items() if d == "payer"}
    payer_cause = tuple(PayerCause(r["key"], payer_types.get(r["key"]) or "other", r["category"],
                                   r["adjudicated"], money(r["denied_amount"]))
                        for r in sorted(matrix_rows, key=lambda r: (r["key"], r["category"])))
    trend = await _trend(db, args, {r["key"]: r for r in parts if r["dim"] == "month"}, period, trend_months)
    return KpiReport(period=period, as_of=as_of, filters=filters, totals=totals, by_payer=by_payer,
                     by_cpt_family=by_family, by_provider=by_provider, by_cause=tuple(by_cause),
                     payer_cause=payer_cause, trend=trend)


async def _trend(db: Fetcher, args: tuple, claim_months: Mapping[str, Mapping[str, Any]], period: Period,
                 max_months: int) -> tuple[TrendPoint, ...]:
    task_months = {r["month"]: r for r in await db.fetch(_TREND_TASKS, *args)}
    days = [d for r in (*claim_months.values(), *task_months.values()) for d in (r["first_day"], r["last_day"])]
    if not days:
        return ()
    start = period.start or min(days)
    end = period.end or max(days)
    points = []
    for y, m in _months(start, end)[-max_months:]:
        key = f"{y:04d}-{m:02d}"
        c = claim_months.get(key)
        t = task_months.get(key)
        s = kpi_set_of({**_NO_CLAIMS, **({k: c[k] for k in ("adjudicated", "charges", "denied_claims",
                                                             "denied_amount")} if c else {})},
                       {**_NO_TASKS, **({"won": t["won"], "lost": t["lost"]} if t else {})}, cause_only=True)
        points.append(TrendPoint(key, s.claims_adjudicated, s.kpis["initial_denial_rate"],
                                 s.kpis["denial_rate_dollars"], s.kpis["appeal_overturn_rate"]))
    return tuple(points)


class PostgresKpiSums:
    """Reads the report summed in PostgreSQL (`sum_report`) for a scope: None, the whole practice."""

    def __init__(self, db: Fetcher, *, timezone: str, catalog: Mapping[str, str],
                 queues: Sequence[str] | None = None) -> None:
        self._db = db
        self._timezone = timezone
        self._catalog = catalog
        self._queues = queues

    async def report(self, *, period: Period, as_of: dt.date, filters: Filters,
                     family_label: Callable[[str], str], trend_only: bool = False) -> KpiReport:
        if isinstance(self._db, asyncpg.Pool):
            async with self._db.acquire() as conn:
                return await self._consistent(conn, period, as_of, filters, family_label, trend_only)
        if isinstance(self._db, asyncpg.Connection):
            return await self._consistent(self._db, period, as_of, filters, family_label, trend_only)
        return await self._report(self._db, period, as_of, filters, family_label, trend_only=trend_only)

    async def _consistent(self, conn: asyncpg.Connection, period: Period, as_of: dt.date, filters: Filters,
                          family_label: Callable[[str], str], trend_only: bool) -> KpiReport:
        await conn.fetch(_REFRESH)
        # one snapshot for every part of the report (a batch committing in between would skew the parts)
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            for setting in _SETTINGS:
                await conn.execute(setting)
            return await self._report(conn, period, as_of, filters, family_label, refresh=False,
                                      trend_only=trend_only)

    async def _report(self, db: Fetcher, period: Period, as_of: dt.date, filters: Filters,
                      family_label: Callable[[str], str], *, refresh: bool = True,
                      trend_only: bool = False) -> KpiReport:
        return await sum_report(db, timezone=self._timezone, catalog=self._catalog, period=period, as_of=as_of,
                                filters=filters, queues=self._queues, family_label=family_label, refresh=refresh,
                                trend_only=trend_only)
