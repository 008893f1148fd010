"""Builders of KPI facts for the unit tests (plain values, as the adapter would produce them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain.kpis import AcknowledgementFact, ClaimFact, RemitFact, SubmissionFact, TaskFact

D = Decimal


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def at(text: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day(text), dt.time(hour), tzinfo=dt.UTC)


def sub(on: str, payer: str = "BCBS", frequency: str = "1", hour: int = 9) -> SubmissionFact:
    return SubmissionFact(at=at(on, hour), day=day(on), payer_id=payer, frequency_code=frequency)


def ack(on: str, rejected: bool, hour: int = 12) -> AcknowledgementFact:
    return AcknowledgementFact(at=at(on, hour), rejected=rejected)


def remit(event_id: str, on: str, *, payer: str = "BCBS", payer_type: str = "commercial", status: str = "1",
          charge: str = "1000", paid: str = "0", contractual: str = "0", cost_share: str = "0",
          denials: dict[str, str] | None = None, pcn: str | None = None, hour: int = 14) -> RemitFact:
    return RemitFact(event_id=event_id, payer_id=payer, payer_type=payer_type, status_code=status,
                     occurred_at=at(on, hour), production_date=day(on), total_charge=D(charge), total_paid=D(paid),
                     payer_claim_number=pcn, contractual=D(contractual), cost_share=D(cost_share),
                     denials={k: D(v) for k, v in (denials or {}).items()})


def claim(claim_id: str, *, charge: str | None = "1000", dos: str | None = "2026-03-01",
          provider: str | None = "1111111111", families: tuple[str, ...] = ("esi_transforaminal",),
          payer: str | None = "BCBS", payer_type: str = "commercial", submissions=(), acks=(), remits=()) -> ClaimFact:
    return ClaimFact(claim_id=claim_id, charge=D(charge) if charge is not None else None,
                     service_date=day(dos) if dos else None, provider=provider, families=frozenset(families),
                     payer_id=payer, payer_type=payer_type, submissions=tuple(submissions),
                     acknowledgements=tuple(acks), remittances=tuple(remits))


def task(task_id: str, claim_id: str, *, category: str = "authorization", state: str = "open",
         opened: str = "2026-03-05", submitted: str | None = None, closed: str | None = None, amount: str = "100",
         recovered: str | None = None, recouped: str | None = None, payer: str = "BCBS",
         payer_type: str = "commercial") -> TaskFact:
    return TaskFact(task_id=task_id, claim_id=claim_id, payer_id=payer, payer_type=payer_type, category=category,
                    state=state, opened_on=day(opened), submitted_on=day(submitted) if submitted else None,
                    closed_on=day(closed) if closed else None, amount_at_risk=D(amount),
                    recovered_amount=D(recovered) if recovered else None,
                    recouped_amount=D(recouped) if recouped else None)
