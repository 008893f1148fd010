"""What the claim's facts allow a letter to assert. Each check takes what an argument declares it stands on and
either lets it stand (returning the sentence that proves it, when there is one) or raises `Refusal`: the letter is
not written, and the 409 says why from the facts (dates, codes, windows; never an identifier) and what to do
instead. A refusal may name the letter that fits instead (a diagnosis correction by reopening)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from service.domain.clocks import add_months, filing_deadline
from service.domain.letters.book import Argument, DiagnosisRule, LetterBook
from service.domain.letters.crosswalk import NOT_MET, AppealedSession
from service.domain.letters.facts import CrosswalkRow, LetterRequest, TaskForLetter
from service.domain.model import Payer

SESSIONS_CRITERION = "Sessions in 12 months"

# What the letter cannot show when a fact is missing.
_MISSING = {
    "first_submitted": "no submission of this claim is on file, so nothing shows when it was first filed",
    "prior_authorization": "the claim carries no authorization number",
    "service_date": "the claim has no date of service on file",
    "diagnoses": "the claim's diagnoses are not on file",
}


@dataclass(slots=True)
class Refusal(Exception):
    """The facts contradict (or cannot support) what the argument would assert."""

    code: str  # write_off_recommended | corrected_claim_recommended | missing_facts
    message: str
    recommendation: str | None = None  # write_off | corrected_claim | reopening
    corrections: dict[str, str] = field(default_factory=dict)  # line id -> correction, for a reopening instead

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)


def service_date(request: LetterRequest, task: TaskForLetter) -> dt.date | None:
    dates = [x.service_date for x in task.lines if x.service_date is not None]
    return min(dates) if dates else request.claim.service_date_from


def has_fact(fact: str, request: LetterRequest, task: TaskForLetter) -> bool:
    claim = request.claim
    if fact == "first_submitted":
        return claim.first_submitted is not None
    if fact == "prior_authorization":
        return bool(claim.prior_authorization)
    if fact == "service_date":
        return service_date(request, task) is not None
    if fact == "diagnoses":
        return bool(claim.diagnoses)
    raise ValueError(f"unknown fact {fact!r}")  # the book refuses unknown names when it loads


def choose_argument(first: Argument, request: LetterRequest, task: TaskForLetter, book: LetterBook) -> Argument:
    """The argument whose needs the store meets: `first`, or the one it names `otherwise`; else a refusal."""
    argument, tried = first, set()
    while True:
        missing = [f for f in argument.needs if not has_fact(f, request, task)]
        if not missing:
            return argument
        tried.add(argument.key)
        if argument.otherwise is not None and argument.otherwise not in tried:
            argument = book.arguments[argument.otherwise]
            continue
        why = "; ".join(_MISSING[f] for f in missing)
        if argument.without_facts == "write_off":
            raise Refusal("write_off_recommended",
                          f"{why[:1].upper()}{why[1:]}. {book.recommendations['write_off']} "
                          f"{book.recommendations['late_filing_exception']}", "write_off")
        raise Refusal("missing_facts", f"The letter cannot be argued: {why}.")


# -- filed on time -----------------------------------------------------------------------------------------------------

def filed_on_time(request: LetterRequest, task: TaskForLetter, book: LetterBook) -> str:
    """The sentence that shows the claim was filed within the payer's window (its first submission against the
    window counted from the date of service), or a write-off recommendation when it was not."""
    claim = request.claim
    dos = service_date(request, task)
    first = claim.first_submitted
    assert dos is not None and first is not None  # the argument's needs
    policy = book.clocks.policies.for_payer(Payer(id=claim.payer_id, type=claim.payer_type,  # type: ignore[arg-type]
                                                  name=claim.payer_name))
    window = filing_deadline(policy, dos, book.clocks.holidays)
    days = (first - dos).days
    filed = f"The claim was first submitted on {first.isoformat()}, {days} days after the date of service " \
            f"({dos.isoformat()})"
    if first > window.date:
        raise Refusal("write_off_recommended",
                      f"{filed}, after the filing window closed on {window.date.isoformat()} ({window.basis}); "
                      f"nothing on file shows an earlier submission. {book.recommendations['write_off']} "
                      f"{book.recommendations['late_filing_exception']}", "write_off")
    sentence = f"{filed}, within the filing window that closed on {window.date.isoformat()} ({window.basis})"
    if claim.first_accepted:
        sentence += f", and accepted by the payer's front end on {claim.first_accepted.isoformat()}"
    return sentence + "."


# -- within the limits -------------------------------------------------------------------------------------------------

def within_limits(request: LetterRequest, rows: Sequence[tuple[AppealedSession, CrosswalkRow]],
                  book: LetterBook) -> None:
    """A session past its 12-month limit takes neither a "within the limits" nor a medical-necessity argument."""
    for session, row in rows:
        if row.criterion == SESSIONS_CRITERION and row.status == NOT_MET:
            raise Refusal(
                "write_off_recommended",
                f"{session.label(book)} is past the limit: the claim history shows {row.evidence}. The limit was "
                f"exceeded, so the letter can argue neither that the sessions are within the limits nor that "
                f"this one was medically necessary. {book.recommendations['write_off']} "
                f"{book.prevention(request.claim.payer_type)}", "write_off")


# -- the diagnosis the policy covers -----------------------------------------------------------------------------------

def _line_diagnoses(request: LetterRequest, line_id: str | None) -> tuple[str, ...]:
    """The diagnoses a line points to (all the claim's when the submission does not say)."""
    claim = request.claim
    line = next((x for x in claim.submitted_lines if x.line_id == line_id), None)
    if line is None or not line.diagnosis_pointers:
        return claim.diagnoses
    return tuple(claim.diagnoses[p - 1] for p in line.diagnosis_pointers if 0 < p <= len(claim.diagnoses))


def _evidence(request: LetterRequest, rule: DiagnosisRule, pointed: Iterable[str], dos: dt.date) -> list[str]:
    """Where the record on file shows a covered diagnosis: on this claim (not pointed to by the line), or on the
    patient's other claims in the 12 months up to the date of service."""
    found = []
    unpointed = [d for d in request.claim.diagnoses if rule.covers(d) and d not in set(pointed)]
    if unpointed:
        found.append(f"this claim lists {', '.join(unpointed)}, which the line does not point to")
    since = add_months(dos, -12)
    for other in request.other_diagnoses:
        codes = [d for d in other.codes if rule.covers(d)]
        if codes and since <= other.service_date <= dos:
            found.append(f"{', '.join(codes)} billed for this patient on {other.service_date.isoformat()}")
    return found


@dataclass(frozen=True, slots=True)
class _Uncovered:
    """A denied line billed without a diagnosis its policy covers."""

    line_id: str
    code: str
    service_date: dt.date
    pointed: tuple[str, ...]
    rule: DiagnosisRule
    evidence: tuple[str, ...]  # where the record on file shows a covered diagnosis


def medically_necessary_diagnosis(request: LetterRequest, task: TaskForLetter, book: LetterBook,
                                  policy_words: str) -> None:
    """A procedure billed without a diagnosis its policy covers (an epidural for axial pain only) takes no
    necessity argument: a diagnosis correction when the record shows a covered diagnosis, otherwise a write-off."""
    if not request.claim.diagnoses:
        return  # undecidable: the letter leaves the diagnosis to the enclosed records
    catalog = book.pain.catalog
    uncovered: list[_Uncovered] = []
    for line in task.lines:
        rule = book.diagnosis_rule(catalog.family(line.procedure_code))
        if rule is None:
            continue
        pointed = _line_diagnoses(request, line.line_id)
        if any(rule.covers(d) for d in pointed):
            continue
        dos = line.service_date or request.claim.service_date_from or request.today
        uncovered.append(_Uncovered(line.line_id or "claim", line.procedure_code or "", dos, pointed, rule,
                                    tuple(_evidence(request, rule, pointed, dos))))
    if not uncovered:
        return
    first = uncovered[0]
    rule = first.rule
    kind = "axial pain only" if first.pointed and all(rule.is_axial(d) for d in first.pointed) \
        else "no covered diagnosis"
    facts = (f"Line {first.line_id} ({first.code}, {first.service_date.isoformat()}) was billed with "
             f"{', '.join(first.pointed) or 'no diagnosis'} ({kind}), which {policy_words} does not cover: it needs "
             f"{rule.condition}")
    shown = list(dict.fromkeys(e for u in uncovered for e in u.evidence))
    if not shown:
        raise Refusal("write_off_recommended",
                      f"{facts}, and nothing on file shows {rule.condition} for this patient, so a "
                      f"medical-necessity appeal cannot be argued. {book.recommendations['write_off']} If the record "
                      f"documents {rule.condition}, correct the diagnosis instead (a reopening for Medicare, a "
                      "corrected claim for other payers).", "write_off")
    corrections = {}
    for u in uncovered:
        if u.evidence:
            on_file = sorted({d for d in request.claim.diagnoses if u.rule.covers(d)}
                             | {d for o in request.other_diagnoses for d in o.codes if u.rule.covers(d)})
            corrections[u.line_id] = (f"diagnosis: report the {u.rule.condition} the record documents for this "
                                      f"date (on file: {', '.join(on_file)}) in place of "
                                      f"{', '.join(u.pointed) or 'none'}")
    if book.coverage.terms(request.claim.payer_type, request.claim.payer_id).resubmission == "reopening":
        raise Refusal("diagnosis_correction", f"{facts}. The record on file shows {'; '.join(shown)}: the fix is a "
                      "diagnosis correction by reopening, not a necessity appeal.", "reopening", corrections)
    raise Refusal("corrected_claim_recommended",
                  f"{facts}. The record on file shows {'; '.join(shown)}: the fix is a diagnosis correction, not a "
                  f"necessity appeal. {book.recommendations['corrected_claim']}", "corrected_claim")
