"""The KPI report over a small hand-computed month (March 2026), its filters, breakdowns and the empty period.

Claims (charges; first adjudication = FA):
  A  BCBS, esi_transforaminal, NPI 1111111111: submitted 03-01, FA 03-10 paid 600, contractual 300, cost share 100
  B  BCBS, facet_injection, 1111111111: submitted 03-02, rejected 03-03 (A7), resubmitted 03-05, FA 03-12 denied
     authorization 1000 (paid 0) -> task B-auth appealed 03-15, won 03-28 (recovered 700)
  C  MCR, esi_transforaminal, 2222222222: submitted 03-03, FA 03-14 paid 300, contractual 200, denied coding 500
     -> task C-coding written off 03-20
  D  MCR, tpi, 2222222222: submitted 03-20, no remittance yet
  E  BCBS, esi_transforaminal, 1111111111: FA in February (02-10, paid 900, contractual 100): outside the period
"""

from __future__ import annotations

from service.domain.kpis import Filters, Period, build_report
from tests.unit.kpis.builders import D, ack, claim, day, remit, sub, task

MARCH = Period(day("2026-03-01"), day("2026-03-31"))


def fixture():
    claims = [
        claim("A", charge="1000", dos="2026-03-01", submissions=[sub("2026-03-01")],
              remits=[remit("a1", "2026-03-10", paid="600", contractual="300", cost_share="100")]),
        claim("B", charge="1000", dos="2026-03-02", families=("facet_injection",),
              submissions=[sub("2026-03-02"), sub("2026-03-05")], acks=[ack("2026-03-03", True)],
              remits=[remit("b1", "2026-03-12", denials={"authorization": "1000"}),
                      remit("b2", "2026-03-28", paid="700", contractual="300")]),
        claim("C", charge="1000", dos="2026-03-03", provider="2222222222", payer="MCR", payer_type="medicare",
              submissions=[sub("2026-03-03", payer="MCR")],
              remits=[remit("c1", "2026-03-14", payer="MCR", payer_type="medicare", paid="300", contractual="200",
                            denials={"coding": "500"})]),
        claim("D", charge="500", dos="2026-03-19", provider="2222222222", families=("tpi",), payer="MCR",
              payer_type="medicare", submissions=[sub("2026-03-20", payer="MCR")]),
        claim("E", charge="1000", dos="2026-02-01", submissions=[sub("2026-02-02")],
              remits=[remit("e1", "2026-02-10", paid="900", contractual="100")]),
    ]
    tasks = [
        task("B-auth", "B", category="authorization", state="won", opened="2026-03-12", submitted="2026-03-15",
             closed="2026-03-28", amount="1000", recovered="700"),
        task("C-coding", "C", category="coding", state="written_off", opened="2026-03-14", closed="2026-03-20",
             amount="500", payer="MCR", payer_type="medicare"),
    ]
    return claims, tasks


def kpi(report, name):
    k = report.totals.kpis[name]
    return k.value, k.numerator, k.denominator


def test_the_march_kpis_match_the_hand_computation():
    claims, tasks = fixture()
    r = build_report(claims, tasks, period=MARCH, as_of=day("2026-03-31"))
    # adjudicated in March: A, B, C (E in February, D not yet) -> B and C denied
    assert kpi(r, "initial_denial_rate") == (round(2 / 3, 6), 2, 3)
    # denied 1000 + 500 of charges 3000
    assert kpi(r, "denial_rate_dollars") == (0.5, D("1500.00"), D("3000.00"))
    # only A was paid with no denial and no rejection
    assert kpi(r, "first_pass_resolution_rate") == (round(1 / 3, 6), 1, 3)
    # first submissions in March: A, B, C, D; B's first submission was rejected
    assert kpi(r, "clean_claim_rate") == (0.75, 3, 4)
    # payments to date on A, B, C: 600 + 700 + 300 = 1600; charges 3000 - contractual (300 + 300 + 200) = 2200
    assert kpi(r, "net_collection_rate") == (round(1600 / 2200, 6), D("1600.00"), D("2200.00"))
    # balances at 03-31: A 1000-600-300-100 = 0; B 1000-700-300 = 0; C 1000-300-200-500 (written off) = 0; D 500;
    # E 0 (1000-900-100). Charges with a date of service in the 90 days to 03-31 (01-01..03-31): all five, 4500.
    value, numerator, denominator = kpi(r, "days_in_ar")
    assert (numerator, denominator) == (D("500.00"), D("50.00")) and value == 10.0
    assert [(b.name, b.claims, b.amount) for b in r.totals.aging] == [
        ("0-30", 1, D("500.00")), ("31-60", 0, D("0.00")), ("61-90", 0, D("0.00")), ("91-120", 0, D("0.00")),
        ("over_120", 0, D("0.00"))]
    assert kpi(r, "appeal_overturn_rate") == (1.0, 1, 1)
    assert kpi(r, "recovered_dollars") == (D("700.00"), D("700.00"), 1)
    # written off on March-adjudicated claims: 500 of 3000
    assert kpi(r, "denial_write_off_rate") == (round(500 / 3000, 6), D("500.00"), D("3000.00"))
    assert kpi(r, "median_days_to_appeal") == (3.0, None, 1)  # 03-12 -> 03-15
    assert kpi(r, "median_days_to_resolution") == (11.0, None, 2)  # 16 days (B) and 6 days (C)
    assert r.has_data


def test_breakdowns_split_the_same_numbers_by_payer_family_provider_and_cause():
    claims, tasks = fixture()
    r = build_report(claims, tasks, period=MARCH, as_of=day("2026-03-31"),
                     family_label=lambda f: f.replace("_", " "))
    payers = {g.key: g.kpis for g in r.by_payer}
    assert set(payers) == {"BCBS", "MCR"}
    assert (payers["BCBS"].kpis["initial_denial_rate"].numerator,
            payers["BCBS"].kpis["initial_denial_rate"].denominator) == (1, 2)
    assert payers["MCR"].kpis["days_in_ar"].numerator == D("500.00")
    families = {g.key: g for g in r.by_cpt_family}
    assert families["esi_transforaminal"].label == "esi transforaminal"
    assert families["esi_transforaminal"].kpis.claims_adjudicated == 2  # A and C (E is February)
    assert families["tpi"].kpis.claims_submitted == 1
    providers = {g.key: g.kpis for g in r.by_provider}
    assert providers["2222222222"].kpis["clean_claim_rate"].denominator == 2
    causes = [(g.key, g.kpis.denied_claims, g.kpis.denied_amount) for g in r.by_cause]
    assert causes == [("authorization", 1, D("1000.00")), ("coding", 1, D("500.00"))]  # by dollars
    cause = r.by_cause[0].kpis
    assert "days_in_ar" not in cause.kpis and cause.kpis["appeal_overturn_rate"].value == 1.0
    assert [(x.payer_id, x.payer_type, x.category, x.claims, x.amount) for x in r.payer_cause] == [
        ("BCBS", "commercial", "authorization", 1, D("1000.00")), ("MCR", "medicare", "coding", 1, D("500.00"))]


def test_filters_narrow_claims_and_tasks_and_a_cause_narrows_only_the_denial_side():
    claims, tasks = fixture()
    by_payer = build_report(claims, tasks, period=MARCH, as_of=day("2026-03-31"), filters=Filters(payer="MCR"))
    assert kpi(by_payer, "initial_denial_rate") == (1.0, 1, 1)
    assert kpi(by_payer, "appeal_overturn_rate") == (None, 0, 0)  # never NaN
    by_cause = build_report(claims, tasks, period=MARCH, as_of=day("2026-03-31"),
                            filters=Filters(category="coding"))
    assert kpi(by_cause, "initial_denial_rate") == (round(1 / 3, 6), 1, 3)
    assert kpi(by_cause, "clean_claim_rate") == (0.75, 3, 4)  # claim-level: unchanged
    assert kpi(by_cause, "recovered_dollars")[0] == D("0.00")
    by_provider = build_report(claims, tasks, period=MARCH, as_of=day("2026-03-31"),
                               filters=Filters(provider="1111111111", cpt_family="facet_injection"))
    assert kpi(by_provider, "initial_denial_rate") == (1.0, 1, 1)


def test_a_period_without_data_has_null_rates_not_nan():
    claims, tasks = fixture()
    r = build_report(claims, tasks, period=Period(day("2025-06-01"), day("2025-06-30")), as_of=day("2025-06-30"))
    assert not r.has_data
    for name, k in r.totals.kpis.items():
        if name != "recovered_dollars":
            assert k.value is None, name
    assert r.trend == ()
    empty = build_report([], [], period=Period(), as_of=day("2026-03-31"))
    assert not empty.has_data and empty.totals.kpis["days_in_ar"].value is None


def test_the_trend_has_one_point_per_month_of_first_adjudication():
    claims, tasks = fixture()
    r = build_report(claims, tasks, period=Period(), as_of=day("2026-03-31"))
    assert [(p.month, p.claims_adjudicated, p.initial_denial_rate.value) for p in r.trend] == [
        ("2026-02", 1, 0.0), ("2026-03", 3, round(2 / 3, 6))]
    assert r.trend[1].appeal_overturn_rate.value == 1.0 and r.trend[0].appeal_overturn_rate.value is None
