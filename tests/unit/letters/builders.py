"""Plain values for the letter composer's tests: a claim, tasks, decisions and claim history (no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache

from service.domain.letters import ClaimFactsForLetter, DenialForLetter, LetterBook, LetterRequest, TaskForLetter
from service.domain.model import ChecklistItem, HistorySession, Procedure, SubmittedLine
from service.domain.tasks import TaskLine

DOS = dt.date(2026, 9, 14)
TODAY = dt.date(2026, 11, 20)


@lru_cache(maxsize=1)
def book() -> LetterBook:
    return LetterBook.load()


def session(claim: str, date: dt.date, code: str, *mods: str, paid: bool | None = True, line: str = "1"):
    return HistorySession(claim_id=claim, line_id=line, service_date=date, procedure=Procedure(code, mods), paid=paid)


def claim(**changes) -> ClaimFactsForLetter:
    base = ClaimFactsForLetter(
        claim_id="PC-100", payer_id="MCR-JL", payer_type="medicare", payer_name="Medicare Part B JL",
        payer_claim_numbers=("ICN-77",), service_date_from=DOS, service_date_to=DOS, total_charge=Decimal("1800.00"),
        billing_npi="1234567893", rendering_npi="1922334455", diagnoses=("M54.16",),
        submitted_lines=(SubmittedLine("1", Procedure("64483", ("RT",)), Decimal("1200.00"), Decimal(1), DOS),
                         SubmittedLine("2", Procedure("64484", ("RT",)), Decimal("600.00"), Decimal(1), DOS)),
        first_submitted=DOS + dt.timedelta(days=2))
    return replace(base, **changes)


def necessity_task(**changes) -> TaskForLetter:
    base = TaskForLetter(
        task_id="t-necessity", category="medical_necessity", action="appeal", appealable=True, state="open",
        amount_at_risk=Decimal("1800.00"), explanation="CO-50 on 64483-RT: not medically necessary; appeal.",
        deadline=dt.date(2027, 1, 20), deadline_basis="Medicare redetermination: 120 days from receipt",
        lines=(TaskLine("1", Decimal("1200.00"), ("CO-50",), "64483", ("RT",), DOS),
               TaskLine("2", Decimal("600.00"), ("CO-50",), "64484", ("RT",), DOS)),
        checklist=(ChecklistItem("hp-notes", "Current history and physical or progress notes", True),
                   ChecklistItem("imaging-report", "Imaging report (MRI/CT) correlating the level and side")))
    return replace(base, **changes)


def denials(task_id: str = "t-necessity", reason: str = "50", remarks: tuple[str, ...] = ("N115",)):
    return (DenialForLetter(task_id, "1", "CO", reason, remarks, Decimal("1200.00"), "64483", ("RT",), DOS),
            DenialForLetter(task_id, "2", "CO", reason, remarks, Decimal("600.00"), "64484", ("RT",), DOS))


def history() -> tuple[HistorySession, ...]:
    """Office visit 20 weeks before, physical therapy, one earlier lumbar TFESI (paid) 3 months before."""
    return (session("PC-90", DOS - dt.timedelta(weeks=20), "99204"),
            session("PC-91", DOS - dt.timedelta(weeks=16), "97110", "GP"),
            session("PC-91", DOS - dt.timedelta(weeks=15), "97110", "GP", line="2"),
            session("PC-92", DOS - dt.timedelta(days=90), "64483", "RT"))


def request(*tasks: TaskForLetter, task_id: str = "t-necessity", **changes) -> LetterRequest:
    base = LetterRequest(claim=claim(), task_id=task_id, tasks=tasks or (necessity_task(),), decisions=denials(),
                         history=history(), today=TODAY)
    return replace(base, **changes)
