"""Builders for the revenue tests: remittance lines with CAS triplets, fee rates, decisions from the real classifier."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain import model as m
from service.domain.fee_schedule import FeeRate, FeeSchedule

DOS = dt.date(2026, 1, 15)
MEDICARE = m.Payer("MCR-JL", "medicare", "Medicare Part B JL")
COMMERCIAL = m.Payer("BCBS-TX", "commercial", "Blue Cross TX")


def D(value: str | int) -> Decimal:  # noqa: N802 - reads like the Decimal it builds
    return Decimal(str(value))


def line(line_id: str, code: str, modifiers: tuple[str, ...] = (), *, charge: str, paid: str,
         adjustments: tuple[tuple[str, str, str], ...] = (), units: str = "1", allowed: str | None = None,
         remarks: tuple[str, ...] = (), service_date: dt.date = DOS) -> m.RemitLine:
    return m.RemitLine(line_id=line_id, procedure=m.Procedure(code, tuple(modifiers)), charge=D(charge),
                       paid=D(paid), units=D(units), allowed=D(allowed) if allowed is not None else None,
                       service_date=service_date, remarks=tuple(remarks),
                       adjustments=tuple(m.Adjustment(g, r, D(a)) for g, r, a in adjustments))


def remittance(lines: list[m.RemitLine], *, payer: m.Payer = MEDICARE, status_code: str = "1",
               event_id: str = "rm-1", claim_id: str = "PC-1", production_date: dt.date = dt.date(2026, 2, 27),
               occurred_at: dt.datetime = dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC),
               remarks: tuple[str, ...] = ()) -> m.Remittance:
    return m.Remittance(
        event_id=event_id, occurred_at=occurred_at, payer=payer, claim_id=claim_id, status_code=status_code,
        total_charge=sum((x.charge for x in lines), Decimal(0)), total_paid=sum((x.paid for x in lines), Decimal(0)),
        production_date=production_date, filing_indicator="MB" if payer.type == "medicare" else "CI",
        service_date_from=DOS, service_date_to=DOS, lines=tuple(lines), remarks=tuple(remarks),
        patient_key=f"MRN-{claim_id}")


def rate(code: str, amount: str, *, payer: m.Payer = MEDICARE, modifier: str = "",
         start: dt.date = dt.date(2026, 1, 1), end: dt.date | None = None) -> FeeRate:
    return FeeRate(payer_id=payer.id, code=code, amount=D(amount), effective_from=start, modifier=modifier,
                   effective_to=end, source="test")


def schedule(*rates: FeeRate) -> FeeSchedule:
    return FeeSchedule(rates)


# The worked example (hand-checked; see test_expected_reimbursement.py): MCR-JL rates effective 2026-01-01.
EXAMPLE_RATES = (rate("64483", "200.00"), rate("64484", "90.00"), rate("27096", "100.00"), rate("20552", "60.00"))
