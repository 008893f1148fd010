"""The order in which a claim's facts count (service/domain/ordering.py): business time, then kind, then event time,
then event id; never the order of arrival."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from service.domain.model import Payer, Remittance, StatusCode, StatusReport, Submission
from service.domain.ordering import FactKey, fact_key, in_business_order

PAYER = Payer("BCBS-TX", "commercial")


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 1, 1, hour, tzinfo=dt.UTC) + dt.timedelta(days=day - 1)


def remit(event_id: str, production: int, received: int, status_code: str = "1") -> Remittance:
    return Remittance(event_id=event_id, occurred_at=at(received), payer=PAYER, claim_id="C1",
                      status_code=status_code, total_charge=Decimal(100), total_paid=Decimal(0),
                      production_date=dt.date(2026, 1, 1) + dt.timedelta(days=production - 1))


def status(event_id: str, effective: int | None, sent: int, kind: str = "status") -> StatusReport:
    return StatusReport(event_id=event_id, occurred_at=at(sent), kind=kind, payer=PAYER, claim_id="C1",
                        status=StatusCode("F2", "84", effective_date=at(effective).date() if effective else None))


def submission(event_id: str, sent: int, hour: int = 18) -> Submission:
    return Submission(event_id=event_id, occurred_at=at(sent, hour), payer=PAYER, claim_id="C1")


def test_a_remittance_counts_at_its_production_date_not_when_it_was_received():
    late_received = remit("r1", production=10, received=25)
    status_after = status("t1", effective=12, sent=12)
    assert fact_key(late_received) < fact_key(status_after)
    assert fact_key(late_received).day == dt.date(2026, 1, 10)


def test_a_status_counts_at_its_effective_date_or_else_the_day_it_was_sent():
    assert fact_key(status("t1", effective=3, sent=9)).day == dt.date(2026, 1, 3)
    assert fact_key(status("t2", effective=None, sent=9)).day == dt.date(2026, 1, 9)


def test_on_one_day_what_was_sent_counts_before_what_came_back():
    same_day = [remit("r", 5, 5), remit("x", 5, 5, status_code="22"), status("t", 5, 5),
                status("a", 5, 5, kind="acknowledgement"), submission("s", 5)]
    assert [e.event_id for e in in_business_order(same_day)] == ["s", "a", "t", "x", "r"]


def test_the_last_tie_break_is_the_event_id_so_no_two_facts_compare_equal():
    a, b = remit("r-a", 5, 6), remit("r-b", 5, 6)
    assert fact_key(a) < fact_key(b) and fact_key(a) != fact_key(b)


def test_a_key_survives_its_json_form():
    key = fact_key(status("t1", effective=3, sent=9))
    assert FactKey.from_json(json.loads(json.dumps(key.to_json()))) == key


@given(st.randoms(use_true_random=False))
def test_every_arrival_order_sorts_to_the_same_business_order(rng: random.Random):
    facts = [submission("s1", 1), status("a1", 2, 2, kind="acknowledgement"), status("t1", 9, 10),
             remit("r1", 20, 22), submission("s7", 30), remit("r2", 50, 51), remit("x1", 50, 51, status_code="22")]
    shuffled = facts[:]
    rng.shuffle(shuffled)
    assert [e.event_id for e in in_business_order(shuffled)] == ["s1", "a1", "t1", "r1", "s7", "x1", "r2"]
