"""Whatever a payer sends (known, unknown or retired codes, odd modifiers, any history), the classifier returns one
valid decision per adjustment and never raises."""

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain import model
from service.domain.classification import load_classifier
from service.domain.classification.vocabulary import ACTIONS, CATEGORIES, QUEUES

CLF = load_classifier()
KNOWN_CARCS = CLF.codes.carc.codes()
KNOWN_RARCS = CLF.codes.rarc.codes()
PROCEDURES = ["62323", "64483", "64484", "64493", "64494", "64635", "64636", "77003", "27096", "20552", "63650",
              "63685", "80307", "G0481", "J1040", "99214", "22514", "ZZZZZ"]
MODIFIERS = ["RT", "LT", "50", "KX", "GA", "GZ", "GY", "JW", "JZ", "XS", "XE", "59", "25", "76"]

codes = st.one_of(st.sampled_from(KNOWN_CARCS), st.from_regex(r"[A-Z0-9]{1,3}", fullmatch=True))
remarks = st.lists(st.one_of(st.sampled_from(KNOWN_RARCS), st.from_regex(r"[MN][0-9]{1,3}", fullmatch=True)),
                   max_size=3)
procedures = st.builds(model.Procedure, st.sampled_from(PROCEDURES),
                       st.lists(st.sampled_from(MODIFIERS), max_size=4, unique=True).map(tuple))
days = st.dates(dt.date(2024, 1, 1), dt.date(2026, 12, 31))
adjustments = st.builds(model.Adjustment, st.sampled_from(["CO", "PR", "OA", "PI", "CR"]), codes,
                        st.decimals(-500, 5000, places=2))
lines = st.builds(
    lambda i, proc, adjs, rem, units, paid, day: model.RemitLine(
        line_id=str(i), procedure=proc, charge=Decimal("1000"), paid=paid, units=Decimal(units), service_date=day,
        adjustments=tuple(adjs), remarks=tuple(rem)),
    st.integers(1, 9), procedures, st.lists(adjustments, max_size=3), remarks, st.integers(1, 4),
    st.sampled_from([Decimal("0"), Decimal("250.00")]), days)
history = st.lists(st.builds(lambda code, proc, day, paid: model.HistorySession("H", code, day, proc, paid),
                             st.text("abc", min_size=1, max_size=3), procedures, days,
                             st.sampled_from([True, False, None])), max_size=12)


@settings(max_examples=150, deadline=None)
@given(payer_type=st.sampled_from(["medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp",
                                   "other"]),
       status=st.sampled_from(["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]),
       claim_adjustments=st.lists(adjustments, max_size=2), claim_remarks=remarks,
       remit_lines=st.lists(lines, max_size=4, unique_by=lambda ln: ln.line_id), past=history, notice=days,
       as_of=st.none() | days)
def test_any_remittance_gets_one_valid_decision_per_adjustment(payer_type, status, claim_adjustments, claim_remarks,
                                                               remit_lines, past, notice, as_of):
    remit = model.Remittance(
        event_id="rm", occurred_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), payer=model.Payer("P", payer_type),
        claim_id="C", status_code=status, total_charge=Decimal("1000"), total_paid=Decimal("0"),
        production_date=notice, service_date_from=notice, adjustments=tuple(claim_adjustments),
        remarks=tuple(claim_remarks), lines=tuple(remit_lines), filing_indicator="MB")
    decisions = CLF.classify(remit, facts=None, history=past, as_of=as_of)
    assert len(decisions) == len(claim_adjustments) + sum(len(ln.adjustments) for ln in remit_lines)
    for d in decisions:
        assert d.category in CATEGORIES and d.action in ACTIONS and (d.queue is None or d.queue in QUEUES)
        assert 0.0 <= d.recoverability <= 1.0 and d.explanation.endswith(".") and d.rules_version
        if d.is_denial:
            assert d.queue is not None
        if d.group != "PR" and d.is_denial:
            assert d.action != "bill_patient"


@settings(max_examples=100, deadline=None)
@given(category=st.one_of(st.sampled_from(sorted(CLF.codes.status_categories)),
                          st.from_regex(r"[A-Z][0-9A-Z]{0,2}", fullmatch=True)),
       code=st.none() | st.from_regex(r"[0-9]{1,3}", fullmatch=True), date=st.none() | days,
       payer_type=st.sampled_from(["medicare", "commercial", "medicaid"]), claim_id=st.none() | st.just("C"))
def test_any_status_gets_a_valid_decision(category, code, date, payer_type, claim_id):
    report = model.StatusReport(event_id="st", occurred_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), kind="status",
                                payer=model.Payer("P", payer_type), status=model.StatusCode(category, code,
                                                                                              effective_date=date),
                                claim_id=claim_id, service_date_from=dt.date(2026, 1, 15))
    (d,) = CLF.classify_status(report)
    assert d.action in ACTIONS and (d.category is None or d.category in CATEGORIES)
    if d.category is not None or d.action in ("review", "new_claim", "submit_records"):
        assert d.queue is not None  # work that opens has a team
    if d.action in ("none", "wait") and d.category is None:
        assert d.queue is None
