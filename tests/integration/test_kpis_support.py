"""The KPI fixture month (this module holds no tests): March 2026 of a small pain-management practice, as contract
events a billing platform publishes plus the appeal team's task changes, applied through the real pipeline (a
worker on a private stack, or the service layer in process) so every row is written the way production writes it.
The KPIs of the month are computed by hand in tests/integration/test_kpis.py.

Claims (primary payer BCBS-TX commercial or MCR-JL Medicare; NPI 1111111111 or 2222222222; one line each):
  A  BCBS 64483 (ESI)    DOS 03-01 $1000 NPI 1: submitted 03-02, accepted (A1) 03-03; paid 03-16: 600, CO-45 300,
                                               PR-2 100. Re-sent 03-17 under a new event id: a business-key duplicate.
  B  BCBS 64493 (facet)  DOS 03-02 $1000 NPI 1: submitted 03-03, 277CA rejection A7 03-04 (a billing task, resolved
                                               by the resubmission 03-06); denied 03-18 CO-197 1000 (authorization
                                               task); appeal submitted 03-22; paid 03-29: 700, CO-45 300 -> won, 700.
  C  MCR  64483 (ESI)    DOS 03-03 $1000 NPI 2: submitted 03-04; denied 03-17 CO-50+N115 1000 (medical necessity
                                               task); redetermination submitted 03-20; lost 03-30.
  D  BCBS 20552 (TPI)    DOS 03-05 $300  NPI 2: submitted 03-06; denied 03-20 CO-4 300 (coding task); written off
                                               03-25.
  E  MCR  64493 (facet)  DOS 03-08 $1000 NPI 1: submitted 03-09; paid 03-19: 500, CO-45 300, PR-2 200; reversed
                                               03-24 (CLP02 22) and paid again 03-24: 560, CO-45 300, PR-2 140;
                                               secondary AARP-SUP paid 03-27: 140, OA-23 860 (CLP02 2).
  K  BCBS 64483 (ESI)    DOS 03-10 $500  NPI 1: submitted 03-11, 277CA rejection A7 03-12 (task resolved by the
                                               resubmission 03-13); paid 03-23: 350, CO-45 150.
  H  MCR  64483 (ESI)    DOS 03-25 $900  NPI 2: submitted 03-26; no answer yet.
  G  BCBS 64483 (ESI)    DOS 02-02 $800  NPI 1: submitted 02-03; paid 02-20: 500, CO-45 300 (February).
  J  BCBS 64493 (facet)  DOS 01-20 $250  NPI 1: submitted 01-21; denied 02-05 CO-16+M51 250 (M51 names the
                                               procedure code: a coding task, still open).
  I  BCBS 64483 (ESI)    DOS 2025-11-10 $400 NPI 1: submitted 2025-11-12; no answer.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import asyncpg

from agents.decoders import json_decoders
from service.adapters.clock import SystemClock
from service.adapters.store import PostgresUnitOfWork
from service.adapters.task_store import PostgresWorkQueue
from service.domain.classification import load_classifier
from service.domain.tasks import task_id_for
from service.privacy import Pseudonymizer
from service.service_layer import tasks_api as uc
from service.service_layer.handlers import Inbound, process_batch
from tests.support import events
from tests.support.kafka import publish_json
from tests.support.ports import eventually

CLOCK = SystemClock()
DIGEST = Pseudonymizer("test-pseudonym-key").member  # how the authorization register keys member ids

BCBS = {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"}
MCR = {"id": "MCR-JL", "name": "Medicare Part B JL", "type": "medicare"}
AARP = {"id": "AARP-SUP", "name": "Medigap supplement", "type": "commercial"}
NPI_1, NPI_2 = "1111111111", "2222222222"
STATUS, REMITTANCE = "claims.status.v1", "claims.remittance.v1"
SUPERVISOR = uc.Scope(team="kpi-fixture", queues=frozenset(), supervisor=True, user="lead")


def when(day: str, hour: int) -> str:
    """Event times in the afternoon UTC: the same date in UTC and in the office's zone (America/Los_Angeles)."""
    return f"{day}T{hour:02d}:00:00Z"


@dataclass(frozen=True)
class Month:
    prefix: str

    def claim(self, letter: str) -> str:
        return f"KPI-{self.prefix}-{letter}"

    @property
    def claim_ids(self) -> list[str]:
        return [self.claim(x) for x in "ABCDEKHGJI"]

    def task(self, letter: str, payer: dict, category: str) -> str:
        return task_id_for(self.claim(letter), payer["id"], category)

    # -- builders --

    def submitted(self, letter: str, payer: dict, code: str, dos: str, charge: float, day: str, npi: str, *,
                  event: str = "s1") -> dict:
        line = {"line_id": "1", "procedure": {"code": code, "modifiers": []}, "units": 1, "charge": charge,
                "service_date": dos, "diagnosis_pointers": [1]}
        e = events.submitted(f"{self.prefix}-{letter}-{event}", self.claim(letter), payer=payer, lines=[line],
                             occurred_at=when(day, 17))
        e["claim"].update(service_date_from=dos, service_date_to=dos,
                          provider={"billing_npi": npi, "rendering_npi": "1922334455"},
                          patient={"member_id": f"MEM-{self.prefix}-{letter}",
                                   "patient_ref": f"MRN-{self.prefix}-{letter}"})
        return e

    def ack(self, letter: str, payer: dict, category: str, day: str, charge: float) -> dict:
        return {"event_id": f"{self.prefix}-{letter}-ak-{day}", "schema_version": 1, "kind": "acknowledgement",
                "occurred_at": when(day, 19), "payer": payer,
                "claim": {"claim_id": self.claim(letter), "total_charge": charge},
                "status": {"category": category, "code": "562" if category == "A7" else "20", "entity": "85",
                           "effective_date": day}}

    def remittance(self, letter: str, event: str, payer: dict, code: str, dos: str, charge: float, paid: float,
                   adjustments: list[tuple[str, str, float]], day: str, *, status: str = "1", remarks=(),
                   hour: int = 20, trace: str | None = None) -> dict:
        line = events.line("1", code, [], charge=charge, paid=paid, service_date=dos, remarks=list(remarks),
                           allowed=paid + sum(a for g, _, a in adjustments if g == "PR"),
                           adjustments=[{"group": g, "reason": r, "amount": a} for g, r, a in adjustments])
        e = events.remittance(f"{self.prefix}-{letter}-{event}", self.claim(letter), payer=payer, lines=[line],
                              status_code=status, occurred_at=when(day, hour), production_date=day,
                              trace_number=trace or f"EFT-{self.prefix}-{letter}-{event}",
                              payer_claim_number=f"ICN-{self.prefix}-{letter}-{payer['id']}",
                              patient={"member_id": f"MEM-{self.prefix}-{letter}",
                                       "patient_ref": f"MRN-{self.prefix}-{letter}", "name": "DOE, JANE",
                                       "birth_date": "1958-04-02"})
        e["claim"].update(service_date_from=dos, service_date_to=dos,
                          filing_indicator="MB" if payer is MCR else "CI",
                          patient_responsibility=sum(a for g, _, a in adjustments if g == "PR"))
        return e

    @staticmethod
    def reversal_of(original: dict, event_id: str, day: str, hour: int) -> dict:
        e = json.loads(json.dumps(original))
        e["event_id"] = event_id
        e["occurred_at"] = when(day, hour)
        e["remit"].update(production_date=day, payment_date=day, received_date=day, trace_number=f"EFT-{event_id}")
        c = e["claim"]
        c["status_code"] = "22"
        for key in ("total_charge", "total_paid", "patient_responsibility"):
            c[key] = -c[key]
        for line in c["lines"]:
            for key in ("charge", "allowed", "paid"):
                line[key] = -line[key]
            for adj in line["adjustments"]:
                adj["amount"] = -adj["amount"]
        return e

    # -- the month, in the order it happened --

    def statuses(self) -> list[dict]:
        return [
            self.submitted("I", BCBS, "64483", "2025-11-10", 400.00, "2025-11-12", NPI_1),
            self.submitted("J", BCBS, "64493", "2026-01-20", 250.00, "2026-01-21", NPI_1),
            self.submitted("G", BCBS, "64483", "2026-02-02", 800.00, "2026-02-03", NPI_1),
            self.submitted("A", BCBS, "64483", "2026-03-01", 1000.00, "2026-03-02", NPI_1),
            self.ack("A", BCBS, "A1", "2026-03-03", 1000.00),
            self.submitted("B", BCBS, "64493", "2026-03-02", 1000.00, "2026-03-03", NPI_1),
            self.ack("B", BCBS, "A7", "2026-03-04", 1000.00),
            self.submitted("B", BCBS, "64493", "2026-03-02", 1000.00, "2026-03-06", NPI_1, event="s2"),
            self.submitted("C", MCR, "64483", "2026-03-03", 1000.00, "2026-03-04", NPI_2),
            self.submitted("D", BCBS, "20552", "2026-03-05", 300.00, "2026-03-06", NPI_2),
            self.submitted("E", MCR, "64493", "2026-03-08", 1000.00, "2026-03-09", NPI_1),
            self.submitted("K", BCBS, "64483", "2026-03-10", 500.00, "2026-03-11", NPI_1),
            self.ack("K", BCBS, "A7", "2026-03-12", 500.00),
            self.submitted("K", BCBS, "64483", "2026-03-10", 500.00, "2026-03-13", NPI_1, event="s2"),
            self.submitted("H", MCR, "64483", "2026-03-25", 900.00, "2026-03-26", NPI_2),
        ]

    def first_remittances(self) -> list[dict]:
        a = self.remittance("A", "r1", BCBS, "64483", "2026-03-01", 1000.00, 600.00,
                            [("CO", "45", 300.00), ("PR", "2", 100.00)], "2026-03-16")
        a_again = json.loads(json.dumps(a))  # the same payment re-sent under a new control number
        a_again["event_id"] = f"{self.prefix}-A-r1-resent"
        a_again["occurred_at"] = when("2026-03-17", 20)
        e1 = self.remittance("E", "r1", MCR, "64493", "2026-03-08", 1000.00, 500.00,
                             [("CO", "45", 300.00), ("PR", "2", 200.00)], "2026-03-19")
        return [
            self.remittance("J", "r1", BCBS, "64493", "2026-01-20", 250.00, 0.00, [("CO", "16", 250.00)],
                            "2026-02-05", remarks=["M51"]),
            self.remittance("G", "r1", BCBS, "64483", "2026-02-02", 800.00, 500.00, [("CO", "45", 300.00)],
                            "2026-02-20"),
            a, a_again,
            self.remittance("C", "r1", MCR, "64483", "2026-03-03", 1000.00, 0.00, [("CO", "50", 1000.00)],
                            "2026-03-17", remarks=["N115"]),
            self.remittance("B", "r1", BCBS, "64493", "2026-03-02", 1000.00, 0.00, [("CO", "197", 1000.00)],
                            "2026-03-18"),
            e1,
            self.remittance("D", "r1", BCBS, "20552", "2026-03-05", 300.00, 0.00, [("CO", "4", 300.00)],
                            "2026-03-20"),
            self.remittance("K", "r1", BCBS, "64483", "2026-03-10", 500.00, 350.00, [("CO", "45", 150.00)],
                            "2026-03-23"),
            self.reversal_of(e1, f"{self.prefix}-E-rev", "2026-03-24", 20),
            self.remittance("E", "r2", MCR, "64493", "2026-03-08", 1000.00, 560.00,
                            [("CO", "45", 300.00), ("PR", "2", 140.00)], "2026-03-24", hour=21),
            self.remittance("E", "r3", AARP, "64493", "2026-03-08", 1000.00, 140.00, [("OA", "23", 860.00)],
                            "2026-03-27", status="2"),
        ]

    def appeal_payment(self) -> list[dict]:
        return [self.remittance("B", "r2", BCBS, "64493", "2026-03-02", 1000.00, 700.00, [("CO", "45", 300.00)],
                                "2026-03-29")]

    # -- the appeal team's changes (the API's use cases, at the times they happened) --

    async def submit_appeals(self, pool: asyncpg.Pool) -> None:
        store = PostgresWorkQueue(pool)
        for letter, payer, category, day in (("C", MCR, "medical_necessity", "2026-03-20"),
                                             ("B", BCBS, "authorization", "2026-03-22")):
            await uc.update_task(store, SUPERVISOR, self.task(letter, payer, category),
                                 uc.TaskUpdate(state="submitted", note="appeal sent with the records"),
                                 now=at(day), lease_ttl=dt.timedelta(minutes=15))
        await uc.write_off(store, SUPERVISOR, [self.task("D", BCBS, "coding")], "below the cost of a corrected claim",
                           now=at("2026-03-25"))

    async def record_loss(self, pool: asyncpg.Pool) -> None:
        await uc.update_task(PostgresWorkQueue(pool), SUPERVISOR, self.task("C", MCR, "medical_necessity"),
                             uc.TaskUpdate(state="lost", note="redetermination upheld"), now=at("2026-03-30"),
                             lease_ttl=dt.timedelta(minutes=15))

    # -- applying it --

    async def apply_in_process(self, pool: asyncpg.Pool) -> None:
        """Through the service layer the worker calls (process_batch + the store), one batch per topic and phase."""
        decoders = json_decoders(1 << 20)
        classifier = load_classifier()

        async def apply(topic: str, records: list[dict]) -> None:
            items = []
            for offset, record in enumerate(records):
                decoded = decoders[topic](json.dumps(record).encode())
                assert not decoded.errors, decoded.errors
                items += [Inbound(topic, ev, 0, offset) for ev in decoded.events]
            for item in items:  # one event per unit of work, in order, as a partition delivers them
                await process_batch([item], PostgresUnitOfWork(pool), classifier, clock=CLOCK, member_digest=DIGEST)

        await apply(STATUS, self.statuses())
        await apply(REMITTANCE, self.first_remittances())
        await self.submit_appeals(pool)
        await apply(REMITTANCE, self.appeal_payment())
        await self.record_loss(pool)

    async def apply_by_worker(self, bootstrap: str, pool: asyncpg.Pool) -> dict[str, int]:
        """Publish the month to the broker a worker consumes, phase by phase; returns the records published per
        topic."""
        statuses, first, payment = self.statuses(), self.first_remittances(), self.appeal_payment()
        await publish_json(bootstrap, STATUS, statuses)
        await eventually(lambda: pool.fetchval(
            "SELECT count(*) = $2 FROM claim_events WHERE claim_id = ANY($1::text[]) "
            "AND kind IN ('submitted', 'acknowledgement')", self.claim_ids, len(statuses)),
            timeout=90, message="the worker to apply the submissions")
        await publish_json(bootstrap, REMITTANCE, first)
        await eventually(lambda: pool.fetchval(
            "SELECT count(*) = $2 FROM remittances WHERE claim_id = ANY($1::text[])", self.claim_ids, len(first)),
            timeout=90, message="the worker to apply the remittances")
        await self.submit_appeals(pool)
        await publish_json(bootstrap, REMITTANCE, payment)
        await eventually(lambda: pool.fetchval(
            "SELECT state = 'won' FROM appeal_tasks WHERE task_id = $1", self.task("B", BCBS, "authorization")),
            timeout=90, message="the appeal payment to win the task")
        await self.record_loss(pool)
        return {STATUS: len(statuses), REMITTANCE: len(first) + len(payment)}


def at(day: str) -> dt.datetime:
    """When a person made a change in the office: 22:00 UTC, the same date in Los Angeles."""
    return dt.datetime.fromisoformat(f"{day}T22:00:00+00:00")

