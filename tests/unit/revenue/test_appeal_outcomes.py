"""Appeal outcomes from the stream (batch use case over the in-memory unit of work).

Deadlines below are worked by hand from reference 6.1: Medicare reconsideration = 180 days from receipt of the
redetermination, receipt presumed 5 days after the notice (DTM*405), rolled past weekends and federal holidays.
  notice 2026-06-01 -> receipt 2026-06-06 -> + 180 days = 2026-12-03 (a Thursday)
  notice 2026-05-25 -> receipt 2026-05-30 -> + 180 days = 2026-11-26 (Thanksgiving) -> 2026-11-27
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from service.adapters.clock import SystemClock
from service.domain.model import Payer, ProviderAdjustment
from service.domain.tasks import task_id_for
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from tests.support import events
from tests.unit.service_layer.fakes import FakeUnitOfWork, TableClassifier
from topics.remittance import RemittanceEvent

CLOCK = SystemClock()

MCR = {"id": "MCR-JL", "name": "Medicare Part B JL", "type": "medicare"}
BCBS = {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"}
NECESSITY = task_id_for("PC-1", "MCR-JL", "medical_necessity")


def denied(amount: float = 1200.00, reason: str = "50", remarks=None) -> list[dict]:
    return [events.line("1", "64483", ["RT"], charge=amount, paid=0, remarks=remarks,
                        adjustments=[{"group": "CO", "reason": reason, "amount": amount}])]


def paid_line(paid: float, charge: float = 1200.00, remarks=None) -> list[dict]:
    return [events.line("1", "64483", ["RT"], charge=charge, paid=paid, remarks=remarks,
                        adjustments=[{"group": "CO", "reason": "45", "amount": round(charge - paid, 2)}])]


def remit(event_id: str, lines: list[dict], *, at: str, notice: str, payer: dict = MCR, status_code: str = "1",
          remarks=None) -> Inbound:
    record = events.remittance(event_id, "PC-1", payer=payer, lines=lines, occurred_at=at, production_date=notice,
                               status_code=status_code, remarks=remarks)
    return Inbound("claims.remittance.v1", mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record))))


def task(uow: FakeUnitOfWork, task_id: str = NECESSITY):
    return uow.claims["PC-1"].tasks[task_id]


def mark_submitted(uow: FakeUnitOfWork, task_id: str = NECESSITY) -> None:
    """What the appeals team does in the work queue after filing the appeal."""
    task(uow, task_id).transition("submitted", at=dt.datetime(2026, 3, 20, tzinfo=dt.UTC))


def audit(uow: FakeUnitOfWork) -> list[tuple[str, str | None, str]]:
    return [(a.change, a.from_state, a.to_state) for a in uow.saved[-1].task_audit]


def followups(uow: FakeUnitOfWork, topic: str) -> list[dict]:
    return [json.loads(r.payload) for r in uow.saved[-1].outbox if r.topic == topic]


async def opened(payer: dict = MCR, amount: float = 1200.00) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1", denied(amount), at="2026-03-02T14:00:00Z", notice="2026-02-27",
                               payer=payer)], uow, TableClassifier(), clock=CLOCK)
    return uow


async def test_the_same_denial_after_the_appeal_was_submitted_loses_it_and_opens_the_reconsideration():
    uow = await opened()
    mark_submitted(uow)
    await process_batch([remit("rm-2", denied(), at="2026-06-03T10:00:00Z", notice="2026-06-01")], uow,
                        TableClassifier(), clock=CLOCK)
    t = task(uow)
    assert (t.state, t.appeal_level, t.action, t.queue) == ("open", 2, "appeal", "appeals")
    assert t.deadline == dt.date(2026, 12, 3)
    assert t.deadline_basis.startswith("Medicare reconsideration: 180 days from receipt of the redetermination; "
                                       "notice 2026-06-01, receipt 2026-06-06")
    assert audit(uow) == [("closed", "submitted", "lost"), ("updated", "lost", "open")]
    notes = [a.note for a in uow.saved[-1].task_audit]
    assert notes[0].startswith("upheld at redetermination (level 1): the same denial came back (CO-50)")
    assert notes[1] == "reopened for reconsideration (level 2) with the QIC: due 2026-12-03"
    assert t.checklist[0].id == "appeal-level-2-decision"
    (followup,) = followups(uow, "followups.records-request.v1")
    assert followup["due_date"] == "2026-12-03" and followup["details"]["appeal_level"] == 2
    assert len(uow.claims["PC-1"].tasks) == 1


async def test_carc_193_upholds_the_appeal_even_before_the_team_marked_it_submitted():
    uow = await opened()
    await process_batch([remit("rm-2", denied(reason="193"), at="2026-05-28T10:00:00Z", notice="2026-05-25")], uow,
                        TableClassifier(), clock=CLOCK)
    t = task(uow)
    assert (t.state, t.appeal_level) == ("open", 2)
    # 2026-05-25 + 5 + 180 = 2026-11-26, Thanksgiving: the next business day
    assert t.deadline == dt.date(2026, 11, 27)
    assert "rolled from 2026-11-26 (thanksgiving day) to the next business day" in t.deadline_basis
    assert audit(uow) == [("updated", "open", "submitted"), ("closed", "submitted", "lost"),
                          ("updated", "lost", "open")]
    # the 193 is the appeal's answer, not a new cause: no "unclassified" task, and its decision row names the task
    assert list(uow.claims["PC-1"].tasks) == [NECESSITY]
    (row,) = uow.saved[-1].decisions
    assert (row.decision.reason, row.task_id) == ("193", NECESSITY)


async def test_an_appeal_result_remark_with_the_denial_unchanged_is_an_upheld_appeal():
    uow = await opened()
    await process_batch([remit("rm-2", denied(), at="2026-06-03T10:00:00Z", notice="2026-06-01", remarks=["MA91"])],
                        uow, TableClassifier(), clock=CLOCK)
    assert (task(uow).state, task(uow).appeal_level) == ("open", 2)


async def test_the_same_denial_on_a_task_not_yet_submitted_only_updates_it():
    uow = await opened()
    await process_batch([remit("rm-2", denied(), at="2026-04-03T10:00:00Z", notice="2026-04-01")], uow,
                        TableClassifier(), clock=CLOCK)
    assert (task(uow).state, task(uow).appeal_level) == ("open", 1)
    assert audit(uow) == [("updated", "open", "open")]


async def test_without_a_next_level_an_upheld_appeal_stays_lost():
    other = {"id": "LIEN-CO", "name": "Lien funding company", "type": "other"}
    uow = await opened(payer=other)
    tid = task_id_for("PC-1", "LIEN-CO", "medical_necessity")
    mark_submitted(uow, tid)
    await process_batch([remit("rm-2", denied(), at="2026-06-03T10:00:00Z", notice="2026-06-01", payer=other)], uow,
                        TableClassifier(), clock=CLOCK)
    t = task(uow, tid)
    assert (t.state, t.appeal_level) == ("lost", 1)
    (entry,) = uow.saved[-1].task_audit
    note = entry.note
    assert note.endswith("no further appeal level is configured for this payer")


async def test_an_upheld_commercial_appeal_climbs_to_the_plans_second_level():
    uow = await opened(payer=BCBS)
    tid = task_id_for("PC-1", "BCBS-TX", "medical_necessity")
    mark_submitted(uow, tid)
    await process_batch([remit("rm-2", denied(), at="2026-06-03T10:00:00Z", notice="2026-06-01", payer=BCBS)], uow,
                        TableClassifier(), clock=CLOCK)
    t = task(uow, tid)
    assert (t.state, t.appeal_level, t.deadline) == ("open", 2, dt.date(2026, 7, 31))
    assert t.deadline_basis.startswith("second-level provider appeal: 60 days from the first-level decision")


async def test_an_upheld_medicare_advantage_reconsideration_goes_to_the_ire_without_a_filing():
    ma = {"id": "MA-SUNRISE", "name": "Sunrise Medicare Advantage", "type": "medicare_advantage"}
    uow = await opened(payer=ma)
    tid = task_id_for("PC-1", "MA-SUNRISE", "medical_necessity")
    mark_submitted(uow, tid)
    await process_batch([remit("rm-2", denied(), at="2026-06-03T10:00:00Z", notice="2026-06-01", payer=ma)], uow,
                        TableClassifier(), clock=CLOCK)
    t = task(uow, tid)
    assert (t.state, t.appeal_level) == ("lost", 1)
    (entry,) = uow.saved[-1].task_audit
    note = entry.note
    assert "forwards an upheld reconsideration to the IRE itself" in note and "nothing to file" in note


async def test_the_alj_level_needs_the_amount_in_controversy():
    # $150.00 at stake: reconsideration (no minimum) is offered; the ALJ hearing needs $200.00 in 2026.
    uow = await opened(amount=150.00)
    mark_submitted(uow)
    await process_batch([remit("rm-2", denied(150.00), at="2026-06-03T10:00:00Z", notice="2026-06-01")], uow,
                        TableClassifier(), clock=CLOCK)
    assert (task(uow).state, task(uow).appeal_level) == ("open", 2)
    mark_submitted(uow)
    await process_batch([remit("rm-3", denied(150.00, "193"), at="2026-09-03T10:00:00Z", notice="2026-09-01")], uow,
                        TableClassifier(), clock=CLOCK)
    t = task(uow)
    assert (t.state, t.appeal_level) == ("lost", 2)
    (entry,) = uow.saved[-1].task_audit
    note = entry.note
    assert "no ALJ hearing: ALJ hearing needs at least $200.00 in controversy (2026); this task holds $150.00" in note


async def test_a_later_payment_wins_the_task_with_the_recovered_amount():
    uow = await opened()
    await process_batch([remit("rm-2", paid_line(812.40), at="2026-05-01T10:00:00Z", notice="2026-04-29",
                               remarks=["MA91"])], uow, TableClassifier(), clock=CLOCK)
    t = task(uow)
    assert (t.state, t.recovered_amount) == ("won", Decimal("812.40"))
    (entry,) = uow.saved[-1].task_audit
    note = entry.note
    assert note == "paid on an appeal decision: 812.40 recovered"


async def test_a_reversal_followed_by_a_repayment_recovers_only_the_new_money():
    # a partial payment: 300.00 paid, 900.00 denied (CO-50); the payer reverses it and repays 1100.00 in full
    partial = [events.line("1", "64483", ["RT"], charge=1200.00, paid=300.00,
                           adjustments=[{"group": "CO", "reason": "50", "amount": 900.00}])]
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1", partial, at="2026-03-02T14:00:00Z", notice="2026-02-27")], uow,
                        TableClassifier(), clock=CLOCK)
    assert task(uow).lines[0].paid == Decimal("300.00")
    reversal = [events.line("1", "64483", ["RT"], charge=-1200.00, paid=-300.00,
                            adjustments=[{"group": "CO", "reason": "50", "amount": -900.00}])]
    await process_batch([remit("rm-2", reversal, at="2026-05-01T10:00:00Z", notice="2026-04-29", status_code="22"),
                         remit("rm-3", paid_line(1100.00), at="2026-05-01T10:00:01Z", notice="2026-04-29")],
                        uow, TableClassifier(), clock=CLOCK)
    t = task(uow)
    assert (t.state, t.recovered_amount) == ("won", Decimal("800.00"))  # 1100.00 now - 300.00 before


async def test_a_recoupment_flags_a_won_task_and_annotates_the_others():
    uow = await opened()
    await process_batch([remit("rm-2", paid_line(812.40), at="2026-05-01T10:00:00Z", notice="2026-04-29")], uow,
                        TableClassifier(), clock=CLOCK)

    def plb(event_id: str, reason: str, amount: str) -> Inbound:
        return Inbound("remittance.provider-adjustments.v1", ProviderAdjustment(
            event_id=event_id, occurred_at=dt.datetime(2026, 7, 1, tzinfo=dt.UTC), payer=Payer("MCR-JL", "medicare"),
            payee_npi="1234567893", reason=reason, amount=Decimal(amount), production_date=dt.date(2026, 6, 29),
            reference="ICN-PC-1", claim_id="PC-1"))

    await process_batch([plb("plb-1", "WO", "812.40")], uow, TableClassifier(), clock=CLOCK)
    t = task(uow)
    assert (t.state, t.recouped_amount) == ("won", Decimal("812.40"))
    assert audit(uow) == [("updated", "won", "won")]
    (entry,) = uow.saved[-1].task_audit
    note = entry.note
    assert note.startswith("recoupment WO (overpayment recovery) of 812.40 on the 2026-06-29 remittance after the "
                           "task was won (812.40 recovered, 812.40 recouped)")
    await process_batch([plb("plb-2", "L6", "-3.10")], uow, TableClassifier(),
                        clock=CLOCK)  # interest: not a recoupment
    assert uow.saved[-1].task_audit == [] and task(uow).recouped_amount == Decimal("812.40")
