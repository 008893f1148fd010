"""The store writes a batch's procedure history in one statement; a line seen twice in one batch ends as successive
upserts would have left it."""

from __future__ import annotations

import datetime as dt
import json

from agents.decoders import json_decoders
from service.adapters.clock import SystemClock
from service.adapters.store import PostgresUnitOfWork
from service.domain.classification import load_classifier
from service.domain.model import SessionDetail
from service.privacy import Pseudonymizer
from service.service_layer.handlers import Inbound, process_batch
from tests.integration.test_api_support import open_pool, settings_for
from tests.support.events import line, remittance, submitted

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

STATUS, REMITTANCE = "claims.status.v1", "claims.remittance.v1"


def _inbound(topic: str, record: dict, offset: int) -> list[Inbound]:
    decoded = json_decoders(1 << 20)[topic](json.dumps(record).encode())
    assert not decoded.errors, decoded.errors
    return [Inbound(topic, ev, 0, offset) for ev in decoded.events]


async def test_one_batch_touching_a_line_twice_keeps_the_last_procedure_and_what_was_paid(stack, db, run_id):
    claim = f"H-{run_id}"
    paid = remittance(f"rm-{run_id}", claim, occurred_at="2026-03-02T14:05:00Z", lines=[
        line("1", "64483", ["RT"], charge=1200.00, paid=800.00,
             adjustments=[{"group": "CO", "reason": "45", "amount": 400.00}])])
    # The same claim and line again, later in the batch: a corrected submission (it knows nothing of payment) with
    # another modifier. Row by row: the procedure becomes the submission's, `paid` stays what the payer said.
    corrected = submitted(f"sub-{run_id}", claim, occurred_at="2026-03-05T09:00:00Z", frequency_code="7", lines=[
        {"line_id": "1", "procedure": {"code": "64483", "modifiers": ["LT", "59"]}, "units": 1, "charge": 1200.00,
         "service_date": "2026-01-15", "diagnosis_pointers": [1]}])
    items = _inbound(REMITTANCE, paid, 0) + _inbound(STATUS, corrected, 1)

    url = stack.direct_database_url
    pool = await open_pool(url, settings_for(url))  # the service's codecs, on the migrated database
    try:
        report = await process_batch(items, PostgresUnitOfWork(pool), load_classifier(),
                                     clock=CLOCK, member_digest=DIGEST)
    finally:
        await pool.close()

    assert report.applied == 2
    rows = await db.fetch("SELECT procedure_code, modifiers, paid, updated_at FROM procedure_history "
                          "WHERE claim_id = $1", claim)
    assert len(rows) == 1
    assert (rows[0]["procedure_code"], rows[0]["modifiers"], rows[0]["paid"]) == ("64483", ["LT", "59"], True)
    assert rows[0]["updated_at"].isoformat() == "2026-03-05T09:00:00+00:00"


async def test_what_a_submission_documents_survives_the_remittance_and_reads_back_into_history(stack, db, run_id):
    """Side, levels, intent and relief come only with the submission: the remittance of the same line keeps them,
    and load_history returns them for the coverage rules."""
    claim = f"D-{run_id}"
    patient = f"MRN-{claim}"  # the builders' record number
    documented = submitted(f"sub-d-{run_id}", claim, occurred_at="2026-01-16T09:00:00Z", lines=[
        {"line_id": "1", "procedure": {"code": "64493", "modifiers": ["RT", "KX"]}, "units": 1, "charge": 1180.00,
         "service_date": "2026-01-15", "side": "right", "levels": ["L4-L5", "L5-S1"], "intent": "diagnostic",
         "relief_percent": 85}])
    paid = remittance(f"rm-d-{run_id}", claim, occurred_at="2026-03-02T14:05:00Z", lines=[
        line("1", "64493", ["RT", "KX"], charge=1180.00, paid=204.02,
             adjustments=[{"group": "CO", "reason": "45", "amount": 975.98}])])
    url = stack.direct_database_url
    pool = await open_pool(url, settings_for(url))
    try:
        first = await process_batch(_inbound(STATUS, documented, 0), PostgresUnitOfWork(pool), load_classifier(),
                                    clock=CLOCK, member_digest=DIGEST)
        then = await process_batch(_inbound(REMITTANCE, paid, 1), PostgresUnitOfWork(pool), load_classifier(),
                                   clock=CLOCK, member_digest=DIGEST)
        async with PostgresUnitOfWork(pool) as uow:
            history = await uow.load_history([patient], dt.date(2025, 1, 1))
    finally:
        await pool.close()
    assert (first.applied, then.applied) == (1, 1)
    row = await db.fetchrow("SELECT side, levels, intent, relief_percent, relief_days, paid FROM procedure_history "
                            "WHERE claim_id = $1", claim)
    assert dict(row) == {"side": "right", "levels": ["L4-L5", "L5-S1"], "intent": "diagnostic",
                         "relief_percent": 85, "relief_days": None, "paid": True}
    (session,) = history[patient]
    assert session.detail == SessionDetail(side="right", levels=("L4-L5", "L5-S1"), intent="diagnostic",
                                           relief_percent=85)
