"""The KPIs summed by PostgreSQL (service/adapters/kpi_sums.py over kpi_claims, migration 0095) are the Python
reference's (`build_report` over `read_facts`), number for number, on a real database: the hand-built fixture month
applied through the worker's own save path, and a varied year (bench/kpis_data.py: 277 rejections, denials by cause,
reversals, secondary payers, duplicates, predeterminations, voids, tasks in every state) plus hand-made edge claims
written straight into the tables, for periods, filters and team scopes. Both answers go through the API's JSON
mapping (`kpis_json`), so what is compared is what a client would read."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from bench import kpis_data
from service.adapters.kpi_sums import sum_report
from service.adapters.kpis import read_facts
from service.domain.kpis import Filters, Period, build_report
from service.entrypoints.api.kpis import kpis_json
from service.service_layer import kpis as uc
from tests.integration.test_api_support import open_pool, private_database, settings_for
from tests.integration.test_kpis_support import Month

TZ = "America/Los_Angeles"
D = dt.date
UTC = dt.UTC


async def reference_and_summed(db: asyncpg.Pool, period: Period, as_of: dt.date, filters: Filters,
                               queues: list[str] | None) -> tuple[dict, dict]:
    catalog = uc.procedure_catalog()
    claims, tasks = await read_facts(db, timezone=TZ, family_of=catalog.family, queues=queues)
    reference = build_report(claims, tasks, period=period, as_of=as_of, filters=filters, family_label=catalog.label)
    summed = await sum_report(db, timezone=TZ, catalog=uc.catalog_families(), period=period, as_of=as_of,
                              filters=filters, queues=queues, family_label=catalog.label)
    return kpis_json(reference, queues), kpis_json(summed, queues)


async def assert_same(db: asyncpg.Pool, cases: list[tuple[Period, dt.date, Filters, list[str] | None]]) -> None:
    for period, as_of, filters, queues in cases:
        reference, summed = await reference_and_summed(db, period, as_of, filters, queues)
        assert summed == reference, (period, as_of, filters, queues)
        # the read of the trend alone (the trend's CSV) sums the same trend
        trend = await sum_report(db, timezone=TZ, catalog=uc.catalog_families(), period=period, as_of=as_of,
                                 filters=filters, queues=queues, trend_only=True)
        assert kpis_json(trend, queues)["trend"] == reference["trend"], (period, as_of, filters, queues)


@pytest.fixture
async def pool(stack):
    """A fresh database of its own on the session's server (the stack's: the test server, or the embedded one)."""
    async with private_database(stack.direct_database_url) as url:
        p = await open_pool(url, settings_for(url))
        try:
            yield p
        finally:
            await p.close()


async def test_the_worker_marks_each_claim_it_writes_and_the_read_sums_it_fresh(pool):
    month = Month("sums")
    await month.apply_in_process(pool)
    # the worker's transaction only marks the claims it wrote (its statement triggers); no read has refreshed them yet
    assert await pool.fetchval("SELECT count(DISTINCT claim_id) FROM kpi_claims_dirty WHERE claim_id = ANY($1::text[])",
                               month.claim_ids) == len(month.claim_ids)
    march, feb = Period.month(2026, 3), Period.month(2026, 2)
    reference, summed = await reference_and_summed(pool, march, D(2026, 3, 31), Filters(), None)
    assert summed == reference
    assert summed["days_in_ar"]["value"] == 34.0  # the hand-computed figure of test_kpis.py
    await assert_same(pool, [
        (feb, D(2026, 2, 28), Filters(), None),
        (Period(), D(2026, 4, 15), Filters(), None),
        (Period(D(2026, 3, 10), None), D(2026, 3, 20), Filters(), None),
        (march, D(2026, 3, 31), Filters(payer="BCBS-TX"), None),
        (march, D(2026, 3, 31), Filters(cpt_family="esi_transforaminal"), None),
        (march, D(2026, 3, 31), Filters(provider="2222222222"), None),
        (march, D(2026, 3, 31), Filters(category="authorization"), None),
        (march, D(2026, 3, 31), Filters(), ["appeals"]),
        (march, D(2026, 3, 31), Filters(), ["coding", "billing"]),
        (march, D(2026, 3, 31), Filters(category="coding"), ["coding"]),
    ])


async def _edge_claims(pool: asyncpg.Pool) -> None:
    """Claims the generator does not make: no submission (primary payer from the remittances), no charge or date of
    service on the claim, a reversal that negates nothing exactly, one with nothing to cancel, a void then a
    replacement, odd 277CA line statuses, and a task whose claim is not on file."""
    t0 = dt.datetime(2025, 5, 2, 18, tzinfo=UTC)

    async def claim(cid: str, *, payer: str | None = "AETNA", charge: str | None = "800.00",
                    dos: dt.date | None = D(2025, 5, 1), npi: str = "1999999999") -> None:
        await pool.execute(
            "INSERT INTO claims (claim_id, payer_id, payer_type, submission, total_charge, service_date_from) "
            "VALUES ($1, $2, 'commercial', $3, $4, $5)", cid, payer,
            {"billing_npi": npi, "lines": [{"code": "64493"}, {"code": "99213"}]},
            Decimal(charge) if charge else None, dos)

    async def submitted(cid: str, at: dt.datetime, freq: str = "1", payer: str | None = "AETNA") -> None:
        await pool.execute("INSERT INTO claim_events (claim_id, event_id, kind, occurred_at, payer_id, summary) "
                           "VALUES ($1, $2, 'submitted', $3, $4, $5)", cid, f"st-{cid}-{at:%j%H}", at, payer,
                           {"frequency_code": freq})

    async def remit(cid: str, ev: str, payer: str, status: str, day: dt.date, charge: str, paid: str,
                    at: dt.datetime, pcn: str | None = None, decisions: tuple = ()) -> None:
        await pool.execute(
            "INSERT INTO remittances (event_id, claim_id, payer_id, payer_type, payer_claim_number, status_code, "
            "production_date, total_charge, total_paid, business_key, occurred_at) "
            "VALUES ($1, $2, $3, 'commercial', $4, $5, $6, $7, $8, $1, $9)",
            ev, cid, payer, pcn, status, day, Decimal(charge), Decimal(paid), at)
        for i, (category, amount, is_denial) in enumerate(decisions):
            await pool.execute(
                "INSERT INTO decisions (event_id, claim_id, payer_id, payer_type, line_id, adjustment_index, "
                "group_code, reason, amount, category, is_denial, action, appealable, recoverability, explanation, "
                "rule_id, rules_version, occurred_at) VALUES ($1, $2, $3, 'commercial', '1', $4, 'CO', '1', $5, $6, "
                "$7, 'none', $7, 0.5, 'x', 'x', 'x', $8)", ev, cid, payer, i, Decimal(amount), category, is_denial, at)

    # no submission: a secondary remittance first, then the primary's; and one with only a secondary
    await claim("EDGE-NS1", payer="CIGNA")
    await remit("EDGE-NS1", "e-ns1-2", "AARP", "2", D(2025, 5, 20), "800.00", "40.00", t0 + dt.timedelta(days=18))
    await remit("EDGE-NS1", "e-ns1-1", "UHC", "1", D(2025, 5, 25), "800.00", "500.00", t0 + dt.timedelta(days=23),
                decisions=(("contractual", "200.00", False), ("coding", "60.00", True)))
    await claim("EDGE-NS2", charge=None, dos=None)
    await remit("EDGE-NS2", "e-ns2-1", "AARP", "2", D(2025, 6, 2), "300.00", "0.00", t0 + dt.timedelta(days=31),
                decisions=(("eligibility", "300.00", True),))
    await claim("EDGE-NS3", payer="MCR-TX")  # nothing on file but the claim
    # reversals: not exact (a partial), then one of another payer with nothing to cancel
    await claim("EDGE-R1")
    await submitted("EDGE-R1", t0)
    await remit("EDGE-R1", "e-r1-1", "AETNA", "1", D(2025, 5, 20), "800.00", "500.00", t0 + dt.timedelta(days=18),
                pcn="P1", decisions=(("contractual", "250.00", False), ("patient_responsibility", "50.00", False)))
    await remit("EDGE-R1", "e-r1-2", "AETNA", "1", D(2025, 5, 22), "800.00", "520.00", t0 + dt.timedelta(days=20),
                decisions=(("contractual", "280.00", False),))
    await remit("EDGE-R1", "e-r1-r", "AETNA", "22", D(2025, 6, 10), "-800.00", "-510.00",
                t0 + dt.timedelta(days=39), pcn="P1")
    await remit("EDGE-R1", "e-r1-x", "HUMANA", "22", D(2025, 6, 12), "-100.00", "-100.00",
                t0 + dt.timedelta(days=41))
    # voided, then replaced; the void ends when the replacement arrives
    await claim("EDGE-V1")
    await submitted("EDGE-V1", t0)
    await submitted("EDGE-V1", t0 + dt.timedelta(days=10), "8")
    await submitted("EDGE-V1", t0 + dt.timedelta(days=40), "7")
    # 277CA line statuses that are not all strings, one of them a rejection
    await claim("EDGE-A1")
    await submitted("EDGE-A1", t0)
    await pool.execute("INSERT INTO claim_events (claim_id, event_id, kind, occurred_at, payer_id, summary) "
                       "VALUES ('EDGE-A1', 'ack-edge-a1', 'acknowledgement', $1, 'AETNA', $2)",
                       t0 + dt.timedelta(hours=4), {"category": "A1", "line_statuses": [3, None, "A8:562"]})
    await remit("EDGE-A1", "e-a1-1", "AETNA", "1", D(2025, 5, 30), "800.00", "600.00", t0 + dt.timedelta(days=28),
                decisions=(("contractual", "200.00", False),))
    # a task of the coding queue whose claim is not on file
    await pool.execute(
        "INSERT INTO appeal_tasks (task_id, claim_id, payer_id, payer_type, category, action, queue, state, "
        "appealable, amount_at_risk, recoverability, explanation, source_event_id, opened_at, last_event_at, "
        "closed_at) VALUES ('edge-task', 'EDGE-MISSING', 'UHC', 'commercial', 'coding', 'appeal', 'coding', "
        "'written_off', true, 75, 0.5, 'x', 'x', $1, $2, $2)", t0, t0 + dt.timedelta(days=9))


async def test_a_varied_year_summed_in_postgres_equals_the_python_reference(pool):
    async with pool.acquire() as conn:
        await kpis_data.load(conn, 2500, seed=3)
    await _edge_claims(pool)
    year = Period(D(2025, 1, 1), D(2025, 12, 31))
    cases = [
        (Period(), D(2026, 3, 1), Filters(), None),
        (year, D(2025, 12, 31), Filters(), None),
        (Period.month(2025, 6), D(2025, 6, 30), Filters(), None),
        (Period(D(2025, 3, 10), D(2025, 8, 20)), D(2025, 8, 20), Filters(payer="BCBS-TX"), None),
        (Period(D(2025, 5, 1), None), D(2025, 6, 5), Filters(), None),
        (year, D(2025, 12, 31), Filters(category="coding"), None),
        (year, D(2025, 12, 31), Filters(cpt_family="facet_injection"), None),
        (year, D(2025, 12, 31), Filters(provider=kpis_data.PROVIDERS[3]), None),
        (year, D(2025, 12, 31), Filters(payer="UHC", category="authorization"), None),
        (year, D(2025, 12, 31), Filters(), ["coding"]),
        (Period(D(2025, 4, 1), D(2025, 9, 30)), D(2025, 9, 30), Filters(category="authorization"),
         ["authorization", "appeals"]),
        (Period(), D(2026, 3, 1), Filters(cpt_family="esi_transforaminal"), ["billing", "coding"]),
        # a team's scope (a semi-join of its own statement) with claim filters, and a queue without tasks
        (year, D(2025, 12, 31), Filters(payer="BCBS-TX", provider=kpis_data.PROVIDERS[3]), ["coding"]),
        (Period(D(2025, 2, 1), D(2025, 2, 28)), D(2025, 3, 31), Filters(cpt_family="facet_rfa"), ["no-such-queue"]),
    ]
    await assert_same(pool, cases)  # rows written outside the worker: the read refreshed them first
    assert await pool.fetchval("SELECT count(*) FROM kpi_claims_dirty") == 0

    # the migration's backfill recomputes every row the same way
    await pool.execute("TRUNCATE kpi_claims, kpi_claim_denials, kpi_claim_steps, kpi_claim_voids")
    await pool.execute("SELECT kpi_claims_refresh(NULL)")
    await assert_same(pool, cases[:3] + cases[-5:])
