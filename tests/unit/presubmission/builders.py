"""Small builders for submitted claims and check contexts (no I/O)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from service.domain import model
from service.domain.authorizations import Authorization
from service.domain.presubmission import CheckContext, Finding, PriorSubmission, load_checker

DOS = dt.date(2026, 2, 16)
SENT = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)


def ln(code: str, *mods: str, units: int = 1, line_id: str | None = None, day: dt.date = DOS,
       pointers: tuple[int, ...] = (1,), auth: str | None = None,
       detail: model.SessionDetail = model.NO_DETAIL) -> model.SubmittedLine:
    return model.SubmittedLine(line_id=line_id or "?", procedure=model.Procedure(code, tuple(mods)),
                               charge=Decimal("100.00"), units=Decimal(units), service_date=day,
                               diagnosis_pointers=pointers, prior_authorization=auth, detail=detail)


def claim(*lines: model.SubmittedLine, payer_type: str = "medicare", payer_id: str = "MCR-JF",
          dx: tuple[str, ...] = ("M54.16",), claim_id: str = "CL-1", patient: str = "P-1", member: str = "M-1",
          auth: str | None = None, frequency: str = "1", original: str | None = None, event_id: str | None = None,
          sent: dt.datetime = SENT) -> model.Submission:
    numbered = tuple(x if x.line_id != "?" else model.SubmittedLine(
        line_id=str(i), procedure=x.procedure, charge=x.charge, units=x.units, service_date=x.service_date,
        diagnosis_pointers=x.diagnosis_pointers, prior_authorization=x.prior_authorization, detail=x.detail)
        for i, x in enumerate(lines, start=1))
    return model.Submission(
        event_id=event_id or f"ev-{claim_id}", occurred_at=sent, payer=model.Payer(payer_id, payer_type),
        claim_id=claim_id, frequency_code=frequency, original_payer_claim_number=original, patient_key=patient,
        diagnoses=dx, prior_authorization=auth, lines=numbered,
        service_date_from=min((x.service_date for x in numbered if x.service_date), default=None),
        patient=model.PatientIdentifiers(member_id=member))


def session(code: str, day: dt.date, *mods: str, paid: bool | None = True, claim_id: str = "OLD",
            detail: model.SessionDetail = model.NO_DETAIL) -> model.HistorySession:
    return model.HistorySession(claim_id=claim_id, line_id=f"{code}-{day.isoformat()}", service_date=day,
                                procedure=model.Procedure(code, tuple(mods)), paid=paid, detail=detail)


def auth(number: str, scope: str, *, payer_id: str = "ACME", side: str | None = None, start: str = "2026-01-01",
         end: str = "2026-06-30", levels: int | None = None, units: int | None = None,
         sessions: int | None = None) -> Authorization:
    return Authorization(payer_id=payer_id, member_digest="m_1", auth_number=number, scope=scope,
                         valid_from=dt.date.fromisoformat(start), valid_to=dt.date.fromisoformat(end), side=side,
                         levels=levels, units=units, sessions=sessions)


def check(sub: model.Submission, *, history: tuple[model.HistorySession, ...] = (),
          earlier: tuple[PriorSubmission, ...] = (), authorizations=None, complete: bool = False,
          **context) -> list[Finding]:
    ctx = CheckContext(submitted_on=context.pop("submitted_on", sub.occurred_at.date()), history=history,
                       earlier=earlier, authorizations=authorizations, history_complete=complete, **context)
    return load_checker().check(sub, ctx)


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule_id for f in findings}
