"""The batch use case over an in-memory unit of work: dedupe, tasks, follow-ups, ordering guards."""

from __future__ import annotations

import json

from service.adapters.clock import SystemClock
from service.privacy import Pseudonymizer
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from tests.support import events
from tests.unit.service_layer.fakes import FakeUnitOfWork, TableClassifier
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids


def remit(event_id: str, claim_id: str = "PC-1", **kw) -> Inbound:
    record = RemittanceEvent.model_validate_json(json.dumps(events.remittance(event_id, claim_id, **kw)))
    return Inbound("claims.remittance.v1", mapping.remittance(record), 0, 0)


def status(record: dict) -> Inbound:
    return Inbound("claims.status.v1", mapping.status_event(StatusEvent.model_validate_json(json.dumps(record))), 0, 0)


def outbox_topics(uow: FakeUnitOfWork) -> list[str]:
    return [r.topic for ch in uow.saved for r in ch.outbox]


async def test_a_denial_opens_one_task_and_emits_classification_task_and_followup():
    uow = FakeUnitOfWork()
    report = await process_batch([remit("rm-1")], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert report.applied == 1 and report.denials == 1
    (claim,) = uow.claims.values()
    (task,) = claim.tasks.values()
    assert (task.category, task.queue, task.state) == ("authorization", "authorization", "open")
    assert outbox_topics(uow) == ["denials.classified.v1", "appeals.tasks.v1", "followups.authorization.v1"]


async def test_a_redelivered_event_changes_nothing():
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1")], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    report = await process_batch([remit("rm-1")], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert report.applied == 0 and report.redelivered == 1
    assert len(uow.saved) == 1


async def test_the_same_event_twice_in_one_batch_is_applied_once():
    uow = FakeUnitOfWork()
    report = await process_batch([remit("rm-1"), remit("rm-1")], uow, TableClassifier(),
                                 clock=CLOCK, member_digest=DIGEST)
    assert report.applied == 1 and report.redelivered == 1
    assert outbox_topics(uow).count("followups.authorization.v1") == 1


async def test_a_resent_remittance_under_a_new_event_id_is_recorded_as_a_duplicate():
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1", trace_number="EFT-1")], uow, TableClassifier(),
                        clock=CLOCK, member_digest=DIGEST)
    report = await process_batch([remit("rm-2", trace_number="EFT-1")], uow, TableClassifier(),
                                 clock=CLOCK, member_digest=DIGEST)
    assert report.duplicates == 1 and report.applied == 0
    assert uow.saved[-1].inbox_outcomes == {"rm-2": "duplicate_business_key"}
    assert not uow.saved[-1].outbox


async def test_two_denials_of_one_cause_on_two_lines_make_one_task_with_both_lines():
    lines = [events.line("1", "64483", ["RT"], charge=1200, paid=0,
                         adjustments=[{"group": "CO", "reason": "197", "amount": 1200}]),
             events.line("2", "64484", ["RT"], charge=600, paid=0,
                         adjustments=[{"group": "CO", "reason": "197", "amount": 600}])]
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1", lines=lines)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert [line.line_id for line in task.lines] == ["1", "2"]
    assert str(task.amount_at_risk) == "1800.00" or float(task.amount_at_risk) == 1800


async def test_a_later_remittance_paying_the_denied_line_closes_the_task_as_won():
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1")], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    paid = [events.line("1", "64483", ["RT"], charge=1200, paid=900,
                        adjustments=[{"group": "CO", "reason": "45", "amount": 300}])]
    await process_batch([remit("rm-2", lines=paid, occurred_at="2026-04-01T10:00:00Z")], uow, TableClassifier(),
                        clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert task.state == "won"
    assert float(task.recovered_amount) == 900


async def test_a_late_older_remittance_does_not_reopen_or_rewrite_a_newer_task_state():
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1", occurred_at="2026-03-02T10:00:00Z")], uow, TableClassifier(),
                        clock=CLOCK, member_digest=DIGEST)
    paid = [events.line("1", "64483", ["RT"], charge=1200, paid=900,
                        adjustments=[{"group": "CO", "reason": "45", "amount": 300}])]
    await process_batch([remit("rm-2", lines=paid, occurred_at="2026-04-01T10:00:00Z")], uow, TableClassifier(),
                        clock=CLOCK, member_digest=DIGEST)
    # an older denial of the same cause arrives late
    await process_batch([remit("rm-0", occurred_at="2026-02-20T10:00:00Z", trace_number="EFT-old")], uow,
                        TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert task.state == "won"
    assert uow.claims["PC-1"].state == "paid"


async def test_a_corrected_claim_resolves_the_fix_and_resubmit_task_it_answers():
    coding = [events.line("1", "64483", [], charge=1200, paid=0,
                          adjustments=[{"group": "CO", "reason": "4", "amount": 1200}])]
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1", lines=coding)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    correction = events.submitted("st-2", "PC-1", frequency_code="7", original_payer_claim_number="ICN-PC-1",
                                  occurred_at="2026-03-10T09:00:00Z")
    await process_batch([status(correction)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert task.state == "resolved"


async def test_history_from_earlier_claims_of_the_patient_reaches_the_classifier():
    uow = FakeUnitOfWork()
    clf = TableClassifier()
    patient = {"member_id": "M-1", "patient_ref": "MRN-1"}
    first = [events.line("1", "64493", ["50"], charge=900, paid=700, service_date="2026-01-05",
                         adjustments=[{"group": "CO", "reason": "45", "amount": 200}])]
    await process_batch([remit("rm-a", "PC-A", lines=first, patient=patient)], uow, clf,
                        clock=CLOCK, member_digest=DIGEST)
    await process_batch([remit("rm-b", "PC-B", patient=patient)], uow, clf, clock=CLOCK, member_digest=DIGEST)
    assert [(s.claim_id, s.procedure.code, s.paid) for s in clf.last_history] == [("PC-A", "64493", True)]


async def test_a_rejection_opens_a_billing_task_and_a_corrected_claim_followup():
    uow = FakeUnitOfWork()
    record = {"event_id": "st-9", "schema_version": 1, "kind": "acknowledgement",
              "occurred_at": "2026-01-17T09:00:00Z", "payer": {"id": "BCBS-TX", "type": "commercial"},
              "claim": {"claim_id": "PC-1", "total_charge": 1200.0},
              "status": {"category": "A7", "code": "562", "entity": "85", "action_code": "WQ"}}
    await process_batch([status(record)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert (task.queue, task.action, task.state) == ("billing", "corrected_claim", "open")
    assert uow.claims["PC-1"].state == "rejected"
    assert "followups.corrected-claim.v1" in outbox_topics(uow)


async def test_a_late_older_denial_opens_no_task_for_a_line_a_newer_remittance_paid():
    uow = FakeUnitOfWork()
    paid = [events.line("1", "64483", ["RT"], charge=1200, paid=900,
                        adjustments=[{"group": "CO", "reason": "45", "amount": 300}])]
    await process_batch([remit("rm-new", lines=paid, occurred_at="2026-04-01T10:00:00Z")], uow, TableClassifier(),
                        clock=CLOCK, member_digest=DIGEST)
    await process_batch([remit("rm-old", occurred_at="2026-03-02T10:00:00Z", trace_number="EFT-old")], uow,
                        TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert uow.claims["PC-1"].tasks == {}
    assert uow.claims["PC-1"].state == "paid"
    # the late denial is still recorded as a decision
    assert [d.decision.reason for ch in uow.saved for d in ch.decisions] == ["45", "197"]


async def test_a_rejection_task_is_resolved_when_the_resubmitted_claim_is_accepted():
    uow = FakeUnitOfWork()
    rejected = {"event_id": "st-1", "schema_version": 1, "kind": "acknowledgement",
                "occurred_at": "2026-01-17T09:00:00Z", "payer": {"id": "BCBS-TX", "type": "commercial"},
                "claim": {"claim_id": "PC-1", "total_charge": 1200.0},
                "status": {"category": "A7", "code": "562", "entity": "85", "action_code": "WQ"}}
    await process_batch([status(rejected)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert task.state == "open"
    resubmitted = events.submitted("st-2", "PC-1", occurred_at="2026-01-20T09:00:00Z")
    await process_batch([status(resubmitted)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert task.state == "resolved"


async def test_a_deductible_only_line_counts_as_a_covered_session_in_history():
    uow = FakeUnitOfWork()
    clf = TableClassifier()
    patient = {"member_id": "M-1", "patient_ref": "MRN-1"}
    deductible = [events.line("1", "64483", ["RT"], charge=900, paid=0, allowed=262.18, service_date="2026-01-05",
                              adjustments=[{"group": "CO", "reason": "45", "amount": 637.82},
                                           {"group": "PR", "reason": "1", "amount": 262.18}])]
    await process_batch([remit("rm-a", "PC-A", lines=deductible, patient=patient)], uow, clf,
                        clock=CLOCK, member_digest=DIGEST)
    await process_batch([remit("rm-b", "PC-B", patient=patient)], uow, clf, clock=CLOCK, member_digest=DIGEST)
    assert [(s.claim_id, s.paid) for s in clf.last_history] == [("PC-A", True)]


async def test_a_newer_denial_of_the_same_cause_reopens_a_resolved_or_won_task():
    coding = [events.line("1", "64483", [], charge=1200, paid=0,
                          adjustments=[{"group": "CO", "reason": "4", "amount": 1200}])]
    uow = FakeUnitOfWork()
    await process_batch([remit("rm-1", lines=coding)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    correction = events.submitted("st-2", "PC-1", frequency_code="7", original_payer_claim_number="ICN-PC-1",
                                  occurred_at="2026-03-10T09:00:00Z")
    await process_batch([status(correction)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert next(iter(uow.claims["PC-1"].tasks.values())).state == "resolved"
    await process_batch([remit("rm-3", lines=coding, occurred_at="2026-04-01T10:00:00Z", trace_number="EFT-3")],
                        uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    (task,) = uow.claims["PC-1"].tasks.values()
    assert task.state == "open"
    assert outbox_topics(uow).count("followups.corrected-claim.v1") == 2


async def test_an_inquiry_error_goes_to_the_status_inquiry_worker_and_leaves_the_claim_silent():
    """E0-E4/D0 answer our 276, not the claim: the claim keeps its state (so the silent-claim timer asks again) and
    the status-inquiry worker is told what was wrong with its request."""
    from service.domain.classification import load_classifier

    uow = FakeUnitOfWork()
    await process_batch([status(events.submitted("st-1", "PC-1", occurred_at="2026-01-16T09:00:00Z"))], uow,
                        load_classifier(), clock=CLOCK, member_digest=DIGEST)
    answers = [{"event_id": f"st-{category}", "schema_version": 1, "kind": "status",
                "occurred_at": f"2026-02-{day}T09:00:00Z", "payer": {"id": "BCBS-TX", "type": "commercial"},
                "claim": {"claim_id": "PC-1", "total_charge": 1200.0},
                "status": {"category": category, "code": code, "entity": "85"}}
               for day, category, code in (("20", "E0", "24"), ("21", "E2", "0"))]
    await process_batch([status(a) for a in answers], uow, load_classifier(), clock=CLOCK, member_digest=DIGEST)

    claim = uow.claims["PC-1"]
    assert claim.state == "submitted" and claim.tasks == {}
    followups = [r for ch in uow.saved for r in ch.outbox if r.topic == "followups.status-inquiry.v1"]
    assert len(followups) == 2
    values = [json.loads(r.payload) for r in followups]
    assert [(v["action"], v["details"]["bucket"], v["details"]["status_category"]) for v in values] == [
        ("review", "inquiry_error", "E0"), ("wait", "retry", "E2")]
    assert [v["causation_id"] for v in values] == ["st-E0", "st-E2"]


async def test_a_remittance_naming_another_patient_than_the_claims_is_noted_on_the_timeline():
    """A claim id reused for another patient in another file: the gateway cannot see it, the claim can."""
    uow = FakeUnitOfWork()
    first = {"member_id": "MEM-A", "patient_ref": "MRN-A", "name": "DOE, JANE", "birth_date": None}
    other = {"member_id": "MEM-B", "patient_ref": "MRN-B", "name": "ROE, RICHARD", "birth_date": None}
    await process_batch([remit("rm-1", patient=first)], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    await process_batch([remit("rm-2", patient=other, trace_number="EFT-9")], uow, TableClassifier(),
                        clock=CLOCK, member_digest=DIGEST)
    (claim,) = uow.claims.values()
    notes = [entry.summary.get("data_quality") for ch in uow.saved for entry in ch.timeline]
    assert notes == [None, ["the remittance names another patient than the claim's: the claim id may be reused"]]
    assert claim.patient_key is not None


def _digested(item: Inbound, raw: dict) -> Inbound:
    import dataclasses

    from topics.codec import content_digest

    return dataclasses.replace(item, digest=content_digest(json.dumps(raw).encode()))


def _conflicting_pair(event_id: str = "rm-c1"):
    first_raw = events.remittance(event_id, "PC-C1")
    later_lines = [events.line("1", "64483", ["RT"], charge=1200.00, paid=0.00,
                               adjustments=[{"group": "CO", "reason": "50", "amount": 1200.00}])]
    later_raw = events.remittance(event_id, "PC-C1", lines=later_lines, remarks=["N115"])
    return (_digested(remit(event_id, "PC-C1"), first_raw),
            _digested(remit(event_id, "PC-C1", lines=later_lines, remarks=["N115"]), later_raw))


async def test_a_known_event_id_with_other_content_is_a_conflict_and_the_first_version_stays():
    uow = FakeUnitOfWork()
    first, later = _conflicting_pair()
    await process_batch([first], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    tasks_before = {t.task_id: (t.category, t.state) for c in uow.claims.values() for t in c.tasks.values()}
    report = await process_batch([later], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert report.applied == 0 and report.redelivered == 0
    (conflict,) = report.conflicts
    assert conflict.item is later and conflict.first_digest == first.digest and conflict.digest == later.digest
    assert {t.task_id: (t.category, t.state) for c in uow.claims.values() for t in c.tasks.values()} == tasks_before
    assert len(uow.saved) == 1  # nothing of the later version was written


async def test_a_conflict_inside_one_batch_is_found_and_the_first_in_the_batch_applies():
    uow = FakeUnitOfWork()
    first, later = _conflicting_pair("rm-c2")
    report = await process_batch([first, later, first], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert report.applied == 1 and report.redelivered == 1
    assert [c.item for c in report.conflicts] == [later]


async def test_a_byte_identical_redelivery_is_no_conflict():
    uow = FakeUnitOfWork()
    first, _ = _conflicting_pair("rm-c3")
    await process_batch([first], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    report = await process_batch([first], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert report.redelivered == 1 and report.conflicts == []


async def test_an_inbox_row_without_a_digest_is_never_flagged():
    uow = FakeUnitOfWork()
    first, later = _conflicting_pair("rm-c4")
    import dataclasses

    await process_batch([dataclasses.replace(first, digest=None)], uow, TableClassifier(),  # a pre-digest row
                        clock=CLOCK, member_digest=DIGEST)
    report = await process_batch([later], uow, TableClassifier(), clock=CLOCK, member_digest=DIGEST)
    assert report.redelivered == 1 and report.conflicts == []
