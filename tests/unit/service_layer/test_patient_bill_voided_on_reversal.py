"""A payment that billed the patient and that the payer then reverses (CLP02 22): the patient-billing worker is told
to void that bill (a `patient-billing` follow-up for the negated amount, naming the bill it voids), and the
re-adjudication that follows bills the patient anew, so the patient ends up owing what the payer last decided. Through
`process_batch` and the real classifier."""

from __future__ import annotations

import json

from service.adapters.clock import SystemClock
from service.domain.classification import load_classifier
from service.privacy import Pseudonymizer
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from tests.support import events
from tests.unit.service_layer.fakes import FakeUnitOfWork
from topics.catalogue import followup_topic
from topics.remittance import RemittanceEvent

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

CLASSIFIER = load_classifier()
PATIENT_BILLING = followup_topic("patient-billing")


def _remit(event_id: str, status_code: str, paid: float, coinsurance: float, *, icn: str,
           production_date: str) -> Inbound:
    sign = -1 if status_code == "22" else 1
    contractual = 1200.0 - paid - coinsurance
    lines = [events.line("1", "64483", ["RT"], charge=sign * 1200.0, paid=sign * paid,
                         allowed=sign * (paid + coinsurance),
                         adjustments=[{"group": "CO", "reason": "45", "amount": sign * contractual},
                                      {"group": "PR", "reason": "2", "amount": sign * coinsurance}])]
    record = events.remittance(event_id, "PC-1", status_code=status_code, lines=lines, payer_claim_number=icn,
                               production_date=production_date, occurred_at=f"{production_date}T10:00:00Z",
                               trace_number=f"EFT-{event_id}")
    return Inbound("claims.remittance.v1", mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record))))


def _bills(uow: FakeUnitOfWork) -> list[dict]:
    return [json.loads(r.payload) for ch in uow.saved for r in ch.outbox if r.topic == PATIENT_BILLING]


async def test_a_reversed_payment_voids_the_patient_bill_it_sent_and_the_readjudication_bills_anew():
    uow = FakeUnitOfWork()
    await process_batch([_remit("rm-1", "1", 800.0, 200.0, icn="ICN-1", production_date="2026-02-10")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    (bill,) = _bills(uow)
    assert bill["amount"] == 200.0
    await process_batch([_remit("rm-2", "22", 800.0, 200.0, icn="ICN-1", production_date="2026-04-01")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    first, void = _bills(uow)
    assert void["amount"] == -200.0
    assert void["details"]["void"] is True and void["details"]["voids_causation_id"] == "rm-1"
    assert void["causation_id"] == "rm-2"
    await process_batch([_remit("rm-3", "1", 900.0, 100.0, icn="ICN-2", production_date="2026-04-01")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    assert sum(b["amount"] for b in _bills(uow)) == 100.0  # what the patient owes after the re-adjudication


async def test_a_second_reversal_of_the_same_payment_voids_nothing_more():
    uow = FakeUnitOfWork()
    await process_batch([_remit("rm-1", "1", 800.0, 200.0, icn="ICN-1", production_date="2026-02-10")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    await process_batch([_remit("rm-2", "22", 800.0, 200.0, icn="ICN-1", production_date="2026-04-01")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    await process_batch([_remit("rm-4", "22", 800.0, 200.0, icn="ICN-1", production_date="2026-04-02")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    assert [b["amount"] for b in _bills(uow)] == [200.0, -200.0]


async def test_a_reversal_of_a_payment_that_billed_no_one_voids_nothing():
    uow = FakeUnitOfWork()
    await process_batch([_remit("rm-1", "1", 1000.0, 0.0, icn="ICN-1", production_date="2026-02-10")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    await process_batch([_remit("rm-2", "22", 1000.0, 0.0, icn="ICN-1", production_date="2026-04-01")], uow,
                        CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    assert _bills(uow) == []
