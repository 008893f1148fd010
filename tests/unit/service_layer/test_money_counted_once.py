"""A claim rejected on a 277CA and then adjudicated by the payer: the rejection's fix-and-resubmit work is answered
by the adjudication, so the claim's dollars are at risk once (the 835's denied lines), whatever topic arrived first
and whether the 835's denial shares the rejection's cause or not. Through `process_batch` and the real classifier."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from service.adapters.clock import SystemClock
from service.domain.classification import load_classifier
from service.privacy import Pseudonymizer
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from tests.support import events
from tests.support.interleaving import _status
from tests.unit.service_layer.fakes import FakeUnitOfWork
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

CLASSIFIER = load_classifier()
PAYER = {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"}


def _status_in(record: dict) -> Inbound:
    return Inbound("claims.status.v1", mapping.status_event(StatusEvent.model_validate_json(json.dumps(record))))


def _remit_in(record: dict) -> Inbound:
    return Inbound("claims.remittance.v1", mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record))))


SUBMITTED = _status_in(events.submitted("st-1", "PC-1", payer=PAYER, occurred_at="2026-01-16T18:00:00Z"))
REJECTED = _status_in(_status("ack-1", "PC-1", PAYER, "acknowledgement", ("A7", "562", "85"), dt.date(2026, 1, 17)))


def _denied(reason: str, remarks: list[str]) -> Inbound:
    lines = [events.line("1", "64483", ["RT"], charge=1200.0, paid=0.0, remarks=remarks,
                         adjustments=[{"group": "CO", "reason": reason, "amount": 1200.0}])]
    return _remit_in(events.remittance("rm-1", "PC-1", payer=PAYER, lines=lines, production_date="2026-02-10",
                                       occurred_at="2026-02-11T08:00:00Z"))


async def _tasks(order: list[Inbound]) -> list:
    uow = FakeUnitOfWork()
    for item in order:
        await process_batch([item], uow, CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    return list(uow.claims["PC-1"].tasks.values())


def _open_at_risk(tasks) -> Decimal:
    return sum((t.at_risk for t in tasks), Decimal(0))


DENIALS = {"another cause (CO-197)": ("197", []), "the rejection's cause (CO-16 MA130)": ("16", ["MA130"])}


@pytest.mark.parametrize("denial", DENIALS)
@pytest.mark.parametrize("order", ["rejection first", "remittance first"])
async def test_a_rejected_claim_the_payer_then_denied_puts_its_charge_at_risk_once(denial, order):
    remit = _denied(*DENIALS[denial])
    tasks = await _tasks([SUBMITTED, REJECTED, remit] if order == "rejection first" else [SUBMITTED, remit, REJECTED])
    assert _open_at_risk(tasks) == Decimal("1200.00")
    assert sum((t.amount_at_risk for t in tasks if t.is_open), Decimal(0)) == Decimal("1200.00")


async def test_a_rejection_that_arrives_after_the_adjudication_it_preceded_opens_no_work():
    tasks = await _tasks([SUBMITTED, _denied("197", []), REJECTED])
    rejection = next(t for t in tasks if t.origin == "status:rejected")
    assert rejection.state == "resolved"


async def test_either_arrival_order_ends_in_the_same_tasks():
    for denial in DENIALS.values():
        first = await _tasks([SUBMITTED, REJECTED, _denied(*denial)])
        late = await _tasks([SUBMITTED, _denied(*denial), REJECTED])

        def shape(tasks):
            return sorted((t.category, t.state, t.action, str(t.amount_at_risk),
                           tuple((x.line_id, str(x.amount)) for x in t.lines)) for t in tasks)

        assert shape(first) == shape(late)
