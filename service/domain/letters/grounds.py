"""What the claim's facts allow a letter to assert. Each check takes what an argument declares it stands on and
either lets it stand (returning the sentence that proves it, when there is one) or raises `Refusal`: the letter is
not written, and the 409 says why from the facts (dates, codes, windows; never an identifier) and what to do
instead. A refusal may name the letter that fits instead (a diagnosis correction by reopening)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from service.domain.clocks import add_months, filing_deadline
from service.domain.letters.book import Argument, DiagnosisRule, LetterBook
from service.domain.letters.crosswalk import NOT_MET, AppealedSession
from service.domain.letters.facts import CrosswalkRow, LetterRequest, TaskForLetter
from service.domain.model import Payer

SESSIONS_CRITERION = "Sessions in 12 months"

AUTH_ON_FILE_RULE = "auth.on_file"  # the classifier's rule: the register held an authorization covering the line
# The classifier's explanation of that rule names the authorization ("... REF*G1 <number> (authorization <number>
# for <scope>, valid <from> to <to>)"): the decision keeps no other record of it.
_AUTH_NUMBER = re.compile(r"REF\*G1 ([A-Za-z0-9][A-Za-z0-9._/-]*[A-Za-z0-9])")
_AUTH_VALIDITY = re.compile(r"valid (\d{4}-\d{2}-\d{2}) to (\d{4}-\d{2}-\d{2})")

# What the letter cannot show when a fact is missing.
_MISSING = {
    "first_submitted": "no submission of this claim is on file, so nothing shows when it was first filed",
    "prior_authorization": "the claim carries no authorization number",
    "service_date": "the claim has no date of service on file",
    "diagnoses": "the claim's diagnoses are not on file",
    "authorization_on_file": "no authorization on file covers these services",
    "eligibility_response": "no eligibility response (271) for the date of service is on file, so nothing shows the "
                            "patient was covered",
}


@dataclass(slots=True)
class Refusal(Exception):
    """The facts contradict (or cannot support) what the argument would assert."""

    code: str  # write_off_recommended | corrected_claim_recommended | <recommendation>_recommended | missing_facts
    message: str
    recommendation: str | None = None  # write_off | corrected_claim | reopening | verify_eligibility | ...
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
    if fact == "authorization_on_file":  # the register held one and the claim carried no number
        return AUTH_ON_FILE_RULE in task_rules(request, task) and not claim.prior_authorization
    if fact == "eligibility_response":
        return claim.eligibility_response is not None
    if fact == "other_payer_remittance":
        return other_payer_adjudicated(request) is not None
    raise ValueError(f"unknown fact {fact!r}")  # the book refuses unknown names when it loads


def _missing(fact: str, request: LetterRequest) -> str:
    if fact != "other_payer_remittance":
        return _MISSING[fact]
    others = [o.name or o.id for o in request.claim.other_payers if o.id != request.claim.payer_id]
    if not others:
        return ("no other payer is on file for this claim (the submission lists none), so nothing shows what "
                "another payer paid")
    return (f"the submission lists {', '.join(others)} as other coverage, but no remittance from "
            f"{'it' if len(others) == 1 else 'them'} is on file, so nothing shows what another payer paid")


def task_rules(request: LetterRequest, task: TaskForLetter) -> list[str]:
    """The classifier's rules behind the task: its decisions' and its own (a task a 277 re-routed keeps them)."""
    return list(dict.fromkeys([*(d.rule_id for d in request.decisions if d.task_id == task.task_id and d.rule_id),
                               *task.rule_ids]))


def other_payer_adjudicated(request: LetterRequest) -> str | None:
    """Another payer whose remittance for the claim is on file (its name when the submission gives it)."""
    claim = request.claim
    for payer_id in claim.adjudicated_by:
        if payer_id != claim.payer_id:
            named = next((o.name for o in claim.other_payers if o.id == payer_id and o.name), None)
            return f"{named} ({payer_id})" if named else payer_id
    return None


@dataclass(frozen=True, slots=True)
class AuthorizationOnFile:
    """The authorization the register held for the denied services when the denial arrived."""

    number: str | None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


def authorization_on_file(request: LetterRequest, task: TaskForLetter) -> AuthorizationOnFile | None:
    """The authorization the classifier's auth.on_file decision names (None without such a decision)."""
    if AUTH_ON_FILE_RULE not in task_rules(request, task):
        return None
    texts = [d.explanation for d in request.decisions if d.task_id == task.task_id and d.rule_id == AUTH_ON_FILE_RULE]
    texts += [d.explanation for d in request.decisions if d.task_id == task.task_id] + [task.explanation]
    for text in texts:
        number = _AUTH_NUMBER.search(text)
        if number is None:
            continue
        validity = _AUTH_VALIDITY.search(text, number.end())
        if validity is None:
            return AuthorizationOnFile(number.group(1))
        return AuthorizationOnFile(number.group(1), dt.date.fromisoformat(validity.group(1)),
                                   dt.date.fromisoformat(validity.group(2)))
    return AuthorizationOnFile(None)


def bill_patient(request: LetterRequest, task: TaskForLetter, book: LetterBook, codes: str) -> Refusal | None:
    """The refusal of a task whose next step is to bill the patient (None for any other task)."""
    words = book.action_refusals.get(task.action)
    if words is None:
        return None
    modifiers = {m for line in task.lines for m in line.modifiers}
    modifiers |= {m for d in request.decisions if d.task_id == task.task_id for m in d.modifiers}
    text = words.with_abn if "GA" in modifiers else words.without_abn
    return Refusal(words.code, text.format_map({"codes": codes}), task.action)


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
        why = "; ".join(_missing(f, request) for f in missing)
        recommendation = argument.without_facts
        if recommendation is not None:
            advice = book.recommendations[recommendation]
            if recommendation == "write_off":
                advice += f" {book.recommendations['late_filing_exception']}"
            raise Refusal(f"{recommendation}_recommended", f"{why[:1].upper()}{why[1:]}. {advice}", recommendation)
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
