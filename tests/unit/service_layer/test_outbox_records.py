"""The outbox's fast builder writes exactly the records the validated pydantic contracts would: same ids, topics,
keys and, field by field, the same content (checked by validating both payloads as their contract model)."""

from __future__ import annotations

import json

from bench.workload import remittances
from service.adapters.clock import SystemClock
from service.domain.classification import load_classifier
from service.privacy import Pseudonymizer
from service.service_layer import handlers, mapping
from service.service_layer import outbox as ob
from service.service_layer.handlers import Inbound, process_batch
from tests.support import events
from tests.unit.service_layer.fakes import FakeUnitOfWork
from tests.unit.service_layer.reference_outbox import build_records_validated
from topics.catalogue import CATALOGUE
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids


def _inbound(record: dict | bytes) -> Inbound:
    raw = record if isinstance(record, bytes) else json.dumps(record).encode()
    data = json.loads(raw)
    if "remit" in data:
        return Inbound("claims.remittance.v1", mapping.remittance(RemittanceEvent.model_validate_json(raw)), 0, 0)
    return Inbound("claims.status.v1", mapping.status_event(StatusEvent.model_validate_json(raw)), 0, 0)


async def test_fast_records_equal_the_validated_contract_records(monkeypatch):
    compared = []

    def both(evs):
        evs = list(evs)
        fast, reference = ob.build_records(evs), build_records_validated(evs)
        assert [(r.event_id, r.topic, r.key, r.causation_id) for r in fast] == \
            [(r.event_id, r.topic, r.key, r.causation_id) for r in reference]
        for f, r in zip(fast, reference, strict=True):
            model = CATALOGUE[f.topic].model
            assert model.model_validate_json(f.payload) == model.model_validate_json(r.payload), f.topic
        compared.extend(fast)
        return fast

    monkeypatch.setattr(handlers, "build_records", both)
    stream = [_inbound(v) for _, v in remittances(300, seed=3, patients=40)]
    stream += [_inbound(events.submitted("st-c1", "PC-C1")),
               _inbound({"event_id": "st-c2", "schema_version": 1, "kind": "acknowledgement",
                         "occurred_at": "2026-01-17T09:00:00Z", "payer": {"id": "BCBS-TX", "type": "commercial"},
                         "claim": {"claim_id": "PC-C1", "total_charge": 1200.0},
                         "status": {"category": "A7", "code": "562", "entity": "85", "action_code": "WQ"}})]
    uow = FakeUnitOfWork()
    for start in range(0, len(stream), 50):
        await process_batch(stream[start:start + 50], uow, load_classifier(), clock=CLOCK, member_digest=DIGEST)
    topics = {r.topic for r in compared}
    assert {"denials.classified.v1", "appeals.tasks.v1", "followups.patient-billing.v1",
            "followups.authorization.v1", "followups.corrected-claim.v1"} <= topics
