"""The KPIs of a hand-built month (March 2026, tests/integration/test_kpis_support.py), end to end: contract events
published to a private broker, applied by a real `denials worker` into a private database, the appeal team's changes
made through the API's use cases; then `GET /api/kpis` and `/metrics` on that worker's web server and the
`denials report` command. Every number below is computed by hand from the fixture.

The month (P = 2026-03-01..2026-03-31; A/R as of 03-31; office time zone America/Los_Angeles):

First adjudications (FA: the primary payer's first remittance that is not a reversal; duplicates left out):
  claim  FA date  charge  paid  denied               contractual (primary, standing)    payments to date (all payers)
  A      03-16    1000    600   -                    300                                600 (the 03-17 re-send: dup)
  B      03-18    1000    0     authorization 1000   300 (03-29 payment)                700
  C      03-17    1000    0     med. necessity 1000  0                                  0
  D      03-20    300     0     coding 300           0                                  0
  E      03-19    1000    500   -                    300 (03-19 reversed; 03-24 again)  560 + 140 (AARP, 2nd) = 700
  K      03-23    500     350   -                    150                                350
  (G and J were adjudicated in February; H and I not yet.)

- initial_denial_rate   = B, C, D / 6 = 3/6 = 0.5
- denial_rate_dollars   = (1000 + 1000 + 300) / (1000+1000+1000+300+1000+500 = 4800) = 2300/4800 = 0.479167
- first_pass_resolution = A, E (paid, no denial, no rejection; K was rejected by 277CA before its FA) = 2/6
- clean_claim_rate      = first submissions in March: A B C D E K H = 7; B and K rejected (A7) = 5/7 = 0.714286
- net_collection_rate   = (600+700+0+0+700+350 = 2350) / ((1000-300)+(1000-300)+1000+300+(1000-300)+(500-150) = 3750)
                        = 0.626667
- days_in_ar at 03-31   balances: A 1000-600-300-100 = 0; B 1000-700-300 = 0; C 1000 (lost, not written off);
                        D 300-300 written off = 0; E 1000-700-300-140 < 0 -> 0; K 500-350-150 = 0; G 800-500-300 = 0;
                        H 900 (no answer); I 400; J 250 (denied, open) -> 2550
                        charges with DOS 01-01..03-31: A B C D E K G H J = 1000*4+300+500+800+900+250 = 6750 -> 75/day
                        -> 2550 / 75 = 34.0 days
  aging (from DOS):     0-30: C (28 d) 1000 + H (6 d) 900 = 1900 (2 claims); 61-90: J (70 d) 250;
                        over 120: I (141 d) 400
- appeal_overturn_rate  = won B (03-29) / won B + lost C (03-30) = 1/2; recovered_dollars = 700 (B's 03-29 payment)
- denial_write_off_rate = D's 300 (March FA) / 4800 = 0.0625
- median days to appeal = C 03-17 -> 03-20 = 3, B 03-18 -> 03-22 = 4 -> 3.5 (2 tasks)
- median days to resolution: K's rejection task 03-12 -> 03-13 = 1, B's rejection task 03-04 -> 03-06 = 2,
                        D written off 03-20 -> 03-25 = 5, B won 03-18 -> 03-29 = 11, C lost 03-17 -> 03-30 = 13 -> 5
February (the month before): FA G (paid 500, CO-45 300, charge 800) and J (CO-16+M51 250, the classifier's `coding`):
  denial 1/2; dollars 250/1050; first pass 1/2; clean 1/1 (G); net collection 500/750; A/R at 02-28: J 250 (39 d)
  + I 400 (110 d) = 650 over 1050/90 a day = 55.71 days.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.error
import urllib.request
from decimal import Decimal

import pytest

from service.adapters.tokens import TokenStore
from tests.integration.test_api_support import open_pool, settings_for
from tests.integration.test_kpis_support import BCBS, MCR, REMITTANCE, STATUS, Month
from tests.support.cli import denials
from tests.support.kafka import publish
from tests.support.ports import eventually
from tests.support.stack import private_stack

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture(scope="module")
def kpi_stack(tmp_path_factory):
    with private_stack(tmp_path_factory.mktemp("kpis"), "kpis") as s:
        yield s


@pytest.fixture(scope="module")
async def month(kpi_stack):
    """The month applied by a real worker; yields (month, worker, pool, token, records published per topic)."""
    worker = kpi_stack.worker("kpi-worker", DENIALS_METRICS_DB_REFRESH_S="0.2").start()
    try:
        worker.wait_ready(timeout=120)
        pool = await open_pool(kpi_stack.direct_database_url, settings_for(kpi_stack.direct_database_url))
        m = Month("m3")
        published = await m.apply_by_worker(kpi_stack.bootstrap, pool)
        # one malformed record: consumed and dead-lettered, never applied
        await publish(kpi_stack.bootstrap, REMITTANCE, [(b"KPI-m3-X", b'{"event_id": "broken", "schema_version": 1')])
        published[REMITTANCE] += 1
        await eventually(lambda: pool.fetchval("SELECT count(*) = 1 FROM dead_letters"), timeout=60,
                         message="the malformed record to be dead-lettered")
        _, token = await TokenStore(pool).create(team="finance", queues=[], supervisor=True, user="cfo")
        try:
            yield m, worker, pool, token, published
        finally:
            await pool.close()
    finally:
        worker.stop()


def get(worker, path: str, token: str | None = None, params: dict | None = None) -> tuple[int, str, str]:
    query = "?" + "&".join(f"{k}={v}" for k, v in (params or {}).items()) if params else ""
    request = urllib.request.Request(f"http://127.0.0.1:{worker.port}{path}{query}",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read().decode()


def kpis(worker, token, **params) -> dict:
    status, _, body = get(worker, "/api/kpis", token, params)
    assert status == 200, body
    return json.loads(body, parse_float=Decimal)


def triple(k: dict) -> tuple:
    return k["value"], k["numerator"], k["denominator"]


D = Decimal


async def test_the_march_kpis_match_the_hand_computation(month):
    m, worker, pool, token, _ = month
    # the re-sent payment of claim A is recorded as a duplicate by its business key, and counted once below
    rows = await pool.fetch("SELECT duplicate_of IS NOT NULL AS dup FROM remittances WHERE claim_id = $1",
                            m.claim("A"))
    assert sorted(r["dup"] for r in rows) == [False, True]
    k = kpis(worker, token, **MARCH)
    assert k["period"] == {"from": "2026-03-01", "to": "2026-03-31", "as_of": "2026-03-31"} and k["has_data"]
    assert triple(k["initial_denial_rate"]) == (D("0.5"), 3, 6)
    assert triple(k["denial_rate_dollars"]) == (D("0.479167"), D("2300.00"), D("4800.00"))
    assert triple(k["first_pass_resolution_rate"]) == (D("0.333333"), 2, 6)
    assert triple(k["clean_claim_rate"]) == (D("0.714286"), 5, 7)
    assert triple(k["net_collection_rate"]) == (D("0.626667"), D("2350.00"), D("3750.00"))
    ar = k["days_in_ar"]
    assert triple(ar) == (D("34.0"), D("2550.00"), D("75.00")) and ar["charges_last_90_days"] == D("6750.00")
    assert [(b["bucket"], b["claims"], b["amount"]) for b in ar["buckets"]] == [
        ("0-30", 2, D("1900.00")), ("31-60", 0, D("0.00")), ("61-90", 1, D("250.00")), ("91-120", 0, D("0.00")),
        ("over_120", 1, D("400.00"))]
    assert triple(k["appeal_overturn_rate"]) == (D("0.5"), 1, 2)
    assert triple(k["recovered_dollars"]) == (D("700.00"), D("700.00"), 1)
    assert triple(k["denial_write_off_rate"]) == (D("0.0625"), D("300.00"), D("4800.00"))
    assert triple(k["median_days_to_appeal"]) == (D("3.5"), None, 2)
    assert triple(k["median_days_to_resolution"]) == (D("5.0"), None, 5)


async def test_breakdowns_by_payer_family_provider_and_cause(month):
    _, worker, _, token, _ = month
    k = kpis(worker, token, **MARCH)
    payers = {g["key"]: g for g in k["breakdowns"]["payer"]}
    # BCBS: FA of A, B, D, K (B and D denied); Medicare: C, E (C denied); A/R: Medicare C 1000 + H 900
    assert triple(payers["BCBS-TX"]["initial_denial_rate"]) == (D("0.5"), 2, 4)
    assert triple(payers["MCR-JL"]["initial_denial_rate"]) == (D("0.5"), 1, 2)
    assert payers["MCR-JL"]["days_in_ar"]["numerator"] == D("1900.00")
    families = {g["key"]: g for g in k["breakdowns"]["cpt_family"]}
    # ESI (64483): A, C, K adjudicated in March (C denied); TPI (20552): D
    assert triple(families["esi_transforaminal"]["initial_denial_rate"]) == (D("0.333333"), 1, 3)
    assert families["esi_transforaminal"]["label"] == "transforaminal epidural steroid injection"
    assert triple(families["tpi"]["denial_rate_dollars"]) == (D("1.0"), D("300.00"), D("300.00"))
    providers = {g["key"]: g for g in k["breakdowns"]["provider"]}
    # NPI 2222222222 billed C, D and H: first submissions 3, all clean; C and D denied
    assert triple(providers["2222222222"]["clean_claim_rate"]) == (D("1.0"), 3, 3)
    assert triple(providers["2222222222"]["initial_denial_rate"]) == (D("1.0"), 2, 2)
    causes = [(g["key"], g["denied_claims"], g["denied_amount"]) for g in k["breakdowns"]["cause"]]
    assert causes[:3] == [("authorization", 1, D("1000.00")), ("medical_necessity", 1, D("1000.00")),
                          ("coding", 1, D("300.00"))]
    # the 277CA rejections' billing tasks were resolved in March: a cause with work but no FA denial
    assert causes[3] == ("missing_information", 0, D("0.00"))
    necessity = k["breakdowns"]["cause"][1]
    assert triple(necessity["appeal_overturn_rate"]) == (D("0.0"), 0, 1) and necessity["days_in_ar"] is None
    assert [(x["payer_id"], x["payer_type"], x["category"], x["claims"], x["amount"]) for x in k["payer_cause"]] == [
        ("BCBS-TX", "commercial", "authorization", 1, D("1000.00")), ("BCBS-TX", "commercial", "coding", 1,
                                                                      D("300.00")),
        ("MCR-JL", "medicare", "medical_necessity", 1, D("1000.00"))]


async def test_filters_narrow_the_kpis(month):
    _, worker, _, token, _ = month
    medicare = kpis(worker, token, payer=MCR["id"], **MARCH)
    assert triple(medicare["initial_denial_rate"]) == (D("0.5"), 1, 2)
    assert triple(medicare["appeal_overturn_rate"]) == (D("0.0"), 0, 1)  # C lost
    facet = kpis(worker, token, cpt_family="facet_injection", **MARCH)  # B and E (64493)
    assert triple(facet["initial_denial_rate"]) == (D("0.5"), 1, 2)
    npi = kpis(worker, token, provider="1111111111", **MARCH)  # A, B, E, K
    assert triple(npi["first_pass_resolution_rate"]) == (D("0.5"), 2, 4)
    coding = kpis(worker, token, category="coding", **MARCH)
    assert triple(coding["initial_denial_rate"]) == (D("0.166667"), 1, 6)
    assert triple(coding["appeal_overturn_rate"]) == (None, 0, 0)  # never NaN
    assert triple(coding["clean_claim_rate"]) == (D("0.714286"), 5, 7)  # a claim-level KPI: no cause in it
    assert coding["filters"] == {"payer": None, "cpt_family": None, "provider": None, "category": "coding"}


async def test_the_default_period_is_all_data_with_a_monthly_trend(month):
    _, worker, _, token, _ = month
    k = kpis(worker, token)
    assert k["period"]["from"] is None and k["period"]["to"] is None
    # all first adjudications: February G, J (J denied) and March's six
    assert triple(k["initial_denial_rate"]) == (D("0.5"), 4, 8)
    assert [(t["month"], t["claims_adjudicated"], t["initial_denial_rate"]["value"]) for t in k["trend"]] == [
        ("2026-02", 2, D("0.5")), ("2026-03", 6, D("0.5"))]
    assert k["trend"][1]["appeal_overturn_rate"]["value"] == D("0.5")
    empty = kpis(worker, token, **{"from": "2025-06-01", "to": "2025-06-30"})
    assert not empty["has_data"] and empty["initial_denial_rate"]["value"] is None
    assert empty["days_in_ar"]["value"] is None and "NaN" not in json.dumps(empty, default=str)


def csv_table(worker, token, table: str, **params) -> tuple[str, list[list[str]]]:
    status, content_type, body = get(worker, "/api/kpis", token, {**params, "format": "csv", "table": table})
    assert status == 200 and content_type == "text/csv; charset=utf-8", body
    return body, list(csv.reader(io.StringIO(body)))


async def test_each_dashboard_table_downloads_as_csv_with_the_json_numbers(month):
    _, worker, _, token, _ = month
    _, rows = csv_table(worker, token, "kpis", **MARCH)
    figures = {r[0]: r[1:] for r in rows[1:]}
    assert rows[0] == ["kpi", "value", "numerator", "denominator", "unit"] and len(figures) == 11
    assert figures["initial_denial_rate"] == ["0.5", "3", "6", "ratio"]
    assert figures["denial_rate_dollars"] == ["0.479167", "2300.00", "4800.00", "ratio"]
    assert figures["days_in_ar"] == ["34.0", "2550.00", "75.00", "days"]
    assert figures["median_days_to_appeal"] == ["3.5", "", "2", "days"]
    _, rows = csv_table(worker, token, "aging", **MARCH)
    assert rows == [["days_from_service", "claims", "outstanding"], ["0-30", "2", "1900.00"], ["31-60", "0", "0.00"],
                    ["61-90", "1", "250.00"], ["91-120", "0", "0.00"], ["over_120", "1", "400.00"]]
    _, rows = csv_table(worker, token, "causes", **MARCH)
    assert rows == [["cause", "denied_claims", "denied_amount"], ["authorization", "1", "1000.00"],
                    ["medical_necessity", "1", "1000.00"], ["coding", "1", "300.00"]]
    _, rows = csv_table(worker, token, "overturn", **MARCH)
    assert rows[1:] == [["authorization", "1", "0", "1.0"], ["medical_necessity", "0", "1", "0.0"]]
    _, rows = csv_table(worker, token, "trend", **MARCH)
    assert rows[1:] == [["2026-03", "6", "3", "0.5", "2300.00", "4800.00", "0.479167", "1", "2", "0.5"]]
    k = kpis(worker, token, **MARCH)
    _, rows = csv_table(worker, token, "payer_cause", **MARCH)
    assert rows[1:] == [[x["payer_id"], x["payer_type"], x["category"], str(x["claims"]), f"{x['amount']:.2f}"]
                        for x in k["payer_cause"]] and len(rows) > 2
    # the filters apply as in the JSON view
    _, rows = csv_table(worker, token, "causes", payer=MCR["id"], **MARCH)
    assert [r[0] for r in rows[1:]] == ["medical_necessity"]
    status, _, body = get(worker, "/api/kpis", token, {"format": "csv"})
    assert status == 400 and json.loads(body)["details"][0]["field"] == "table"


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-13-01"}, "from"), ({"from": "yesterday"}, "from"), ({"to": "20260301"}, "to"),
    ({"from": "2026-03-31", "to": "2026-03-01"}, "to"), ({"cpt_family": "not_a_family"}, "cpt_family"),
    ({"provider": "12345"}, "provider"), ({"category": "because"}, "category"), ({"payer": "%00"}, "payer"),
    ({"period": "2026-03"}, "period")])
async def test_bad_query_values_are_a_400_naming_the_parameter(month, params, field):
    _, worker, _, token, _ = month
    status, content_type, body = get(worker, "/api/kpis", token, params)
    error = json.loads(body)
    assert (status, content_type.split(";")[0], error["error"]) == (400, "application/json", "invalid_parameter")
    assert [d["field"] for d in error["details"]] == [field] and f"`{field}`" in error["message"]
    status, _, body = get(worker, "/api/kpis")
    assert (status, json.loads(body)["error"]) == (401, "missing_token")


async def test_the_monthly_report_prints_kpis_with_the_change_from_february(month, kpi_stack):
    result = await denials(kpi_stack, "report", "--period", "2026-03", COLUMNS="160")
    assert result.code == 0, result.stderr
    text = result.stdout
    for expected in ("Denial KPIs, 2026-03", "compared with 2026-02", "Initial denial rate", "50.0%", "3 / 6",
                     "34.0 d", "Top causes by denied dollars", "authorization", "medical necessity",
                     "Payer x cause", "BCBS-TX", "MCR-JL", "A/R aging at 2026-03-31", "over 120", "$1,900.00"):
        assert expected in text, (expected, text)
    assert "NaN" not in text
    # clean claim rate 71.4% against February's 100.0%: -28.6 points; days in A/R 34.0 against 55.71
    assert re.search(r"Clean claim rate.*71\.4%.*100\.0%.*-28\.6 pts", text), text
    assert re.search(r"Days in A/R.*34\.0 d.*55\.7 d.*-21\.7 d", text), text

    as_json = await denials(kpi_stack, "report", "--period", "2026-03", "--json")
    assert as_json.code == 0, as_json.stderr
    doc = json.loads(as_json.stdout, parse_float=Decimal)
    assert (doc["period"], doc["previous_period"], doc["has_data"]) == ("2026-03", "2026-02", True)
    assert triple(doc["current"]["initial_denial_rate"]) == (D("0.5"), 3, 6)
    assert triple(doc["previous"]["net_collection_rate"]) == (D("0.666667"), D("500.00"), D("750.00"))
    assert triple(doc["previous"]["days_in_ar"]) == (D("55.71"), D("650.00"), D("11.67"))
    assert doc["change"]["clean_claim_rate"] == D("-28.57") and doc["change_units"]["clean_claim_rate"] == \
        "percentage_points"
    assert doc["change"]["appeal_overturn_rate"] is None  # no outcome in February: no change, not NaN

    quiet = await denials(kpi_stack, "report", "--period", "2025-06")
    assert quiet.code == 0 and quiet.stdout.startswith("No data for 2025-06"), quiet.stdout
    wrong = await denials(kpi_stack, "report", "--period", "March")
    assert wrong.code == 2 and "--period must be a month as YYYY-MM" in wrong.stderr


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert match, line
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        out.append((match.group(1), labels, float(match.group(3))))
    return out


def value(series, name: str, **labels: str) -> float:
    found = [v for n, lab, v in series if n == name and all(lab.get(k) == x for k, x in labels.items())]
    return sum(found) if found else 0.0


async def test_metrics_count_the_pipeline_and_carry_no_phi(month):
    m, worker, pool, _, published = month

    async def scrape():
        status, content_type, body = get(worker, "/metrics")
        assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
        return body

    # the tasks gauge follows the database (refreshed every 0.2 s here)
    expected_tasks = {(r["queue"], r["state"]): r["n"] for r in await pool.fetch(
        "SELECT queue, state, count(*) AS n FROM appeal_tasks GROUP BY 1, 2")}

    async def settled():
        series = samples(await scrape())
        tasks = {(lab["queue"], lab["state"]): int(v) for n, lab, v in series if n == "denials_tasks"}
        lags = [v for n, lab, v in series if n == "denials_consumer_lag" and lab["topic"] in (STATUS, REMITTANCE)]
        ok = (tasks == expected_tasks and value(series, "denials_outbox_unsent") == 0 and lags and not any(lags))
        return series if ok else None

    series = await eventually(settled, timeout=60, message="the database gauges and the consumer lag to settle")
    for topic, n in published.items():  # every record consumed once (committed or dead-lettered)
        assert value(series, "denials_events_consumed_total", topic=topic) == n, topic
    assert value(series, "denials_events_dead_lettered_total", topic=REMITTANCE) == 1
    decisions = {(r["category"], r["payer_type"]): r["n"] for r in await pool.fetch(
        "SELECT category, payer_type, count(*) AS n FROM decisions GROUP BY 1, 2")}
    assert {(lab["cause"], lab["payer_type"]): int(v) for n, lab, v in series
            if n == "denials_decisions_total"} == decisions
    assert decisions[("authorization", "commercial")] == 1 and decisions[("medical_necessity", "medicare")] == 1
    applied = await pool.fetchval("SELECT count(*) FROM inbox")
    assert value(series, "denials_event_time_to_commit_seconds_count") == applied
    assert value(series, "denials_batch_apply_seconds_count", topic=REMITTANCE) >= 1
    outbox = await pool.fetchval("SELECT count(*) FROM outbox")
    assert value(series, "denials_outbox_published_total") == outbox
    assert value(series, "denials_relay_leader") == 1 and value(series, "denials_metrics_database_up") == 1
    assert value(series, "denials_dead_letters_unresolved") == 1

    # no PHI in any label: only closed vocabularies, and no claim id, payer id, member id, NPI or name anywhere
    text = await scrape()
    allowed = {"topic", "cause", "payer_type", "queue", "state", "partition", "where", "le",
               "route", "reason", "status"}  # API refusals: route names and closed reasons, never ids
    for name, labels, _ in samples(text):
        if name.startswith("denials_"):
            assert set(labels) <= allowed, (name, labels)
            assert all(re.fullmatch(r"[a-z0-9_.+-]+|\+Inf|[0-9.e+]+", v) for v in labels.values()), (name, labels)
    forbidden = [*m.claim_ids, "KPI-m3", "MEM-m3", "MRN-m3", "ICN-", "BCBS-TX", "MCR-JL", "AARP", "1111111111",
                 "2222222222", "DOE", "EFT-"]
    assert not [x for x in forbidden if x in text]
    assert BCBS["type"] in text and MCR["type"] in text  # payer TYPES are there
