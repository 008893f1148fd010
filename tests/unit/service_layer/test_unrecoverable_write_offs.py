"""Denials nothing can recover are routed as write-offs (not appealable, out of the appeal queue), the explanation
saying why: an epidural steroid injection denied for necessity whose line names axial pain only (the policy covers
radicular pain), and a timely-filing denial (CARC 29) of a claim first sent after the payer's filing window with no
earlier submission on file to prove timely filing. Through `process_batch` and the real classifier."""

from __future__ import annotations

import json

import pytest

from service.adapters.clock import SystemClock
from service.domain.classification import load_classifier
from service.privacy import Pseudonymizer
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from tests.support import events
from tests.unit.service_layer.fakes import FakeUnitOfWork
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

CLASSIFIER = load_classifier()
MEDICARE = {"id": "MCR-JH", "name": "Medicare Part B", "type": "medicare"}
COMMERCIAL = {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"}


def _submitted(payer: dict, diagnoses: list[str], sent: str = "2026-01-16T18:00:00Z") -> Inbound:
    record = events.submitted("st-1", "PC-1", payer=payer, occurred_at=sent)
    record["claim"]["diagnoses"] = diagnoses
    return Inbound("claims.status.v1", mapping.status_event(StatusEvent.model_validate_json(json.dumps(record))))


def _denied(payer: dict, reason: str, remarks: list[str] | None = None, production: str = "2026-02-10") -> Inbound:
    lines = [events.line("1", "64483", ["RT"], charge=1200.0, paid=0.0, remarks=remarks or [],
                         adjustments=[{"group": "CO", "reason": reason, "amount": 1200.0}])]
    record = events.remittance("rm-1", "PC-1", payer=payer, lines=lines, production_date=production,
                               occurred_at=f"{production}T08:00:00Z")
    if payer["type"] == "medicare":
        record["claim"]["filing_indicator"] = "MB"
    return Inbound("claims.remittance.v1", mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record))))


async def _task(*items: Inbound):
    uow = FakeUnitOfWork()
    for item in items:
        await process_batch([item], uow, CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    return task


@pytest.mark.parametrize("payer", [MEDICARE, COMMERCIAL], ids=lambda p: p["type"])
@pytest.mark.parametrize("denial", [("50", []), ("96", ["N115"]), ("167", [])], ids=lambda d: "CO-" + d[0])
async def test_an_axial_only_epidural_denied_for_necessity_is_a_write_off(payer, denial):
    task = await _task(_submitted(payer, ["M54.50"]), _denied(payer, *denial))
    assert (task.action, task.appealable, task.queue) == ("write_off", False, "billing")
    assert "axial" in task.explanation and "M54.50" in task.explanation and "radicular" in task.explanation
    assert task.at_risk == 0


async def test_a_radicular_epidural_denied_for_necessity_is_still_appealed():
    task = await _task(_submitted(COMMERCIAL, ["M54.16"]), _denied(COMMERCIAL, "50"))
    assert (task.action, task.appealable, task.queue) == ("appeal", True, "appeals")


async def test_a_timely_filing_denial_of_a_claim_first_sent_after_the_window_is_a_write_off():
    late = _submitted(COMMERCIAL, ["M54.16"], sent="2026-06-01T18:00:00Z")  # service 2026-01-15, window 90 days
    task = await _task(late, _denied(COMMERCIAL, "29", production="2026-06-20"))
    assert (task.action, task.appealable, task.queue) == ("write_off", False, "billing")
    assert "2026-06-01" in task.explanation and "2026-04-15" in task.explanation


async def test_a_timely_filing_denial_of_a_claim_sent_within_the_window_is_appealed_with_the_proof():
    task = await _task(_submitted(COMMERCIAL, ["M54.16"]), _denied(COMMERCIAL, "29", production="2026-03-01"))
    assert (task.action, task.appealable, task.queue) == ("appeal", True, "appeals")
