"""The worker's batch and the authorization register: a CO-197 on a line an authorization on file covers becomes a
corrected claim with the number, and the register is read once per batch, only when a batch has such a denial."""

from __future__ import annotations

import datetime as dt

from service.domain.authorizations import Authorization
from service.domain.classification import load_classifier
from service.privacy import Pseudonymizer
from tests.unit.service_layer.fakes import FakeUnitOfWork
from tests.unit.service_layer.test_process_batch import remit

DIGEST = Pseudonymizer("test-key").member


def on_file(member_id: str, number: str = "PA-4410", scope: str = "esi") -> Authorization:
    return Authorization(payer_id="BCBS-TX", member_digest=DIGEST(member_id), auth_number=number, scope=scope,
                         valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 6, 30))


async def process(items, uow):
    from service.service_layer.handlers import process_batch

    return await process_batch(items, uow, load_classifier(), as_of=dt.date(2026, 3, 2), member_digest=DIGEST)


async def test_a_co_197_with_an_authorization_on_file_asks_for_a_corrected_claim_with_its_number():
    uow = FakeUnitOfWork()
    uow.authorizations = [on_file("MEM-PC-1")]
    await process([remit("rm-1")], uow)
    (decision,) = [row.decision for ch in uow.saved for row in ch.decisions]
    assert (decision.action, decision.rule_id) == ("corrected_claim", "auth.on_file")
    assert "authorization on file: corrected claim with REF*G1 PA-4410" in decision.explanation
    (task,) = uow.claims["PC-1"].tasks.values()
    assert "REF*G1 PA-4410" in task.explanation
    topics = [r.topic for ch in uow.saved for r in ch.outbox]
    assert "followups.corrected-claim.v1" in topics and "followups.authorization.v1" not in topics


async def test_without_a_covering_authorization_the_denial_asks_for_one():
    uow = FakeUnitOfWork()
    uow.authorizations = [on_file("MEM-PC-1", scope="rfa"), on_file("SOMEONE-ELSE")]
    await process([remit("rm-1")], uow)
    (decision,) = [row.decision for ch in uow.saved for row in ch.decisions]
    assert decision.action == "obtain_authorization"


async def test_the_register_is_read_once_per_batch_and_not_at_all_without_an_authorization_denial():
    uow = FakeUnitOfWork()
    await process([remit("rm-1", "PC-1"), remit("rm-2", "PC-2"), remit("rm-3", "PC-3")], uow)
    assert uow.authorization_reads == [{DIGEST("MEM-PC-1"), DIGEST("MEM-PC-2"), DIGEST("MEM-PC-3")}]
    paid = FakeUnitOfWork()
    from tests.support import events

    lines = [events.line("1", "64483", ["RT"], charge=1200, paid=900,
                         adjustments=[{"group": "CO", "reason": "45", "amount": 300}])]
    await process([remit("rm-9", "PC-9", lines=lines)], paid)
    assert paid.authorization_reads == []


async def test_a_trial_authorization_on_file_does_not_turn_the_implants_co_197_into_a_corrected_claim():
    from tests.support import events

    denied = [{"group": "CO", "reason": "197", "amount": 4500}]
    lines = [events.line("1", "63650", charge=4500, paid=0, adjustments=denied),
             events.line("2", "63685", charge=2640, paid=0,
                         adjustments=[{"group": "CO", "reason": "197", "amount": 2640}])]
    uow = FakeUnitOfWork()
    uow.authorizations = [on_file("MEM-PC-1", number="PA-TRIAL", scope="63650")]  # the trial's code
    await process([remit("rm-1", lines=lines)], uow)
    decisions = [row.decision for ch in uow.saved for row in ch.decisions]
    assert {d.action for d in decisions} == {"obtain_authorization"}
    assert not any("PA-TRIAL" in d.explanation for d in decisions)
    implant = FakeUnitOfWork()
    implant.authorizations = [on_file("MEM-PC-1", number="PA-TRIAL", scope="scs_trial"),
                              on_file("MEM-PC-1", number="PA-IMPLANT", scope="scs_implant")]
    await process([remit("rm-1", lines=lines)], implant)
    decisions = [row.decision for ch in implant.saved for row in ch.decisions]
    assert {(d.action, d.rule_id) for d in decisions} == {("corrected_claim", "auth.on_file")}
    assert all("REF*G1 PA-IMPLANT" in d.explanation for d in decisions)


async def test_an_authorization_for_a_transforaminal_injection_does_not_cover_an_interlaminar_one():
    from tests.support import events

    lines = [events.line("1", "62323", charge=1380, paid=0,
                         adjustments=[{"group": "CO", "reason": "197", "amount": 1380}])]
    uow = FakeUnitOfWork()
    uow.authorizations = [on_file("MEM-PC-1", number="PA-TF", scope="esi_transforaminal")]
    await process([remit("rm-1", lines=lines)], uow)
    (decision,) = [row.decision for ch in uow.saved for row in ch.decisions]
    assert decision.action == "obtain_authorization"
