"""Compose one letter per claim and payer: an appeal covering the appealable open tasks, or, when the task asked
from is a reopening, a reopening request covering the reopening tasks (reference 6.1).

The letter states only what the store knows (codes, dates, amounts, claim history) and the rule data says
(levels, windows, policy criteria). Whatever a person must add (the patient's name, the payer's address, relief
percentages) is a visible `[to complete: ...]` blank, and the draft notes list what to check before sending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from service.domain.classification.vocabulary import ACTION_PHRASES
from service.domain.letters.book import LetterBook
from service.domain.letters.crosswalk import NOT_MET, TO_DOCUMENT, appealed_sessions, crosswalk
from service.domain.letters.facts import (
    CrosswalkRow,
    DenialForLetter,
    Letter,
    LetterError,
    LetterRequest,
    Section,
    Table,
    TaskForLetter,
)
from service.domain.model import ZERO
from service.domain.pain.history import region_words

CROSSWALK_COLUMNS = ("Criterion", "Policy requires", "Evidence", "Status")
LINE_COLUMNS = ("Line", "Date", "Procedure", "Billed as", "Amount", "Denial codes and what they mean")


def blank(what: str) -> str:
    """A field the person sending the letter fills in."""
    return f"[to complete: {what}]"


def money(amount: Decimal | None) -> str:
    if amount is None:
        return blank("amount")
    return f"${amount.quantize(Decimal('0.01')):,}"


def _in_sentence(name: str, book: LetterBook) -> str:
    """A level or request name inside a sentence: "Request for ...", "First-level ...", "State fair hearing" read
    "request for ...", "first-level ...", "state fair hearing"; names led by one of the book's proper names
    ("Medicare ...") stay as they are."""
    if name.split(" ", 1)[0] in book.proper_names:
        return name
    return name[:1].lower() + name[1:]


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else blank("date")


# -- what the codes mean -----------------------------------------------------------------------------------------------

def code_parts(book: LetterBook, group: str, reason: str, remarks: Iterable[str],
               on: dt.date) -> list[tuple[str, str]]:
    """(code, plain meaning) for the group, the reason and each remark, from the paraphrased tables."""
    group_row = book.codes.groups.get(group.upper())
    carc = book.codes.carc.lookup(reason, on).row
    parts = [(group, (group_row or {}).get("meaning") or "a group code our tables do not know"),
             (reason, carc.meaning if carc else "a reason code our tables do not know")]
    for remark in remarks:
        row = book.codes.rarc.lookup(remark, on).row
        parts.append((remark, row.meaning if row else "a remark code our tables do not know"))
    return parts


def code_meanings(book: LetterBook, group: str, reason: str, remarks: Iterable[str], on: dt.date) -> str:
    """`CO-50: <group meaning>; <reason meaning>. N115: <remark meaning>`."""
    (_, group_meaning), (_, reason_meaning), *rest = code_parts(book, group, reason, remarks, on)
    return ". ".join([f"{group}-{reason}: {group_meaning}; {reason_meaning}",
                      *(f"{code}: {meaning}" for code, meaning in rest)])


def _procedure_words(book: LetterBook, code: str | None) -> str:
    if not code:
        return "claim level"
    info = book.pain.catalog.get(code)
    if info is None:
        return code
    where = region_words(info.region)
    return f"{code} ({f'{where} ' if where else ''}{book.pain.catalog.label(info.family)})"


def _codes_of(task: TaskForLetter, decisions: list[DenialForLetter]) -> str:
    mine = [d for d in decisions if d.task_id == task.task_id]
    if mine:
        names = []
        for d in mine:
            name = f"{d.group}-{d.reason}" + (f" with {', '.join(d.remarks)}" if d.remarks else "")
            if name not in names:
                names.append(name)
        return "; ".join(names)
    return ", ".join(dict.fromkeys(r for line in task.lines for r in line.reasons)) or task.category


# -- the letter --------------------------------------------------------------------------------------------------------

def _covered(request: LetterRequest) -> tuple[str, TaskForLetter, list[TaskForLetter]]:
    asked = next((t for t in request.tasks if t.task_id == request.task_id), None)
    if asked is None:
        raise LetterError("task_not_found", "no task with that id on this claim")
    if not asked.is_open:
        raise LetterError("task_closed", f"the task is {asked.state}: letters are drafted for open tasks only")
    if asked.action == "reopening":
        return "reopening", asked, [t for t in request.tasks if t.is_open and t.action == "reopening"]
    if asked.appealable:
        return "appeal", asked, [t for t in request.tasks if t.is_open and t.appealable and t.action != "reopening"]
    raise LetterError("not_appealable", f"the task's next step is to {ACTION_PHRASES.get(asked.action, asked.action)}"
                                        ": it takes no appeal letter or reopening request")


def _lines_table(request: LetterRequest, tasks: list[TaskForLetter], book: LetterBook) -> Table:
    rows = []
    for task in tasks:
        for line in task.lines:
            decisions = [d for d in request.decisions if d.task_id == task.task_id and d.line_id == line.line_id]
            on = line.service_date or request.claim.service_date_from or request.today
            if decisions:
                meaning = " | ".join(code_meanings(book, d.group, d.reason, d.remarks, on) for d in decisions)
            else:
                meaning = " | ".join(code_meanings(book, *r.split("-", 1), (), on) for r in line.reasons if "-" in r)
            billed = "-".join([line.procedure_code or "", *line.modifiers]) if line.procedure_code else "claim"
            rows.append((line.line_id or "claim", _day(line.service_date), _procedure_words(book, line.procedure_code),
                         billed, money(line.amount), meaning or task.explanation))
    return Table(LINE_COLUMNS, tuple(rows))


def _values(request: LetterRequest, task: TaskForLetter, policy: str) -> dict[str, str]:
    claim = request.claim
    if claim.prior_authorization:
        auth = (f"The claim carried authorization number {claim.prior_authorization}, issued for these services "
                "before the date of service.")
    else:
        auth = blank("the authorization number and the dates and services it covers")
    if claim.first_submitted:
        sub = f"The claim was first submitted on {claim.first_submitted.isoformat()}"
        sub += (f" and accepted by the payer's front end on {claim.first_accepted.isoformat()}."
                if claim.first_accepted else ".")
    else:
        sub = blank("the date of the first submission and the acceptance report (999/277CA)")
    return {"payer_name": claim.payer_name or claim.payer_id, "policy": policy, "auth_sentence": auth,
            "submission_sentence": sub, "codes": _codes_of(task, list(request.decisions)), "authority": ""}


def _argument(request: LetterRequest, task: TaskForLetter, book: LetterBook,
              notes: list[str]) -> tuple[Section, list[CrosswalkRow]]:
    argument = book.argument(task.category)
    sessions = appealed_sessions(task.lines, book) if argument.crosswalk else []
    policy = (sessions[0].spec.policy(request.claim.payer_type) if sessions
              else "the payer's coverage policy for these services")
    text = argument.text_for(bool(sessions)).format_map(_values(request, task, policy))
    if not sessions:
        return Section(heading=argument.heading, paragraphs=(text,)), []
    rows: list[CrosswalkRow] = []
    table_rows = []
    for session in sessions:
        label = session.label(book)
        for row in crosswalk(session, request, book):
            rows.append(row)
            table_rows.append((f"{row.criterion} ({session.procedure.code}, {session.service_date.isoformat()})"
                               if len(sessions) > 1 else row.criterion, *row.cells()[1:]))
            if row.status == NOT_MET:
                notes.append(f"Crosswalk for {label}: '{row.criterion}' is not met by our claim history "
                             f"({row.evidence}). Check the records before sending.")
    after = ("Each criterion marked 'to document' is shown by the enclosed records named in the evidence column.",) \
        if any(r.status == TO_DOCUMENT for r in rows) else ()
    heading = f"{argument.heading}: criteria crosswalk"
    intro = f"Crosswalk of {policy} for " + "; ".join(s.label(book) for s in sessions) + "."
    return Section(heading=heading, paragraphs=(text, intro), table=Table(CROSSWALK_COLUMNS, tuple(table_rows)),
                   after=after), rows


def _reopening_section(request: LetterRequest, tasks: list[TaskForLetter], book: LetterBook) -> Section:
    request_text = book.reopening(request.claim.payer_type)
    bullets = []
    for task in tasks:
        for line in task.lines:
            what = _procedure_words(book, line.procedure_code)
            codes = [f"{d.group}-{d.reason}" for d in request.decisions
                     if d.task_id == task.task_id and d.line_id == line.line_id] or list(line.reasons)
            bullets.append(f"Line {line.line_id or 'claim'} ({what}, {_day(line.service_date)}): denied as "
                           f"{', '.join(dict.fromkeys(codes)) or task.category}; correction: "
                           + blank("the corrected code, modifier, date or units as the record shows"))
    text = request_text.text.format_map({"authority": request_text.authority, "payer_name": "", "policy": "",
                                         "auth_sentence": "", "submission_sentence": "", "codes": ""})
    return Section(heading="Correction requested", paragraphs=(text,), bullets=tuple(bullets))


def _checklist(tasks: list[TaskForLetter]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    done: dict[str, str] = {}
    missing: dict[str, str] = {}
    for task in tasks:
        for item in task.checklist:
            if item.done:
                done.setdefault(item.id, item.text)
                missing.pop(item.id, None)
            elif item.id not in done:
                missing.setdefault(item.id, item.text)
    return tuple(done.values()), tuple(missing.values())


def compose_letter(request: LetterRequest, book: LetterBook) -> Letter:
    """The letter for the claim and payer of `request.task_id` (raises LetterError when that task takes none)."""
    kind, _asked, tasks = _covered(request)
    claim = request.claim
    notes: list[str] = []
    payer = claim.payer_name or claim.payer_id
    icns = ", ".join(claim.payer_claim_numbers) or blank("the payer's claim number (ICN)")
    deadlines = [t for t in tasks if t.deadline is not None]
    due = min(deadlines, key=lambda t: t.deadline) if deadlines else None

    if kind == "reopening":
        reopening = book.reopening(claim.payer_type)
        title, level_text, reviewer, window = reopening.name, reopening.name, reopening.reviewer, reopening.window
    else:
        number = max(t.appeal_level for t in tasks)
        level, past_last = book.level(claim.payer_type, number)
        if level is None:
            title, level_text, reviewer, window = "Appeal", "appeal", "the payer's appeals unit", "the payer's window"
        else:
            title, level_text, reviewer, window = level.name, level.title, level.reviewer, level.window
        if past_last:
            notes.append(f"The task is at appeal level {number}; the letter wording on file ends at {level_text}. "
                         "Check which level and reviewer come next before sending.")

    amount = sum((t.amount_at_risk for t in tasks), ZERO)
    reference = (
        ("Payer", f"{payer} ({claim.payer_id})" if claim.payer_name else claim.payer_id),
        ("Payer claim number", icns),
        ("Patient account number", claim.claim_id),
        ("Patient", blank("patient name")),
        ("Member id", blank("member id")),
        ("Dates of service", f"{_day(claim.service_date_from)} to {_day(claim.service_date_to)}"
         if claim.service_date_to and claim.service_date_to != claim.service_date_from
         else _day(claim.service_date_from)),
        ("Billing provider NPI", claim.billing_npi or blank("billing NPI")),
        ("Rendering provider NPI", claim.rendering_npi or blank("rendering NPI")),
        ("Diagnoses (ICD-10-CM)", ", ".join(claim.diagnoses) or blank("diagnosis codes")),
        ("Amount billed", money(claim.total_charge)),
        ("Amount in dispute", money(amount)),
        ("Request", level_text),
    )

    if kind == "reopening":
        opening = (f"We request a reopening of the claim above (payer claim number {icns}) to correct the lines "
                   "listed below. We ask that the lines be reprocessed and paid as corrected.")
    else:
        opening = (f"On behalf of the billing provider we request a {_in_sentence(level_text, book)} of the denial "
                   f"of the services listed below (payer claim number {icns}). We ask that the denial be reversed and "
                   "the services paid.")
    sections = [Section(heading="Request", paragraphs=(opening,)),
                Section(heading="Denied services", table=_lines_table(request, tasks, book))]
    rows: list[CrosswalkRow] = []
    if kind == "reopening":
        sections.append(_reopening_section(request, tasks, book))
    else:
        for task in tasks:
            section, task_rows = _argument(request, task, book, notes)
            sections.append(section)
            rows.extend(task_rows)

    if due is not None:
        when = (f"The request must reach {reviewer} by {due.deadline.isoformat()} "
                f"({due.deadline_basis or 'the payer window'}).")
        if due.deadline < request.today:
            notes.append(f"The deadline {due.deadline.isoformat()} has passed: check for a good-cause exception "
                         "before sending.")
    else:
        when = f"The window is {window}: " + blank("the date the request is due")
    sections.append(Section(heading="Level and deadline",
                            paragraphs=(f"This is a {_in_sentence(level_text, book)}, addressed to {reviewer}. "
                                        f"The window is {window}.",
                                        when)))

    enclosures, to_gather = _checklist(tasks)
    if to_gather:
        notes.append("Not yet gathered (tick them on the checklist when enclosed): " + "; ".join(to_gather) + ".")
    if not claim.payer_claim_numbers:
        notes.append("The payer claim number is not on file: take it from the remittance.")
    notes.append("Fill every [to complete: ...] blank (patient name, member id, the payer's address).")

    return Letter(
        kind=kind, title=title, level=level_text, date=request.today,
        recipient=(payer, f"Attn: {reviewer}", blank("the payer's appeals address")),
        reference=reference, salutation="To the reviewer:", sections=tuple(sections), enclosures=enclosures,
        closing=("Please contact our billing office with any question about this request.", "Sincerely,",
                 blank("name and title of the person signing"), blank("practice name, address and telephone")),
        task_ids=tuple(t.task_id for t in tasks), deadline=due.deadline if due else None,
        deadline_basis=due.deadline_basis if due else None, to_gather=to_gather, draft_notes=tuple(notes),
        crosswalk=tuple(rows))
