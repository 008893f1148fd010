"""One claim's facts applied one per batch in every interleaving of its two topics (claim status, remittance) end in
the same tasks and ask for the same follow-up work (DESIGN invariant 7), through `process_batch` and the real
classifier."""

from __future__ import annotations

import itertools
import json

import pytest

from service.adapters.clock import SystemClock
from service.domain.classification import load_classifier
from service.privacy import Pseudonymizer
from service.service_layer import mapping
from service.service_layer.handlers import Inbound, process_batch
from tests.support.interleaving import REMITTANCE_TOPIC, Plan, history
from tests.unit.service_layer.fakes import FakeUnitOfWork
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

CLASSIFIER = load_classifier()


def inbound(record) -> Inbound:
    if record.topic == REMITTANCE_TOPIC:
        return Inbound(record.topic, mapping.remittance(RemittanceEvent.model_validate_json(json.dumps(record.value))))
    return Inbound(record.topic, mapping.status_event(StatusEvent.model_validate_json(json.dumps(record.value))))


def interleavings(records):
    """Every merge of the claim's status records and remittance records that keeps each topic's own order."""
    status = [r for r in records if r.topic != REMITTANCE_TOPIC]
    remits = [r for r in records if r.topic == REMITTANCE_TOPIC]
    n = len(records)
    for slots in itertools.combinations(range(n), len(remits)):
        s, r, out = iter(status), iter(remits), []
        for i in range(n):
            out.append(next(r) if i in slots else next(s))
        yield out


async def final(records) -> tuple:
    uow = FakeUnitOfWork()
    for record in records:
        await process_batch([inbound(record)], uow, CLASSIFIER, clock=CLOCK, member_digest=DIGEST)
    (claim,) = uow.claims.values()
    tasks = sorted((t.category, t.state, t.action, t.origin, str(t.amount_at_risk), t.appealable)
                   for t in claim.tasks.values())
    followups = sorted({(r.topic, json.loads(r.payload).get("category")) for ch in uow.saved for r in ch.outbox
                        if r.topic.startswith("followups.")})
    return claim.state, tasks, followups


STORIES = {
    "status denial before the remittance's denial": Plan(0, False, "denied_auth", "authorization", False, False, 0,
                                                         False),
    "records request, denial, then paid": Plan(1, False, "records", "missing_information", False, True, 3, False),
    "corrected claim between the denial and the payment": Plan(0, False, "none", "coding", True, True, 5, False),
    "rejected, resent, coverage denial, corrected": Plan(2, True, "denied_coverage", "eligibility", True, False, 9,
                                                         True),
}


@pytest.mark.parametrize("story", sorted(STORIES))
async def test_every_interleaving_of_a_claims_topics_ends_in_the_same_state(story):
    records = history(STORIES[story], "PC-ORDER")
    results = {}
    for order in interleavings(records):
        results[tuple(r.event_id for r in order)] = await final(order)
    in_time = await final(records)
    assert in_time[1], "the story opens no task: it would prove nothing"
    differing = {k: v for k, v in results.items() if v != in_time}
    assert not differing, (f"{len(differing)} of {len(results)} interleavings differ, "
                           f"e.g. {next(iter(differing.items()))}")
