"""Small builders for remittances, history and claim facts in classifier tests (no I/O)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain import model

NOTICE = dt.date(2026, 2, 27)  # a Friday
DOS = dt.date(2026, 1, 15)
T0 = dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC)


def adj(code: str, amount: str = "100.00") -> model.Adjustment:
    """`adj("CO-197")`: a CAS triplet from its group-reason text."""
    group, reason = code.split("-", 1)
    return model.Adjustment(group=group, reason=reason, amount=Decimal(amount))


def line(code: str, *adjustments: str, mods: tuple[str, ...] = (), remarks: tuple[str, ...] = (), units: int = 1,
         paid: str = "0.00", line_id: str = "1", dos: dt.date = DOS) -> model.RemitLine:
    return model.RemitLine(line_id=line_id, procedure=model.Procedure(code, tuple(mods)), charge=Decimal("1000.00"),
                           paid=Decimal(paid), units=Decimal(units), service_date=dos,
                           adjustments=tuple(adj(a) for a in adjustments), remarks=tuple(remarks))


def remit(*lines: model.RemitLine, payer_type: str = "commercial", payer_id: str = "PAYER-1", status: str = "1",
          claim_adjustments: tuple[str, ...] = (), claim_remarks: tuple[str, ...] = (), notice: dt.date = NOTICE,
          filing_indicator: str | None = None, claim_id: str = "PC-1",
          total_paid: str = "0.00") -> model.Remittance:
    return model.Remittance(
        event_id="rm-1", occurred_at=T0, payer=model.Payer(payer_id, payer_type), claim_id=claim_id,
        status_code=status, total_charge=Decimal("1000.00"), total_paid=Decimal(total_paid), production_date=notice,
        filing_indicator=filing_indicator, service_date_from=DOS, service_date_to=DOS, patient_key="P-1",
        adjustments=tuple(adj(a) for a in claim_adjustments), remarks=tuple(claim_remarks), lines=tuple(lines))


def session(code: str, day: dt.date, *, mods: tuple[str, ...] = (), paid: bool | None = True, claim_id: str = "OLD",
            line_id: str | None = None) -> model.HistorySession:
    return model.HistorySession(claim_id=claim_id, line_id=line_id or f"{code}-{day.isoformat()}", service_date=day,
                                procedure=model.Procedure(code, tuple(mods)), paid=paid)


def facts(*, payer_id: str = "PAYER-1", payer_type: str = "commercial", other_payers: tuple[str, ...] = (),
          adjudicated: tuple[str, ...] = (), prior_auth: str | None = None,
          lines: tuple[tuple[str, tuple[str, ...]], ...] = (), claim_id: str = "PC-1") -> model.ClaimFacts:
    submission = model.Submission(
        event_id="st-1", occurred_at=T0, payer=model.Payer(payer_id, payer_type), claim_id=claim_id,
        service_date_from=DOS, prior_authorization=prior_auth,
        other_payers=tuple(model.OtherPayer(id=p, type="commercial") for p in other_payers),
        lines=tuple(model.SubmittedLine(line_id=str(i + 1), procedure=model.Procedure(code, mods),
                                        charge=Decimal("1000.00"), service_date=DOS)
                    for i, (code, mods) in enumerate(lines)))
    return model.ClaimFacts(claim_id=claim_id, submission=submission, adjudicated_payers=set(adjudicated))


def months_before(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 - months
    return dt.date(day.year + index // 12, index % 12 + 1, min(day.day, 28))
